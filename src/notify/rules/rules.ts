/**
 * The classic rules file (`customize.es_rules`, classic-config.md §7), pure: validate a parsed
 * document into rules, parse times of day the way the classic server's strptime did, read the
 * wall clock of an instant in a time zone, and decide (first matching rule wins).
 * File reading lives in rules-file.ts, the pipeline stage in rules-stage.ts.
 */

export type Weekday = 'Sun' | 'Mon' | 'Tue' | 'Wed' | 'Thu' | 'Fri' | 'Sat';

/** A time of day as a rule compares it. */
export interface WallClock {
  readonly weekday: Weekday;
  /** Seconds since local midnight, 0–86399. */
  readonly seconds: number;
}

export type RuleAction = 'mute' | 'critical_notify' | 'unknown';

export interface Rule {
  /** `monitor 3 rule 2` (1-based), for log lines. */
  readonly label: string;
  readonly monitorId: number;
  /** Window bounds in seconds since midnight, as parsed with the rule's time_format. */
  readonly from: number;
  readonly to: number;
  /**
   * Resolution of the time_format in seconds (60 for `%I:%M %p`): "now" is cut to it before the
   * comparison, as the classic server did by formatting and re-parsing the current time, so
   * `to: "1 am"` still covers 01:00:59.
   */
  readonly resolution: number;
  /** daysofweek as written; null = every day. */
  readonly daysOfWeek: string | null;
  /** cause_has, compiled case-insensitive; null = any cause. */
  readonly causeHas: RegExp | null;
  readonly action: RuleAction;
  /** The action as written (for the error line of an unknown one). */
  readonly actionText: string;
}

/** Rules per monitor id, in file order. */
export type RuleSet = ReadonlyMap<number, readonly Rule[]>;

export const NO_RULES: RuleSet = new Map();

export interface RuleProblem {
  readonly level: 'error' | 'warn';
  readonly message: string;
}

export interface ParsedRules {
  readonly rules: RuleSet;
  /** Skipped rules (error) and doubtful values accepted anyway (warn), one line each. */
  readonly problems: readonly RuleProblem[];
}

export const DEFAULT_TIME_FORMAT = '%I:%M %p';

// ---------------------------------------------------------------------------------------------
// Document → rules

/**
 * Validates a parsed rules document. A rule with a bad time, time_format or regex is skipped
 * with an error naming it (Ng ES behaviour); a rule with an unknown action is kept (it decides
 * "allowed" when it matches, as in the classic server) with an error; other keys (`comment`…)
 * are ignored. A missing or non-list `rules` means no rules for that monitor.
 */
export function parseRules(doc: unknown): ParsedRules {
  const problems: RuleProblem[] = [];
  const rules = new Map<number, Rule[]>();
  const error = (message: string) => problems.push({ level: 'error', message });
  const warn = (message: string) => problems.push({ level: 'warn', message });

  if (doc === null || doc === undefined) return { rules, problems };
  const notifications = isRecord(doc) ? doc['notifications'] : undefined;
  const monitors = isRecord(notifications) ? notifications['monitors'] : undefined;
  if (!isRecord(monitors)) {
    error('no notifications.monitors map: no rules applied');
    return { rules, problems };
  }
  for (const [key, entry] of Object.entries(monitors)) {
    const monitorId = /^\s*\d+\s*$/.test(key) ? Number(key) : NaN;
    if (!Number.isSafeInteger(monitorId)) {
      error(`monitor key ${JSON.stringify(key)} is not a monitor id: its rules are skipped`);
      continue;
    }
    const list = isRecord(entry) ? entry['rules'] : undefined;
    if (!Array.isArray(list)) {
      if (list !== undefined) error(`monitor ${monitorId}: rules is not a list: no rules applied`);
      continue;
    }
    const parsed: Rule[] = [];
    list.forEach((raw: unknown, index) => {
      const label = `monitor ${monitorId} rule ${index + 1}`;
      const result = parseRule(raw, monitorId, label);
      for (const w of result.warnings) warn(w);
      if ('error' in result) error(`${label} skipped: ${result.error}`);
      else {
        if (result.rule.action === 'unknown') {
          error(`${label}: unknown action ${JSON.stringify(result.rule.actionText)} (mute or critical_notify): it allows the notification`);
        }
        parsed.push(result.rule);
      }
    });
    if (parsed.length > 0) rules.set(monitorId, [...(rules.get(monitorId) ?? []), ...parsed]);
  }
  return { rules, problems };
}

type RuleResult = ({ rule: Rule } | { error: string }) & { warnings: string[] };

function parseRule(raw: unknown, monitorId: number, label: string): RuleResult {
  const warnings: string[] = [];
  const fail = (error: string): RuleResult => ({ error, warnings });
  if (!isRecord(raw)) return fail('not a map');

  const actionValue = raw['action'];
  if (typeof actionValue !== 'string' || actionValue.trim() === '') return fail('action missing');
  const actionText = actionValue.trim();
  const action: RuleAction = actionText === 'mute' || actionText === 'critical_notify' ? actionText : 'unknown';

  const formatValue = raw['time_format'] ?? DEFAULT_TIME_FORMAT;
  if (typeof formatValue !== 'string') return fail('time_format is not text');
  const resolution = formatResolution(formatValue);
  if (typeof resolution === 'string') return fail(`time_format ${JSON.stringify(formatValue)}: ${resolution}`);

  const bounds: number[] = [];
  for (const name of ['from', 'to'] as const) {
    const value = raw[name];
    if (value === undefined || value === null) return fail(`${name} missing`);
    if (typeof value !== 'string') return fail(`${name} ${JSON.stringify(value)} is not text (quote it)`);
    const time = parseTimeOfDay(value, formatValue);
    if (!time.ok) return fail(`${name} ${JSON.stringify(value)} does not match time_format ${JSON.stringify(formatValue)}`);
    if (time.rest !== '') warnings.push(`${label}: ${name} ${JSON.stringify(value)}: trailing ${JSON.stringify(time.rest)} ignored`);
    bounds.push(time.seconds);
  }

  let daysOfWeek: string | null = null;
  const days = raw['daysofweek'];
  if (Array.isArray(days) && days.every((d) => typeof d === 'string')) daysOfWeek = days.join(',');
  else if (typeof days === 'string') daysOfWeek = days;
  else if (days !== undefined && days !== null) return fail('daysofweek is not text');

  let causeHas: RegExp | null = null;
  const pattern = raw['cause_has'];
  if (pattern !== undefined && pattern !== null) {
    if (typeof pattern !== 'string') return fail('cause_has is not text');
    const compiled = compileCauseRegex(pattern);
    if (typeof compiled === 'string') return fail(`cause_has ${JSON.stringify(pattern)} is not a valid regular expression (${compiled})`);
    causeHas = compiled;
  }

  return {
    rule: { label, monitorId, from: bounds[0]!, to: bounds[1]!, resolution, daysOfWeek, causeHas, action, actionText },
    warnings,
  };
}

/**
 * cause_has was a Perl regex matched case-insensitively. JavaScript covers the usual forms
 * (look-ahead included); a leading `(?i)`, which Perl users add out of habit and JavaScript
 * rejects, is dropped since matching is case-insensitive anyway.
 */
export function compileCauseRegex(pattern: string): RegExp | string {
  const source = pattern.startsWith('(?i)') ? pattern.slice(4) : pattern;
  try {
    return new RegExp(source, 'i');
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

// ---------------------------------------------------------------------------------------------
// Times of day: the strptime subset of the classic server

export type TimeParse = { ok: true; seconds: number; rest: string } | { ok: false };

const SUPPORTED = 'HIklMSpRT%nt';

/** The resolution in seconds of a time format, or the reason it is not usable. */
export function formatResolution(format: string): number | string {
  let resolution = 3600;
  let hasHour = false;
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') continue;
    const c = format[++i];
    if (c === undefined) return 'ends with a lone %';
    if (!SUPPORTED.includes(c)) return `%${c} is not supported (use %H %I %M %S %p %R %T)`;
    if ('HIklRT'.includes(c)) hasHour = true;
    if (c === 'S' || c === 'T') resolution = 1;
    else if (c === 'M' || c === 'R') resolution = Math.min(resolution, 60);
  }
  return hasHour ? resolution : 'has no hour';
}

const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/**
 * Parses a time of day like the BSD strptime inside Perl's Time::Piece (which the classic server
 * used), for the directives rules need: `%H %k` (0–23), `%I %l` (1–12), `%M`, `%S`, `%p` (AM/PM,
 * any case), `%R` (= %H:%M), `%T` (= %H:%M:%S), `%%`, `%n`/`%t`/whitespace (any run of
 * whitespace, also none). Its leniencies are reproduced, because shipped rule files rely on them:
 * - after a number that is followed by whitespace in the input, the rest of the format up to its
 *   next whitespace is skipped: `"1 am"` parses with `%I:%M %p`;
 * - `%M`/`%S` at whitespace or at the end of the input read nothing (minutes stay 0);
 * - parsing stops successfully when the input ends, whatever is left of the format;
 * - trailing input is returned in `rest` (Perl only warned about it).
 * So with `%I:%M %p`: `1 am`, `5 pm`, `9:30 pm`, `5:00pm`, `01:00 AM` parse; `5pm` and `17:00` do not.
 * Leading and trailing whitespace of the input is ignored.
 */
export function parseTimeOfDay(input: string, format: string): TimeParse {
  const expanded = format.replace(/%R/g, '%H:%M').replace(/%T/g, '%H:%M:%S');
  const buf = input.trim();
  if (buf === '') return { ok: false };
  let b = 0;
  let f = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let meridiem: 'am' | 'pm' | null = null;

  // After a number: if the input continues with whitespace, skip the format to its next whitespace.
  const skipFormatAtSpace = () => {
    if (b < buf.length && isSpace(buf[b])) while (f < expanded.length && !isSpace(expanded[f])) f++;
  };
  const readNumber = (maxDigits: number): number | null => {
    if (!isDigit(buf[b])) return null;
    let value = 0;
    for (let n = 0; n < maxDigits && isDigit(buf[b]); n++) value = value * 10 + Number(buf[b++]);
    return value;
  };

  while (f < expanded.length) {
    if (b >= buf.length) break;
    const c = expanded[f++]!;
    if (c !== '%') {
      if (isSpace(c)) {
        while (b < buf.length && isSpace(buf[b])) b++;
      } else if (c !== buf[b++]) {
        return { ok: false };
      }
      continue;
    }
    const d = expanded[f++];
    switch (d) {
      case '%':
        if (buf[b++] !== '%') return { ok: false };
        break;
      case 'n':
      case 't':
        while (b < buf.length && isSpace(buf[b])) b++;
        break;
      case 'H':
      case 'k':
      case 'I':
      case 'l': {
        const value = readNumber(2);
        if (value === null) return { ok: false };
        if (d === 'H' || d === 'k') {
          if (value > 23) return { ok: false };
        } else {
          if (value < 1 || value > 12) return { ok: false };
        }
        hour = value;
        skipFormatAtSpace();
        break;
      }
      case 'M':
      case 'S': {
        if (b >= buf.length || isSpace(buf[b])) break;
        const value = readNumber(2);
        if (value === null) return { ok: false };
        if (d === 'M') {
          if (value > 59) return { ok: false };
          minute = value;
        } else {
          if (value > 60) return { ok: false };
          second = Math.min(value, 59); // a leap second counts as :59
        }
        skipFormatAtSpace();
        break;
      }
      case 'p': {
        const word = buf.slice(b, b + 2).toLowerCase();
        if (word !== 'am' && word !== 'pm') return { ok: false };
        meridiem = word;
        b += 2;
        break;
      }
      default:
        return { ok: false };
    }
  }

  if (meridiem !== null) {
    if (hour > 12) return { ok: false };
    if (meridiem === 'am' && hour === 12) hour = 0;
    if (meridiem === 'pm' && hour !== 12) hour += 12;
  }
  return { ok: true, seconds: hour * 3600 + minute * 60 + second, rest: buf.slice(b).trim() };
}

// ---------------------------------------------------------------------------------------------
// The wall clock in a time zone

const WEEKDAYS: readonly Weekday[] = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws a RangeError for a zone Intl does not know. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Whether Intl knows the zone (an IANA name such as `Europe/Berlin`, or `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The zone of this process (TZ), as Intl resolves it. */
export function processTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * The local weekday and time of day of an instant. Computed by Intl from the zone's rules, never
 * by adding an offset, so the skipped hour of a spring-forward day never appears and the repeated
 * hour of a fall-back day appears twice, exactly as a wall clock shows them.
 */
export function wallClock(instantMs: number, timeZone: string): WallClock {
  let weekday: Weekday = 'Sun';
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of formatterFor(timeZone).formatToParts(new Date(instantMs))) {
    if (part.type === 'weekday') weekday = WEEKDAYS.find((d) => d === part.value) ?? weekday;
    else if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
    else if (part.type === 'second') second = Number(part.value);
  }
  return { weekday, seconds: hour * 3600 + minute * 60 + second };
}

// ---------------------------------------------------------------------------------------------
// Deciding

/**
 * Whether `now` lies in the window, bounds included. A window whose start is after its end
 * crosses midnight (9:30 pm – 1 am): it holds from the start to midnight and from midnight to
 * the end (classic defect #18: the classic server matched only the part after midnight).
 */
export function inWindow(from: number, to: number, now: number): boolean {
  return from <= to ? from <= now && now <= to : now >= from || now <= to;
}

/** daysofweek is a substring match of the 3-letter English day; case is ignored. */
export function matchesDay(daysOfWeek: string | null, weekday: Weekday): boolean {
  return daysOfWeek === null || daysOfWeek.toLowerCase().includes(weekday.toLowerCase());
}

export type RuleDecision =
  /** No rule matched. */
  | { readonly kind: 'allow' }
  | { readonly kind: 'mute'; readonly rule: Rule }
  | { readonly kind: 'critical'; readonly rule: Rule }
  /** The matching rule has an unknown action: allowed, as in the classic server. */
  | { readonly kind: 'unknown-action'; readonly rule: Rule }
  /** A rule whose time and day match needs the cause, which is not final yet. */
  | { readonly kind: 'undecided'; readonly rule: Rule };

/**
 * The first rule whose time window, weekday and cause all match decides. `cause` undefined means
 * "not known yet" (a hook may still change it): the walk stops at the first rule that would need
 * it, so a decision made without the cause is always the one the final cause would give.
 */
export function evaluateRules(rules: readonly Rule[], at: WallClock, cause: string | undefined): RuleDecision {
  for (const rule of rules) {
    const now = at.seconds - (at.seconds % rule.resolution);
    if (!inWindow(rule.from, rule.to, now) || !matchesDay(rule.daysOfWeek, at.weekday)) continue;
    if (rule.causeHas !== null) {
      if (cause === undefined) return { kind: 'undecided', rule };
      if (!rule.causeHas.test(cause)) continue;
    }
    if (rule.action === 'mute') return { kind: 'mute', rule };
    if (rule.action === 'critical_notify') return { kind: 'critical', rule };
    return { kind: 'unknown-action', rule };
  }
  return { kind: 'allow' };
}

/**
 * The cause rules look at (classic-config.md §7 "Cause used"): at start, the start cause; at end
 * also the start cause, unless it lacks the hook's `detected:` text and the end cause has it.
 * Without a known start cause (start not notified, or forgotten) the end cause is used.
 * `current` is the cause of the notification being decided (the start or the end cause).
 */
export function ruleCause(phase: 'start' | 'end', startCause: string | undefined, current: string): string {
  if (phase === 'start' || startCause === undefined) return current;
  const endCause = current;
  if (!startCause.includes('detected:') && endCause.includes('detected:')) return endCause;
  return startCause;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

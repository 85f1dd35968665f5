/**
 * The token file's formats (classic-config.md §6), pure: text in, records and warnings out, and
 * back. JSON (classic 6.0.1+) with our backward-compatible extra fields, and the old line format
 * `token:monlist:intlist:platform:pushstate` read for migration. Lenient on purpose: the file may
 * have been written by the Perl server (numbers as strings, missing fields), and one bad entry
 * must never cost the other devices their registration.
 */
import type { ClientKind } from '../domain/device.js';
import { withoutBom } from '../state/text-file.js';

export type PushState = 'enabled' | 'disabled';

/** Pushes sent to a token in month `at` (0–11, local time, as the classic server counted). */
export interface Invocations {
  readonly count: number;
  readonly at: number;
}

/** One registered device. Immutable: the store replaces the object on every change. */
export interface TokenRecord {
  readonly token: string;
  /** "android" | "ios" | "unknown" (or whatever an old file held). */
  readonly platform: string;
  /** Raw comma lists as the classic file keeps them; "" = all monitors. */
  readonly monlist: string;
  readonly intlist: string;
  readonly pushstate: PushState;
  readonly appversion: string;
  readonly invocations: Invocations;
  /** zmNinjaNg profile name. */
  readonly profile: string | undefined;
  /** Ours (`client_kind`): which app registered it, for the Android channel. */
  readonly clientKind: ClientKind;
  /** Ours (`badge`): the last badge shown/reported (classic kept it in memory only, defect #23). */
  readonly badge: number;
  /** Ours (`last_sent`): monitor id → unix ms of the last push actually sent (defect #7). */
  readonly lastSent: Readonly<Record<string, number>>;
  /**
   * Ours (`zm_user`): the ZoneMinder user the device logged in as, whose monitor permissions
   * apply to its pushes; undefined for tokens registered by the classic server.
   */
  readonly zmUser: string | undefined;
  /**
   * Ours (`registered_at`): unix ms of the last registration, so that a file over the per-user
   * quota keeps each user's newest devices; undefined for entries the classic server wrote.
   */
  readonly registeredAt?: number | undefined;
}

export type TokenFileKind = 'empty' | 'json' | 'lines' | 'corrupt';

export interface ParsedTokenFile {
  readonly kind: TokenFileKind;
  /** In file order; for the line format, the last duplicate wins. */
  readonly records: TokenRecord[];
  /** One line per skipped or repaired entry, for the log (tokens already masked). */
  readonly warnings: string[];
  /** Why the file was not usable (kind `corrupt`). */
  readonly error?: string;
}

const CLIENT_KINDS: readonly ClientKind[] = ['zmninja', 'zmninjang', 'unknown'];

/** Last 10 characters, as the classic logs did; duplicated from the logger to keep this module free of winston. */
function tail(token: string): string {
  return token.length <= 10 ? '…' : `…${token.slice(-10)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A non-negative integer from a number or a numeric string (Perl wrote either). */
function toCount(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d{1,15}\s*$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** A string field; numbers are accepted as their text ("monlist": 1). */
function toText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** How §12 tells the apps apart for a token that came from a classic file. */
export function inferClientKind(profile: string | undefined, appversion: string): ClientKind {
  if (profile !== undefined) return 'zmninjang';
  return appversion !== '' && appversion !== 'unknown' ? 'zmninja' : 'unknown';
}

function normalisePushState(v: unknown): PushState {
  return typeof v === 'string' && v.trim().toLowerCase() === 'disabled' ? 'disabled' : 'enabled';
}

/** One JSON entry → a record, repairing what can be repaired; undefined when unusable. */
function parseEntry(token: string, raw: unknown, month: number, warnings: string[]): TokenRecord | undefined {
  if (token.trim() === '') {
    warnings.push('entry with an empty token skipped');
    return undefined;
  }
  if (!isObject(raw)) {
    warnings.push(`token ${tail(token)}: entry is not an object; skipped`);
    return undefined;
  }
  const field = (name: string, fallback: string): string => {
    const v = raw[name];
    if (v === undefined || v === null) return fallback;
    const text = toText(v);
    if (text === undefined) {
      warnings.push(`token ${tail(token)}: ${name} is not a string; using ${JSON.stringify(fallback)}`);
      return fallback;
    }
    return text.trim();
  };
  const platform = field('platform', 'unknown') || 'unknown';
  const appversion = field('appversion', 'unknown') || 'unknown';
  const profileText = raw['profile'] === undefined || raw['profile'] === null ? undefined : toText(raw['profile']);
  const profile = profileText === undefined || profileText === '' ? undefined : profileText;

  let invocations: Invocations = { count: 0, at: month };
  if (raw['invocations'] !== undefined && raw['invocations'] !== null) {
    const inv = raw['invocations'];
    const count = isObject(inv) ? toCount(inv['count']) : undefined;
    const at = isObject(inv) ? toCount(inv['at']) : undefined;
    if (count !== undefined && at !== undefined && at <= 11) invocations = { count, at };
    else warnings.push(`token ${tail(token)}: invocations unreadable; counter starts fresh`);
  }

  const kindRaw = raw['client_kind'];
  const clientKind =
    typeof kindRaw === 'string' && (CLIENT_KINDS as readonly string[]).includes(kindRaw)
      ? (kindRaw as ClientKind)
      : inferClientKind(profile, appversion);

  const lastSent: Record<string, number> = {};
  if (isObject(raw['last_sent'])) {
    for (const [mid, at] of Object.entries(raw['last_sent'])) {
      const ms = toCount(at);
      if (/^\d{1,15}$/.test(mid) && ms !== undefined) lastSent[mid] = ms;
    }
  }

  const registeredAt = toCount(raw['registered_at']);
  return {
    token,
    platform,
    monlist: field('monlist', ''),
    intlist: field('intlist', ''),
    pushstate: normalisePushState(raw['pushstate']),
    appversion,
    invocations,
    profile,
    clientKind,
    badge: toCount(raw['badge']) ?? 0,
    lastSent,
    zmUser: typeof raw['zm_user'] === 'string' && raw['zm_user'] !== '' ? raw['zm_user'] : undefined,
    ...(registeredAt === undefined ? {} : { registeredAt }),
  };
}

function parseJson(value: unknown, month: number): ParsedTokenFile {
  if (!isObject(value)) return { kind: 'corrupt', records: [], warnings: [], error: 'top level is not a JSON object' };
  const warnings: string[] = [];
  const tokens = value['tokens'];
  if (tokens === undefined || tokens === null) {
    warnings.push('no "tokens" map in the file; starting with no registrations');
    return { kind: 'json', records: [], warnings };
  }
  if (!isObject(tokens)) return { kind: 'corrupt', records: [], warnings, error: '"tokens" is not a JSON object' };
  const records: TokenRecord[] = [];
  for (const [token, entry] of Object.entries(tokens)) {
    const record = parseEntry(token, entry, month, warnings);
    if (record !== undefined) records.push(record);
  }
  return { kind: 'json', records, warnings };
}

const LIST = /^\s*(-1|[\d,\s]*)\s*$/;

/**
 * The ≤ 5.x line format. Split from the right (tokens may contain ':'); the last duplicate wins;
 * an unknown pushstate becomes enabled. A line that does not look like one is skipped, and a
 * file where no line does is not this format.
 */
function parseLines(text: string, month: number): ParsedTokenFile {
  const warnings: string[] = [];
  const byToken = new Map<string, TokenRecord>();
  let bad = 0;
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const parts = line.split(':');
    if (parts.length < 5) {
      bad++;
      warnings.push(`line ${index + 1}: not token:monlist:intlist:platform:pushstate; skipped`);
      return;
    }
    const pushstate = parts.pop()!.trim();
    const platform = parts.pop()!.trim();
    const intlist = parts.pop()!.trim();
    const monlist = parts.pop()!.trim();
    const token = parts.join(':').trim();
    if (token === '' || !LIST.test(monlist) || !LIST.test(intlist) || !/^[\w-]*$/.test(platform)) {
      bad++;
      warnings.push(`line ${index + 1}: not token:monlist:intlist:platform:pushstate; skipped`);
      return;
    }
    byToken.delete(token); // keep the position of the last occurrence
    byToken.set(token, {
      token,
      platform: platform || 'unknown',
      monlist: monlist === '-1' ? '' : monlist,
      intlist: intlist === '-1' ? '' : intlist,
      pushstate: normalisePushState(pushstate),
      appversion: 'unknown',
      invocations: { count: 0, at: month },
      profile: undefined,
      clientKind: 'unknown',
      badge: 0,
      lastSent: {},
      zmUser: undefined,
    });
  });
  if (byToken.size === 0 && bad > 0) {
    return { kind: 'corrupt', records: [], warnings: [], error: 'neither JSON nor the old line format' };
  }
  return { kind: 'lines', records: [...byToken.values()], warnings };
}

/** Reads a token file's text. `month` (0–11) starts counters that are missing or unreadable. */
export function parseTokenFile(text: string, month: number): ParsedTokenFile {
  const trimmed = withoutBom(text).trim();
  if (trimmed === '') return { kind: 'empty', records: [], warnings: [] };
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch (err) {
    // A truncated or damaged JSON file also contains colons; never mistake it for the line format.
    if (/^[{[]/.test(trimmed)) {
      return { kind: 'corrupt', records: [], warnings: [], error: `invalid JSON (${(err as Error).message})` };
    }
    return parseLines(trimmed, month);
  }
  return parseJson(json, month);
}

/** The JSON the classic server reads, plus our extra fields (which it ignores and keeps). */
export function serializeTokenFile(records: Iterable<TokenRecord>): string {
  // Entries are collected as pairs and turned into an object with fromEntries, which defines
  // own properties: a token spelled "__proto__" stays a token instead of touching the prototype.
  const entries: [string, unknown][] = [];
  for (const r of records) {
    entries.push([r.token, {
      platform: r.platform,
      monlist: r.monlist,
      intlist: r.intlist,
      pushstate: r.pushstate,
      appversion: r.appversion,
      invocations: { count: r.invocations.count, at: r.invocations.at },
      ...(r.profile === undefined ? {} : { profile: r.profile }),
      client_kind: r.clientKind,
      badge: r.badge,
      last_sent: r.lastSent,
      ...(r.zmUser === undefined ? {} : { zm_user: r.zmUser }),
      ...(r.registeredAt === undefined ? {} : { registered_at: r.registeredAt }),
    }]);
  }
  return JSON.stringify({ tokens: Object.fromEntries(entries) });
}

/**
 * A small strftime for `fcm.date_format` (the classic server used Perl's POSIX::strftime with
 * `localtime`). Covers the directives people put into a notification time; an unknown directive
 * is copied through unchanged, as glibc does. Day, month and AM/PM names follow `fcm.date_locale`
 * through Intl when one is set, else the C locale (English), like Perl without LC_TIME.
 */

export type Strftime = (format: string, at: Date) => string;

export interface StrftimeOptions {
  /** BCP 47 tag ("de-DE"); undefined = C locale. Use resolveDateLocale() for classic "de_DE.UTF-8". */
  readonly locale?: string | undefined;
  /** IANA zone ("Europe/Berlin"); undefined = the process's local time (TZ), as the classic server. */
  readonly timeZone?: string | undefined;
}

const C_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const C_MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];

interface Names {
  readonly days: readonly string[];
  readonly shortDays: readonly string[];
  readonly months: readonly string[];
  readonly shortMonths: readonly string[];
  readonly am: string;
  readonly pm: string;
}

const C_NAMES: Names = {
  days: C_DAYS,
  shortDays: C_DAYS.map((d) => d.slice(0, 3)),
  months: C_MONTHS,
  shortMonths: C_MONTHS.map((m) => m.slice(0, 3)),
  am: 'AM',
  pm: 'PM',
};

/** Broken-down time, as struct tm. */
interface Fields {
  readonly year: number;
  /** 0–11 */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0 = Sunday */
  readonly weekday: number;
  /** Minutes east of UTC. */
  readonly offset: number;
}

/**
 * Turns a classic locale value ("de_DE", "de_DE.UTF-8", "fr_FR@euro", "C") into a BCP 47 tag
 * Intl supports; `warning` says why a value was not usable (the classic Ng ES logged and cleared it).
 */
export function resolveDateLocale(value: string | null | undefined): { locale: string | undefined; warning?: string } {
  const raw = value?.trim() ?? '';
  if (raw === '' || raw === 'C' || raw === 'POSIX') return { locale: undefined };
  const tag = raw.replace(/[.@].*$/, '').replace(/_/g, '-');
  try {
    const supported = Intl.DateTimeFormat.supportedLocalesOf([tag]);
    if (supported[0] !== undefined) return { locale: supported[0] };
  } catch {
    // RangeError for a malformed tag: reported below.
  }
  return { locale: undefined, warning: `date_locale ${JSON.stringify(raw)} is not a known locale; using the default (English) names` };
}

function localeNames(locale: string): Names {
  const fmt = (options: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat(locale, { ...options, timeZone: 'UTC' });
  const long = fmt({ weekday: 'long' });
  const short = fmt({ weekday: 'short' });
  const longMonth = fmt({ month: 'long' });
  const shortMonth = fmt({ month: 'short' });
  // 2023-01-01 was a Sunday.
  const days = C_DAYS.map((_, i) => long.format(Date.UTC(2023, 0, 1 + i)));
  const shortDays = C_DAYS.map((_, i) => short.format(Date.UTC(2023, 0, 1 + i)));
  const months = C_MONTHS.map((_, i) => longMonth.format(Date.UTC(2023, i, 15)));
  const shortMonths = C_MONTHS.map((_, i) => shortMonth.format(Date.UTC(2023, i, 15)));
  const period = (hour: number) =>
    fmt({ hour: 'numeric', hour12: true }).formatToParts(Date.UTC(2023, 0, 1, hour)).find((p) => p.type === 'dayPeriod')?.value;
  return { days, shortDays, months, shortMonths, am: period(9) ?? 'AM', pm: period(15) ?? 'PM' };
}

function zoneFields(timeZone: string): (at: Date) => Fields {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    weekday: 'short',
  });
  return (at) => {
    const parts: Record<string, string> = {};
    for (const p of fmt.formatToParts(at)) parts[p.type] = p.value;
    const year = Number(parts['year']);
    const month = Number(parts['month']) - 1;
    const day = Number(parts['day']);
    const hour = Number(parts['hour']) % 24;
    const minute = Number(parts['minute']);
    const second = Number(parts['second']);
    const asUtc = Date.UTC(year, month, day, hour, minute, second);
    const offset = Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
    return { year, month, day, hour, minute, second, weekday: C_NAMES.shortDays.indexOf(parts['weekday'] ?? ''), offset };
  };
}

function localFields(at: Date): Fields {
  return {
    year: at.getFullYear(),
    month: at.getMonth(),
    day: at.getDate(),
    hour: at.getHours(),
    minute: at.getMinutes(),
    second: at.getSeconds(),
    weekday: at.getDay(),
    offset: -at.getTimezoneOffset(),
  };
}

const pad = (n: number, width = 2, fill = '0') => String(n).padStart(width, fill);

function dayOfYear(f: Fields): number {
  return Math.round((Date.UTC(f.year, f.month, f.day) - Date.UTC(f.year, 0, 1)) / 86_400_000) + 1;
}

/** A formatter bound to a locale and time zone (names are computed once, not per call). */
export function createStrftime(options: StrftimeOptions = {}): Strftime {
  const names = options.locale === undefined ? C_NAMES : localeNames(options.locale);
  const fieldsOf = options.timeZone === undefined ? localFields : zoneFields(options.timeZone);

  const directive = (c: string, f: Fields, at: Date): string | undefined => {
    const hour12 = f.hour % 12 === 0 ? 12 : f.hour % 12;
    switch (c) {
      case 'a': return names.shortDays[f.weekday];
      case 'A': return names.days[f.weekday];
      case 'b':
      case 'h': return names.shortMonths[f.month];
      case 'B': return names.months[f.month];
      case 'd': return pad(f.day);
      case 'e': return pad(f.day, 2, ' ');
      case 'm': return pad(f.month + 1);
      case 'y': return pad(f.year % 100);
      case 'Y': return String(f.year);
      case 'C': return pad(Math.floor(f.year / 100));
      case 'H': return pad(f.hour);
      case 'k': return pad(f.hour, 2, ' ');
      case 'I': return pad(hour12);
      case 'l': return pad(hour12, 2, ' ');
      case 'M': return pad(f.minute);
      case 'S': return pad(f.second);
      case 'p': return f.hour < 12 ? names.am : names.pm;
      case 'P': return (f.hour < 12 ? names.am : names.pm).toLowerCase();
      case 'j': return pad(dayOfYear(f), 3);
      case 'u': return String(f.weekday === 0 ? 7 : f.weekday);
      case 'w': return String(f.weekday);
      case 's': return String(Math.floor(at.getTime() / 1000));
      case 'z': {
        const abs = Math.abs(f.offset);
        return `${f.offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
      }
      case 'D': return `${pad(f.month + 1)}/${pad(f.day)}/${pad(f.year % 100)}`;
      case 'F': return `${f.year}-${pad(f.month + 1)}-${pad(f.day)}`;
      case 'R': return `${pad(f.hour)}:${pad(f.minute)}`;
      case 'T': return `${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}`;
      case 'r': return `${pad(hour12)}:${pad(f.minute)}:${pad(f.second)} ${f.hour < 12 ? names.am : names.pm}`;
      case 'n': return '\n';
      case 't': return '\t';
      case '%': return '%';
      default: return undefined;
    }
  };

  return (format, at) => {
    const f = fieldsOf(at);
    // "%-d" style flags (glibc: no padding) are accepted too, since users copy them from the web.
    return format.replace(/%(-?)([A-Za-z%])/g, (whole, flag: string, c: string) => {
      const out = directive(c, f, at);
      if (out === undefined) return whole;
      return flag === '-' ? out.replace(/^[ 0]+(?=\d)/, '') : out;
    });
  };
}

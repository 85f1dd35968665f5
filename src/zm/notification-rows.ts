/**
 * ZoneMinder's `Notifications` table (1.39.2+, zmNinjaNg's "direct" mode) row by row: the SELECT
 * that reads it and the pure mapping of one row to what a push needs. Nothing here does I/O or
 * throws on bad data: a row zmes cannot use comes back as problems for one log line, and a row it
 * can use with some leniency comes back as a device plus the problems.
 */
import { sanitiseEcho } from '../domain/json.js';
import { parseMonitorFilter, type MonitorFilter } from '../domain/monitor-filter.js';
import type { Parsed } from './rows.js';

/** One row as read, before any judgement (times are Unix seconds computed by the DB server). */
export interface NotificationRow {
  readonly id: number;
  readonly userId: number | null;
  /** Users.Username of UserId; null when the row has no user or the user is gone. */
  readonly username: string | null;
  readonly token: string;
  readonly platform: string | null;
  readonly monitorList: string | null;
  /** Read as text whatever the column type, so a comma list (intlist style) survives too. */
  readonly interval: string | null;
  readonly pushState: string | null;
  readonly profile: string | null;
  readonly badgeCount: number;
  readonly lastNotifiedAt: number | null;
  /** UpdatedOn, else CreatedOn: when the app last registered or changed the row. */
  readonly updatedAt: number | null;
}

/**
 * Every row with its user's name. Times through UNIX_TIMESTAMP() on the server, so the DATETIME
 * columns are read in the zone they were written in, whatever the container's zone. `Interval`
 * is a reserved word, hence the backquotes. The LIMIT placeholder bounds what one read costs.
 */
export const NOTIFICATIONS_SELECT = `SELECT n.Id AS Id, n.UserId AS UserId, u.Username AS Username, n.Token AS Token,
       n.Platform AS Platform, n.MonitorList AS MonitorList, CAST(n.\`Interval\` AS CHAR) AS IntervalText,
       n.PushState AS PushState, n.Profile AS Profile, n.BadgeCount AS BadgeCount,
       UNIX_TIMESTAMP(n.LastNotifiedAt) AS LastNotifiedAt,
       UNIX_TIMESTAMP(COALESCE(n.UpdatedOn, n.CreatedOn)) AS UpdatedAt
  FROM Notifications n LEFT JOIN Users u ON u.Id = n.UserId
 ORDER BY n.Id LIMIT ?`;

/** Raw driver row → NotificationRow; only a row without a usable Id is refused. */
export function parseNotificationRow(raw: unknown): Parsed<NotificationRow> {
  if (typeof raw !== 'object' || raw === null) return invalid('not a row');
  const row = raw as Record<string, unknown>;
  const id = wholeNumber(row['Id']);
  if (id === null) return invalid(`Id ${JSON.stringify(sanitiseEcho(String(row['Id'])))} is not a number`);
  return {
    ok: true,
    value: {
      id,
      userId: wholeNumber(row['UserId']),
      username: text(row['Username']),
      token: text(row['Token']) ?? '',
      platform: text(row['Platform']),
      monitorList: text(row['MonitorList']),
      interval: text(row['IntervalText']),
      pushState: text(row['PushState']),
      profile: text(row['Profile']),
      badgeCount: wholeNumber(row['BadgeCount']) ?? 0,
      lastNotifiedAt: seconds(row['LastNotifiedAt']),
      updatedAt: seconds(row['UpdatedAt']),
    },
  };
}

/** What a push needs of a row (the registry adds itself and the live last-sent time). */
export interface NotificationDeviceFields {
  readonly rowId: number;
  readonly token: string;
  readonly platform: 'android' | 'ios' | 'web';
  readonly profile: string | undefined;
  readonly pushstate: 'enabled' | 'disabled';
  readonly zmUser: string | undefined;
  readonly filter: MonitorFilter;
  /** Unix ms; one time per device, so the interval is per device, not per monitor. */
  readonly lastNotifiedAt: number | undefined;
  readonly updatedAt: number | undefined;
  readonly badgeCount: number;
}

export interface NotificationRowVerdict {
  /** undefined: the row is skipped. */
  readonly device: NotificationDeviceFields | undefined;
  /** Log-ready, DB text sanitised; empty for a clean row. */
  readonly problems: readonly string[];
}

export interface RowMappingOptions {
  /**
   * With zmes's auth.enable on, a row without a ZoneMinder user is skipped: there is no user
   * whose permissions could apply, and zmes does not guess.
   */
  readonly authEnabled: boolean;
}

const PLATFORMS = ['android', 'ios', 'web'] as const;
const MAX_PROFILE_LENGTH = 128;

/**
 * One row as a push device, leniently: an unusable token, platform, push state or user skips the
 * row; a bad MonitorList or Interval entry is ignored with a problem noted (parseMonitorFilter's
 * rules, as for the token file). MonitorList empty, NULL or -1 means all monitors. Interval is
 * one number of seconds for every listed monitor, or a comma list parallel to MonitorList.
 */
export function notificationDevice(row: NotificationRow, options: RowMappingOptions): NotificationRowVerdict {
  const problems: string[] = [];
  const skip = (why: string): NotificationRowVerdict => ({ device: undefined, problems: [...problems, `${why}; skipped`] });

  const token = row.token.trim();
  if (token === '') return skip('empty Token');
  if (/[\s\u0000-\u001f\u007f]/.test(token)) return skip('Token contains white space or control characters');
  const platformText = (row.platform ?? '').trim().toLowerCase();
  const platform = PLATFORMS.find((p) => p === platformText);
  if (platform === undefined) return skip(`unknown Platform ${quoted(row.platform ?? 'NULL')}`);
  const stateText = (row.pushState ?? 'enabled').trim().toLowerCase();
  if (stateText !== 'enabled' && stateText !== 'disabled') return skip(`unknown PushState ${quoted(row.pushState ?? '')}`);

  let zmUser: string | undefined;
  if (row.userId !== null) {
    if (row.username === null) return skip(`UserId ${row.userId} is not a ZoneMinder user`);
    zmUser = row.username;
  } else if (options.authEnabled) {
    return skip('no UserId, and with auth.enable on zmes pushes only to devices of a ZoneMinder user');
  }

  const filter = rowFilter(row.monitorList, row.interval, problems);
  const profile = row.profile?.trim() ? row.profile.trim().slice(0, MAX_PROFILE_LENGTH) : undefined;
  return {
    device: {
      rowId: row.id,
      token,
      platform,
      profile,
      pushstate: stateText,
      zmUser,
      filter,
      lastNotifiedAt: row.lastNotifiedAt === null ? undefined : row.lastNotifiedAt * 1000,
      updatedAt: row.updatedAt === null ? undefined : row.updatedAt * 1000,
      badgeCount: Math.max(0, row.badgeCount),
    },
    problems,
  };
}

/** MonitorList + Interval → filter; problems are appended. */
function rowFilter(monitorList: string | null, intervalText: string | null, problems: string[]): MonitorFilter {
  const intervals = parseIntervals(intervalText, problems);
  const list = monitorList?.trim() ?? '';
  if (list === '' || list === '-1') {
    // All monitors: one interval applies to every one of them. A list makes no sense here; its
    // smallest entry throttles least, so the device never misses more than it asked to.
    if (intervals.length > 1) problems.push(`Interval ${quoted(intervalText ?? '')} is a list but MonitorList names no monitors; the smallest, ${Math.min(...intervals)} s, is used`);
    const interval = intervals.length === 0 ? 0 : Math.min(...intervals);
    return interval > 0 ? { kind: 'all', interval } : { kind: 'all' };
  }
  const count = list.split(',').length;
  // One number applies to every listed monitor; a list pairs by position (zmNinja's intlist).
  const intlist = intervals.length === 1 ? Array<number>(count).fill(intervals[0]!).join(',') : intervals.join(',');
  const parsed = parseMonitorFilter(list, intlist);
  for (const warning of parsed.warnings) problems.push(warning.replace(/^monlist/, 'MonitorList').replace(/^intlist/, 'Interval'));
  if (parsed.filter.kind === 'some' && parsed.filter.intervals.size === 0) problems.push('MonitorList names no valid monitor: the device gets no pushes');
  return parsed.filter;
}

/** Interval text → seconds per entry; a bad or negative entry counts as 0 and is noted. */
function parseIntervals(text: string | null, problems: string[]): number[] {
  const trimmed = text?.trim() ?? '';
  if (trimmed === '') return [];
  return trimmed.split(',').map((entry) => {
    const value = entry.trim();
    if (/^\d{1,9}$/.test(value)) return Number(value);
    if (value !== '') problems.push(`Interval entry ${quoted(value)} is not a number of seconds; 0 used`);
    return 0;
  });
}

function quoted(value: string): string {
  return JSON.stringify(sanitiseEcho(value));
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return null;
}

/** A non-negative safe integer from a driver value (INT as number, BIGINT as bigint, DECIMAL as text). */
function wholeNumber(value: unknown): number | null {
  const n = typeof value === 'bigint' ? Number(value) : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : null;
}

/** UNIX_TIMESTAMP() comes back as bigint, or as DECIMAL text for columns with fractions. */
function seconds(value: unknown): number | null {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function invalid(detail: string): Parsed<NotificationRow> {
  return { ok: false, code: 'ZMES_DB_ROW_INVALID', detail };
}

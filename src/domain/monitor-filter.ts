import { sanitiseEcho } from './json.js';
/**
 * Which monitors a connection wants and the minimum seconds between two notifications per
 * monitor (0 = no throttling). `all` also means no throttling at all (quirk 5), unless it
 * carries an `interval`: ZoneMinder's Notifications rows may ask for all monitors with one
 * interval, which no monlist/intlist pair can express.
 */
export type MonitorFilter =
  | { readonly kind: 'all'; readonly interval?: number }
  | { readonly kind: 'some'; readonly intervals: ReadonlyMap<number, number> };

export interface MonitorFilterParse {
  readonly filter: MonitorFilter;
  /** One line per ignored entry, for a log line; empty when the lists were clean. */
  readonly warnings: readonly string[];
}

export const ALL_MONITORS: MonitorFilter = Object.freeze({ kind: 'all' });

const DIGITS = /^\d{1,15}$/;

/**
 * Reads monlist/intlist as the classic server did: `""`, missing or `"-1"` = all monitors;
 * otherwise ids paired by position with intervals; a missing or empty interval is 0; invalid
 * entries are skipped (their position still counts for the pairing) and reported.
 */
export function parseMonitorFilter(monlist: string | undefined, intlist: string | undefined): MonitorFilterParse {
  const mon = monlist?.trim() ?? '';
  if (mon === '' || mon === '-1') return { filter: ALL_MONITORS, warnings: [] };
  const warnings: string[] = [];
  const ids = mon.split(',');
  const secs = intlist === undefined || intlist.trim() === '' ? [] : intlist.split(',');
  const intervals = new Map<number, number>();
  ids.forEach((rawId, index) => {
    const idText = rawId.trim();
    if (idText === '') return; // "1,,2" or a trailing comma: nothing to warn about
    const id = DIGITS.test(idText) ? Number(idText) : NaN;
    if (!Number.isSafeInteger(id) || id <= 0) {
      warnings.push(`monlist entry ${index + 1} ${JSON.stringify(sanitiseEcho(idText))} is not a monitor id; ignored`);
      return;
    }
    if (intervals.has(id)) {
      warnings.push(`monitor ${id} listed twice in monlist; the first interval is used`);
      return;
    }
    intervals.set(id, parseInterval(secs[index], index, warnings));
  });
  if (secs.length > ids.length) {
    warnings.push(`intlist has ${secs.length} entries for ${ids.length} monitors; extra intervals ignored`);
  }
  return { filter: { kind: 'some', intervals }, warnings };
}

function parseInterval(raw: string | undefined, index: number, warnings: string[]): number {
  const text = raw?.trim() ?? '';
  if (text === '') return 0;
  if (DIGITS.test(text)) return Number(text);
  warnings.push(`intlist entry ${index + 1} ${JSON.stringify(sanitiseEcho(text))} is not a number of seconds; 0 used`);
  return 0;
}

/** Whether the filter lets events of this monitor through. */
export function filterIncludes(filter: MonitorFilter, monitorId: number): boolean {
  return filter.kind === 'all' || filter.intervals.has(monitorId);
}

/** Minimum seconds between notifications for this monitor; `undefined` when filtered out. */
export function filterInterval(filter: MonitorFilter, monitorId: number): number | undefined {
  return filter.kind === 'all' ? (filter.interval ?? 0) : filter.intervals.get(monitorId);
}

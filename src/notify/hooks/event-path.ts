/**
 * The event's folder on ZoneMinder's host, for `hook_pass_image_path` (the classic server passed
 * it as the hooks' last argument). Computed like ZoneMinder does from the Events row:
 *
 *   Medium  (default)  <storage>/<MonitorId>/<YYYY-MM-DD>/<EventId>
 *   Shallow            <storage>/<MonitorId>/<EventId>
 *   Deep               <storage>/<MonitorId>/<YY>/<MM>/<DD>/<hh>/<mm>/<ss>
 *
 * Known from the database: the scheme (Events.Scheme), the start time as ZoneMinder wrote it
 * (local wall-clock text, exactly what it formats the folder from), and the storage area
 * (Events.StorageId → Storage.Path). Not known from the database: the folder of StorageId 0 (or
 * of a Storage row that is gone), which is ZM_DIR_EVENTS from zm.conf; that comes from the
 * caller (read from zm.conf, else Debian's /var/cache/zoneminder/events). A relative
 * Storage.Path is returned as is. The path is where ZoneMinder's host keeps the files: it is
 * useful to a hook only when that storage is mounted at the same place where the hook runs.
 */
import type { SqlReader } from '../../zm/db.js';

export type StorageScheme = 'Deep' | 'Medium' | 'Shallow';

/** Debian's ZM_DIR_EVENTS. */
export const DEFAULT_EVENTS_DIR = '/var/cache/zoneminder/events';

export interface EventStorage {
  readonly eventId: bigint;
  readonly monitorId: number;
  /** Events.Scheme; null on schemas without it (Medium then). */
  readonly scheme: string | null;
  /** Events.StartDateTime (or StartTime) as stored: `YYYY-MM-DD hh:mm:ss`. */
  readonly start: string | null;
  /** Storage.Path of the event's storage area; null for StorageId 0 or a missing row. */
  readonly storagePath: string | null;
}

/** The folder, or null when the row lacks what the scheme needs. */
export function eventFolder(info: EventStorage, defaultEventsDir: string): string | null {
  const root = (info.storagePath && info.storagePath.trim() !== '' ? info.storagePath : defaultEventsDir).replace(/\/+$/, '');
  const base = `${root}/${info.monitorId}`;
  const scheme = info.scheme ?? 'Medium';
  if (scheme === 'Shallow') return `${base}/${info.eventId}`;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(info.start ?? '');
  if (!m) return null;
  const [, year, month, day, hour, minute, second] = m as unknown as [string, string, string, string, string, string, string];
  if (scheme === 'Deep') return `${base}/${year.slice(2)}/${month}/${day}/${hour}/${minute}/${second}`;
  return `${base}/${year}-${month}-${day}/${info.eventId}`;
}

/** DATETIME and ENUM values arrive as text (the pool uses dateStrings); anything else counts as unknown. */
function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Reads the row (and its storage) and computes the folder; null when the event is gone. */
export async function lookupEventFolder(db: SqlReader, eventId: bigint, defaultEventsDir: string): Promise<string | null> {
  // `e.*`: the start column is StartDateTime or StartTime depending on the schema generation.
  const rows = await db.query(
    'SELECT e.*, s.Path AS ZmesStoragePath FROM Events e LEFT JOIN Storage s ON s.Id = e.StorageId WHERE e.Id = ?',
    [eventId],
    (row): EventStorage => {
      const r = row as Record<string, unknown>;
      return {
        eventId,
        monitorId: Number(r['MonitorId']),
        scheme: text(r['Scheme']),
        start: text(r['StartDateTime'] ?? r['StartTime']),
        storagePath: text(r['ZmesStoragePath']),
      };
    },
  );
  const info = rows[0];
  return info ? eventFolder(info, defaultEventsDir) : null;
}

/**
 * Where event detection left off, kept across restarts in `<base_data_path>/events/last-event.json`:
 * the last handled Events.Id, the events still open (so their end is still notified after a
 * restart) and recent Id gaps (rows that may yet be committed). Written atomically, only when
 * the content changed. Ids are JSON strings: Events.Id is BIGINT UNSIGNED and may exceed 2^53.
 *
 *   { "format": 1, "lastEventId": "1234", "savedAt": "2026-11-25T07:49:06.069Z",
 *     "openEvents": [{ "id": "1233", "monitorId": 2, "notified": true }], "gaps": [] }
 *
 * An unreadable file is set aside (kept for inspection) and treated as a first start.
 */
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { setAside, writeFileAtomic } from './atomic-file.js';
import { readTextIfExists } from './text-file.js';

export const CURSOR_FILE_FORMAT = 1;

export interface CursorState {
  readonly cursor: bigint;
  readonly open: readonly { readonly id: bigint; readonly monitorId: number; readonly started: boolean }[];
  readonly gaps: readonly bigint[];
}

export function cursorFilePath(baseDataPath: string): string {
  return join(baseDataPath, 'events', 'last-event.json');
}

/** The file's JSON text for a state saved at `savedAt`. Pure. */
export function encodeCursor(state: CursorState, savedAt: Date): string {
  const body = {
    format: CURSOR_FILE_FORMAT,
    lastEventId: state.cursor.toString(),
    savedAt: savedAt.toISOString(),
    openEvents: state.open.map((e) => ({ id: e.id.toString(), monitorId: e.monitorId, notified: e.started })),
    gaps: state.gaps.map((id) => id.toString()),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

/** Parses the file's text; throws a message saying what is wrong. Pure. */
export function decodeCursor(text: string): CursorState & { savedAt: string | null } {
  const data: unknown = JSON.parse(text);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('not a JSON object');
  const record = data as Record<string, unknown>;
  if (record['format'] !== CURSOR_FILE_FORMAT) throw new Error(`unknown format ${JSON.stringify(record['format'])}`);
  const cursor = idOf(record['lastEventId'], 'lastEventId', true);
  const openList = record['openEvents'] ?? [];
  const gapList = record['gaps'] ?? [];
  if (!Array.isArray(openList)) throw new Error('openEvents is not a list');
  if (!Array.isArray(gapList)) throw new Error('gaps is not a list');
  const open = openList.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) throw new Error(`openEvents[${i}] is not an object`);
    const e = entry as Record<string, unknown>;
    const monitorId = e['monitorId'];
    if (typeof monitorId !== 'number' || !Number.isSafeInteger(monitorId) || monitorId < 0) throw new Error(`openEvents[${i}].monitorId is not a monitor id`);
    if (typeof e['notified'] !== 'boolean') throw new Error(`openEvents[${i}].notified is not a boolean`);
    return { id: idOf(e['id'], `openEvents[${i}].id`, false), monitorId, started: e['notified'] };
  });
  const gaps = gapList.map((id: unknown, i) => idOf(id, `gaps[${i}]`, false));
  const savedAt = typeof record['savedAt'] === 'string' ? record['savedAt'] : null;
  return { cursor, open, gaps, savedAt };
}

function idOf(value: unknown, what: string, zeroAllowed: boolean): bigint {
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) throw new Error(`${what} is not an event id string`);
  const id = BigInt(value);
  if (!zeroAllowed && id === 0n) throw new Error(`${what} is 0`);
  if (id > 0xffff_ffff_ffff_ffffn) throw new Error(`${what} is out of range`);
  return id;
}

export class CursorStore {
  /** The last content written or read (without the time), to skip writes that change nothing. */
  private lastBody: string | null = null;
  private lastError: string | null = null;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  /** The stored state; null on a first start (no file) or when the file was unreadable (set aside). */
  load(): (CursorState & { savedAt: string | null }) | null {
    let text: string | null;
    try {
      text = readTextIfExists(this.path);
      if (text === null) return null;
    } catch (err) {
      // Unreadable for another reason (permissions, I/O): starting over is better than not starting.
      this.log.warn(`cannot read ${this.path} (${errorMessage(err)}); starting as if for the first time`);
      return null;
    }
    try {
      const state = decodeCursor(text);
      this.lastBody = bodyOf(state);
      return state;
    } catch (err) {
      let where = '';
      try {
        where = `; kept as ${setAside(this.path, new Date(this.clock.now()))}`;
      } catch (moveErr) {
        where = `; could not set it aside (${errorMessage(moveErr)})`;
      }
      this.log.warn(`${this.path} is corrupt (${errorMessage(err)})${where}; starting as if for the first time`);
      return null;
    }
  }

  /**
   * Writes the state when it differs from what is on disk. A failed write is logged (once per
   * distinct error) and not thrown: detection goes on, at worst a restart repeats some events.
   */
  save(state: CursorState): void {
    const body = bodyOf(state);
    if (body === this.lastBody) return;
    try {
      writeFileAtomic(this.path, encodeCursor(state, new Date(this.clock.now())), 0o644);
      this.lastBody = body;
      if (this.lastError !== null) this.log.info(`${this.path} written again`);
      this.lastError = null;
    } catch (err) {
      // Keyed by the error code: the message names a random temporary file and differs every time.
      const code = (err as { code?: unknown }).code;
      const key = typeof code === 'string' ? code : errorMessage(err);
      if (key !== this.lastError) this.log.error(`cannot write ${this.path}: ${errorMessage(err)}`);
      this.lastError = key;
    }
  }
}

function bodyOf(state: CursorState): string {
  return encodeCursor(state, new Date(0));
}

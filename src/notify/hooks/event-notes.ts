/**
 * Writes the hook's description into the event's Notes in ZoneMinder (use_hook_description),
 * as the classic server did: `UPDATE Events SET Notes=CONCAT(?, Notes) WHERE Id=?`.
 *
 * The statement only prefixes when the text is not in Notes yet, which gives two things: the
 * re-check at the end (ZoneMinder rewrites Notes while the event runs and drops the prefix) can
 * never put the text in twice (classic defect #13), and the UPDATE is idempotent, so it may be
 * retried after a dropped connection (a bare CONCAT may not). The comparison is binary, so a
 * case-insensitive collation cannot mistake "Person" for "person".
 */
import type { SqlValue, WriteResult } from '../../zm/db.js';

/** What writing Notes needs from the database (ZmDatabase has it). */
export interface NotesWriter {
  execute(sql: string, params: readonly SqlValue[], options?: { idempotent?: boolean }): Promise<WriteResult>;
}

/** ZoneMinder's Notes is TEXT (65,535 bytes); the prefix stays far below, whatever a hook printed. */
export const MAX_DESCRIPTION_CHARS = 1024;

const PREFIX_SQL =
  'UPDATE Events SET Notes = CONCAT(?, COALESCE(Notes, \'\')) ' +
  'WHERE Id = ? AND LOCATE(CAST(? AS BINARY), CAST(CONVERT(COALESCE(Notes, \'\') USING utf8mb4) AS BINARY)) = 0';

/**
 * Prefixes Notes with `<text> ` unless Notes already holds `text`. Resolves to whether a row
 * changed (false: already there, or the event is gone).
 */
export async function prefixNotes(db: NotesWriter, eventId: bigint, text: string): Promise<boolean> {
  const result = await db.execute(PREFIX_SQL, [`${text} `, eventId, text], { idempotent: true });
  return result.affectedRows > 0;
}

/** Notes as they should read with the description: unchanged when they hold it already. */
export function withDescription(notes: string, text: string): string {
  return notes.includes(text) ? notes : `${text} ${notes}`;
}

/**
 * The end cause with the end hook's text, once (classic defect #13: the classic server set the
 * end cause to the hook text and then prefixed the same text again). When one already contains
 * the other, the longer one is the answer; otherwise `<text> <cause>`.
 */
export function mergeDescription(text: string, cause: string): string {
  if (text === '' || cause.includes(text)) return cause;
  if (text.includes(cause)) return text;
  return `${text} ${cause}`;
}

/** A hook text fit for a cause and for Notes: at most MAX_DESCRIPTION_CHARS characters. */
export function clampDescription(text: string): string {
  const chars = [...text];
  return chars.length <= MAX_DESCRIPTION_CHARS ? text : `${chars.slice(0, MAX_DESCRIPTION_CHARS - 1).join('')}…`;
}

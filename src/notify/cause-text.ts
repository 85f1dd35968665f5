import type { Phase } from '../domain/notification.js';

/** What the cause text is made from: ZoneMinder's `Events.Cause` and `Events.Notes`. */
export interface CauseSource {
  readonly cause: string;
  readonly notes: string;
}

/**
 * The causes ZoneMinder 1.36/1.38 writes as `Notes` group keys (zoneminder.md §2.1). Groups are
 * concatenated without a separator (`Forced Web: Motion: zone1`), so known keys are where a new
 * group starts; an external trigger's own cause text is kept as written.
 */
const KNOWN_CAUSES = ['Forced Web', 'Motion', 'Linked', 'Signal', 'Continuous', 'ONVIF', 'AMCREST'];
const GROUP_START = new RegExp(`(?:^|\\s)(${KNOWN_CAUSES.map((c) => c.replace(' ', '\\s+')).join('|')}):`, 'g');

/**
 * The start cause is ZoneMinder's Cause ("Motion"), or with read_alarm_cause its Notes, which
 * name the zones ("Motion: Front, Porch"); the end cause is the final Notes, as in the classic
 * server. Tidied: `Forced Web: ` reads `Forced Web`, never a dangling colon, empty part or
 * stray whitespace. Never empty: the apps show it as the notification text.
 */
export function causeText(event: CauseSource, phase: Phase, causeFromNotes: boolean): string {
  const notes = tidyCause(event.notes);
  const cause = tidyCause(event.cause);
  const preferred = phase === 'end' || causeFromNotes ? notes || cause : cause || notes;
  return preferred || 'Alarm';
}

/**
 * `Forced Web: ` → `Forced Web`; `Forced Web: Motion: Left Half, zone1` → `Forced Web, Motion:
 * Left Half, zone1`; `Motion:zone1,Left Half` (1.38's Cause) → `Motion: zone1, Left Half`.
 */
export function tidyCause(text: string): string {
  const flat = text.replace(/[\s\u0000]+/g, ' ').trim();
  if (flat === '') return '';
  const starts: Array<{ index: number; key: string; end: number }> = [];
  for (const match of flat.matchAll(GROUP_START)) {
    const keyStart = match.index + match[0].length - match[1]!.length - 1;
    starts.push({ index: keyStart, key: match[1]!.replace(/\s+/g, ' '), end: match.index + match[0].length });
  }
  if (starts.length === 0 || starts[0]!.index !== 0) return tidyItems(flat);
  const groups = starts.map((start, i) => {
    const items = tidyItems(flat.slice(start.end, starts[i + 1]?.index ?? flat.length));
    return items === '' ? start.key : `${start.key}: ${items}`;
  });
  return groups.join(', ');
}

/** A comma list without empty items, each trimmed, and no trailing colon. */
function tidyItems(text: string): string {
  return text
    .split(',')
    .map((item) => item.trim().replace(/\s*:+$/, ''))
    .filter((item) => item !== '')
    .join(', ');
}

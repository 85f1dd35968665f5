/**
 * Who gets a notification, decided per recipient without any I/O: ZoneMinder permissions,
 * then the device's monitor filter, then its interval throttle (protocol.md §6, §7).
 */
import type { MonitorVisibility } from '../zm/auth/permissions.js';
import { canSee } from '../zm/auth/permissions.js';
import type { MonitorFilter } from '../domain/monitor-filter.js';
import { filterInterval } from '../domain/monitor-filter.js';
import type { Phase } from '../domain/notification.js';

export type Verdict = 'send' | 'not-permitted' | 'filtered' | 'throttled';

export interface RecipientView {
  /** The ZoneMinder user's monitor permissions. */
  readonly visibility: MonitorVisibility;
  /** monlist/intlist of the connection or token. */
  readonly filter: MonitorFilter;
  /** When this recipient last got a notification for the monitor (ms), if ever. */
  readonly lastSentAt: number | undefined;
}

/**
 * The rules, in order: a user never learns of a monitor ZoneMinder hides from them; the monitor
 * must be in the filter ("all" when the list is empty); a start notification is skipped while
 * the monitor's interval since the last one has not passed. End notifications ignore intervals
 * (and, by the caller, never start one).
 */
export function decide(recipient: RecipientView, monitorId: number, phase: Phase, now: number): Verdict {
  if (!canSee(recipient.visibility, monitorId)) return 'not-permitted';
  const intervalSec = filterInterval(recipient.filter, monitorId);
  if (intervalSec === undefined) return 'filtered';
  if (phase === 'start' && intervalSec > 0 && recipient.lastSentAt !== undefined && now - recipient.lastSentAt < intervalSec * 1000) {
    return 'throttled';
  }
  return 'send';
}

/** Whether a send of this phase should be recorded as the start of a new interval. */
export function startsInterval(phase: Phase): boolean {
  return phase === 'start';
}

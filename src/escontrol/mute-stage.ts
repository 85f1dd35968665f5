/**
 * The escontrol step of the notification pipeline (protocol.md §6 step 1), for start and end
 * notifications alike (classic defect #6 skipped it at the end):
 *   -1  drop the notification on every channel, with one info line;
 *    1  mark it forced: a later rules stage must not mute it (`isForced`). Every device's own
 *       filter, interval and permissions still apply: unlike the classic server, 1 never
 *       bypasses them (defect #8). `unmute` never sets 1; only an imported or hand-edited
 *       store holds it;
 *    0  (or a monitor the store does not list) pass unchanged.
 * Add it before the rules stage.
 */
import type { Logger } from '../log/logger.js';
import type { DraftNotification, NotificationStage } from '../notify/pipeline.js';
import type { MonitorMode } from './overrides-store.js';

export interface MuteStage {
  readonly stage: NotificationStage;
  /** Whether escontrol forced this draft (mode 1): rules must not mute it. */
  isForced(draft: DraftNotification): boolean;
}

export function createMuteStage(modeOf: (monitorId: number) => MonitorMode, log: Logger): MuteStage {
  // Per pipeline instance, keyed by the draft object: nothing leaks into the wire frames.
  const forced = new WeakSet<DraftNotification>();
  return {
    stage: (draft) => {
      const { event, phase } = draft;
      const mode = modeOf(event.monitorId);
      if (mode === -1) {
        log.info(`event ${event.eventId} ${phase} on monitor ${event.monitorName} (${event.monitorId}): muted by escontrol; not notified on any channel`);
        return null;
      }
      if (mode === 1) {
        forced.add(draft);
        log.debug(() => `event ${event.eventId} ${phase} on monitor ${event.monitorId}: forced by escontrol (rules cannot mute it)`);
      }
      return draft;
    },
    isForced: (draft) => forced.has(draft),
  };
}

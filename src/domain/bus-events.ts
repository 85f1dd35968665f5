import type { Notification } from './notification.js';
import type { MonitorInfo, ZmEventChange } from './zm-event.js';

/** The in-process events that tie detection, the pipeline and the channels together. */
export interface ZmesEvents {
  /** Detection saw a start, a cause change or an end. */
  'zm:event': ZmEventChange;
  /** The monitor list was (re)loaded; `removed` lists ids that disappeared. */
  'zm:monitors': { readonly monitors: readonly MonitorInfo[]; readonly removed: readonly number[] };
  /** The pipeline decided to notify: every channel subscribes to this. */
  notification: Notification;
}

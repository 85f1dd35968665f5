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
  /** A (better) picture of an event arrived from ZoneMinder's API. */
  'zm:picture': EventPicture;
  /** ZoneMinder's database became reachable or unreachable (and once at start). */
  'zm:database': { readonly available: boolean };
}

/** The JPEG of one event frame, fetched through ZoneMinder's API. */
export interface EventPicture {
  readonly monitorId: number;
  readonly eventId: bigint;
  /** Fetched at the event's start or at its end. */
  readonly phase: 'start' | 'end';
  /** Which frame ZoneMinder gave: `objdetect` (a hook's detection), `alarm` (the first alarmed frame) or `snapshot` (the highest score). */
  readonly frame: 'snapshot' | 'alarm' | 'objdetect';
  readonly jpeg: Buffer;
}

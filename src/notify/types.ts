/**
 * The data that flows from event detection to the notification channels. Detection emits
 * `ZmEventChange`s; the pipeline turns a start or end into one immutable `Notification` that
 * every channel (WebSocket, FCM, MQTT, API script) delivers by its own rules.
 */
import type { JsonObject, JsonValue } from '../ws/protocol.js';
import type { AlarmFrames } from '../ws/frames.js';

/** A monitor as notifications need it. */
export interface MonitorInfo {
  readonly id: number;
  readonly name: string;
  /** Whether events of this monitor are notified (function/capturing state, skip_monitors). */
  readonly notify: boolean;
}

/** One ZoneMinder event as last read from the Events table. */
export interface ZmEvent {
  /** Events.Id (BIGINT UNSIGNED). */
  readonly eventId: bigint;
  readonly monitorId: number;
  readonly monitorName: string;
  /** Events.Cause as ZoneMinder wrote it at the start ("Motion", "Forced Web", …). */
  readonly cause: string;
  /** Events.Notes: cause detail with zone names ("Motion: Front, Porch"); grows while the event runs. */
  readonly notes: string;
  /** Unix seconds. */
  readonly startTime: number | null;
  /** Unix seconds; null while the event is open. */
  readonly endTime: number | null;
  readonly alarmFrames: number | null;
  readonly maxScore: number;
}

/** What event detection reports, once per event and phase (cause: each time Notes changes). */
export type ZmEventChange =
  | { readonly kind: 'start'; readonly event: ZmEvent }
  | { readonly kind: 'cause'; readonly event: ZmEvent }
  /** `deleted`: the row vanished; `abandoned`: open longer than the limit (ZoneMinder killed). */
  | { readonly kind: 'end'; readonly event: ZmEvent; readonly how: 'ended' | 'deleted' | 'abandoned' };

export type Phase = 'start' | 'end';
export type ChannelName = 'web' | 'fcm' | 'mqtt' | 'api';

export interface Notification {
  readonly phase: Phase;
  readonly event: ZmEvent;
  /** The cause as notified (already with any hook text), without the `End:` prefix. */
  readonly cause: string;
  readonly detectionJson: JsonValue;
  /** `{}` or `{"notification_type":"critical"}` (rules). */
  readonly rulesObject: JsonObject;
  /** Picture URL when include_picture is on; may carry portal credentials: never log it. */
  readonly picture: string | undefined;
  /** Hook exit code (0 without hooks), for MQTT's hookvalue. */
  readonly hookValue: number;
  /** Channels this notification may use (hooks and rules narrow it). */
  readonly channels: ReadonlySet<ChannelName>;
  /** The WebSocket frames, built once (classic defect #12: never mutated per client). */
  readonly frames: AlarmFrames;
  /** When detection saw it, ms since the epoch (for latency logs). */
  readonly detectedAt: number;
}

/** The in-process events that tie detection, the pipeline and the channels together. */
export interface ZmesEvents {
  [name: string]: unknown;
  /** Detection saw a start, a cause change or an end. */
  'zm:event': ZmEventChange;
  /** The monitor list was (re)loaded; `removed` lists ids that disappeared. */
  'zm:monitors': { readonly monitors: readonly MonitorInfo[]; readonly removed: readonly number[] };
  /** The pipeline decided to notify: every channel subscribes to this. */
  notification: Notification;
}

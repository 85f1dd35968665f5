/**
 * What flows from the pipeline to the channels: one immutable notification per event start or
 * end. Each channel renders its own payload from it (WebSocket frames, FCM message, MQTT
 * payloads), so nothing here belongs to one channel.
 */
import type { JsonObject, JsonValue } from './json.js';
import type { ZmEvent } from './zm-event.js';

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
  /** When detection saw it, ms since the epoch (for latency logs). */
  readonly detectedAt: number;
}

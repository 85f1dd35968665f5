/**
 * State payloads of the Home Assistant entities (pure). The per-monitor record is what the
 * publisher remembers, so it can re-send every state after a reconnect or Home Assistant's birth.
 */
import type { JsonObject } from '../domain/json.js';
import { canonicalJson, MOTION_OFF, MOTION_ON, type HaEventType } from './ha-discovery.js';

export type LastEventState = 'open' | 'ended' | 'deleted' | 'abandoned';

/** The last event of a monitor as the "Last event" sensor shows it. */
export interface LastEventRecord {
  readonly eventId: bigint;
  readonly monitorId: number;
  readonly monitorName: string;
  readonly cause: string;
  /** Unix seconds. */
  readonly startTime: number | null;
  readonly endTime: number | null;
  /** From the start notification when include_picture is on; may carry portal credentials. */
  readonly picture: string | null;
  readonly state: LastEventState;
}

export function motionPayload(on: boolean): string {
  return on ? MOTION_ON : MOTION_OFF;
}

/** Seconds since the epoch → ISO 8601 in UTC; null stays null (unknown or still open). */
export function isoTime(unixSeconds: number | null): string | null {
  if (unixSeconds === null || !Number.isFinite(unixSeconds)) return null;
  return new Date(unixSeconds * 1000).toISOString();
}

/** The sensor's state: the event id as text (no BigInt in JSON, no precision lost). */
export function lastEventState(record: LastEventRecord): string {
  return String(record.eventId);
}

export function lastEventAttributes(record: LastEventRecord): string {
  const attributes: JsonObject = {
    event_id: String(record.eventId),
    monitor_id: record.monitorId,
    monitor_name: record.monitorName,
    cause: record.cause,
    start_time: isoTime(record.startTime),
    end_time: isoTime(record.endTime),
    picture: record.picture,
    state: record.state,
  };
  return canonicalJson(attributes);
}

/**
 * One firing of the `event` entity. Keys other than event_type become attributes of the
 * event in Home Assistant, so automations can read them from the trigger.
 */
export function eventEntityPayload(type: HaEventType, record: LastEventRecord): string {
  const payload: JsonObject = {
    event_type: type,
    event_id: String(record.eventId),
    monitor_id: record.monitorId,
    monitor_name: record.monitorName,
    cause: record.cause,
    ...(type === 'event_end' ? { end_state: record.state } : {}),
  };
  return canonicalJson(payload);
}

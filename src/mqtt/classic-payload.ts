/**
 * The classic event server's MQTT message (classic-config.md §10), kept byte-for-byte in shape:
 * users' Home Assistant automations parse `<topic>/<MonitorId>` and its fields.
 */
import type { Notification } from '../domain/notification.js';
import type { JsonValue } from '../domain/json.js';

export interface ClassicMqttMessage {
  readonly monitor: string;
  readonly name: string;
  readonly state: 'alarm';
  readonly eventid: string;
  readonly hookvalue: number;
  readonly eventtype: 'event_start' | 'event_end';
  readonly detection: JsonValue;
}

/** `"<MonitorName>:(<EventId>) <cause>"`, with `Ended:` in front at the end of an event. */
export function classicName(monitorName: string, eventId: bigint, cause: string, phase: Notification['phase']): string {
  return `${phase === 'end' ? 'Ended:' : ''}${monitorName}:(${eventId}) ${cause}`;
}

export function classicMessage(notification: Notification): ClassicMqttMessage {
  const { event, phase } = notification;
  return {
    monitor: String(event.monitorId),
    name: classicName(event.monitorName, event.eventId, notification.cause, phase),
    // Always "alarm", also at the end: the classic server never published another state.
    state: 'alarm',
    eventid: String(event.eventId),
    hookvalue: notification.hookValue,
    eventtype: phase === 'end' ? 'event_end' : 'event_start',
    detection: notification.detectionJson,
  };
}

/** The payload as published, fields in the order of the classic documentation. */
export function classicPayload(notification: Notification): string {
  return JSON.stringify(classicMessage(notification));
}

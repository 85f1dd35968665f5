/**
 * Building blocks for the MQTT channel tests: ZoneMinder events and notifications as the bus
 * carries them, broker settings for tests, a clock whose timers fire only when told, and a
 * condition poller for state that has no event to wait on.
 */
import { manualClock as sharedManualClock, type ManualClock } from './manual-clock.js';
import { DEFAULT_RECONNECT, type MqttSettings } from '../../src/mqtt/mqtt-client.js';
import { DEFAULT_OFFLINE_QUEUE } from '../../src/mqtt/offline-queue.js';
import { topicLayout } from '../../src/mqtt/topics.js';
import type { ChannelName, Notification, Phase } from '../../src/domain/notification.js';
import type { ZmEvent } from '../../src/domain/zm-event.js';
import type { JsonValue } from '../../src/domain/json.js';

export function zmEvent(overrides: Partial<ZmEvent> = {}): ZmEvent {
  return {
    eventId: 999n,
    monitorId: 3,
    monitorName: 'Backyard',
    cause: 'Motion',
    notes: 'Motion: All',
    startTime: 1_767_225_600, // 2026-01-01T00:00:00Z
    endTime: null,
    alarmFrames: null,
    maxScore: 0,
    ...overrides,
  };
}

export interface NotificationInput {
  phase?: Phase;
  event?: ZmEvent;
  cause?: string;
  detectionJson?: JsonValue;
  hookValue?: number;
  picture?: string;
  channels?: ChannelName[];
}

export function notification(input: NotificationInput = {}): Notification {
  const phase = input.phase ?? 'start';
  const event = input.event ?? zmEvent();
  const cause = input.cause ?? 'Motion All';
  const detectionJson = input.detectionJson ?? [];
  return {
    phase,
    event,
    cause,
    detectionJson,
    rulesObject: {},
    picture: input.picture,
    hookValue: input.hookValue ?? 0,
    channels: new Set(input.channels ?? ['web', 'fcm', 'mqtt', 'api']),
    detectedAt: 0,
  };
}

/** Connection settings for a test broker; fast retries so restart tests finish quickly. */
export function testSettings(port: number, topic: string, overrides: Partial<MqttSettings> = {}): MqttSettings {
  return {
    host: '127.0.0.1',
    port,
    tls: null,
    username: null,
    password: null,
    clientId: `zmes-test-${topic.replace(/[^A-Za-z0-9]+/g, '-')}`,
    keepaliveSec: 30,
    connectTimeoutMs: 5000,
    reconnect: { ...DEFAULT_RECONNECT, initialMs: 100, maxMs: 400 },
    availabilityTopic: topicLayout(topic, `${topic}/ha`).availability,
    offlineQueue: DEFAULT_OFFLINE_QUEUE,
    ...overrides,
  };
}

export type { ManualClock } from './manual-clock.js';

export function manualClock(start = 1_767_225_600_000): ManualClock {
  return sharedManualClock(start);
}

/** Polls a condition (for state without an event to wait on); the limit only stops a hung test. */
export async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Notifications, payload options and push requests for the push tests and the benchmark. */
import { manualClock, type ManualClock } from './manual-clock.js';
import type { Notification, Phase } from '../../src/domain/notification.js';
import type { ZmEvent } from '../../src/domain/zm-event.js';
import type { PayloadOptions, PushContent, PushRequest, PushTarget } from '../../src/push/fcm-payload.js';
import { buildPushContent } from '../../src/push/fcm-payload.js';
import { createStrftime } from '../../src/push/strftime.js';

/** 2026-03-05 14:07:09 UTC. */
export const DETECTED_AT = Date.UTC(2026, 2, 5, 14, 7, 9);

export function makeEvent(overrides: Partial<ZmEvent> = {}): ZmEvent {
  return {
    eventId: 4242n,
    monitorId: 1,
    monitorName: 'Front Door',
    cause: 'Motion',
    notes: 'Motion: zone1',
    startTime: Math.floor(DETECTED_AT / 1000) - 2,
    endTime: null,
    alarmFrames: 3,
    maxScore: 40,
    ...overrides,
  };
}

export function makeNotification(overrides: { phase?: Phase; cause?: string; picture?: string; event?: Partial<ZmEvent> } = {}): Notification {
  return {
    phase: overrides.phase ?? 'start',
    event: makeEvent(overrides.event),
    cause: overrides.cause ?? 'Motion: zone1',
    detectionJson: [],
    rulesObject: {},
    picture: overrides.picture,
    hookValue: 0,
    channels: new Set(['web', 'fcm', 'mqtt', 'api']),
    detectedAt: DETECTED_AT,
  };
}

/** Options as the classic defaults, times in UTC so expectations do not depend on TZ. */
export function makePayloadOptions(overrides: Partial<Omit<PayloadOptions, 'formatTime'>> & { dateFormat?: string } = {}): PayloadOptions {
  const strftime = createStrftime({ timeZone: 'UTC' });
  const { dateFormat = '%I:%M %p, %d-%b', ...rest } = overrides;
  return {
    androidPriority: 'high',
    androidTtlSeconds: null,
    replacePushMessages: false,
    tagAlarmEventId: false,
    includeProfile: false,
    logMessageId: 'NONE',
    logRawMessage: false,
    formatTime: (at) => strftime(dateFormat, at),
    ...rest,
  };
}

export function makeTarget(overrides: Partial<PushTarget> = {}): PushTarget {
  return { token: 'tok-android-0123456789', platform: 'android', clientKind: 'zmninja', badge: 1, profile: undefined, ...overrides };
}

export function makeContent(options: PayloadOptions = makePayloadOptions(), notification: Notification = makeNotification()): PushContent {
  return buildPushContent(notification, options);
}

export function makeRequests(tokens: readonly string[], content: PushContent = makeContent(), platform = 'android'): PushRequest[] {
  return tokens.map((token) => ({ content, target: makeTarget({ token, platform }) }));
}

// ---------------------------------------------------------------------------------------------
export type TestClock = ManualClock;

export function testClock(start = DETECTED_AT): TestClock {
  return manualClock(start);
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

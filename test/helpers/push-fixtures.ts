/** Notifications, payload options and push requests for the push tests and the benchmark. */
import type { Notification, Phase, ZmEvent } from '../../src/notify/types.js';
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
    frames: { normal: '{}', supplementary: '{}' },
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
// A clock whose timers run only when the test advances it.

export interface TestClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
  setInterval(fn: () => void, ms: number): { cancel(): void };
  /** Moves time forward, running due timers in order. */
  advance(ms: number): void;
  readonly pending: number;
}

export function testClock(start = DETECTED_AT): TestClock {
  let now = start;
  let nextId = 0;
  const timers = new Map<number, { at: number; fn: () => void; every: number | null }>();
  const schedule = (fn: () => void, ms: number, every: number | null) => {
    const id = nextId++;
    timers.set(id, { at: now + Math.max(0, ms), fn, every });
    return { cancel: () => void timers.delete(id) };
  };
  return {
    now: () => now,
    setTimeout: (fn, ms) => schedule(fn, ms, null),
    setInterval: (fn, ms) => schedule(fn, ms, ms),
    get pending() {
      return timers.size;
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let nextKey: number | undefined;
        let next: { at: number; fn: () => void; every: number | null } | undefined;
        for (const [key, timer] of timers) if (timer.at <= end && (next === undefined || timer.at < next.at)) [nextKey, next] = [key, timer];
        if (next === undefined || nextKey === undefined) break;
        now = next.at;
        if (next.every === null) timers.delete(nextKey);
        else next.at += Math.max(1, next.every);
        next.fn();
      }
      now = end;
    },
  };
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

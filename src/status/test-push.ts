/**
 * The status page's "send test notification": one push through the running FCM sender to one
 * registered device, so a user can check the whole path (zmes → FCM or the proxy → the phone)
 * without waiting for an alarm. It costs no monthly quota and changes no badge or interval.
 */
import { createHash } from 'node:crypto';
import type { PushContent, PushRequest } from '../push/fcm-payload.js';
import type { FcmSender, PushResult } from '../push/fcm-sender.js';
import type { TokenRecord } from '../tokens/token-store.js';
import type { TestPushAnswer } from './status-types.js';

/** The page's handle of a device: derived from the token, reveals nothing of it. */
export function deviceId(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 16);
}

/** Title and body of the test push; monitor and event 0 (no real event behind it). */
export function testPushContent(formatTime: (at: Date) => string, now: number): PushContent {
  const cause = 'Test notification';
  return {
    phase: 'start',
    monitorId: '0',
    eventId: '0',
    monitorName: 'zmes',
    cause,
    dataCause: cause,
    title: 'zmes test notification',
    body: `${cause} from the zmes status page at ${formatTime(new Date(now))}`,
    picture: undefined,
  };
}

export interface TestPushDeps {
  /** The registered devices (the token store). */
  readonly devices: () => readonly TokenRecord[];
  readonly sender: Pick<FcmSender, 'send'>;
  readonly formatTime: (at: Date) => string;
  readonly now: () => number;
  /** Told the outcome (the page's "last push" column). */
  readonly record: (result: PushResult) => void;
  /** A token FCM reports as dead leaves the store, as after any push. */
  readonly remove: (token: string, why: string) => void;
  /** Answer with `pending` when the sender is still retrying after this long. */
  readonly answerWithinMs?: number;
}

export function createTestPush(deps: TestPushDeps): (id: string) => Promise<TestPushAnswer> {
  const busy = new Set<string>();
  return async (id) => {
    const record = deps.devices().find((r) => deviceId(r.token) === id);
    if (record === undefined) return { result: 'unknown-device', detail: 'no registered device has this id (it may have been removed)' };
    if (busy.has(id)) return { result: 'busy', detail: 'a test notification to this device is still under way' };
    busy.add(id);
    const request: PushRequest = {
      content: testPushContent(deps.formatTime, deps.now()),
      target: { token: record.token, platform: record.platform, clientKind: record.clientKind, badge: record.badge, profile: record.profile },
    };
    const sent = deps.sender
      .send([request], (result) => {
        deps.record(result);
        if (result.status === 'invalid-token') deps.remove(result.token, `FCM rejected it (${result.detail})`);
      })
      .then((results) => results[0])
      .finally(() => busy.delete(id));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deps.answerWithinMs ?? 10_000)));
    const outcome = await Promise.race([sent, late]).finally(() => clearTimeout(timer));
    if (outcome === 'late') {
      sent.catch(() => undefined);
      return { result: 'pending', detail: 'FCM has not answered yet; the result will show in the device list' };
    }
    if (outcome === undefined) return { result: 'failed', detail: 'the sender returned no result' };
    return outcome.status === 'ok'
      ? { result: 'sent', detail: 'FCM accepted the test notification' }
      : { result: 'failed', detail: `${outcome.status}: ${outcome.detail}` };
  };
}

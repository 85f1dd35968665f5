import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPush, deviceId, testPushContent } from '../../../src/status/test-push.js';
import { PushResults } from '../../../src/status/push-results.js';
import type { PushRequest, PushResult } from '../../../src/push/fcm-sender.js';
import type { TokenRecord } from '../../../src/tokens/token-store.js';

function record(token: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    token,
    platform: 'android',
    monlist: '',
    intlist: '',
    pushstate: 'enabled',
    appversion: '1.8.001',
    invocations: { count: 0, at: 0 },
    profile: undefined,
    clientKind: 'zmninja',
    badge: 3,
    lastSent: {},
    zmUser: 'owner',
    ...overrides,
  };
}

const result = (request: PushRequest, status: PushResult['status'], detail = ''): PushResult => ({ request, token: request.target.token, status, detail, attempts: 1 });

test('the device id is stable, short, URL-safe and reveals nothing of the token', () => {
  const id = deviceId('a-token-of-some-length-0123456789');
  assert.equal(id, deviceId('a-token-of-some-length-0123456789'));
  assert.match(id, /^[A-Za-z0-9_-]{16}$/);
  assert.notEqual(id, deviceId('another-token'));
  assert.ok(!'a-token-of-some-length-0123456789'.includes(id));
});

test('the test push says what it is, at what time, and names no real event', () => {
  const content = testPushContent((at) => at.toISOString(), Date.UTC(2026, 11, 5, 10, 0, 0));
  assert.equal(content.title, 'zmes test notification');
  assert.equal(content.body, 'Test notification from the zmes status page at 2026-12-05T10:00:00.000Z');
  assert.deepEqual([content.monitorId, content.eventId, content.picture], ['0', '0', undefined]);
});

test('one push to the chosen device, with its own badge and platform; the result is recorded', async () => {
  const sent: PushRequest[][] = [];
  const results = new PushResults();
  const send = createTestPush({
    devices: () => [record('tok-a'), record('tok-b', { platform: 'ios', clientKind: 'zmninjang', profile: 'Home' })],
    sender: {
      send: (batch, onResult) => {
        sent.push([...batch]);
        const out = batch.map((r) => result(r, 'ok'));
        out.forEach((r) => onResult?.(r));
        return Promise.resolve(out);
      },
    },
    formatTime: () => 'now',
    now: () => 0,
    record: (r) => results.record(r, true),
    remove: () => assert.fail('nothing to remove'),
  });
  assert.deepEqual(await send(deviceId('tok-b')), { result: 'sent', detail: 'FCM accepted the test notification' });
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0]!.map((r) => r.target), [{ token: 'tok-b', platform: 'ios', clientKind: 'zmninjang', badge: 3, profile: 'Home' }]);
  assert.deepEqual({ status: results.lastFor('tok-b')?.status, test: results.lastFor('tok-b')?.test }, { status: 'ok', test: true });
  assert.match(results.lastSuccess!.text, /^test push to …/);
});

test('an unknown device, a dead token, a device already being tested, a slow FCM', async () => {
  const removed: string[] = [];
  let answerSlowly: (results: PushResult[]) => void = () => undefined;
  const slow = new Promise<PushResult[]>((resolve) => (answerSlowly = resolve));
  let mode: 'dead' | 'slow' = 'dead';
  const send = createTestPush({
    devices: () => [record('tok-a')],
    sender: {
      send: (batch, onResult) => {
        if (mode === 'slow') return slow;
        const out = batch.map((r) => result(r, 'invalid-token', 'messaging/registration-token-not-registered'));
        out.forEach((r) => onResult?.(r));
        return Promise.resolve(out);
      },
    },
    formatTime: () => 'now',
    now: () => 0,
    record: () => undefined,
    remove: (token) => removed.push(token),
    answerWithinMs: 20,
  });
  assert.equal((await send('nope')).result, 'unknown-device');
  const dead = await send(deviceId('tok-a'));
  assert.equal(dead.result, 'failed');
  assert.match(dead.detail, /invalid-token/);
  assert.deepEqual(removed, ['tok-a'], 'a token FCM calls dead leaves the store');

  mode = 'slow';
  const first = send(deviceId('tok-a'));
  assert.equal((await send(deviceId('tok-a'))).result, 'busy');
  assert.equal((await first).result, 'pending');
  answerSlowly([]);
  await slow;
});

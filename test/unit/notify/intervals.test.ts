/**
 * Per-device intervals (protocol.md §6, §7) through the channels that apply them, not only
 * through `decide`: the FCM channel with a real token store, and the WebSocket channel with its
 * last-sent store. These pin what hand mutations of the interval logic used to get away with:
 * ignoring the last send, the seconds-to-milliseconds factor, keying by monitor, recording a
 * failed push, and end notifications either being throttled or starting an interval.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../../../src/event-bus.js';
import { FcmChannel } from '../../../src/notify/channels/fcm-channel.js';
import { WsChannel } from '../../../src/notify/channels/ws-channel.js';
import { MemoryLastSent } from '../../../src/notify/throttle.js';
import type { Notification, Phase } from '../../../src/domain/notification.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import type { FcmSender, PushResult, PushStatus } from '../../../src/push/fcm-sender.js';
import type { PushRequest } from '../../../src/push/fcm-payload.js';
import { PushDevices } from '../../../src/notify/channels/push-devices.js';
import { TokenStore } from '../../../src/tokens/token-store.js';
import { tokenStoreRegistry } from '../../../src/tokens/token-registry.js';
import { Connection } from '../../../src/ws/connection.js';
import { parseMonitorFilter } from '../../../src/domain/monitor-filter.js';
import { newSession, type Session } from '../../../src/ws/session.js';
import { VISIBLE_ALL } from '../../../src/zm/auth/permissions.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { makeNotification, makePayloadOptions, testClock, type TestClock } from '../../helpers/push-fixtures.js';

const SECOND = 1000;

let nextEventId = 100n;
function alarm(monitorId: number, phase: Phase = 'start'): Notification {
  return makeNotification({ phase, event: { monitorId, eventId: nextEventId++ } });
}

// ---------------------------------------------------------------------------------------------
// FCM

interface FcmFixture {
  clock: TestClock;
  store: TokenStore;
  channel: FcmChannel;
  /** Tokens pushed to, one entry per push, in order. */
  pushed: string[];
  /** The status the fake sender answers next (then back to ok). */
  failNext(status: PushStatus): void;
}

function fcmFixture(t: { after(fn: () => void): void }, lists: { monlist: string; intlist: string }): FcmFixture {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-intervals-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = testClock();
  const log = memoryLogger().log;
  const store = new TokenStore({ path: join(dir, 'tokens.txt'), log, clock, writeDelayMs: 60_000 });
  store.register({ token: 'phone', platform: 'android', zmUser: 'alice', ...lists });
  const pushed: string[] = [];
  let next: PushStatus = 'ok';
  const sender: Pick<FcmSender, 'send'> = {
    send: async (requests: readonly PushRequest[], onResult?: (result: PushResult) => void) => {
      const results = requests.map((request): PushResult => {
        const status = next;
        next = 'ok';
        if (status === 'ok') pushed.push(request.target.token);
        return { request, token: request.target.token, status, detail: status, attempts: 1 };
      });
      for (const result of results) onResult?.(result);
      return results;
    },
  };
  const devices = new PushDevices(store, true, log);
  const channel = new FcmChannel(new EventBus<ZmesEvents>(log), [tokenStoreRegistry(store)], sender, devices, makePayloadOptions(), async () => VISIBLE_ALL, log, () => clock.now());
  return { clock, store, channel, pushed, failNext: (status) => (next = status) };
}

test('FCM interval 60 s on monitor 1: one push, none 10 s later, one after 61 s', async (t) => {
  const f = fcmFixture(t, { monlist: '1', intlist: '60' });
  await f.channel.deliver(alarm(1));
  assert.deepEqual(f.pushed, ['phone']);
  f.clock.advance(10 * SECOND);
  await f.channel.deliver(alarm(1));
  assert.equal(f.pushed.length, 1, 'throttled 10 s after the last push');
  f.clock.advance(49 * SECOND + 999);
  await f.channel.deliver(alarm(1));
  assert.equal(f.pushed.length, 1, 'still throttled 1 ms before the interval ends');
  f.clock.advance(1 * SECOND + 1); // 61 s after the first push
  await f.channel.deliver(alarm(1));
  assert.equal(f.pushed.length, 2);
  // the interval restarts from the push that was sent, not from the throttled ones
  f.clock.advance(10 * SECOND);
  await f.channel.deliver(alarm(1));
  assert.equal(f.pushed.length, 2);
});

test('FCM interval boundary: exactly 60 s after the last push the next one is sent', async (t) => {
  const f = fcmFixture(t, { monlist: '1', intlist: '60' });
  await f.channel.deliver(alarm(1));
  f.clock.advance(60 * SECOND);
  await f.channel.deliver(alarm(1));
  assert.equal(f.pushed.length, 2);
});

test('FCM intervals are per monitor: monitor 1 throttled does not hold back monitor 2, and interval 0 never throttles', async (t) => {
  const f = fcmFixture(t, { monlist: '1,2,3', intlist: '60,60,0' });
  await f.channel.deliver(alarm(1));
  f.clock.advance(10 * SECOND);
  await f.channel.deliver(alarm(2));
  await f.channel.deliver(alarm(1));
  assert.equal(f.pushed.length, 2, 'monitor 2 sent, monitor 1 throttled');
  await f.channel.deliver(alarm(3));
  await f.channel.deliver(alarm(3));
  assert.equal(f.pushed.length, 4, 'interval 0: every alarm');
  assert.equal(f.store.lastSent('phone', 1), f.clock.now() - 10 * SECOND);
});

test('FCM end notifications ignore the interval and never start one', async (t) => {
  const f = fcmFixture(t, { monlist: '1', intlist: '60' });
  await f.channel.deliver(alarm(1));
  const started = f.clock.now();
  f.clock.advance(5 * SECOND);
  await f.channel.deliver(alarm(1, 'end'));
  assert.equal(f.pushed.length, 2, 'the end is pushed inside the interval');
  f.clock.advance(45 * SECOND); // 50 s after the start
  await f.channel.deliver(alarm(1, 'end'));
  assert.equal(f.pushed.length, 3);
  assert.equal(f.store.lastSent('phone', 1), started, 'the ends did not move the last-sent time');
  f.clock.advance(11 * SECOND); // 61 s after the start, 11 s after the last end
  await f.channel.deliver(alarm(1));
  assert.equal(f.pushed.length, 4, 'an end does not start an interval');
});

test('FCM: a push that failed does not start an interval (classic defect #7)', async (t) => {
  const f = fcmFixture(t, { monlist: '1', intlist: '60' });
  f.failNext('transient');
  await f.channel.deliver(alarm(1));
  assert.equal(f.pushed.length, 0);
  assert.equal(f.store.lastSent('phone', 1), undefined);
  f.clock.advance(10 * SECOND);
  await f.channel.deliver(alarm(1));
  assert.deepEqual(f.pushed, ['phone'], 'the next alarm is sent, not throttled by the failed one');
});

// ---------------------------------------------------------------------------------------------
// WebSocket

type FakeSocket = Parameters<Connection<Session>['attach']>[0];

function wsFixture(lists: { monlist: string; intlist: string }) {
  const clock = testClock();
  const log = memoryLogger().log;
  const lastSent = new MemoryLastSent();
  const received: string[] = [];
  const session = newSession();
  session.state = 'authenticated';
  session.user = { name: 'alice', id: 1, visibility: VISIBLE_ALL, via: 'password' };
  session.filter = parseMonitorFilter(lists.monlist, lists.intlist).filter;
  const connection = new Connection<Session>(1, '192.0.2.7', undefined, session, () => {});
  const socket = { send: (frame: string | Uint8Array) => (received.push(typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8')), 1), cork: (fn: () => void) => fn(), getBufferedAmount: () => 0 };
  connection.attach(socket as unknown as FakeSocket);
  const channel = new WsChannel(new EventBus<ZmesEvents>(log), () => [connection], lastSent, log, () => 'normal', () => clock.now());
  return { clock, lastSent, received, connection, channel };
}

test('WebSocket interval 60 s: one alarm, none 10 s later, one after 61 s', () => {
  const w = wsFixture({ monlist: '1', intlist: '60' });
  assert.equal(w.channel.deliver(alarm(1)).sent, 1);
  w.clock.advance(10 * SECOND);
  const throttled = w.channel.deliver(alarm(1));
  assert.deepEqual([throttled.sent, throttled.throttled], [0, 1]);
  w.clock.advance(51 * SECOND);
  assert.equal(w.channel.deliver(alarm(1)).sent, 1);
  assert.equal(w.received.length, 2);
});

test('WebSocket end notifications: sent inside the interval, never throttled by each other, and they do not start an interval', () => {
  const w = wsFixture({ monlist: '1', intlist: '60' });
  w.channel.deliver(alarm(1));
  const started = w.clock.now();
  const key = `conn:${w.connection.id}`;
  w.clock.advance(5 * SECOND);
  assert.equal(w.channel.deliver(alarm(1, 'end')).sent, 1, 'end 5 s after the start');
  w.clock.advance(1 * SECOND);
  assert.equal(w.channel.deliver(alarm(1, 'end')).sent, 1, 'another end 1 s later');
  assert.equal(w.lastSent.get(key, 1), started, 'ends leave the last-sent time alone');
  w.clock.advance(44 * SECOND); // 50 s after the start
  w.channel.deliver(alarm(1, 'end'));
  w.clock.advance(11 * SECOND); // 61 s after the start, 11 s after the last end
  assert.equal(w.channel.deliver(alarm(1)).sent, 1, 'a start 11 s after an end is not throttled by it');
  assert.equal(w.received.length, 5);
});

test('WebSocket: an end for a monitor outside the filter is still filtered, interval or not', () => {
  const w = wsFixture({ monlist: '2', intlist: '60' });
  const stats = w.channel.deliver(alarm(1, 'end'));
  assert.deepEqual([stats.sent, stats.filtered], [0, 1]);
});

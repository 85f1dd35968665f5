import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/event-bus.js';
import { WsReplay } from '../../../src/notify/channels/ws-replay.js';
import type { DeliveryOutcome } from '../../../src/notify/channels/ws-channel.js';
import type { Notification } from '../../../src/domain/notification.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import { Connection } from '../../../src/ws/connection.js';
import { newSession, type Session } from '../../../src/ws/session.js';
import { VISIBLE_ALL } from '../../../src/zm/auth/permissions.js';
import { manualClock } from '../../helpers/manual-clock.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { makeNotification } from '../../helpers/push-fixtures.js';

/** The replay rules with a manual clock; delivery itself is the WebSocket channel's (tested there). */
function setup(windowMs = 60_000) {
  const clock = manualClock(1_000_000);
  const bus = new EventBus<ZmesEvents>(memoryLogger('debug').log);
  const delivered: Array<{ connection: number; eventId: bigint; phase: string }> = [];
  let outcome: DeliveryOutcome = 'sent';
  const channel = {
    deliverTo: (connection: Connection<Session>, n: Notification) => {
      delivered.push({ connection: connection.id, eventId: n.event.eventId, phase: n.phase });
      return outcome;
    },
  };
  const live = new Set<Connection<Session>>();
  const logs = memoryLogger('debug');
  const replay = new WsReplay(bus, channel, () => live, clock, logs.log, { windowMs, tokenGraceMs: 1000 });
  void replay.start(); // subscribes synchronously
  let nextId = 1;
  const connect = (user = 'alice', address = '192.0.2.7') => {
    const session = newSession();
    session.state = 'authenticated';
    session.user = { name: user, id: 1, visibility: VISIBLE_ALL, via: 'password' };
    session.clientKind = 'zmninja';
    const connection = new Connection<Session>(nextId++, address, undefined, session, () => {});
    live.add(connection);
    replay.authenticated(connection);
    return connection;
  };
  const close = (connection: Connection<Session>) => {
    connection.markClosed();
    live.delete(connection);
    replay.closed(connection);
  };
  const alarm = (eventId: number, phase: 'start' | 'end' = 'start') =>
    bus.emit('notification', makeNotification({ phase, event: { eventId: BigInt(eventId) } }));
  return { clock, replay, connect, close, alarm, delivered, logs, setOutcome: (o: DeliveryOutcome) => (outcome = o) };
}

const ids = (delivered: Array<{ eventId: bigint; phase: string }>) => delivered.map((d) => `${d.eventId}/${d.phase}`);

describe('WsReplay', () => {
  test('a client that reconnects within the window gets the gap’s alarms once, in order', () => {
    const t = setup();
    const first = t.connect();
    t.clock.advance(2000);
    t.close(first);
    t.clock.advance(1000);
    t.alarm(1);
    t.clock.advance(1000);
    t.alarm(1, 'end');
    t.alarm(2);
    t.clock.advance(8000);
    const second = t.connect();
    assert.equal(t.delivered.length, 0, 'nothing before the token grace ends');
    t.clock.advance(1000);
    assert.deepEqual(ids(t.delivered), ['1/start', '1/end', '2/start']);
    assert.ok(t.delivered.every((d) => d.connection === second.id));
    assert.equal(t.logs.grep(/replayed 3 missed alarm\(s\)/).length, 1);
    // A later reconnect of the same device does not get them again.
    t.close(second);
    const third = t.connect();
    t.clock.advance(1000);
    assert.equal(t.delivered.length, 3);
    void third;
  });

  test('alarms before the connection was lost are not replayed', () => {
    const t = setup();
    const first = t.connect();
    t.clock.advance(1500);
    t.alarm(1); // delivered live to `first`
    t.clock.advance(500);
    t.close(first);
    t.clock.advance(100);
    t.alarm(2);
    t.clock.advance(100);
    t.connect();
    t.clock.advance(1000);
    assert.deepEqual(ids(t.delivered), ['2/start']);
  });

  test('after a restart, a client connecting within the window gets what was notified since the start', () => {
    const t = setup();
    t.alarm(10); // the catch-up of events missed while zmes was down
    t.alarm(11);
    t.clock.advance(10_000);
    t.connect();
    t.clock.advance(1000);
    assert.deepEqual(ids(t.delivered), ['10/start', '11/start']);
  });

  test('outside the window nothing is replayed', () => {
    const t = setup(60_000);
    const first = t.connect();
    t.clock.advance(1000);
    t.close(first);
    t.alarm(1);
    t.clock.advance(61_000);
    t.connect();
    t.clock.advance(1000);
    assert.deepEqual(t.delivered, []);
  });

  test('a token frame names the device and triggers the replay at once', () => {
    const t = setup();
    const first = t.connect();
    first.session.push = { token: 'tok-a', platform: 'android', state: 'enabled', profile: undefined };
    t.clock.advance(1000);
    t.close(first);
    t.clock.advance(100);
    t.alarm(1);
    t.clock.advance(100);
    // The same phone comes back from another address (mobile network): the token still names it.
    const second = t.connect('alice', '198.51.100.9');
    second.session.push = { token: 'tok-a', platform: 'android', state: 'enabled', profile: undefined };
    t.replay.tokenRegistered(second);
    assert.deepEqual(ids(t.delivered), ['1/start']);
    t.clock.advance(5000);
    assert.equal(t.delivered.length, 1, 'the grace timer does not replay twice');
  });

  test('a second socket of a device that stayed connected gets nothing (zmNinja opens duplicates)', () => {
    const t = setup();
    const stays = t.connect();
    t.clock.advance(1000);
    const drops = t.connect();
    t.clock.advance(1000);
    t.close(drops);
    t.alarm(1);
    t.connect();
    t.clock.advance(1000);
    assert.deepEqual(t.delivered, []);
    void stays;
  });

  test('each device has its own gap: another address of the same user is another device', () => {
    const t = setup();
    const home = t.connect('alice', '192.0.2.7');
    t.clock.advance(1000);
    const office = t.connect('alice', '203.0.113.5');
    t.clock.advance(1000);
    t.close(home);
    t.clock.advance(100);
    t.alarm(1); // delivered live to the office socket, missed at home
    t.clock.advance(100);
    t.connect('alice', '192.0.2.7');
    t.clock.advance(1000);
    assert.deepEqual(ids(t.delivered), ['1/start']);
    void office;
  });

  test('replay_window 0 turns it off', () => {
    const t = setup(0);
    t.alarm(1);
    t.connect();
    t.clock.advance(1000);
    assert.deepEqual(t.delivered, []);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/event-bus.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import type { MonitorInfo } from '../../../src/domain/zm-event.js';
import { StatusBoard, type ClientView, type StatusSources } from '../../../src/status/status-board.js';
import { RecentLog, recordingLogger } from '../../../src/status/recent-log.js';
import { PushResults } from '../../../src/status/push-results.js';
import { deviceId } from '../../../src/status/test-push.js';
import type { TokenRecord } from '../../../src/tokens/token-store.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { manualClock } from '../../helpers/manual-clock.js';
import { notification, zmEvent } from '../../helpers/mqtt-fixtures.js';

const T0 = Date.UTC(2026, 11, 5, 9, 0, 0);

interface Fixture {
  board: StatusBoard;
  bus: EventBus<ZmesEvents>;
  clock: ReturnType<typeof manualClock>;
  recent: RecentLog;
  pushes: PushResults;
  state: { monitors: MonitorInfo[]; clients: ClientView[]; devices: TokenRecord[]; mqttConnected: boolean; available: boolean; polls: number };
}

function fixture(overrides: Partial<StatusSources> = {}): Fixture {
  const clock = manualClock(T0);
  const bus = new EventBus<ZmesEvents>(memoryLogger('info').log);
  const recent = new RecentLog(() => clock.now());
  const pushes = new PushResults(() => clock.now());
  const state: Fixture['state'] = { monitors: [], clients: [], devices: [], mqttConnected: false, available: true, polls: 0 };
  const sources: StatusSources = {
    version: '0.2.0',
    database: {
      get isAvailable() {
        return state.available;
      },
      target: 'zmuser@zm.local:3306/zm',
    },
    schema: () => '1.37+',
    detection: {
      get stats() {
        return { polls: state.polls, lastEventId: state.polls > 0 ? 41n : null, lastPollAt: state.polls > 0 ? clock.now() : null };
      },
      get monitorList() {
        return state.monitors;
      },
    },
    clients: () => state.clients,
    devices: () => state.devices,
    mqtt: {
      get connected() {
        return state.mqttConnected;
      },
      detail: 'broker mqtt.local:1883',
    },
    fcm: { mode: 'proxy' },
    zoneminderApi: undefined,
    ...overrides,
  };
  const board = new StatusBoard(bus, sources, recent, pushes, clock, { maxEvents: 3, maxListed: 2 });
  return { board, bus, clock, recent, pushes, state };
}

function client(id: number, user: string | undefined, openedAt: number): ClientView {
  return {
    id,
    remoteAddress: `192.168.1.${id}`,
    openedAt,
    session: { state: user ? 'authenticated' : 'pending', user: user ? { name: user } : undefined, clientKind: 'zmninjang', appVersion: '2.1.4' },
  };
}

function device(token: string, registeredAt: number | undefined): TokenRecord {
  return {
    token,
    platform: 'ios',
    monlist: '',
    intlist: '',
    pushstate: 'enabled',
    appversion: 'unknown',
    invocations: { count: 0, at: 0 },
    profile: 'Home',
    clientKind: 'zmninjang',
    badge: 0,
    lastSent: {},
    zmUser: 'anna',
    registeredAt,
  };
}

test('an event is listed from its start to its end, newest first, and becomes its monitor’s last event', async () => {
  const { board, bus, clock, state } = fixture();
  await board.start();
  state.monitors = [
    { id: 2, name: 'Driveway', notify: true },
    { id: 1, name: 'Front Door', notify: false },
  ];
  const started = zmEvent({ eventId: 41n, monitorId: 2, monitorName: 'Driveway', cause: 'Motion', notes: 'Motion: Gate', startTime: T0 / 1000 });
  bus.emit('zm:event', { kind: 'start', event: started });
  clock.advance(1000);
  bus.emit('zm:event', { kind: 'cause', event: { ...started, notes: 'Motion: Gate, Path' } });
  let s = board.snapshot();
  assert.deepEqual(s.events, [
    { event_id: '41', monitor_id: 2, monitor_name: 'Driveway', cause: 'Motion: Gate, Path', started_at: '2026-12-05T09:00:00.000Z', ended_at: null, state: 'open' },
  ]);
  bus.emit('zm:event', { kind: 'end', event: { ...started, notes: 'Motion: Gate, Path', endTime: T0 / 1000 + 5 }, how: 'ended' });
  s = board.snapshot();
  assert.deepEqual({ state: s.events[0]!.state, ended: s.events[0]!.ended_at }, { state: 'ended', ended: '2026-12-05T09:00:05.000Z' });
  assert.deepEqual(
    s.monitors.map((m) => [m.id, m.name, m.notify, m.last_event?.event_id ?? null]),
    [
      [1, 'Front Door', false, null],
      [2, 'Driveway', true, '41'],
    ],
  );
  for (const id of [42n, 43n, 44n]) bus.emit('zm:event', { kind: 'start', event: zmEvent({ eventId: id, monitorId: 1 }) });
  assert.deepEqual(
    board.snapshot().events.map((e) => e.event_id),
    ['44', '43', '42'],
    'at most maxEvents, newest first',
  );
  assert.equal(board.snapshot().monitors.find((m) => m.id === 2)!.last_event?.event_id, '41', 'kept beyond the recent list');
  await board.stop();
  bus.emit('zm:event', { kind: 'start', event: zmEvent({ eventId: 45n }) });
  assert.equal(board.snapshot().events[0]!.event_id, '44', 'nothing recorded after stop');
});

test('clients and devices: newest first, at most maxListed with the total, tokens masked', () => {
  const { board, state, pushes } = fixture();
  state.clients = [client(1, 'anna', T0), client(2, undefined, T0 + 2000), client(3, 'ben', T0 + 1000)];
  state.devices = [device('token-old-0123456789', T0), device('token-new-abcdefghij', T0 + 5000), device('classic-token-zzzzzzzzzz', undefined)];
  pushes.record({ token: 'token-new-abcdefghij', status: 'transient', detail: 'HTTP 503' });
  const s = board.snapshot();
  assert.equal(s.clients_total, 3);
  assert.deepEqual(
    s.clients.map((c) => [c.id, c.user, c.app, c.address, c.state]),
    [
      [2, null, 'zmNinjaNg', '192.168.1.2', 'pending'],
      [3, 'ben', 'zmNinjaNg', '192.168.1.3', 'authenticated'],
    ],
  );
  assert.equal(s.devices_total, 3);
  assert.deepEqual(s.devices[0], {
    id: deviceId('token-new-abcdefghij'),
    token: '…abcdefghij',
    user: 'anna',
    platform: 'ios',
    app: 'zmNinjaNg',
    push: 'enabled',
    registered_at: new Date(T0 + 5000).toISOString(),
    last_push: { at: new Date(T0).toISOString(), status: 'transient', detail: 'HTTP 503', test: false },
  });
  assert.ok(!JSON.stringify(s).includes('token-new-abcdefghij'));
});

test('channel health: successes, errors from the log of each part, states', async () => {
  const { board, bus, clock, state, recent, pushes } = fixture();
  await board.start();
  const log = recordingLogger(memoryLogger('info').log, recent, []);
  let s = board.snapshot();
  assert.deepEqual(
    { state: s.mqtt.state, success: s.mqtt.last_success, error: s.mqtt.last_error },
    { state: 'down', success: null, error: null },
  );
  state.mqttConnected = true;
  clock.advance(1000);
  s = board.snapshot();
  assert.deepEqual({ state: s.mqtt.state, success: s.mqtt.last_success?.text }, { state: 'up', success: 'connected to the broker' });
  bus.emit('notification', notification({ event: zmEvent({ eventId: 77n }) }));
  assert.equal(board.snapshot().mqtt.last_success?.text, 'event 77 start published');
  log.child('mqtt').warn('lost the connection to MQTT broker mqtt.local:1883');
  assert.equal(board.snapshot().mqtt.last_error?.text, 'lost the connection to MQTT broker mqtt.local:1883');

  state.available = false;
  log.child('db').error('database zmuser@zm.local:3306/zm unreachable');
  s = board.snapshot();
  assert.deepEqual({ state: s.database.state, error: s.database.last_error?.text, schema: s.database.schema, polls: s.database.polls }, {
    state: 'down',
    error: 'database zmuser@zm.local:3306/zm unreachable',
    schema: '1.37+',
    polls: 0,
  });
  state.polls = 12;
  assert.deepEqual({ poll: board.snapshot().database.last_poll_at, id: board.snapshot().database.last_event_id }, { poll: new Date(clock.now()).toISOString(), id: '41' });

  assert.equal(board.snapshot().fcm.state, 'up');
  pushes.record({ token: 'tok-aaaaaaaaaaaa', status: 'fatal', detail: 'proxy answered 401' });
  s = board.snapshot();
  assert.deepEqual({ state: s.fcm.state, detail: s.fcm.detail }, { state: 'down', detail: 'through the FCM proxy' });
  assert.match(s.fcm.last_error!.text, /fatal \(proxy answered 401\)/);
  clock.advance(1000);
  pushes.record({ token: 'tok-aaaaaaaaaaaa', status: 'ok', detail: '' });
  assert.equal(board.snapshot().fcm.state, 'up', 'a later success clears it');

  assert.deepEqual(board.snapshot().zoneminder_api.state, 'off');
  assert.deepEqual(
    board.snapshot().errors.map((e) => [e.level, e.module]),
    [
      ['error', 'db'],
      ['warn', 'mqtt'],
    ],
  );
});

test('what is off says why; a reported API health is shown as it is', () => {
  const { board } = fixture({
    mqtt: { off: 'mqtt.enable is off' },
    fcm: { off: 'fcm.enable is off' },
    devices: undefined,
    zoneminderApi: () => ({ state: 'down', detail: 'http://zm.local/zm', lastSuccess: null, lastError: { at: T0, text: 'login refused' } }),
  });
  const s = board.snapshot();
  assert.deepEqual([s.mqtt.state, s.mqtt.detail], ['off', 'mqtt.enable is off']);
  assert.deepEqual([s.fcm.state, s.fcm.detail], ['off', 'fcm.enable is off']);
  assert.deepEqual(s.devices, []);
  assert.deepEqual(s.zoneminder_api, { state: 'down', detail: 'http://zm.local/zm', last_success: null, last_error: { at: new Date(T0).toISOString(), text: 'login refused' } });
});

test('open pages hear of every change: events, log lines, push results, logins', async () => {
  const { board, bus, recent, pushes } = fixture();
  await board.start();
  let heard = 0;
  board.onChange(() => heard++);
  bus.emit('zm:event', { kind: 'start', event: zmEvent() });
  bus.emit('zm:monitors', { monitors: [], removed: [] });
  recent.add('warn', 'ws', 'x');
  pushes.record({ token: 't', status: 'ok', detail: '' });
  board.authenticated();
  board.tokenRegistered();
  board.closed();
  assert.equal(heard, 7);
  await board.stop();
});

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';
import { loadConfig } from '../../../src/config/load.js';
import { escontrolOverrides } from '../../../src/escontrol/startup-overrides.js';
import { PROTOCOL_VERSION } from '../../../src/version.js';
import { SERVER_ID } from '../../../src/ws/frames.js';

/**
 * The escontrol admin interface over real sockets: login, every command with its exact reply,
 * persistence across a restart, and its effect on what WebSocket clients receive.
 */
const ADMIN_PASSWORD = 'admin-secret';
const AUTH_SUCCESS = JSON.stringify({ event: 'auth', type: '', status: 'Success', reason: '', version: PROTOCOL_VERSION, server: SERVER_ID });

let db: ZmTestDatabase;
let sim: ZmSimulator;
let front: number;
let drive: number;
let stateDir: string;
const clients: TestClient[] = [];
const servers: TestServer[] = [];

function escontrolSettings(file = join(stateDir, 'escontrol.json')): Record<string, unknown> {
  return {
    'general.use_escontrol_interface': true,
    'general.escontrol_interface_password': ADMIN_PASSWORD,
    'general.escontrol_interface_file': file,
  };
}

async function server(overrides: Record<string, unknown>, restart?: () => void): Promise<TestServer> {
  const started = await startTestServer(db.appSettings!, overrides, restart ? { restart } : {});
  servers.push(started);
  return started;
}

async function connect(s: TestServer): Promise<TestClient> {
  const c = await connectClient(s.url);
  clients.push(c);
  return c;
}

/** An admin connection; asserts the exact success frame. */
async function admin(s: TestServer): Promise<TestClient> {
  const c = await connect(s);
  c.send({ event: 'auth', category: 'escontrol', data: { password: ADMIN_PASSWORD } });
  await c.next((f) => f['event'] === 'auth');
  assert.equal(c.raw.at(-1), AUTH_SUCCESS);
  return c;
}

async function user(s: TestServer, data: Record<string, string> = {}): Promise<TestClient> {
  const c = await connect(s);
  c.send({ event: 'auth', data: { user: 'owner', password: 'pw', appversion: '1.8.001', ...data }, token: '' });
  assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
  return c;
}

/** Sends a command and returns the raw text of the reply. */
async function command(c: TestClient, data: Record<string, unknown>): Promise<string> {
  c.send({ event: 'escontrol', data });
  await c.next((f) => f['event'] === 'escontrol');
  return c.raw.at(-1)!;
}

async function storeOf(c: TestClient): Promise<Record<string, unknown>> {
  const reply = JSON.parse(await command(c, { command: 'get' })) as { response: string };
  return JSON.parse(reply.response) as Record<string, unknown>;
}

type AlarmElement = { MonitorId: number; EventId: number; Cause: string };
const element = (f: Record<string, unknown>) => (f['events'] as AlarmElement[])[0]!;
const alarmsOf = (c: TestClient) => c.frames.filter((f) => f['event'] === 'alarm').map(element);
async function alarmFor(c: TestClient, eventId: bigint, prefix = ''): Promise<AlarmElement> {
  return element(await c.next((f) => f['event'] === 'alarm' && element(f).EventId === Number(eventId) && element(f).Cause.startsWith(prefix), 10_000));
}

/** Waits until detection has loaded the monitor list (mute/unmute without a list use it). */
async function monitorsLoaded(s: TestServer): Promise<void> {
  await s.app.detection.ready();
}

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  sim = await ZmSimulator.create(db.pool);
  front = await sim.createMonitor({ name: 'Front Door' });
  drive = await sim.createMonitor({ name: 'Driveway' });
  await insertZmUser(db.execute, { username: 'owner', passwordHash: await zmPasswordHash('pw', 'mysql41') });
  stateDir = mkdtempSync(join(tmpdir(), 'zmes-escontrol-'));
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const s of servers) await s.stop().catch(() => undefined);
  await sim?.idle();
  await db?.drop();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('escontrol commands', () => {
  let s: TestServer;
  let restarts = 0;
  let adminClient: TestClient;
  const file = () => join(stateDir, 'commands.json');

  before(async () => {
    s = await server(escontrolSettings(file()), () => restarts++);
    await monitorsLoaded(s);
    adminClient = await admin(s);
  });

  test('get answers the store as a JSON string inside the reply (double-encoded)', async () => {
    assert.equal(
      await command(adminClient, { command: 'get' }),
      '{"event":"escontrol","type":"","status":"Success","request":{"command":"get"},"response":"{\\"notifications\\":{}}"}',
    );
  });

  test('mute and unmute with a monitor list answer Success with type "" and set -1, then 0', async () => {
    assert.equal(
      await command(adminClient, { command: 'mute', monitors: [front] }),
      `{"event":"escontrol","type":"","status":"Success","request":{"command":"mute","monitors":[${front}]}}`,
    );
    assert.deepEqual(await storeOf(adminClient), { notifications: { [front]: -1 } });
    assert.equal(
      await command(adminClient, { command: 'unmute', monitors: [front] }),
      `{"event":"escontrol","type":"","status":"Success","request":{"command":"unmute","monitors":[${front}]}}`,
    );
    assert.deepEqual(await storeOf(adminClient), { notifications: { [front]: 0 } }, 'unmute returns to 0, never to the classic force-notify 1');
    assert.deepEqual(JSON.parse(readFileSync(file(), 'utf8')), { notifications: { [front]: 0 } }, 'every change is on disk at once');
  });

  test('mute without a list mutes every monitor ZoneMinder has; unmute without a list restores them all', async () => {
    assert.equal(await command(adminClient, { command: 'mute' }), '{"event":"escontrol","type":"","status":"Success","request":{"command":"mute"}}');
    assert.deepEqual(await storeOf(adminClient), { notifications: { [front]: -1, [drive]: -1 } });
    await command(adminClient, { command: 'unmute' });
    assert.deepEqual(await storeOf(adminClient), { notifications: { [front]: 0, [drive]: 0 } });
  });

  test('edit stores section.key or an unambiguous bare key; ambiguous keys and invalid values fail with the problem named', async () => {
    assert.equal(
      await command(adminClient, { command: 'edit', key: 'customize.send_event_end_notification', val: 'yes' }),
      '{"event":"escontrol","type":"","status":"Success","request":{"command":"edit","key":"customize.send_event_end_notification","val":"yes"}}',
    );
    assert.equal(
      await command(adminClient, { command: 'edit', key: 'tag_alarm_event_id', val: 'yes' }),
      '{"event":"escontrol","type":"","status":"Success","request":{"command":"edit","key":"tag_alarm_event_id","val":"yes"}}',
    );
    const ambiguous = JSON.parse(await command(adminClient, { command: 'edit', key: 'enable', val: 'no' })) as Record<string, unknown>;
    assert.deepEqual({ ...ambiguous, detail: undefined }, {
      event: 'escontrol',
      type: 'command',
      status: 'Fail',
      reason: 'BADKEY',
      request: { command: 'edit', key: 'enable', val: 'no' },
      detail: undefined,
    });
    assert.match(String(ambiguous['detail']), /enable is ambiguous \(.*auth\.enable.*mqtt\.enable.*\); write section\.key/);
    const invalid = JSON.parse(await command(adminClient, { command: 'edit', key: 'auth.timeout', val: 'soon' })) as Record<string, unknown>;
    assert.equal(invalid['reason'], 'BADVALUE');
    assert.match(String(invalid['detail']), /auth\.timeout: "soon" is not valid .*expected a whole number of at least 1/);
    const unknown = JSON.parse(await command(adminClient, { command: 'edit', key: 'general.no_such_key', val: '1' })) as Record<string, unknown>;
    assert.equal(unknown['reason'], 'BADKEY');
    assert.deepEqual(await storeOf(adminClient), {
      notifications: { [front]: 0, [drive]: 0 },
      'customize.send_event_end_notification': 'yes',
      'customize.tag_alarm_event_id': 'yes',
    });
    assert.equal(s.config.customize.send_event_end_notification, false, 'an edit takes effect at the next start, not now');
  });

  test('a sensitive edited value never reaches the log', async () => {
    await command(adminClient, { command: 'edit', key: 'mqtt.password', val: 'hunter2-very-secret' });
    assert.deepEqual(s.logs.grep(/hunter2-very-secret/), []);
    assert.equal(s.logs.grep(/mqtt\.password = \(hidden\) stored/).length, 1);
  });

  test('reset clears everything and answers with type "command"', async () => {
    assert.equal(await command(adminClient, { command: 'reset' }), '{"event":"escontrol","type":"command","status":"Success","request":{"command":"reset"}}');
    assert.deepEqual(await storeOf(adminClient), { notifications: {} });
  });

  test('restart answers Success with type "command", then calls the restart callback', async () => {
    assert.equal(await command(adminClient, { command: 'restart' }), '{"event":"escontrol","type":"command","status":"Success","request":{"command":"restart"}}');
    for (let i = 0; i < 50 && restarts === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(restarts, 1);
  });

  test('an unknown command gets NOTSUPPORTED echoing the request; a frame without data gets NODATA', async () => {
    assert.equal(
      await command(adminClient, { command: 'dance', speed: 3 }),
      '{"event":"escontrol","type":"command","status":"Fail","reason":"NOTSUPPORTED","request":{"command":"dance","speed":3}}',
    );
    adminClient.send({ event: 'escontrol' });
    await adminClient.next((f) => f['event'] === 'escontrol');
    assert.equal(adminClient.raw.at(-1), '{"event":"escontrol","type":"command","status":"Fail","reason":"NODATA"}');
  });

  test('a connection that is not logged in as admin gets NOTCONTROL, authenticated or not', async () => {
    const normal = await user(s);
    assert.equal(await command(normal, { command: 'get' }), '{"event":"escontrol","type":"command","status":"Fail","reason":"NOTCONTROL"}');
    const anonymous = await connect(s);
    assert.equal(await command(anonymous, { command: 'mute' }), '{"event":"escontrol","type":"command","status":"Fail","reason":"NOTCONTROL"}');
    anonymous.send({ event: 'escontrol' });
    await anonymous.next((f) => f['event'] === 'escontrol');
    assert.equal(anonymous.raw.at(-1), '{"event":"escontrol","type":"command","status":"Fail","reason":"NOTCONTROL"}');
  });

  test('an admin connection can neither register a push token nor set a filter', async () => {
    adminClient.send({ event: 'control', data: { type: 'filter', monlist: '1', intlist: '0' } });
    assert.deepEqual(await adminClient.next((f) => f['event'] === 'control'), { event: 'control', type: 'filter', status: 'Fail', reason: 'NOAUTH' });
  });

  test('a wrong admin password gets BADAUTH, the socket is closed, and the failure counts toward the login limit', async () => {
    const strict = await server({ ...escontrolSettings(join(stateDir, 'strict.json')), 'auth.max_failures': 2 });
    for (let i = 0; i < 2; i++) {
      const c = await connect(strict);
      c.send({ event: 'auth', category: 'escontrol', data: { password: 'guess' } });
      assert.deepEqual(await c.next(), { event: 'auth', type: '', status: 'Fail', reason: 'BADAUTH' });
      assert.equal((await c.closed).code, 1008);
    }
    // Counted for the admin (a pseudo-user of the login limiter): the right admin password is now refused too…
    const c = await connect(strict);
    c.send({ event: 'auth', category: 'escontrol', data: { password: ADMIN_PASSWORD } });
    assert.equal((await c.closed).code, 1013);
    assert.deepEqual(c.frames, []);
    assert.equal(strict.logs.grep(/too many failed logins from 127\.0\.0\.1 for the escontrol admin/).length, 1);
    // …while admin guesses do not lock a ZoneMinder user out at the same address.
    await (await user(strict)).close();
    assert.equal(strict.logs.grep(/bad escontrol password from 127\.0\.0\.1/).length, 2);
    assert.deepEqual(strict.logs.grep(/guess/), [], 'the tried password is not logged');
  });
});

describe('escontrol switched off or without a password', () => {
  test('with the interface off, an admin login gets ESCONTROLDISABLED and commands get the escontrol ESCONTROLDISABLED', async () => {
    const off = await server({});
    const c = await connect(off);
    c.send({ event: 'auth', category: 'escontrol', data: { password: ADMIN_PASSWORD } });
    assert.deepEqual(await c.next(), { event: 'auth', type: '', status: 'Fail', reason: 'ESCONTROLDISABLED' });
    assert.equal(await command(c, { command: 'get' }), '{"event":"escontrol","type":"","status":"Fail","reason":"ESCONTROLDISABLED"}');
  });

  test('with the interface on but no password set, every admin login is refused and the log says why', async () => {
    const unset = await server({ 'general.use_escontrol_interface': true, 'general.escontrol_interface_file': join(stateDir, 'unset.json') });
    const c = await connect(unset);
    c.send({ event: 'auth', category: 'escontrol', data: { password: '' } });
    assert.deepEqual(await c.next(), { event: 'auth', type: '', status: 'Fail', reason: 'BADAUTH' });
    assert.equal((await c.closed).code, 1008);
    assert.equal(unset.logs.grep(/general\.escontrol_interface_password is not set/).length, 2, 'one warning at start, one per refused login');
  });
});

describe('escontrol and notifications', () => {
  test('a muted monitor reaches no WebSocket client, unmute restores it, and the admin connection never gets alarms', async () => {
    const s = await server(escontrolSettings(join(stateDir, 'mute.json')));
    await monitorsLoaded(s);
    const adminClient = await admin(s);
    const owner = await user(s);
    await command(adminClient, { command: 'mute', monitors: [front] });

    const muted = await sim.startEvent(front);
    const barrier = await sim.startEvent(drive);
    await alarmFor(owner, barrier);
    assert.deepEqual(alarmsOf(owner).map((a) => a.EventId), [Number(barrier)], 'the muted monitor event never arrived');
    assert.equal(s.logs.grep(new RegExp(`event ${muted} start on monitor Front Door \\(${front}\\): muted by escontrol`)).length, 1);

    await command(adminClient, { command: 'unmute', monitors: [front] });
    const restored = await sim.startEvent(front);
    await alarmFor(owner, restored);
    assert.deepEqual(alarmsOf(adminClient), [], 'admin sessions are no notification recipients');
    for (const id of [muted, barrier, restored]) await sim.endEvent(id);
  });

  test('the store and an edit survive a restart on the same files: mutes hold and the edited setting is in effect', async () => {
    const file = join(stateDir, 'persist.json');
    const first = await server(escontrolSettings(file));
    await monitorsLoaded(first);
    const a = await admin(first);
    await command(a, { command: 'mute', monitors: [drive] });
    await command(a, { command: 'edit', key: 'customize.send_event_end_notification', val: 'yes' });
    await first.stop();
    servers.splice(servers.indexOf(first), 1);

    // What src/main.ts does before starting: load, read the store, load again with its overrides.
    const base = loadConfig({ env: {}, overrides: escontrolSettings(file) });
    const { overrides, warnings } = escontrolOverrides(base, { env: {}, overrides: escontrolSettings(file) });
    assert.deepEqual(overrides, { 'customize.send_event_end_notification': 'yes' });
    assert.deepEqual(warnings, []);
    const second = await server({ ...escontrolSettings(file), ...overrides });
    assert.equal(second.config.customize.send_event_end_notification, true);
    await monitorsLoaded(second);

    const b = await admin(second);
    assert.deepEqual(await storeOf(b), { notifications: { [drive]: -1 }, 'customize.send_event_end_notification': 'yes' });
    const owner = await user(second);
    const onDrive = await sim.startEvent(drive);
    const onFront = await sim.startEvent(front);
    await alarmFor(owner, onFront);
    await sim.endEvent(onFront);
    assert.equal((await alarmFor(owner, onFront, 'End:')).Cause.startsWith('End:'), true, 'end notifications are on after the restart');
    await sim.endEvent(onDrive);
    // Frames arrive in order: after the end of onFront and a last barrier, nothing of Driveway came.
    const barrier = await sim.startEvent(front);
    await alarmFor(owner, barrier);
    assert.deepEqual(alarmsOf(owner).filter((x) => x.MonitorId === drive), [], 'the mute survived the restart, also for end notifications');
    await sim.endEvent(barrier);
  });
});

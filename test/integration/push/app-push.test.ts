import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { connectFakeFcm, startFakeFcm, type FakeFcm, type FakeFcmApp } from '../../helpers/fake-fcm.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';

/**
 * Push delivery through the running server: tokens registered over the WebSocket, alarms from
 * ZoneMinder rows, pushes through firebase-admin's own HTTP/2 path to a local fake FCM.
 */
let db: ZmTestDatabase;
let sim: ZmSimulator;
let fake: FakeFcm;
let fcm: FakeFcmApp;
let server: TestServer;
let dataDir: string;
let front: number;
let drive: number;
const clients: TestClient[] = [];

async function startServer(): Promise<TestServer> {
  return startTestServer(db.appSettings!, { 'general.base_data_path': dataDir }, { firebaseApp: fcm.app });
}

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  sim = await ZmSimulator.create(db.pool);
  front = await sim.createMonitor({ name: 'Front Door' });
  drive = await sim.createMonitor({ name: 'Driveway' });
  const hash = await zmPasswordHash('pw', 'mysql41');
  await insertZmUser(db.execute, { username: 'owner', passwordHash: hash });
  await insertZmUser(db.execute, { username: 'neighbour', passwordHash: hash, monitorIds: String(drive) });
  fake = await startFakeFcm({ unregistered: ['dead-token'] });
  fcm = connectFakeFcm(fake);
  dataDir = mkdtempSync(join(tmpdir(), 'zmes-push-'));
  server = await startServer();
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
  await fcm?.dispose();
  await fake?.close();
  await sim?.idle();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function phone(user: string, token: string, options: { auth?: Record<string, string>; token?: Record<string, string> } = {}): Promise<TestClient> {
  const c = await connectClient(server.url);
  clients.push(c);
  c.send({ event: 'auth', data: { user, password: 'pw', appversion: '1.8.001', ...options.auth }, token });
  assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
  c.send({ event: 'push', data: { type: 'token', platform: 'android', token, state: 'enabled', appversion: '1.8.001', ...options.token }, token });
  // A version probe makes sure the token frame was handled before the test goes on.
  c.send({ event: 'control', data: { type: 'version' } });
  await c.next((f) => f['type'] === 'version');
  return c;
}

const pushesTo = (token: string) => fake.requests.filter((r) => r.token === token);
const alarmFrames = (c: TestClient, eventId: bigint) =>
  c.frames.filter((f) => f['event'] === 'alarm' && (f['events'] as Array<{ EventId: number }>)[0]!.EventId === Number(eventId));

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

test('a connected zmNinja phone gets the push and the supplementary frame, exactly once, even with a duplicate socket', async () => {
  const first = await phone('owner', 'tok-dup', { auth: { monlist: String(front), intlist: '0' } });
  const second = await phone('owner', 'tok-dup', { auth: { monlist: String(front), intlist: '0' } });
  const id = await sim.startEvent(front);
  await until(() => pushesTo('tok-dup').length === 1 && alarmFrames(second, id).length === 1, 'push and frame');
  const body = pushesTo('tok-dup')[0]!.body as { message: { data: Record<string, string>; notification: { title: string }; android: { notification: { channel_id?: string } } } };
  assert.equal(body.message.data['eid'], String(id));
  assert.equal(body.message.data['mid'], String(front));
  assert.equal(body.message.notification.title, 'Front Door Alarm');
  assert.equal(body.message.android.notification.channel_id, 'zmninja');
  assert.equal(pushesTo('tok-dup')[0]!.httpVersion, '2.0');
  assert.equal(alarmFrames(second, id)[0]!['supplementary'], 'true');
  // the barrier: a later event reaches the newer socket, so the older one has had its chance
  const later = await sim.startEvent(front);
  await until(() => alarmFrames(second, later).length === 1, 'second alarm');
  assert.equal(alarmFrames(first, id).length + alarmFrames(first, later).length, 0, 'the superseded socket stays silent');
  assert.equal(pushesTo('tok-dup').length, 2);
  await sim.endEvent(id);
  await sim.endEvent(later);
});

test('a token with pushes disabled gets the normal alarm on its socket and no push', async () => {
  const c = await phone('owner', 'tok-ws-only', { token: { state: 'disabled' } });
  const id = await sim.startEvent(front);
  await until(() => alarmFrames(c, id).length === 1, 'alarm frame');
  assert.equal(alarmFrames(c, id)[0]!['supplementary'], undefined);
  assert.equal(pushesTo('tok-ws-only').length, 0);
  await sim.endEvent(id);
});

test('a phone that closed the app still gets pushes, only for monitors its ZoneMinder user may see', async () => {
  const c = await phone('neighbour', 'tok-away');
  await c.close();
  const hidden = await sim.startEvent(front);
  const visible = await sim.startEvent(drive);
  await until(() => pushesTo('tok-away').length >= 1, 'push to the closed app');
  const barrier = await sim.startEvent(drive);
  await until(() => pushesTo('tok-away').length >= 2, 'second push');
  assert.deepEqual(
    pushesTo('tok-away').map((r) => (r.body as { message: { data: { eid: string } } }).message.data.eid),
    [String(visible), String(barrier)],
  );
  assert.ok(!pushesTo('tok-away').some((r) => (r.body as { message: { data: { eid: string } } }).message.data.eid === String(hidden)));
  for (const id of [hidden, visible, barrier]) await sim.endEvent(id);
});

test('a token FCM reports as unregistered is removed and does not come back after a restart', async () => {
  const c = await phone('owner', 'dead-token');
  await c.close();
  const id = await sim.startEvent(front);
  await until(() => pushesTo('dead-token').length === 1, 'push to the dead token');
  await until(() => server.app.bus !== undefined && server.logs.grep(/removed/).length >= 1, 'removal');
  await server.stop();
  server = await startServer();
  const again = await sim.startEvent(front);
  // the phone with tok-away is still registered: its push proves the alarm went out
  await until(() => fake.requests.some((r) => (r.body as { message: { data: { eid: string } } }).message.data.eid === String(again)), 'push after restart');
  assert.equal(pushesTo('dead-token').length, 1);
  await sim.endEvent(id);
  await sim.endEvent(again);
});

test('with fcm.enable off, push frames get PUSHDISABLED', async () => {
  const off = await startTestServer(db.appSettings!, { 'fcm.enable': false });
  try {
    const c = await connectClient(off.url);
    c.send({ event: 'auth', data: { user: 'owner', password: 'pw' } });
    await c.next();
    c.send({ event: 'push', data: { type: 'token', platform: 'ios', token: 'x' } });
    assert.deepEqual(await c.next(), { event: 'push', type: '', status: 'Fail', reason: 'PUSHDISABLED' });
    await c.close();
  } finally {
    await off.stop();
  }
});

test('a zmNinjaNg token frame without lists keeps the stored filter, and the badge frame sets the iOS badge', async () => {
  const ng = async (token: Record<string, string>) => {
    const c = await connectClient(server.url);
    clients.push(c);
    c.send({ event: 'auth', data: { user: 'owner', password: 'pw', appversion: '1.2.3' }, category: 'normal' });
    await c.next((f) => f['event'] === 'auth');
    c.send({ event: 'push', data: { type: 'token', token: 'tok-ng', platform: 'ios', state: 'enabled', profile: 'Home', ...token } });
    c.send({ event: 'push', data: { type: 'badge', badge: 5 } });
    c.send({ event: 'control', data: { type: 'version' } });
    await c.next((f) => f['type'] === 'version');
    return c;
  };
  await (await ng({ monlist: String(drive), intlist: '0' })).close();
  await (await ng({})).close();
  const onFront = await sim.startEvent(front);
  const onDrive = await sim.startEvent(drive);
  await until(() => pushesTo('tok-ng').length >= 1, 'push for the Driveway');
  const barrier = await sim.startEvent(drive);
  await until(() => pushesTo('tok-ng').length >= 2, 'second push');
  const messages = pushesTo('tok-ng').map((r) => (r.body as { message: { data: { eid: string }; apns: { payload: { aps: { badge: number } } } } }).message);
  assert.deepEqual(messages.map((m) => m.data.eid), [String(onDrive), String(barrier)], 'the stored monlist still filters out the Front Door');
  assert.deepEqual(messages.map((m) => m.apns.payload.aps.badge), [6, 7]);
  for (const id of [onFront, onDrive, barrier]) await sim.endEvent(id);
});

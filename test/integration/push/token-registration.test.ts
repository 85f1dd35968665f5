/**
 * Push registrations over real sockets: the limits (fcm.max_devices_per_user,
 * fcm.max_token_frames, the token file's per-user trim at load) and the validation of token
 * frames. Refused frames get their failure frame and one log line, nobody else is blocked, and
 * pushes reach exactly the registrations that were accepted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { connectFakeFcm, startFakeFcm, type FakeFcm, type FakeFcmApp } from '../../helpers/fake-fcm.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';

let db: ZmTestDatabase;
let sim: ZmSimulator;
let fake: FakeFcm;
let fcm: FakeFcmApp;
let server: TestServer;
let dataDir: string;
let front: number;
const clients: TestClient[] = [];

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  sim = await ZmSimulator.create(db.pool);
  front = await sim.createMonitor({ name: 'Front Door' });
  const hash = await zmPasswordHash('pw', 'mysql41');
  for (const username of ['alice', 'bob', 'carol', 'dave']) await insertZmUser(db.execute, { username, passwordHash: hash });
  fake = await startFakeFcm();
  fcm = connectFakeFcm(fake);
  dataDir = mkdtempSync(join(tmpdir(), 'zmes-quota-'));
  // The defaults under test: 20 devices per user, 10 token frames per minute per connection.
  server = await startTestServer(db.appSettings!, { 'general.base_data_path': dataDir }, { firebaseApp: fcm.app });
  assert.equal(server.config.fcm.max_devices_per_user, 20);
  assert.equal(server.config.fcm.max_token_frames, 10);
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

async function login(url: string, user: string): Promise<TestClient> {
  const c = await connectClient(url);
  clients.push(c);
  c.send({ event: 'auth', data: { user, password: 'pw', appversion: '1.8.001' }, token: '' });
  assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
  return c;
}

/** A zmNinja token frame, exactly as the app sends it. */
function register(c: TestClient, token: string): void {
  c.send({ event: 'push', data: { type: 'token', platform: 'android', token, state: 'enabled', appversion: '1.8.001' }, token });
}

/** Every frame sent before it has been handled once the version reply is back. */
async function handled(c: TestClient): Promise<void> {
  const seen = c.frames.length;
  c.send({ event: 'control', data: { type: 'version' } });
  await c.next((f) => f['type'] === 'version' && c.frames.indexOf(f) >= seen);
}

const failures = (c: TestClient) => c.frames.filter((f) => f['event'] === 'push' && f['status'] === 'Fail');
const pushesTo = (token: string) => fake.requests.filter((r) => r.token === token);
const alarmsOn = (c: TestClient, eventId: bigint) =>
  c.frames.filter((f) => f['event'] === 'alarm' && (f['events'] as Array<{ EventId: number }>)[0]!.EventId === Number(eventId));

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

test("a user's 21st device is refused with TOKENQUOTA and one log line; re-registering and other users are unaffected", async () => {
  // 21 phones' worth of tokens over three sockets (each below the per-connection rate limit)
  const sockets = [await login(server.url, 'alice'), await login(server.url, 'alice'), await login(server.url, 'alice')];
  for (let i = 0; i < 21; i++) register(sockets[Math.floor(i / 7)]!, `alice-${String(i).padStart(2, '0')}`);
  for (const c of sockets) await handled(c);
  assert.deepEqual(failures(sockets[0]!), []);
  assert.deepEqual(failures(sockets[1]!), []);
  assert.deepEqual(failures(sockets[2]!), [{ event: 'push', type: 'token', status: 'Fail', reason: 'TOKENQUOTA' }]);
  assert.equal(server.logs.grep(/TOKENQUOTA/).length, 1);
  assert.match(server.logs.grep(/TOKENQUOTA/)[0]!.message, /user "alice" already has 20 devices registered/);

  // zmNinja re-sends its token on every connect: never refused
  const reconnect = await login(server.url, 'alice');
  register(reconnect, 'alice-05');
  // another user is not blocked by alice's full quota
  const bob = await login(server.url, 'bob');
  register(bob, 'bob-phone');
  await handled(reconnect);
  await handled(bob);
  assert.deepEqual(failures(reconnect), []);
  assert.deepEqual(failures(bob), []);

  const id = await sim.startEvent(front);
  await until(() => pushesTo('bob-phone').length === 1 && fake.requests.filter((r) => r.token?.startsWith('alice-')).length === 20, 'pushes');
  assert.equal(pushesTo('alice-20').length, 0, 'the refused device was not stored');
  await sim.endEvent(id);
});

test('a connection whose registration was refused does not own the token: the owner keeps its delivery, the refused socket is a plain client', async () => {
  const bob = await login(server.url, 'bob');
  register(bob, 'bob-tablet');
  await handled(bob);
  // alice is at her quota (previous test), so taking over bob's token counts as a new device for her
  const alice = await login(server.url, 'alice');
  register(alice, 'bob-tablet');
  await handled(alice);
  assert.deepEqual(failures(alice), [{ event: 'push', type: 'token', status: 'Fail', reason: 'TOKENQUOTA' }]);

  const id = await sim.startEvent(front);
  await until(() => alarmsOn(bob, id).length === 1 && alarmsOn(alice, id).length === 1 && pushesTo('bob-tablet').length === 1, 'alarm on both sockets');
  assert.equal(alarmsOn(bob, id)[0]!['supplementary'], 'true', 'bob still owns his token');
  assert.equal(alarmsOn(alice, id)[0]!['supplementary'], undefined, 'the refused socket gets the normal frame, neither silenced nor supplementary');
  await sim.endEvent(id);
});

test('more than 10 token frames a minute on one connection get TOKENRATE; the connection keeps what it registered; other connections are not limited', async () => {
  const flood = await login(server.url, 'carol');
  for (let i = 0; i < 12; i++) register(flood, 'carol-phone');
  await handled(flood);
  const refused = failures(flood);
  assert.equal(refused.length, 2);
  assert.ok(refused.every((f) => f['reason'] === 'TOKENRATE' && f['type'] === 'token'));
  const lines = server.logs.grep(/TOKENRATE/).filter((l) => l.level === 'warn');
  assert.equal(lines.length, 1, 'a flood is one warning, not one per frame');
  assert.match(lines[0]!.message, /more than 10 token frames in a minute/);

  const other = await login(server.url, 'carol');
  register(other, 'carol-tablet');
  await handled(other);
  assert.deepEqual(failures(other), []);

  const id = await sim.startEvent(front);
  await until(() => alarmsOn(flood, id).length === 1 && pushesTo('carol-phone').length === 1, 'alarm');
  assert.equal(alarmsOn(flood, id)[0]!['supplementary'], 'true', 'a rate-limited re-registration did not take the token away');
  await sim.endEvent(id);
});

test('a token file over the quota loads with the newest registrations of each user and one log line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-quota-file-'));
  const tokens: Record<string, unknown> = {};
  // file order is not age order: registered_at decides
  for (const [name, at] of [['dave-a', 4000], ['dave-b', 1000], ['dave-c', 3000], ['dave-d', 2000]] as const) {
    tokens[name] = { platform: 'android', monlist: '', intlist: '', pushstate: 'enabled', appversion: '1.8.001', zm_user: 'dave', registered_at: at };
  }
  tokens['classic-phone'] = { platform: 'ios', monlist: '', intlist: '', pushstate: 'enabled', appversion: '1.8.001' };
  mkdirSync(join(dir, 'push'), { recursive: true });
  const file = join(dir, 'push', 'tokens.txt');
  writeFileSync(file, JSON.stringify({ tokens }));
  const small = await startTestServer(db.appSettings!, { 'general.base_data_path': dir, 'fcm.max_devices_per_user': 2 }, { firebaseApp: fcm.app });
  try {
    const lines = small.logs.grep(/push tokens dropped/);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!.message, /2 push tokens dropped, one user was over fcm\.max_devices_per_user \(2\)/);
    // a first start only notifies events after the newest one it sees, so wait until it has looked
    await until(() => small.logs.grep(/watching for events after/).length === 1, 'event detection');
    const id = await sim.startEvent(front);
    await until(() => pushesTo('dave-a').length >= 1 && pushesTo('dave-c').length >= 1 && pushesTo('classic-phone').length >= 1, 'pushes to the kept devices');
    assert.equal(pushesTo('dave-b').length + pushesTo('dave-d').length, 0, 'the oldest registrations were dropped');
    // and they stay dropped: the file is rewritten without them
    await until(() => !readFileSync(file, 'utf8').includes('dave-b'), 'the rewritten token file');
    assert.deepEqual(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { tokens: object }).tokens).sort(), ['classic-phone', 'dave-a', 'dave-c']);
    await sim.endEvent(id);
  } finally {
    await small.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a token frame naming an unknown platform gets BADPLATFORM, a wrongly typed field BADJSON; neither is stored', async () => {
  const c = await login(server.url, 'dave');
  c.send({ event: 'push', data: { type: 'token', platform: 'desktop', token: 'dave-desktop', state: 'enabled' } });
  c.send({ event: 'push', data: { type: 'token', platform: 'android', token: 'dave-typed', state: true } });
  c.send({ event: 'push', data: { type: 'token', platform: 'android', token: 'dave-numeric-lists', monlist: 1, intlist: '0' } });
  c.send({ event: 'push', data: { type: 'token', platform: 'ios', token: 'dave-odd-state', state: 'Disabled' } });
  await handled(c);
  assert.deepEqual(
    c.frames.filter((f) => f['status'] === 'Fail'),
    [
      { event: 'push', type: 'token', status: 'Fail', reason: 'BADPLATFORM' },
      { event: 'malformed', type: '', status: 'Fail', reason: 'BADJSON' },
      { event: 'malformed', type: '', status: 'Fail', reason: 'BADJSON' },
      { event: 'push', type: 'token', status: 'Fail', reason: 'BADSTATE' },
    ],
  );
  assert.equal(server.logs.grep(/data\.state must be string/).length, 1, 'the log names the field');
  assert.equal(server.logs.grep(/data\.monlist must be string/).length, 1);
  // a barrier device proves the alarm was pushed; none of the refused tokens got it
  register(c, 'dave-phone');
  await handled(c);
  const id = await sim.startEvent(front);
  await until(() => pushesTo('dave-phone').length === 1, 'push to the accepted token');
  for (const token of ['dave-desktop', 'dave-typed', 'dave-numeric-lists', 'dave-odd-state']) assert.equal(pushesTo(token).length, 0, token);
  await sim.endEvent(id);
});

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { connectFakeFcm, startFakeFcm, type FakeFcm, type FakeFcmApp } from '../../helpers/fake-fcm.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';

/**
 * Access that ends when ZoneMinder says so: changes made in ZoneMinder's tables reach open
 * sockets and the user's pushes within the re-check interval (1 s here), on the real schema.
 */
const SECRET = 'revocation-test-secret-0123456789';
const DEADLINE_MS = 10_000;

type AlarmElement = { MonitorId: number; EventId: number; Cause: string };
const element = (f: Record<string, unknown>) => (f['events'] as AlarmElement[])[0]!;
const alarmsFor = (c: TestClient, eventId: bigint) => c.frames.filter((f) => f['event'] === 'alarm' && element(f).EventId === Number(eventId));

async function until(condition: () => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function closedWithin(client: TestClient, timeoutMs = DEADLINE_MS): Promise<{ code: number; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([client.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('ZoneMinder 1.36 (Users.MonitorIds)', () => {
  let db: ZmTestDatabase;
  let sim: ZmSimulator;
  let fake: FakeFcm;
  let fcm: FakeFcmApp;
  let server: TestServer;
  let dataDir: string;
  let m1: number;
  let m2: number;
  const clients: TestClient[] = [];

  before(async () => {
    db = await createZmTestDatabase({ appUser: true });
    await db.execute("UPDATE Config SET Value = ? WHERE Name = 'ZM_AUTH_HASH_SECRET'", [SECRET]);
    sim = await ZmSimulator.create(db.pool);
    m1 = await sim.createMonitor({ name: 'Front' });
    m2 = await sim.createMonitor({ name: 'Back' });
    const hash = await zmPasswordHash('pw', 'mysql41');
    for (const name of ['to-disable', 'to-delete', 'to-narrow', 'to-repass', 'token-api', 'token-min', 'pusher', 'bystander']) {
      await insertZmUser(db.execute, { username: name, passwordHash: hash });
    }
    fake = await startFakeFcm();
    fcm = connectFakeFcm(fake);
    dataDir = mkdtempSync(join(tmpdir(), 'zmes-revoke-'));
    server = await startTestServer(db.appSettings!, { 'general.base_data_path': dataDir, 'auth.recheck_interval': 1 }, { firebaseApp: fcm.app });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.stop();
    await fcm?.dispose();
    await fake?.close();
    await sim?.idle();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function login(user: string, password = 'pw'): Promise<TestClient> {
    const c = await connectClient(server.url);
    clients.push(c);
    c.send({ event: 'auth', data: { user, password, appversion: '1.8.001' } });
    const reply = await c.next((f) => f['event'] === 'auth');
    assert.equal(reply['status'], 'Success', `login of ${user}: ${JSON.stringify(reply)}`);
    return c;
  }

  const token = (user: string, iat: number) =>
    new SignJWT({ user, type: 'access' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('ZoneMinder')
      .setIssuedAt(iat)
      .setExpirationTime(iat + 7200)
      .sign(new TextEncoder().encode(SECRET));

  test('disabling a user closes its open socket with the reason; other users stay connected', async () => {
    const victim = await login('to-disable');
    const other = await login('bystander');
    await db.execute("UPDATE Users SET Enabled = 0 WHERE Username = 'to-disable'", []);
    const closed = await closedWithin(victim);
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /access revoked: user disabled in ZoneMinder/);
    assert.equal(server.logs.grep(/user to-disable\) closed: user disabled in ZoneMinder/).length, 1);
    // The bystander is still served.
    other.send({ event: 'control', data: { type: 'version' } });
    await other.next((f) => f['type'] === 'version');
    // And the disabled user cannot come back.
    const again = await connectClient(server.url);
    clients.push(again);
    again.send({ event: 'auth', data: { user: 'to-disable', password: 'pw' } });
    assert.equal((await again.next((f) => f['event'] === 'auth'))['reason'], 'BADAUTH');
  });

  test('deleting a user closes its open socket', async () => {
    const victim = await login('to-delete');
    await db.execute("DELETE FROM Users WHERE Username = 'to-delete'", []);
    assert.match((await closedWithin(victim)).reason, /user no longer exists/);
  });

  test('changing the password in ZoneMinder closes sockets that logged in with the old one', async () => {
    const victim = await login('to-repass');
    await db.execute("UPDATE Users SET Password = ? WHERE Username = 'to-repass'", [await zmPasswordHash('new-pw', 'mysql41')]);
    assert.match((await closedWithin(victim)).reason, /password changed/);
  });

  test('narrowing MonitorIds stops alarms of the lost monitor on the open socket, without closing it', async () => {
    const c = await login('to-narrow');
    const before1 = await sim.startEvent(m1);
    await until(() => alarmsFor(c, before1).length === 1, 'the monitor-1 alarm before narrowing');
    await db.execute("UPDATE Users SET MonitorIds = ? WHERE Username = 'to-narrow'", [String(m2)]);
    await until(() => server.logs.grep(/user to-narrow\): monitor permissions changed in ZoneMinder, now monitors/).length === 1, 'the narrowing');
    const lost = await sim.startEvent(m1);
    const kept = await sim.startEvent(m2);
    await until(() => alarmsFor(c, kept).length === 1, 'the monitor-2 alarm');
    assert.equal(alarmsFor(c, lost).length, 0, 'no alarm of monitor 1 after narrowing');
    // Events = None hides everything, still without closing the socket.
    await db.execute("UPDATE Users SET Events = 'None' WHERE Username = 'to-narrow'", []);
    await until(() => server.logs.grep(/user to-narrow\): monitor permissions changed in ZoneMinder, now no monitor/).length === 1, 'Events = None');
    const probe = await login('bystander');
    const hidden = await sim.startEvent(m2);
    await until(() => alarmsFor(probe, hidden).length === 1, 'the bystander’s alarm');
    assert.equal(alarmsFor(c, hidden).length, 0);
    assert.equal(c.ws.readyState, c.ws.OPEN);
  });

  test('turning off APIEnabled closes a socket that logged in with an API token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const c = await connectClient(server.url);
    clients.push(c);
    c.send({ event: 'auth', data: { user: 'token-api', password: await token('token-api', now) } });
    assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
    const byPassword = await login('token-api');
    await db.execute("UPDATE Users SET APIEnabled = 0 WHERE Username = 'token-api'", []);
    assert.match((await closedWithin(c)).reason, /API access disabled/);
    // A password login does not rest on the API switch.
    byPassword.send({ event: 'control', data: { type: 'version' } });
    await byPassword.next((f) => f['type'] === 'version');
  });

  test('raising TokenMinExpiry closes a socket whose token was issued before it', async () => {
    const now = Math.floor(Date.now() / 1000);
    const c = await connectClient(server.url);
    clients.push(c);
    c.send({ event: 'auth', data: { user: 'token-min', password: await token('token-min', now - 60) } });
    assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
    await db.execute("UPDATE Users SET TokenMinExpiry = ? WHERE Username = 'token-min'", [now]);
    assert.match((await closedWithin(c)).reason, /API token revoked/);
  });

  test('a disabled user’s push device gets no more pushes once the re-check has seen it', async () => {
    const register = async (user: string, tok: string) => {
      const phone = await login(user);
      phone.send({ event: 'push', data: { type: 'token', platform: 'android', token: tok, state: 'enabled' } });
      phone.send({ event: 'control', data: { type: 'version' } });
      await phone.next((f) => f['type'] === 'version');
      await phone.close();
    };
    await register('pusher', 'tok-pusher');
    // The witness device is delivered in the same pass, so once it has its push the decision about
    // the disabled user's device has been made.
    await register('bystander', 'tok-witness');
    const pushesTo = (tok: string) => fake.requests.filter((r) => r.token === tok).length;
    await sim.startEvent(m1);
    await until(() => pushesTo('tok-pusher') === 1 && pushesTo('tok-witness') === 1, 'the first pushes');
    await db.execute("UPDATE Users SET Enabled = 0 WHERE Username = 'pusher'", []);
    await server.app.access.checkNow();
    await sim.startEvent(m1);
    await until(() => pushesTo('tok-witness') === 2, 'the witness push of the second event');
    assert.equal(pushesTo('tok-pusher'), 1, 'no push after the user was disabled');
  });
});

describe('ZoneMinder 1.38 (Monitors_Permissions)', () => {
  let db: ZmTestDatabase;
  let sim: ZmSimulator;
  let server: TestServer;
  let m1: number;
  let m2: number;
  let userId: number;

  before(async () => {
    db = await createZmTestDatabase({ generation: '1.38', appUser: true });
    sim = await ZmSimulator.create(db.pool);
    m1 = await sim.createMonitor({ name: 'Front' });
    m2 = await sim.createMonitor({ name: 'Back' });
    await db.execute(
      'INSERT INTO Users (Username, Password, Enabled, Stream, Events, Control, Monitors, `Groups`, Devices, System, TokenMinExpiry, APIEnabled) ' +
        "VALUES ('viewer', ?, 1, 'View', 'View', 'None', 'View', 'None', 'None', 'None', 0, 1)",
      [await zmPasswordHash('pw', 'mysql41')],
    );
    const rows = (await db.pool.query("SELECT Id FROM Users WHERE Username = 'viewer'")) as Array<{ Id: number }>;
    userId = Number(rows[0]!.Id);
    server = await startTestServer(db.appSettings!, { 'auth.recheck_interval': 1, 'fcm.enable': false });
  });

  after(async () => {
    await server?.stop();
    await sim?.idle();
    await db?.drop();
  });

  test('a Monitors_Permissions row of None takes that monitor away from the open socket', async () => {
    const c = await connectClient(server.url);
    c.send({ event: 'auth', data: { user: 'viewer', password: 'pw' } });
    assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
    await db.execute("INSERT INTO Monitors_Permissions (MonitorId, UserId, Permission) VALUES (?, ?, 'None')", [m1, userId]);
    await until(() => server.logs.grep(/user viewer\): monitor permissions changed in ZoneMinder, now monitors/).length === 1, 'the narrowing');
    const lost = await sim.startEvent(m1);
    const kept = await sim.startEvent(m2);
    await until(() => alarmsFor(c, kept).length === 1, 'the monitor-2 alarm');
    assert.equal(alarmsFor(c, lost).length, 0);
    await c.close();
  });
});

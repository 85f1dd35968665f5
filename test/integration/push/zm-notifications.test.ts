/**
 * ZoneMinder's Notifications table as a push registry, through the running server: rows
 * written the way ZoneMinder's API writes them for zmNinjaNg's direct mode, events from
 * ZoneMinder rows (the simulator), pushes through firebase-admin to the local fake FCM, and the
 * bookkeeping read back from the table. The table is created by test/helpers/zm-notifications-table.ts
 * (ZoneMinder's master schema cannot be fetched here).
 *
 * Every event has a witness device (all monitors, no interval), and the channel's one log line
 * per event ("push sent to N of M") is the barrier: once it is written, every push of that event
 * was answered and recorded, so "no push to X" is a fact, not a timing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { connectFakeFcm, startFakeFcm, type FakeFcm, type FakeFcmApp } from '../../helpers/fake-fcm.js';
import { createNotificationsTable, insertNotification } from '../../helpers/zm-notifications-table.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';
import type { DbSettings } from '../../../src/zm/db.js';

let db: ZmTestDatabase;
let sim: ZmSimulator;
let fake: FakeFcm;
let fcm: FakeFcmApp;
let server: TestServer;
/** SELECT, UPDATE and DELETE on the whole database: what zmes needs with the table. */
let zmesUser: DbSettings;
let front: number;
let drive: number;
const users: Record<string, number> = {};
const clients: TestClient[] = [];
const servers: TestServer[] = [];

before(async () => {
  db = await createZmTestDatabase();
  sim = await ZmSimulator.create(db.pool);
  front = await sim.createMonitor({ name: 'Front Door' });
  drive = await sim.createMonitor({ name: 'Driveway' });
  const hash = await zmPasswordHash('pw', 'mysql41');
  for (const [name, monitorIds] of [['owner', null], ['neighbour', String(drive)], ['carol', null], ['dave', null]] as const) {
    await insertZmUser(db.execute, { username: name, passwordHash: hash, monitorIds });
    users[name] = Number((await db.query('SELECT Id FROM Users WHERE Username = ?', [name]))[0]!['Id']);
  }
  await createNotificationsTable(db.execute);
  await insertNotification(db.execute, { userId: users['owner']!, token: 'zm-witness' });
  fake = await startFakeFcm({ unregistered: ['zm-dead'] });
  fcm = connectFakeFcm(fake);
  zmesUser = await db.createUser(['SELECT', 'UPDATE', 'DELETE']);
  server = await start(zmesUser);
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const s of servers) await s.stop();
  await fcm?.dispose();
  await fake?.close();
  await sim?.idle();
  await db?.drop();
});

async function start(settings: DbSettings, overrides: Record<string, unknown> = {}): Promise<TestServer> {
  const s = await startTestServer(settings, overrides, { firebaseApp: fcm.app });
  servers.push(s);
  return s;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

type Message = { message: { data: { eid: string }; apns?: { payload: { aps: { badge: number } } } } };
const eidsPushedTo = (token: string) => fake.requests.filter((r) => r.token === token).map((r) => (r.body as Message).message.data.eid);

/** Starts an event and waits until its pushes were all answered and recorded (the channel's summary line). */
async function alarm(monitorId: number, on: TestServer = server): Promise<string> {
  const id = await sim.startEvent(monitorId);
  await until(() => on.logs.grep(new RegExp(`event ${id} start on monitor .*push sent to`)).length === 1, `the pushes of event ${id}`);
  await sim.endEvent(id);
  return String(id);
}

async function row(token: string): Promise<Record<string, unknown> | undefined> {
  const rows = await db.query(
    'SELECT Id, BadgeCount, UNIX_TIMESTAMP(LastNotifiedAt) AS LastNotifiedAt, UNIX_TIMESTAMP(UpdatedOn) AS UpdatedOn, UNIX_TIMESTAMP(NOW()) AS Now FROM Notifications WHERE Token = ?',
    [token],
  );
  return rows[0];
}

test('the table is found at start and its devices get pushes', async () => {
  await until(() => server.logs.grep(/Notifications table found: \d+ device\(s\)/).length === 1, 'the table');
  assert.equal(server.app.zmNotifications?.state, 'present');
  const eid = await alarm(front);
  assert.deepEqual(eidsPushedTo('zm-witness').slice(-1), [eid]);
});

test('MonitorList filters: a device gets pushes only for its listed monitors', async () => {
  await insertNotification(db.execute, { userId: users['owner']!, token: 'zm-drive-only', monitorList: String(drive) });
  const onFront = await alarm(front);
  const onDrive = await alarm(drive);
  assert.deepEqual(eidsPushedTo('zm-drive-only'), [onDrive]);
  assert.ok(eidsPushedTo('zm-witness').includes(onFront));
});

test('Interval throttles through LastNotifiedAt, per device (all its monitors together)', async () => {
  await insertNotification(db.execute, { userId: users['owner']!, token: 'zm-hourly', interval: 3600 });
  const first = await alarm(front);
  const sameMonitor = await alarm(front);
  const otherMonitor = await alarm(drive);
  assert.deepEqual(eidsPushedTo('zm-hourly'), [first]);
  assert.ok(eidsPushedTo('zm-witness').includes(sameMonitor) && eidsPushedTo('zm-witness').includes(otherMonitor));
  // The app (or ZoneMinder) clearing LastNotifiedAt ends the interval: the time is read from the row.
  await db.execute("UPDATE Notifications SET LastNotifiedAt = NOW() - INTERVAL 2 HOUR WHERE Token = 'zm-hourly'");
  const later = await alarm(drive);
  assert.deepEqual(eidsPushedTo('zm-hourly'), [first, later]);
});

test('PushState disabled: no push', async () => {
  await insertNotification(db.execute, { userId: users['owner']!, token: 'zm-off', pushState: 'disabled' });
  await alarm(front);
  assert.deepEqual(eidsPushedTo('zm-off'), []);
});

test("the row's user brings ZoneMinder's permissions: no push for a monitor the user may not see", async () => {
  await insertNotification(db.execute, { userId: users['neighbour']!, token: 'zm-neighbour' });
  await alarm(front);
  const visible = await alarm(drive);
  assert.deepEqual(eidsPushedTo('zm-neighbour'), [visible]);
});

test('a user disabled in ZoneMinder mid-way gets no more pushes (the access re-check follows table users)', async () => {
  await insertNotification(db.execute, { userId: users['carol']!, token: 'zm-carol' });
  const before = await alarm(front);
  assert.deepEqual(eidsPushedTo('zm-carol'), [before]);
  await db.execute("UPDATE Users SET Enabled = 0 WHERE Username = 'carol'");
  const snapshot = await server.app.access.checkNow();
  assert.ok(snapshot?.has('carol'), "the table's users are among the users in use");
  await alarm(front);
  await alarm(drive);
  assert.deepEqual(eidsPushedTo('zm-carol'), [before]);
});

test('after a push LastNotifiedAt is set and BadgeCount incremented; the iOS push carries BadgeCount + 1; UpdatedOn is left alone', async () => {
  await insertNotification(db.execute, { userId: users['owner']!, token: 'zm-ios', platform: 'ios', badgeCount: 4, updatedOn: 'NOW() - INTERVAL 1 DAY' });
  const before = await row('zm-ios');
  assert.equal(before?.['LastNotifiedAt'], null);
  await alarm(front);
  await alarm(drive);
  const badges = fake.requests.filter((r) => r.token === 'zm-ios').map((r) => (r.body as Message).message.apns?.payload.aps.badge);
  assert.deepEqual(badges, [5, 6]);
  const after = await row('zm-ios');
  assert.equal(after?.['BadgeCount'], 6);
  assert.ok(after?.['LastNotifiedAt'] !== null && Number(after?.['Now']) - Number(after?.['LastNotifiedAt']) < 600, 'LastNotifiedAt is about now, on the DB clock');
  assert.equal(after?.['UpdatedOn'], before?.['UpdatedOn']);
});

test('a token FCM reports as unregistered: its row is deleted, as ZoneMinder would', async () => {
  await insertNotification(db.execute, { userId: users['owner']!, token: 'zm-dead' });
  await alarm(front);
  assert.equal(eidsPushedTo('zm-dead').length, 1);
  assert.equal(await row('zm-dead'), undefined);
  assert.equal(server.logs.grep(/Notifications table: row \d+ \(.*\) deleted: FCM rejected it/).length, 1);
  await alarm(front);
  assert.equal(eidsPushedTo('zm-dead').length, 1);
});

test('the same token in the token file and the table is pushed once; the newer registration gets the bookkeeping', async () => {
  // dave registers 'zm-shared' over the WebSocket (token file) ...
  const c = await connectClient(server.url);
  clients.push(c);
  c.send({ event: 'auth', data: { user: 'dave', password: 'pw', appversion: '1.2.3' } });
  assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
  c.send({ event: 'push', data: { type: 'token', platform: 'ios', token: 'zm-shared', state: 'enabled' } });
  c.send({ event: 'control', data: { type: 'version' } });
  await c.next((f) => f['type'] === 'version');
  await c.close();
  // ... and the same phone is in the table, changed a day ago: the token file entry is newer.
  await insertNotification(db.execute, { userId: users['dave']!, token: 'zm-shared', platform: 'ios', updatedOn: 'NOW() - INTERVAL 1 DAY' });
  const first = await alarm(front);
  assert.deepEqual(eidsPushedTo('zm-shared'), [first]);
  assert.equal((await row('zm-shared'))?.['BadgeCount'], 0, 'the table is not touched');
  // Now the app changes its row (e.g. a new MonitorList): the table entry is the newer one.
  await db.execute("UPDATE Notifications SET UpdatedOn = NOW() + INTERVAL 1 HOUR, BadgeCount = 10 WHERE Token = 'zm-shared'");
  const second = await alarm(front);
  assert.deepEqual(eidsPushedTo('zm-shared'), [first, second]);
  const badge = fake.requests.filter((r) => r.token === 'zm-shared').map((r) => (r.body as Message).message.apns?.payload.aps.badge);
  assert.equal(badge[1], 11, "the table's badge");
  assert.equal((await row('zm-shared'))?.['BadgeCount'], 11);
});

test('malformed rows: one warning per row Id, not per event; never a crash', async () => {
  const bad = await insertNotification(db.execute, { userId: users['owner']!, token: 'zm-garbage', monitorList: 'x,\u0007y' });
  await db.execute("INSERT INTO Notifications (UserId, Token, Platform) VALUES (?, '  ', 'android')", [users['owner']!]);
  await alarm(front);
  await alarm(drive);
  const lines = server.logs.grep(new RegExp(`row ${bad}: `));
  assert.equal(lines.length, 1);
  assert.match(lines[0]!.message, /MonitorList entry 2 "\?y" is not a monitor id/);
  assert.equal(server.logs.grep(/row \d+: empty Token; skipped/).length, 1);
  assert.deepEqual(eidsPushedTo('zm-garbage'), []);
});

test('a database user without UPDATE and DELETE rights: one clear log line with the GRANT; the server keeps running and pushing', async () => {
  const readOnly = await db.createUser(['SELECT']);
  const s = await start(readOnly);
  await until(() => s.logs.grep(/may not UPDATE/).length === 1, 'the log line');
  const line = s.logs.grep(/may not UPDATE/)[0]!;
  assert.equal(line.level, 'error');
  assert.match(line.message, new RegExp(`GRANT SELECT, UPDATE, DELETE ON \`${db.name}\`\\.Notifications TO '${readOnly.user}'@'%';`));
  const pushed = eidsPushedTo('zm-witness').length;
  const badge = (await row('zm-witness'))?.['BadgeCount'];
  const eid = await alarm(front, s);
  // Both servers watch the database; the first one's summary line says its bookkeeping is done too.
  await until(() => server.logs.grep(new RegExp(`event ${eid} start on monitor .*push sent to`)).length === 1, 'the first server');
  assert.equal(eidsPushedTo('zm-witness').filter((e) => e === eid).length, 2, 'both servers pushed');
  assert.ok(eidsPushedTo('zm-witness').length > pushed);
  assert.equal(s.logs.grep(/may not UPDATE/).length, 1, 'not repeated per push');
  assert.equal(Number((await row('zm-witness'))?.['BadgeCount']), Number(badge) + 1, 'only the first server could record it');
  await s.stop();
  servers.splice(servers.indexOf(s), 1);
});

test('with fcm.use_zm_notifications off the table is not read', async () => {
  const s = await start(zmesUser, { 'fcm.use_zm_notifications': false });
  assert.equal(s.app.zmNotifications, undefined);
  await s.stop();
  servers.splice(servers.indexOf(s), 1);
});

test('without the table nothing changes; a table created while running is picked up without a restart', async (t) => {
  const other = await createZmTestDatabase();
  t.after(() => other.drop());
  const otherSim = await ZmSimulator.create(other.pool);
  t.after(() => otherSim.idle());
  const monitor = await otherSim.createMonitor({ name: 'Garden' });
  await insertZmUser(other.execute, { username: 'erin', passwordHash: await zmPasswordHash('pw', 'mysql41') });
  const s = await start(other.settings);
  t.after(async () => {
    await s.stop();
    servers.splice(servers.indexOf(s), 1);
  });
  // A phone in the token file is the witness here.
  const c = await connectClient(s.url);
  clients.push(c);
  c.send({ event: 'auth', data: { user: 'erin', password: 'pw' } });
  await c.next((f) => f['event'] === 'auth');
  c.send({ event: 'push', data: { type: 'token', platform: 'android', token: 'file-erin', state: 'enabled' } });
  c.send({ event: 'control', data: { type: 'version' } });
  await c.next((f) => f['type'] === 'version');
  await s.app.zmNotifications!.checkNow();
  assert.equal(s.app.zmNotifications!.state, 'absent');
  const pushOn = async () => {
    const id = await otherSim.startEvent(monitor);
    await until(() => s.logs.grep(new RegExp(`event ${id} start on monitor .*push sent to`)).length === 1, `the pushes of event ${id}`);
    await otherSim.endEvent(id);
    return String(id);
  };
  const before = await pushOn();
  assert.deepEqual(eidsPushedTo('file-erin').slice(-1), [before]);
  assert.deepEqual(s.logs.lines.filter((l) => l.module === 'zm-notifications' && l.level !== 'debug'), [], 'not a word about the table');

  // ZoneMinder is upgraded: the table appears and zmNinjaNg registers through ZoneMinder's API.
  await createNotificationsTable(other.execute);
  const erin = Number((await other.query("SELECT Id FROM Users WHERE Username = 'erin'"))[0]!['Id']);
  await insertNotification(other.execute, { userId: erin, token: 'zm-erin' });
  await s.app.zmNotifications!.checkNow(); // what the periodic check does (its timer: test/unit/zm/notifications-registry.test.ts)
  assert.equal(s.app.zmNotifications!.state, 'present');
  const after = await pushOn();
  assert.deepEqual(eidsPushedTo('zm-erin'), [after]);
  assert.deepEqual(eidsPushedTo('file-erin').slice(-1), [after]);

  // And it goes away again (a downgrade): no crash, the token file goes on.
  await other.execute('DROP TABLE Notifications');
  const gone = await pushOn();
  assert.deepEqual(eidsPushedTo('zm-erin'), [after]);
  assert.deepEqual(eidsPushedTo('file-erin').slice(-1), [gone]);
  assert.equal(s.app.zmNotifications!.state, 'absent');
});

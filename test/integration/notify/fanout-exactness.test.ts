import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { flushed, loggedInClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import type { Connection } from '../../../src/ws/connection.js';
import type { Session } from '../../../src/ws/session.js';

/**
 * The WebSocket fan-out against real sockets, alarm by alarm: many sockets of one kind next to
 * the few that need a decision of their own, and a change to a session (permissions narrowed by
 * the re-check, a new filter, a token, another login) counting from the very next alarm.
 */
let db: ZmTestDatabase;
let server: TestServer;
const clients: TestClient[] = [];
let nextEventId = 9000n;

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  const hash = await zmPasswordHash('pw', 'mysql41');
  await insertZmUser(db.execute, { username: 'owner', passwordHash: hash });
  await insertZmUser(db.execute, { username: 'neighbour', passwordHash: hash, monitorIds: '2' });
  server = await startTestServer(db.appSettings!, { 'fcm.enable': true });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
  await db?.drop();
});

async function client(user: string, data: Record<string, string> = {}): Promise<TestClient> {
  const c = await loggedInClient(server.url, user, data);
  clients.push(c);
  return c;
}


type AlarmElement = { MonitorId: number; EventId: number };
const alarmIds = (c: TestClient) => c.frames.filter((f) => f['event'] === 'alarm').map((f) => (f['events'] as AlarmElement[])[0]!.EventId);

/** One start notification for `monitorId` through the real pipeline; returns its event id. */
async function alarm(monitorId: number): Promise<number> {
  const eventId = nextEventId++;
  const startTime = Math.floor(Date.now() / 1000);
  await server.app.pipeline.handle({
    kind: 'start',
    event: { eventId, monitorId, monitorName: `Monitor ${monitorId}`, cause: 'Motion', notes: 'Motion: All', startTime, endTime: null, alarmFrames: 1, maxScore: 10 },
  });
  return Number(eventId);
}

/** The server side of the newest connection of a user. */
function connectionOf(user: string): Connection<Session> {
  const found = [...server.app.server.liveConnections()].filter((c) => c.session.user?.name === user).at(-1);
  assert.ok(found, `a connection of ${user}`);
  return found;
}

test('each socket gets what its permissions, filter and interval allow, however many share them', async () => {
  const plain = [await client('owner'), await client('owner')];
  const neighbour = await client('neighbour');
  const subset = await client('owner', { monlist: '1,2', intlist: '0,0' });
  const throttled = await client('owner', { monlist: '1', intlist: '60' });
  const id1 = await alarm(1);
  const id2 = await alarm(2);
  for (const c of [...plain, neighbour, subset, throttled]) await flushed(c);

  for (const c of plain) assert.deepEqual(alarmIds(c), [id1, id2]);
  assert.deepEqual(alarmIds(neighbour), [id2], 'MonitorIds 2: monitor 1 never reaches it');
  assert.deepEqual(alarmIds(subset), [id1, id2]);
  assert.deepEqual(alarmIds(throttled), [id1], 'monitor 2 is not in its filter');

});

test('a permission narrowed by the re-check counts from the next alarm', async () => {
  const narrowed = await client('owner');
  const target = connectionOf('owner');
  const bystander = await client('owner');
  const before = await alarm(1);
  await flushed(narrowed);
  assert.deepEqual(alarmIds(narrowed), [before]);

  // What the access re-check does when ZoneMinder narrows MonitorIds (ws/access-enforcer.ts).
  target.session.user = { ...target.session.user!, visibility: { kind: 'some', ids: new Set([2]) } };

  const lost = await alarm(1);
  const kept = await alarm(2);
  await flushed(narrowed);
  await flushed(bystander);
  assert.deepEqual(alarmIds(narrowed), [before, kept], 'monitor 1 is no longer visible to it');
  assert.deepEqual(alarmIds(bystander).slice(-2), [lost, kept]);
});

test('an alarm received without an interval starts the interval a later filter sets', async () => {
  const c = await client('owner');
  const first = await alarm(3);
  await flushed(c);
  assert.deepEqual(alarmIds(c), [first]);
  c.send({ event: 'control', data: { type: 'filter', monlist: '3', intlist: '60' } });
  await flushed(c);
  await alarm(3);
  await flushed(c);
  assert.deepEqual(alarmIds(c), [first], 'within 60 s of the first alarm');
});

test('registering a push token hands the socket to the one-alert rule', async () => {
  const c = await client('owner');
  await alarm(4);
  await flushed(c);
  c.send({ event: 'push', data: { type: 'token', token: 'shared-topics-token-0001', platform: 'android', state: 'disabled' } });
  await flushed(c);
  const after = await alarm(4);
  await flushed(c);
  assert.equal(alarmIds(c).at(-1), after, 'pushes disabled: the socket still gets the alarm');
});

test('a socket logging in again gets nothing while its login is checked', async () => {
  const c = await client('owner');
  await alarm(5);
  await flushed(c);
  const connection = connectionOf('owner');
  connection.session.state = 'authenticating';
  const during = await alarm(5);
  connection.session.state = 'authenticated';
  await flushed(c);
  assert.ok(!alarmIds(c).includes(during));
});

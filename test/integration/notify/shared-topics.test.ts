import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { flushed, loggedInClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { TOPIC_ALL } from '../../../src/notify/channels/ws-audience.js';
import type { Connection } from '../../../src/ws/connection.js';
import type { Session } from '../../../src/ws/session.js';

/**
 * The WebSocket fan-out's shared lane (uWS topics) against real sockets: who shares a topic,
 * and that a change to a session (permissions narrowed by the re-check, a new filter, a token,
 * another login) takes the socket out of its topic before the next alarm, never after it.
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

test('sockets with the same monitor set share one topic; intervals and tokens keep their own sends', async () => {
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

  const topics = [...server.app.server.liveConnections()].map((c) => c.topic);
  assert.equal(topics.filter((t) => t === TOPIC_ALL).length, 2);
  assert.ok(topics.includes('zmes/alarm/m:2'), 'the neighbour shares a topic of its own monitors');
  assert.ok(topics.includes('zmes/alarm/m:1,2'));
  assert.equal(topics.filter((t) => t === undefined).length, 1, 'the socket with an interval has none');
});

test('a permission narrowed by the re-check takes the socket out of its topic before the next alarm', async () => {
  const narrowed = await client('owner');
  const target = connectionOf('owner');
  const bystander = await client('owner');
  const before = await alarm(1);
  await flushed(narrowed);
  assert.deepEqual(alarmIds(narrowed), [before]);
  assert.equal(target.topic, TOPIC_ALL);

  // What the access re-check does when ZoneMinder narrows MonitorIds (ws/access-enforcer.ts).
  target.session.user = { ...target.session.user!, visibility: { kind: 'some', ids: new Set([2]) } };

  const lost = await alarm(1);
  const kept = await alarm(2);
  await flushed(narrowed);
  await flushed(bystander);
  assert.deepEqual(alarmIds(narrowed), [before, kept], 'monitor 1 is no longer visible to it');
  assert.deepEqual(alarmIds(bystander).slice(-2), [lost, kept]);
  assert.equal(target.topic, 'zmes/alarm/m:2');
});

test('an alarm received through a topic starts the interval a later filter sets', async () => {
  const c = await client('owner');
  const first = await alarm(3);
  await flushed(c);
  assert.deepEqual(alarmIds(c), [first]);
  c.send({ event: 'control', data: { type: 'filter', monlist: '3', intlist: '60' } });
  await flushed(c);
  await alarm(3);
  await flushed(c);
  assert.deepEqual(alarmIds(c), [first], 'within 60 s of the alarm sent through the topic');
  assert.equal(connectionOf('owner').topic, undefined);
});

test('registering a push token leaves the topic: the one-alert rule decides for the device', async () => {
  const c = await client('owner');
  await alarm(4);
  await flushed(c);
  assert.equal(connectionOf('owner').topic, TOPIC_ALL);
  c.send({ event: 'push', data: { type: 'token', token: 'shared-topics-token-0001', platform: 'android', state: 'disabled' } });
  await flushed(c);
  const after = await alarm(4);
  await flushed(c);
  assert.equal(alarmIds(c).at(-1), after, 'pushes disabled: the socket still gets the alarm, by its own send');
  assert.equal(connectionOf('owner').topic, undefined);
});

test('a socket logging in again gets nothing from its old topic while its login is checked', async () => {
  const c = await client('owner');
  await alarm(5);
  await flushed(c);
  const connection = connectionOf('owner');
  assert.equal(connection.topic, TOPIC_ALL);
  connection.session.state = 'authenticating';
  const during = await alarm(5);
  connection.session.state = 'authenticated';
  await flushed(c);
  assert.ok(!alarmIds(c).includes(during));
  assert.equal(connection.topic, undefined, 'left the topic at the alarm it must not get');
});

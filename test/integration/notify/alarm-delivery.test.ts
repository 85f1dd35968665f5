import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { flushed, loggedInClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';

/**
 * From a row ZoneMinder writes to the alarm frame a zmNinja client receives: the whole path
 * through the real schema, event detection, the pipeline and the uWS fan-out.
 */
let db: ZmTestDatabase;
let server: TestServer;
let sim: ZmSimulator;
let front: number;
let drive: number;
let yard: number;
const clients: TestClient[] = [];

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  sim = await ZmSimulator.create(db.pool);
  front = await sim.createMonitor({ name: 'Front Door' });
  drive = await sim.createMonitor({ name: 'Driveway' });
  yard = await sim.createMonitor({ name: 'Backyard' });
  const hash = await zmPasswordHash('pw', 'mysql41');
  await insertZmUser(db.execute, { username: 'owner', passwordHash: hash });
  await insertZmUser(db.execute, { username: 'neighbour', passwordHash: hash, monitorIds: String(drive) });
  await insertZmUser(db.execute, { username: 'installer', passwordHash: hash, events: 'None' });
  server = await startTestServer(db.appSettings!, {
    'customize.send_event_end_notification': true,
    'customize.read_alarm_cause': true,
  });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
  await sim?.idle();
  await db?.drop();
});

async function client(user: string, data: Record<string, string> = {}): Promise<TestClient> {
  const c = await loggedInClient(server.url, user, data);
  clients.push(c);
  return c;
}

type AlarmElement = { Name: string; MonitorName: string; MonitorId: number; EventId: number; Cause: string; DetectionJson: unknown; RulesObject: unknown };
const alarms = (c: TestClient) =>
  c.frames.filter((f) => f['event'] === 'alarm').map((f) => (f['events'] as AlarmElement[])[0]!);
const element = (f: Record<string, unknown>) => (f['events'] as AlarmElement[])[0]!;
async function alarmFor(c: TestClient, eventId: bigint, prefix = ''): Promise<AlarmElement> {
  const frame = await c.next((f) => f['event'] === 'alarm' && element(f).EventId === Number(eventId) && element(f).Cause.startsWith(prefix), 10_000);
  return element(frame);
}


test('alarms reach each client according to its filter, interval and ZoneMinder permissions', async () => {
  const owner = await client('owner');
  const frontOnly = await client('owner', { monlist: String(front), intlist: '0' });
  const throttled = await client('owner', { monlist: `${front},${drive}`, intlist: '3600,0' });
  const neighbour = await client('neighbour');
  const installer = await client('installer');

  const first = await sim.startEvent(front, { cause: 'Motion', zones: ['Porch'] });
  const frame = await alarmFor(owner, first);
  assert.deepEqual(frame, {
    Name: 'Front Door',
    MonitorName: 'Front Door',
    MonitorId: front,
    EventId: Number(first),
    Cause: 'Motion: Porch',
    DetectionJson: [],
    RulesObject: {},
  });
  await alarmFor(frontOnly, first);
  await alarmFor(throttled, first);

  const second = await sim.startEvent(front, { cause: 'Motion', zones: ['Gate'] });
  await alarmFor(owner, second);
  await alarmFor(frontOnly, second);

  const onDrive = await sim.startEvent(drive);
  await alarmFor(neighbour, onDrive);
  await alarmFor(throttled, onDrive);

  await sim.endEvent(first);
  const end = await alarmFor(owner, first, 'End:');
  assert.equal(end.Cause, 'End:Motion: Porch');

  // The owner has every alarm above, and each alarm goes to all connections in one synchronous
  // pass, so whatever reached another client is already on its socket: the reply to a request
  // sent now arrives after it. A positive witness per client, instead of waiting out a timeout.
  for (const c of [frontOnly, throttled, neighbour, installer]) await flushed(c);

  assert.deepEqual(alarms(frontOnly).map((a) => a.MonitorId).filter((m) => m !== front), []);
  assert.deepEqual(
    alarms(throttled).filter((a) => !a.Cause.startsWith('End:')).map((a) => a.EventId),
    [Number(first), Number(onDrive)],
    'the second Front Door start falls inside the 3600 s interval',
  );
  assert.deepEqual(alarms(neighbour).map((a) => a.MonitorId), [drive], 'a restricted user only learns of its monitor');
  assert.deepEqual(alarms(installer), [], 'a user without Events permission learns of nothing');
  await sim.endEvent(second);
  await sim.endEvent(onDrive);
});

test('a renamed monitor is announced under its new name', async () => {
  const owner = await client('owner');
  await sim.renameMonitor(yard, 'Garden');
  // Detection reloads the monitor list on its interval or when it sees an unknown monitor; a
  // rename is picked up on the next reload, which the test triggers through a new monitor.
  const shed = await sim.createMonitor({ name: 'Shed' });
  const onShed = await sim.startEvent(shed);
  assert.equal((await alarmFor(owner, onShed)).Name, 'Shed');
  const onGarden = await sim.startEvent(yard);
  assert.equal((await alarmFor(owner, onGarden)).Name, 'Garden');
  await sim.endEvent(onShed);
  await sim.endEvent(onGarden);
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';

/**
 * A WebSocket-only client (no push) loses no alarm around a dropped connection or a zmes
 * restart: the real server, database, event detection and sockets.
 */
let db: ZmTestDatabase;
let sim: ZmSimulator;
let server: TestServer | undefined;
let dataDir: string;
let m1: number;
let m2: number;
const clients: TestClient[] = [];

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  sim = await ZmSimulator.create(db.pool);
  m1 = await sim.createMonitor({ name: 'Front' });
  m2 = await sim.createMonitor({ name: 'Back' });
  await insertZmUser(db.execute, { username: 'owner', passwordHash: await zmPasswordHash('pw', 'mysql41') });
  dataDir = mkdtempSync(join(tmpdir(), 'zmes-replay-'));
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
  await sim?.idle();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

const start = () =>
  startTestServer(db.appSettings!, {
    'general.base_data_path': dataDir,
    'customize.send_event_end_notification': true,
    'fcm.enable': false,
  });

async function webClient(): Promise<TestClient> {
  const c = await connectClient(server!.url);
  clients.push(c);
  // Only monitor 1: the replay must honour the filter.
  c.send({ event: 'auth', data: { user: 'owner', password: 'pw', appversion: '1.8.001', monlist: String(m1), intlist: '0' } });
  assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
  return c;
}

type AlarmElement = { EventId: number; Cause: string };
const alarms = (c: TestClient) =>
  c.frames.filter((f) => f['event'] === 'alarm').map((f) => {
    const e = (f['events'] as AlarmElement[])[0]!;
    return `${e.EventId}${e.Cause.startsWith('End:') ? '/end' : '/start'}`;
  });

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const handled = (id: bigint, phase: 'start' | 'end') => () =>
  server!.logs.grep(new RegExp(`event ${id} ${phase} on monitor .*websocket alarm sent to`)).length > 0;

test('a client whose connection dropped gets the alarms of the gap once, in order, under its filter', async () => {
  server = await start();
  const before = await webClient();
  await before.close();
  await until(() => [...server!.app.server.liveConnections()].length === 0, 'the server to see the close');
  const e1 = await sim.startEvent(m1);
  const other = await sim.startEvent(m2);
  await until(handled(e1, 'start'), 'e1 start');
  await sim.endEvent(e1);
  await until(handled(e1, 'end'), 'e1 end');
  await until(handled(other, 'start'), 'the other monitor’s event');
  const back = await webClient();
  await until(() => alarms(back).length >= 2, 'the replay');
  // A version probe after the replay: nothing else arrives in between.
  back.send({ event: 'control', data: { type: 'version' } });
  await back.next((f) => f['type'] === 'version');
  assert.deepEqual(alarms(back), [`${e1}/start`, `${e1}/end`]);
  assert.equal(server.logs.grep(/replayed 2 missed alarm\(s\)/).length, 1);
  await back.close();
});

test('after a zmes restart, the catch-up of events missed while it was down reaches a client that comes back', async () => {
  const c = await webClient();
  await server!.stop();
  await c.closed;
  server = undefined;
  const whileDown = await sim.startEvent(m1);
  server = await start();
  await until(handled(whileDown, 'start'), 'the catch-up of the event that started while zmes was down');
  const back = await webClient();
  await until(() => alarms(back).length >= 1, 'the replay');
  back.send({ event: 'control', data: { type: 'version' } });
  await back.next((f) => f['type'] === 'version');
  assert.deepEqual(alarms(back), [`${whileDown}/start`]);
  // A second socket of the same client gets nothing twice.
  const twin = await webClient();
  await until(() => server!.logs.grep(/no replay \(another socket of this device stayed connected\)/).length === 1, 'the twin’s replay decision');
  assert.deepEqual(alarms(twin), []);
  await sim.endEvent(whileDown);
});

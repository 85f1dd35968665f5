import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { connectFakeFcm, startFakeFcm, type FakeFcm, type FakeFcmApp } from '../../helpers/fake-fcm.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeTokenFile } from '../../../src/tokens/token-file.js';

/**
 * Two zmes nodes in one process on one ZoneMinder, in cluster mode: a phone registered on one
 * node is pushed by the lease holder, once; its socket on the other node gets the supplementary
 * frame; escontrol overrides reach both; the lease passes at once on a clean stop.
 */
const ADMIN_PASSWORD = 'admin-secret';
let db: ZmTestDatabase;
let sim: ZmSimulator;
let fake: FakeFcm;
let fcm: FakeFcmApp;
let front: number;
let back: number;
let clusterDb: string;
const nodes: TestServer[] = [];
const clients: TestClient[] = [];

async function startNode(id: string, extra: Record<string, unknown> = {}): Promise<TestServer> {
  const node = await startTestServer(
    db.settings,
    {
      ...extra,
      'cluster.enable': true,
      'cluster.database': clusterDb,
      'cluster.node_id': id,
      'cluster.lease_seconds': 3,
      'general.use_escontrol_interface': true,
      'general.escontrol_interface_password': ADMIN_PASSWORD,
    },
    { firebaseApp: fcm.app },
  );
  nodes.push(node);
  return node;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  db = await createZmTestDatabase();
  clusterDb = `${db.name}_cluster`;
  sim = await ZmSimulator.create(db.pool);
  front = await sim.createMonitor({ name: 'Front Door' });
  back = await sim.createMonitor({ name: 'Back Door' });
  await insertZmUser(db.execute, { username: 'owner', passwordHash: await zmPasswordHash('pw', 'mysql41') });
  fake = await startFakeFcm();
  fcm = connectFakeFcm(fake);
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const node of nodes.reverse()) await node.stop().catch(() => undefined);
  await fcm?.dispose();
  await fake?.close();
  await sim?.idle();
  await db?.execute(`DROP DATABASE IF EXISTS \`${clusterDb}\``).catch(() => undefined);
  await db?.drop();
});

async function phone(node: TestServer, token: string): Promise<TestClient> {
  const c = await connectClient(node.url);
  clients.push(c);
  c.send({ event: 'auth', data: { user: 'owner', password: 'pw', appversion: '1.8.001' } });
  assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
  c.send({ event: 'push', data: { type: 'token', platform: 'android', token, state: 'enabled' } });
  c.send({ event: 'control', data: { type: 'version' } });
  await c.next((f) => f['type'] === 'version');
  return c;
}

const alarmFrames = (c: TestClient, eventId: bigint) =>
  c.frames.filter((f) => f['event'] === 'alarm' && (f['events'] as Array<{ EventId: number }>)[0]!.EventId === Number(eventId));
const pushesFor = (token: string, eventId: bigint) =>
  fake.requests.filter((r) => r.token === token && (r.body as { message: { data: { eid?: string } } }).message.data.eid === String(eventId));

test('a phone registered on the follower is pushed once by the lease holder and its socket gets the supplementary frame', async () => {
  const a = await startNode('node-a');
  const b = await startNode('node-b');
  assert.equal((await db.query(`SELECT holder FROM \`${clusterDb}\`.leases WHERE name = 'leader'`))[0]!['holder'], 'node-a');
  const health = async (node: TestServer) => ((await (await fetch(`${node.url.replace('ws:', 'http:')}/health`)).json()) as { cluster: unknown }).cluster;
  assert.deepEqual(await health(a), { node: 'node-a', lease_holder: true, epoch: 1 });
  assert.deepEqual(await health(b), { node: 'node-b', lease_holder: false, epoch: null });
  // Registrations one after another on one node each reach the cluster database (not just the first write).
  const stored = async () => Number((await db.query(`SELECT COUNT(*) AS n FROM \`${clusterDb}\`.devices WHERE token LIKE 'tok-on-b%'`))[0]!['n']);
  await phone(b, 'tok-on-b-first');
  await until(async () => (await stored()) === 1, 'the first registration in the cluster database');
  const onB = await phone(b, 'tok-on-b');
  await until(async () => (await stored()) === 2, 'the second registration in the cluster database');
  const id = await sim.startEvent(front);
  await until(() => pushesFor('tok-on-b', id).length === 1 && alarmFrames(onB, id).length === 1, 'the push and the frame on node b');
  assert.equal(alarmFrames(onB, id)[0]!['supplementary'], 'true', 'the socket on b gets the supplementary copy');
  assert.equal(a.logs.grep(/push sent to 2 of 2/).length, 1);
  assert.equal(b.logs.grep(/push sent/).length, 0, 'the follower pushes nothing');
  const ledger = await db.query(`SELECT status, node FROM \`${clusterDb}\`.push_ledger WHERE event_id = ?`, [id]);
  assert.deepEqual(ledger.map((r) => [r['status'], r['node']]), [['sent', 'node-a'], ['sent', 'node-a']]);
  await sim.endEvent(id);
});

test('an escontrol mute sent to one node silences the monitor on the other node too', async () => {
  const [a, b] = nodes;
  const adminOn = async (node: TestServer) => {
    const c = await connectClient(node.url);
    clients.push(c);
    c.send({ event: 'auth', category: 'escontrol', data: { password: ADMIN_PASSWORD } });
    assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
    return c;
  };
  const adminA = await adminOn(a!);
  const adminB = await adminOn(b!);
  adminA.send({ event: 'escontrol', data: { command: 'mute', monitors: [front] } });
  assert.equal((await adminA.next((f) => f['event'] === 'escontrol'))['status'], 'Success');
  // Node b follows the shared document: its own `get` shows the mute.
  const modeOnB = async () => {
    adminB.send({ event: 'escontrol', data: { command: 'get' } });
    const reply = await adminB.next((f) => f['event'] === 'escontrol');
    return (JSON.parse(String(reply['response'])) as { notifications: Record<string, number> }).notifications[String(front)];
  };
  await until(async () => (await modeOnB()) === -1, 'the mute on node b');
  const watcher = await connectClient(b!.url);
  clients.push(watcher);
  watcher.send({ event: 'auth', data: { user: 'owner', password: 'pw', appversion: '1.8.001' } });
  await watcher.next((f) => f['event'] === 'auth');
  const muted = await sim.startEvent(front);
  const open = await sim.startEvent(back);
  await until(() => alarmFrames(watcher, open).length === 1, 'the alarm of the unmuted monitor on node b');
  await sim.endEvent(open);
  await sim.endEvent(muted);
  assert.equal(alarmFrames(watcher, muted).length, 0, 'node b does not alarm the monitor muted through node a');
  adminA.send({ event: 'escontrol', data: { command: 'unmute', monitors: [front] } });
  assert.equal((await adminA.next((f) => f['event'] === 'escontrol'))['status'], 'Success');
  await until(async () => (await modeOnB()) !== -1, 'the unmute on node b');
});

test('on a clean stop the lease passes at once and the next holder pushes the next event, once', async () => {
  const [a, b] = nodes;
  const aLogs = a!.logs;
  await a!.stop();
  assert.equal(aLogs.grep(/released the cluster lease \(epoch 1\)/).length, 1, 'a clean stop hands the lease back');
  nodes.splice(nodes.indexOf(a!), 1);
  await until(async () => (await db.query(`SELECT holder FROM \`${clusterDb}\`.leases WHERE name = 'leader'`))[0]!['holder'] === 'node-b', 'node b to hold the lease', 8000);
  const id = await sim.startEvent(front);
  await until(() => pushesFor('tok-on-b', id).length === 1, 'the push from node b');
  assert.equal(b!.logs.grep(/now holds the cluster lease \(epoch 2\)/).length, 1);
  await sim.endEvent(id);
});

test('a node imports its token file into the cluster registry once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-import-'));
  try {
    const file = join(dir, 'tokens.txt');
    const record = (token: string) => ({
      token, platform: 'android', monlist: '', intlist: '', pushstate: 'enabled' as const, appversion: '1.8', invocations: { count: 0, at: 0 },
      profile: undefined, clientKind: 'zmninja' as const, badge: 0, lastSent: {}, zmUser: 'owner',
    });
    writeFileSync(file, serializeTokenFile([record('file-token-1'), record('file-token-2')]));
    const count = async () => Number((await db.query(`SELECT COUNT(*) AS n FROM \`${clusterDb}\`.devices WHERE token LIKE 'file-token-%' AND removed_at IS NULL`))[0]!['n']);
    const c = await startNode('node-c', { 'fcm.token_file': file });
    assert.equal(await count(), 2);
    assert.equal(c.logs.grep(/imported 2 push token\(s\) from/).length, 1);
    // Removed in the cluster, it must not come back from the file at the next start.
    await db.execute(`UPDATE \`${clusterDb}\`.devices SET removed_at = NOW(6) WHERE token = 'file-token-1'`);
    await c.stop();
    nodes.splice(nodes.indexOf(c), 1);
    const again = await startNode('node-c', { 'fcm.token_file': file });
    assert.equal(await count(), 1);
    assert.equal(again.logs.grep(/imported/).length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

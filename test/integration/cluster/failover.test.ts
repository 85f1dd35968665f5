import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, zmPasswordHash } from '../../helpers/zmes-server.js';
import { netnsAvailable } from '../../helpers/netns.js';
import { createClusterBed, type ClusterBed } from '../../helpers/cluster-nodes.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';

/**
 * Three zmes processes, each in its own network namespace joined to the test by veth pairs,
 * against one MariaDB. During a burst of events the lease holder is killed with SIGKILL: every
 * (event, device) push still happens exactly once (a push the dead holder had claimed but not
 * finished is the one exception, re-sent once and named in the ledger), the survivors take over
 * within 10 s, and the clients on the surviving nodes get every alarm.
 */
const NODES = 3;
const EVENTS = 15;
const KILL_AFTER = 6;
const skip = netnsAvailable() ? false : 'needs root and ip netns';

let bed: ClusterBed;
let sim: ZmSimulator;
const clients: TestClient[] = [];

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const startNode = (index: number) => bed.startNode(index, ['--cluster.lease_seconds=3']);

async function login(index: number, token?: string): Promise<TestClient> {
  const c = await connectClient(bed.url(index));
  clients.push(c);
  c.send({ event: 'auth', data: { user: 'owner', password: 'pw', appversion: '1.8.001', monlist: '', intlist: '' } });
  assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
  if (token) c.send({ event: 'push', data: { type: 'token', platform: 'android', token, state: 'enabled' } });
  c.send({ event: 'control', data: { type: 'version' } });
  await c.next((f) => f['type'] === 'version');
  return c;
}

const holder = () => bed.lease();
const pushes = () => bed.proxy.requests.filter((r) => r.status === 200).map((r) => ({ token: r.token!, eid: (r.body as { data: { eid: string } }).data.eid }));
const alarmIds = (c: TestClient) =>
  new Set(c.frames.filter((f) => f['event'] === 'alarm').map((f) => String((f['events'] as Array<{ EventId: number }>)[0]!.EventId)));

before(async () => {
  if (skip) return;
  bed = await createClusterBed(NODES);
  sim = await ZmSimulator.create(bed.db.pool);
  await insertZmUser(bed.db.execute, { username: 'owner', passwordHash: await zmPasswordHash('pw', 'mysql41') });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await sim?.idle();
  await bed?.destroy();
});

test('SIGKILL of the lease holder during a burst: every push exactly once, takeover within 10 s, every alarm on the surviving nodes', { skip }, async () => {
  const monitors = [await sim.createMonitor({ name: 'Gate' }), await sim.createMonitor({ name: 'Yard' }), await sim.createMonitor({ name: 'Porch' })];
  // node-0 first, so that it holds the lease; then the others.
  await startNode(0).waitFor(/zmes \S+ ready/);
  await Promise.all([startNode(1).waitFor(/zmes \S+ ready/), startNode(2).waitFor(/zmes \S+ ready/)]);
  assert.equal((await holder()).holder, 'node-0');

  const tokens = ['tok-node-0', 'tok-node-1', 'tok-node-2'];
  const phones = await Promise.all(tokens.map((token, i) => login(i, token)));
  const watchers = await Promise.all([0, 1, 2].map((i) => login(i)));
  await until(async () => Number((await bed.db.query(`SELECT COUNT(*) AS n FROM \`${bed.clusterDb}\`.devices`))[0]!['n']) === NODES || undefined, 'three devices in the shared registry');

  const events: bigint[] = [];
  const open = new Map<number, bigint>();
  let killedAt = 0;
  for (let k = 0; k < EVENTS; k++) {
    const monitor = monitors[k % monitors.length]!;
    const previous = open.get(monitor);
    if (previous !== undefined) await sim.endEvent(previous);
    const id = await sim.startEvent(monitor);
    open.set(monitor, id);
    events.push(id);
    if (k === KILL_AFTER) {
      // The holder is killed while it is pushing: wait for some of this burst's pushes, not all.
      await until(() => pushes().length >= KILL_AFTER * NODES || undefined, 'the first pushes of the burst');
      await bed.nodes[0]!.kill();
      killedAt = Date.now();
    }
    // The burst's pace: several events a second, as a busy ZoneMinder produces them.
    await new Promise((r) => setTimeout(r, 150));
  }
  for (const id of open.values()) await sim.endEvent(id);

  const takeover = await until(async () => {
    const now = await holder();
    return now.holder !== null && now.holder !== 'node-0' ? now : undefined;
  }, 'another node to hold the lease', 15_000);
  const takeoverMs = Date.now() - killedAt;
  assert.ok(takeover.epoch >= 2);

  const expected = events.flatMap((id) => tokens.map((token) => `${id}/${token}`));
  await until(() => {
    const seen = new Set(pushes().map((p) => `${p.eid}/${p.token}`));
    return expected.every((key) => seen.has(key)) || undefined;
  }, 'a push for every event and device', 30_000);

  const counts = new Map<string, number>();
  for (const p of pushes()) counts.set(`${p.eid}/${p.token}`, (counts.get(`${p.eid}/${p.token}`) ?? 0) + 1);
  const repeated = [...counts].filter(([, n]) => n > 1);
  // A repeat is allowed only for a claim the killed holder left unfinished, taken over (attempts 2).
  const resumed = Number((await bed.db.query(`SELECT COUNT(*) AS n FROM \`${bed.clusterDb}\`.push_ledger WHERE attempts > 1`))[0]!['n']);
  assert.ok(repeated.every(([, n]) => n === 2), `no push more than twice: ${JSON.stringify(repeated)}`);
  assert.ok(repeated.length <= resumed, `${repeated.length} repeated pushes but only ${resumed} resumed claims`);
  assert.equal(counts.size, expected.length, 'no push for anything else');

  const unfinished = await bed.db.query(`SELECT COUNT(*) AS n FROM \`${bed.clusterDb}\`.push_ledger WHERE status = 'claimed'`);
  assert.equal(Number(unfinished[0]!['n']), 0, 'every claim settled');

  // Every alarm reached the clients of the surviving nodes (plain watchers and phones alike).
  for (const i of [1, 2]) {
    await until(() => events.every((id) => alarmIds(watchers[i]!).has(String(id))) || undefined, `every alarm on node-${i}'s watcher`);
    await until(() => events.every((id) => alarmIds(phones[i]!).has(String(id))) || undefined, `every alarm on node-${i}'s phone`);
  }
  assert.ok(takeoverMs <= 10_000, `takeover after ${takeoverMs} ms`);
  process.stdout.write(`# takeover ${takeoverMs} ms after SIGKILL; ${repeated.length} push(es) re-sent after ${resumed} resumed claim(s)\n`);
});

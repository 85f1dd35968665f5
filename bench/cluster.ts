// Benchmark (not a test): two and three zmes nodes in their own network namespaces on one
// MariaDB (cluster mode). For each size: a burst of events to devices registered across the
// nodes — time until every push left the lease holder, pushes per second, every alarm on every node — then the holder is killed with SIGKILL and the time until another node holds
// the lease and pushes again is measured. Needs root (ip netns), like the cluster test.
// Run: node --import tsx bench/cluster.ts [events] [devices-per-node]
import { connectClient, type TestClient } from '../test/helpers/ws-client.js';
import { insertZmUser, zmPasswordHash } from '../test/helpers/zmes-server.js';
import { createClusterBed } from '../test/helpers/cluster-nodes.js';
import { ZmSimulator } from '../dev/sim/zm-simulator.js';

const EVENTS = Number(process.argv[2] ?? 40);
const DEVICES_PER_NODE = Number(process.argv[3] ?? 20);

async function until(probe: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function run(size: number): Promise<void> {
  const bed = await createClusterBed(size);
  const clients: TestClient[] = [];
  try {
    const sim = await ZmSimulator.create(bed.db.pool);
    const monitor = await sim.createMonitor({ name: 'Bench' });
    await insertZmUser(bed.db.execute, { username: 'owner', passwordHash: await zmPasswordHash('pw', 'mysql41') });
    // One ZoneMinder user holds every bench device: lift the per-user device quota.
    const extra = ['--fcm.max_devices_per_user=10000'];
    await bed.startNode(0, extra).waitFor(/zmes \S+ ready/);
    for (let i = 1; i < size; i++) await bed.startNode(i, extra).waitFor(/zmes \S+ ready/);
    const login = async (i: number, token?: string) => {
      const c = await connectClient(bed.url(i));
      clients.push(c);
      c.send({ event: 'auth', data: { user: 'owner', password: 'pw', appversion: '1.8.001', monlist: '', intlist: '' } });
      await c.next((f) => f['event'] === 'auth');
      if (token) c.send({ event: 'push', data: { type: 'token', platform: 'android', token, state: 'enabled' } });
      c.send({ event: 'control', data: { type: 'version' } });
      await c.next((f) => f['type'] === 'version');
      return c;
    };
    const watchers: TestClient[] = [];
    for (let i = 0; i < size; i++) {
      watchers.push(await login(i));
      for (let d = 0; d < DEVICES_PER_NODE; d++) await login(i, `bench-${i}-${d}`);
    }
    const devices = size * DEVICES_PER_NODE;
    await until(async () => Number((await bed.db.query(`SELECT COUNT(*) AS n FROM \`${bed.clusterDb}\`.devices`))[0]!['n']) >= devices).catch((err: unknown) => {
      for (const node of bed.nodes) process.stderr.write(node.output().split('\n').filter((l) => /token|refused|error|cluster/i.test(l)).slice(0, 12).join('\n') + '\n');
      throw err;
    });

    const ok = () => bed.proxy.requests.filter((r) => r.status === 200).length;
    const before = ok();
    const inserted = new Map<string, number>();
    const t0 = performance.now();
    let open: bigint | undefined;
    for (let k = 0; k < EVENTS; k++) {
      if (open !== undefined) await sim.endEvent(open);
      open = await sim.startEvent(monitor);
      inserted.set(String(open), Date.now());
    }
    await sim.endEvent(open!);
    await until(() => ok() - before >= EVENTS * devices);
    const burstMs = performance.now() - t0;
    // Every node's plain client got every alarm (each node detects for its own clients).
    for (const w of watchers) await until(() => w.frames.filter((f) => f['event'] === 'alarm').length >= EVENTS);

    // Takeover: SIGKILL the holder, then one event; time until its pushes arrive.
    const holder = (await bed.lease()).holder!;
    const index = Number(holder.replace('node-', ''));
    const killed = Date.now();
    await bed.nodes[index]!.kill();
    await until(async () => {
      const now = await bed.lease();
      return now.holder !== null && now.holder !== holder;
    });
    const takeoverMs = Date.now() - killed;
    const afterKill = ok();
    const id = await sim.startEvent(monitor);
    await until(() => ok() - afterKill >= devices);
    const firstPushAfterKillMs = Date.now() - killed;
    await sim.endEvent(id);
    console.log(
      `${size} nodes, ${devices} devices, ${EVENTS} events: all ${EVENTS * devices} pushes in ${burstMs.toFixed(0)} ms ` +
        `(${((EVENTS * devices) / (burstMs / 1000)).toFixed(0)} pushes/s, ${(EVENTS / (burstMs / 1000)).toFixed(1)} events/s); ` +
        `takeover ${takeoverMs} ms after SIGKILL, next pushes ${firstPushAfterKillMs} ms after it`,
    );
    await sim.idle();
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await bed.destroy();
  }
}

for (const size of [2, 3]) await run(size);

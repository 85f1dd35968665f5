// Benchmark (not a test): end-to-end latency from ZoneMinder's Events INSERT to the alarm frame at
// a WebSocket client, at default settings, through the real schema, detection, pipeline and uWS.
// Run: node --import tsx bench/alarm-latency.ts [events]   (needs the test MariaDB, like npm test)
import { createZmTestDatabase } from '../test/helpers/zm-db.js';
import { connectClient } from '../test/helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash } from '../test/helpers/zmes-server.js';
import { ZmSimulator } from '../dev/sim/zm-simulator.js';

const EVENTS = Number(process.argv[2] ?? 200);
const db = await createZmTestDatabase({ appUser: true });
// Monitors exist before zmes starts, as on a running ZoneMinder (an event on a monitor created
// later waits for the next monitor reload, which is rate-limited).
const sim = await ZmSimulator.create(db.pool);
const monitors = [await sim.createMonitor({ name: 'A' }), await sim.createMonitor({ name: 'B' })];
await insertZmUser(db.execute, { username: 'u', passwordHash: await zmPasswordHash('p', 'mysql41') });
const server = await startTestServer(db.appSettings!, { 'general.log_level': 'warn' });
try {
  const client = await connectClient(server.url);
  client.send({ event: 'auth', data: { user: 'u', password: 'p' } });
  await client.next();
  const arrived = new Map<number, number>();
  client.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { event?: string; events?: Array<{ EventId: number }> };
    if (frame.event === 'alarm') arrived.set(frame.events![0]!.EventId, performance.now());
  });
  const latencies: number[] = [];
  for (let i = 0; i < EVENTS; i++) {
    // A random gap, so the INSERT falls at a random point of the poll interval.
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 250));
    const before = performance.now();
    const id = Number(await sim.startEvent(monitors[i % 2]!));
    while (!arrived.has(id)) await new Promise((r) => setTimeout(r, 1));
    latencies.push(arrived.get(id)! - before);
    await sim.endEvent(BigInt(id));
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1);
  console.log(
    `INSERT → alarm frame at the client, ${EVENTS} events, event_check_interval ${server.config.customize.event_check_interval} s: ` +
      `p50 ${pct(0.5)} ms, p90 ${pct(0.9)} ms, p99 ${pct(0.99)} ms, max ${latencies[latencies.length - 1]!.toFixed(1)} ms`,
  );
  await client.close();
} finally {
  await server.stop();
  await db.drop();
}

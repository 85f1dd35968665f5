// Benchmark (not a test): what the status page costs and how fast it follows ZoneMinder.
//   1. One snapshot (build + JSON) of a large server: 10,000 connections, 10,000 push devices,
//      full event and log lists; the page shows at most 200 of each, the totals count all.
//   2. Event → open page: from the simulator's committed Events row to the server-sent snapshot
//      that lists it, through a real zmes (detection polling every 0.1 s; a change right after
//      another waits up to 250 ms, so events are started 0.5 s apart).
// Run: node --import tsx bench/status-page.ts [events]   (needs the test MariaDB, like npm test)
import { EventBus } from '../src/event-bus.js';
import type { ZmesEvents } from '../src/domain/bus-events.js';
import { StatusBoard, type ClientView } from '../src/status/status-board.js';
import { RecentLog } from '../src/status/recent-log.js';
import { PushResults } from '../src/status/push-results.js';
import type { TokenRecord } from '../src/tokens/token-store.js';
import { systemClock } from '../src/clock.js';
import { createZmTestDatabase } from '../test/helpers/zm-db.js';
import { memoryLogger } from '../test/helpers/memory-log.js';
import { startTestServer } from '../test/helpers/zmes-server.js';
import { openStream } from '../test/helpers/status-client.js';
import { ZmSimulator } from '../dev/sim/zm-simulator.js';

const EVENTS = Number(process.argv[2] ?? 20);
const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;

function snapshotCost(): void {
  const COUNT = 10_000;
  const now = Date.now();
  const clients: ClientView[] = Array.from({ length: COUNT }, (_, i) => ({
    id: i,
    remoteAddress: `10.0.${i >> 8}.${i & 255}`,
    openedAt: now - i * 1000,
    session: { state: 'authenticated', user: { name: `user${i % 50}` }, clientKind: i % 2 ? 'zmninja' : 'zmninjang', appVersion: '1.8.001' },
  }));
  const devices: TokenRecord[] = Array.from({ length: COUNT }, (_, i) => ({
    token: `token-${i}-${'x'.repeat(140)}`,
    platform: i % 2 ? 'android' : 'ios',
    monlist: '',
    intlist: '',
    pushstate: 'enabled',
    appversion: '1.8.001',
    invocations: { count: 0, at: 0 },
    profile: undefined,
    clientKind: 'zmninja',
    badge: 0,
    lastSent: {},
    zmUser: `user${i % 50}`,
    registeredAt: now - i * 1000,
  }));
  const bus = new EventBus<ZmesEvents>(memoryLogger('error').log);
  const recent = new RecentLog();
  const pushes = new PushResults();
  const board = new StatusBoard(
    bus,
    {
      version: 'bench',
      database: { isAvailable: true, target: 'zm@db/zm' },
      schema: () => '1.37+',
      detection: { stats: { polls: 1, lastEventId: 1n, lastPollAt: now }, monitorList: Array.from({ length: 64 }, (_, i) => ({ id: i + 1, name: `Camera ${i + 1}`, notify: true })) },
      clients: () => clients,
      devices: () => devices,
      mqtt: { connected: true, detail: 'broker' },
      fcm: { mode: 'proxy' },
      zoneminderApi: undefined,
    },
    recent,
    pushes,
    systemClock,
  );
  void board.start();
  for (let i = 0; i < 60; i++) {
    bus.emit('zm:event', { kind: 'start', event: { eventId: BigInt(i), monitorId: (i % 64) + 1, monitorName: `Camera ${(i % 64) + 1}`, cause: 'Motion', notes: 'Motion: zone1', startTime: now / 1000, endTime: null, alarmFrames: 1, maxScore: 1 } });
    recent.add('warn', 'ws', `a warning line number ${i} with some text in it`);
    pushes.record({ token: devices[i]!.token, status: 'ok', detail: 'HTTP 200' });
  }
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 200; i++) {
    const start = performance.now();
    bytes = JSON.stringify(board.snapshot()).length;
    times.push(performance.now() - start);
  }
  console.log(`snapshot of ${COUNT} connections and ${COUNT} devices (200 of each shown): median ${quantile(times, 0.5).toFixed(2)} ms, p95 ${quantile(times, 0.95).toFixed(2)} ms, ${(bytes / 1024).toFixed(0)} KiB of JSON`);
}

async function eventToPage(): Promise<void> {
  const db = await createZmTestDatabase({ appUser: true });
  const sim = await ZmSimulator.create(db.pool);
  const monitor = await sim.createMonitor({ name: 'Bench' });
  const server = await startTestServer(db.appSettings!, { 'status.enable': true, 'status.port': 0 });
  const stream = await openStream(server.app.statusPort!);
  try {
    await stream.next(() => true);
    const latencies: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      // Apart like real events, beyond the page's 250 ms coalescing of changes.
      await new Promise((r) => setTimeout(r, 500));
      const id = await sim.startEvent(monitor);
      const committed = performance.now();
      await stream.next((s) => s.events.some((e) => e.event_id === String(id)));
      latencies.push(performance.now() - committed);
      await sim.endEvent(id);
      await stream.next((s) => s.events.some((e) => e.event_id === String(id) && e.state !== 'open'));
    }
    console.log(`event row committed → snapshot on the open page (${EVENTS} events): median ${quantile(latencies, 0.5).toFixed(0)} ms, p95 ${quantile(latencies, 0.95).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms`);
  } finally {
    stream.close();
    await server.stop();
    await sim.idle();
    await db.drop();
  }
}

snapshotCost();
await eventToPage();
process.exit(0);

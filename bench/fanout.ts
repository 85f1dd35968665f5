// Benchmark (not a test): one alarm to 10,000 connected WebSocket clients (TLS), time until the
// last client has it, what it costs the server per socket (CPU time of the server's process from
// the notification until uWS has written every frame, and how long its loop was held), and the
// server's RSS. Clients run in separate processes, which on a small machine share its cores.
// Run: node --import tsx bench/fanout.ts [clients] [--plain]   (needs the test MariaDB, like npm test)
// Each client is a file descriptor of this process: more clients than `ulimit -n` allows are refused.
// Figures before and after: bench/RESULTS.md.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { createZmTestDatabase } from '../test/helpers/zm-db.js';
import { generateCertificate } from '../test/helpers/certs.js';
import { startTestServer } from '../test/helpers/zmes-server.js';

const CLIENTS = Number(process.argv[2] ?? 10_000);
/** `--plain` measures ws:// instead of wss://, to separate TLS from the rest. */
const TLS = !process.argv.includes('--plain');
const PROCESSES = 2;
const now = () => performance.timeOrigin + performance.now();

interface ClientProcess {
  ready: Promise<void>;
  result: Promise<{ arrivals: [number, number]; count: number; cpuMicros: number }>;
}

function clientProcess(url: string, connections: number, ca: string): ClientProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./lib/fanout-client.ts', import.meta.url).pathname, JSON.stringify({ url, connections, ca })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const result = new Promise<{ arrivals: [number, number]; count: number; cpuMicros: number }>((resolve) => {
    lines.on('line', (line) => {
      if (line === 'ready') readyResolve();
      else resolve(JSON.parse(line) as { arrivals: [number, number]; count: number; cpuMicros: number });
    });
  });
  return { ready, result };
}

const fdLimit = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Infinity);
if (CLIENTS + 200 > fdLimit) {
  console.log(`${CLIENTS} clients need more file descriptors than this process may open (ulimit -n ${fdLimit}); raise the limit or ask for fewer`);
  process.exit(1);
}

const db = await createZmTestDatabase({ appUser: true });
const cert = generateCertificate();
const server = await startTestServer(db.appSettings!, {
  'auth.enable': false,
  'ssl.enable': TLS,
  ...(TLS ? { 'ssl.cert': cert.certPath, 'ssl.key': cert.keyPath } : {}),
  'general.log_level': 'warn',
  'network.max_connections': CLIENTS + 10,
}, {}, 'warn');
try {
  const rssBefore = process.memoryUsage().rss;
  const url = server.url.replace('127.0.0.1', 'localhost');
  const started = Date.now();
  const clients = Array.from({ length: PROCESSES }, (_, i) =>
    clientProcess(url, Math.floor(CLIENTS / PROCESSES) + (i < CLIENTS % PROCESSES ? 1 : 0), cert.certPath),
  );
  await Promise.all(clients.map((c) => c.ready));
  const connectMs = Date.now() - started;
  const rssConnected = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const sentAt = now();
  await server.app.pipeline.handle({
    kind: 'start',
    event: { eventId: 4242n, monitorId: 1, monitorName: 'Front Door', cause: 'Motion', notes: 'Motion: zone1', startTime: Math.floor(Date.now() / 1000), endTime: null, alarmFrames: 1, maxScore: 20 },
  });
  const queuedMs = now() - sentAt;
  // uWS writes published frames when its loop iteration ends: the loop is free again at the next check phase.
  await new Promise((resolve) => setImmediate(resolve));
  const loopFreeMs = now() - sentAt;
  const cpu = process.cpuUsage(cpuBefore);
  const results = await Promise.all(clients.map((c) => c.result));
  const last = Math.max(...results.map((r) => r.arrivals[1]));
  const first = Math.min(...results.map((r) => r.arrivals[0]));
  const delivered = results.reduce((n, r) => n + r.count, 0);
  const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
  console.log(`${CLIENTS} ${TLS ? 'wss' : 'ws'}:// clients connected and authenticated in ${connectMs} ms (${PROCESSES} client processes)`);
  const perSocket = (ms: number) => ((ms * 1000) / CLIENTS).toFixed(1);
  console.log(`server: alarm handled in ${queuedMs.toFixed(1)} ms, loop free again after ${loopFreeMs.toFixed(1)} ms (${perSocket(loopFreeMs)} µs per socket)`);
  console.log(
    `server CPU for the fan-out: ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms = ${((cpu.user + cpu.system) / CLIENTS).toFixed(1)} µs per socket ` +
      `(user ${(cpu.user / CLIENTS).toFixed(1)}, system ${(cpu.system / CLIENTS).toFixed(1)})`,
  );
  // What the machine had to do in all, server and clients, spread over every core at best: no
  // server can bring the last arrival below it here while the clients share the machine.
  const clientCpuMicros = results.reduce((n, r) => n + r.cpuMicros, 0);
  const cores = availableParallelism();
  console.log(
    `clients' CPU to receive it: ${(clientCpuMicros / 1000).toFixed(1)} ms = ${(clientCpuMicros / CLIENTS).toFixed(1)} µs per socket; ` +
      `server + clients over ${cores} cores: at least ${((cpu.user + cpu.system + clientCpuMicros) / 1000 / cores).toFixed(0)} ms`,
  );
  console.log(`one alarm: first client after ${(first - sentAt).toFixed(1)} ms, last (${delivered}/${CLIENTS}) after ${(last - sentAt).toFixed(1)} ms`);
  console.log(`server process RSS: ${mb(rssBefore)} MB before, ${mb(rssConnected)} MB with ${CLIENTS} ${TLS ? 'TLS ' : ''}connections (includes the test harness)`);
} finally {
  await server.stop();
  await db.drop();
  cert.cleanup();
  process.exit(0);
}

// Child process of bench/login-storm.ts: opens WebSocket connections, authenticates each, and
// prints one JSON line with the timings. Kept in its own process so that client work does not
// show up in the server's event-loop measurements.
import WebSocket from 'ws';

interface Job {
  url: string;
  users: Array<{ user: string; password: string }>;
  connections: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;

function login(index: number): Promise<{ ok: boolean; ms: number }> {
  const { user, password } = job.users[index % job.users.length]!;
  const start = performance.now();
  return new Promise((resolve) => {
    const ws = new WebSocket(job.url);
    const done = (ok: boolean) => {
      resolve({ ok, ms: performance.now() - start });
      ws.close();
    };
    ws.on('open', () => ws.send(JSON.stringify({ event: 'auth', data: { user, password, appversion: 'bench' } })));
    ws.on('message', (data) => done(JSON.parse(data.toString()).status === 'Success'));
    ws.on('error', () => done(false));
  });
}

const started = performance.now();
const results = await Promise.all(Array.from({ length: job.connections }, (_, i) => login(i)));
const wallMs = performance.now() - started;
const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
process.stdout.write(
  JSON.stringify({
    ok: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    wallMs,
    p50: latencies[Math.floor(latencies.length * 0.5)],
    p99: latencies[Math.floor(latencies.length * 0.99)],
    max: latencies[latencies.length - 1],
  }) + '\n',
);

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
/** Close codes of connections the server closed before answering. */
const closeCodes = new Map<number, number>();

function login(index: number): Promise<{ ok: boolean; ms: number }> {
  const { user, password } = job.users[index % job.users.length]!;
  const start = performance.now();
  return new Promise((resolve) => {
    const ws = new WebSocket(job.url);
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      resolve({ ok, ms: performance.now() - start });
      ws.close();
    };
    ws.on('open', () => ws.send(JSON.stringify({ event: 'auth', data: { user, password, appversion: 'bench' } })));
    ws.on('message', (data) => done(JSON.parse(data.toString()).status === 'Success'));
    ws.on('error', () => done(false));
    // Closed without an answer (e.g. 1011 when the server could not ask its database): a failure, never a hang.
    ws.on('close', (code) => {
      if (!settled) closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1);
      done(false);
    });
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
    closedUnanswered: Object.fromEntries(closeCodes),
  }) + '\n',
);

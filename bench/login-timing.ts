// Benchmark (not a test): does the answer time of a failed login tell whether the user exists?
// Median over interleaved tries of unknown user, disabled user and wrong password (bcrypt cost 10
// as ZoneMinder stores it), from sending the auth frame to the BADAUTH reply over a real socket.
// Run: node --import tsx bench/login-timing.ts   (needs the test MariaDB, like npm test)
import { performance } from 'node:perf_hooks';
import { createZmTestDatabase } from '../test/helpers/zm-db.js';
import { connectClient } from '../test/helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../test/helpers/zmes-server.js';

const TRIES = 30;

async function failedLoginMs(server: TestServer, user: string, password: string): Promise<number> {
  const client = await connectClient(server.url);
  const started = performance.now();
  client.send({ event: 'auth', data: { user, password } });
  const reply = await client.next((f) => f['event'] === 'auth');
  const elapsed = performance.now() - started;
  if (reply['reason'] !== 'BADAUTH') throw new Error(`expected BADAUTH for ${user}, got ${JSON.stringify(reply)}`);
  await client.closed;
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const db = await createZmTestDatabase({ appUser: true });
try {
  await insertZmUser(db.execute, { username: 'real', passwordHash: await zmPasswordHash('real-pw', 'bcrypt-2y', 10) });
  await insertZmUser(db.execute, { username: 'off', passwordHash: await zmPasswordHash('off-pw', 'bcrypt-2y', 10), enabled: false });
  const server = await startTestServer(db.appSettings!, { 'auth.max_failures': 0, 'general.log_level': 'warn' });
  try {
    const cases = [
      { label: 'unknown user           ', user: 'nobody', times: [] as number[] },
      { label: 'disabled user          ', user: 'off', times: [] as number[] },
      { label: 'wrong password (cost 10)', user: 'real', times: [] as number[] },
    ];
    // Warm-up: the dummy hash is made on first use, and the first queries prepare statements.
    for (const c of cases) await failedLoginMs(server, c.user, 'warm-up');
    for (let i = 0; i < TRIES; i++) {
      for (const c of cases) c.times.push(await failedLoginMs(server, c.user, `guess-${i}`));
    }
    console.log(`failed logins over real WebSockets, median of ${TRIES} interleaved tries (send auth → BADAUTH)`);
    for (const c of cases) {
      console.log(`${c.label}: median ${median(c.times).toFixed(1)} ms (min ${Math.min(...c.times).toFixed(1)}, max ${Math.max(...c.times).toFixed(1)})`);
    }
  } finally {
    await server.stop();
  }
} finally {
  await db.drop();
}

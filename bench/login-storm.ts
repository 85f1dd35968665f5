// Benchmark (not a test): logins per second for bcrypt cost-10 users, cold and cached, and the
// worst event-loop stall of the server during a 1,000-client login storm.
// Run: node --import tsx bench/login-storm.ts   (needs the test MariaDB, like npm test)
import { execFile } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { createZmTestDatabase } from '../test/helpers/zm-db.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../test/helpers/zmes-server.js';

const run = promisify(execFile);
const USERS = 100;
const STORM = 1000;

interface ClientReport {
  ok: number;
  failed: number;
  wallMs: number;
  p50: number;
  p99: number;
  max: number;
}

async function clients(server: TestServer, users: Array<{ user: string; password: string }>, connections: number): Promise<ClientReport> {
  const job = JSON.stringify({ url: server.url, users, connections });
  const { stdout } = await run(process.execPath, ['--import', 'tsx', new URL('./lib/login-client.ts', import.meta.url).pathname, job], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as ClientReport;
}

async function measured<T>(work: () => Promise<T>): Promise<{ result: T; maxStallMs: number; p99StallMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const result = await work();
  histogram.disable();
  return { result, maxStallMs: histogram.max / 1e6, p99StallMs: histogram.percentile(99) / 1e6 };
}

const db = await createZmTestDatabase({ appUser: true });
try {
  const users = Array.from({ length: USERS }, (_, i) => ({ user: `bench${i}`, password: `pw-${i}` }));
  for (const u of users) await insertZmUser(db.execute, { username: u.user, passwordHash: await zmPasswordHash(u.password, 'bcrypt-2y', 10) });

  let server = await startTestServer(db.appSettings!, { 'auth.max_failures': 0, 'general.log_level': 'warn' });
  const cold = await measured(() => clients(server, users, USERS));
  const cached = await measured(() => clients(server, users, USERS));
  await server.stop();

  // A fresh server (empty cache): every zmNinja phone reconnects at once after a restart.
  server = await startTestServer(db.appSettings!, { 'auth.max_failures': 0, 'general.log_level': 'warn' });
  const storm = await measured(() => clients(server, users, STORM));
  await server.stop();
  // A household: 1,000 connections from 10 accounts, cold.
  server = await startTestServer(db.appSettings!, { 'auth.max_failures': 0, 'general.log_level': 'warn' });
  const household = await measured(() => clients(server, users.slice(0, 10), STORM));
  const warmStorm = await measured(() => clients(server, users.slice(0, 10), STORM));
  await server.stop();

  const rate = (r: ClientReport) => ((r.ok / r.wallMs) * 1000).toFixed(0);
  console.log(`bcrypt cost 10, ${USERS} distinct users, logins over real WebSockets (client in a separate process)`);
  console.log(`cold   : ${cold.result.ok}/${USERS} ok in ${cold.result.wallMs.toFixed(0)} ms = ${rate(cold.result)} logins/s; server loop stall max ${cold.maxStallMs.toFixed(1)} ms`);
  console.log(`cached : ${cached.result.ok}/${USERS} ok in ${cached.result.wallMs.toFixed(0)} ms = ${rate(cached.result)} logins/s; server loop stall max ${cached.maxStallMs.toFixed(1)} ms`);
  console.log(
    `storm  : ${storm.result.ok}/${STORM} ok (${storm.result.failed} failed), all authenticated after ${storm.result.wallMs.toFixed(0)} ms ` +
      `(p50 ${storm.result.p50.toFixed(0)} ms, p99 ${storm.result.p99.toFixed(0)} ms); server loop stall max ${storm.maxStallMs.toFixed(1)} ms, p99 ${storm.p99StallMs.toFixed(1)} ms`,
  );
  for (const [label, r] of [['storm, 10 users, cold  ', household], ['storm, 10 users, cached', warmStorm]] as const) {
    console.log(
      `${label}: ${r.result.ok}/${STORM} ok, all authenticated after ${r.result.wallMs.toFixed(0)} ms (p99 ${r.result.p99.toFixed(0)} ms); ` +
        `server loop stall max ${r.maxStallMs.toFixed(1)} ms, p99 ${r.p99StallMs.toFixed(1)} ms`,
    );
  }
} finally {
  await db.drop();
}

// Benchmark (not a test): logins per second for bcrypt cost-10 users, cold and cached, and the
// event-loop stalls of the server (p50/p90/p99/max of the loop delay, 1 ms resolution) and its
// garbage-collection pauses during 1,000-client login storms.
// Run: node --import tsx bench/login-storm.ts   (needs the test MariaDB, like npm test)
// Figures before and after: bench/RESULTS.md.
import { execFile } from 'node:child_process';
import { PerformanceObserver, constants, monitorEventLoopDelay, type PerformanceEntry } from 'node:perf_hooks';
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
  /** Close codes of connections closed before their login was answered, and how many. */
  closedUnanswered?: Record<string, number>;
}

async function clients(server: TestServer, users: Array<{ user: string; password: string }>, connections: number): Promise<ClientReport> {
  const job = JSON.stringify({ url: server.url, users, connections });
  const { stdout } = await run(process.execPath, ['--import', 'tsx', new URL('./lib/login-client.ts', import.meta.url).pathname, job], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as ClientReport;
}

interface Measured<T> {
  result: T;
  maxStallMs: number;
  p99StallMs: number;
  /** Loop delay distribution and GC pauses, one line. */
  stalls: string;
}

async function measured<T>(work: () => Promise<T>): Promise<Measured<T>> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const pauses: PerformanceEntry[] = [];
  const gc = new PerformanceObserver((list) => pauses.push(...list.getEntries()));
  gc.observe({ entryTypes: ['gc'] });
  histogram.enable();
  const result = await work();
  histogram.disable();
  gc.disconnect();
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  const gcMax = pauses.reduce((m, e) => Math.max(m, e.duration), 0);
  const gcTotal = pauses.reduce((t, e) => t + e.duration, 0);
  const major = pauses.filter((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
  const majorMax = major.reduce((m, e) => Math.max(m, e.duration), 0);
  const closed = (result as { closedUnanswered?: Record<string, number> }).closedUnanswered ?? {};
  const unanswered = Object.entries(closed).map(([code, n]) => `${n} closed with ${code}`);
  const stalls =
    `loop delay p50 ${ms(histogram.percentile(50))} p90 ${ms(histogram.percentile(90))} p99 ${ms(histogram.percentile(99))} max ${ms(histogram.max)} ms; ` +
    `GC ${pauses.length} pauses (${major.length} major, longest ${majorMax.toFixed(1)} ms), longest ${gcMax.toFixed(1)} ms, ${gcTotal.toFixed(0)} ms in all` +
    (unanswered.length > 0 ? `; unanswered logins: ${unanswered.join(', ')}` : '');
  return { result, maxStallMs: histogram.max / 1e6, p99StallMs: histogram.percentile(99) / 1e6, stalls };
}

const db = await createZmTestDatabase({ appUser: true });
try {
  const users = Array.from({ length: USERS }, (_, i) => ({ user: `bench${i}`, password: `pw-${i}` }));
  for (const u of users) await insertZmUser(db.execute, { username: u.user, passwordHash: await zmPasswordHash(u.password, 'bcrypt-2y', 10) });

  let server = await startTestServer(db.appSettings!, { 'auth.max_failures': 0, 'general.log_level': 'warn' }, {}, 'warn');
  const cold = await measured(() => clients(server, users, USERS));
  const cached = await measured(() => clients(server, users, USERS));
  await server.stop();

  // A fresh server (empty cache): every zmNinja phone reconnects at once after a restart.
  server = await startTestServer(db.appSettings!, { 'auth.max_failures': 0, 'general.log_level': 'warn' }, {}, 'warn');
  const storm = await measured(() => clients(server, users, STORM));
  await server.stop();
  // A household: 1,000 connections from 10 accounts, cold.
  server = await startTestServer(db.appSettings!, { 'auth.max_failures': 0, 'general.log_level': 'warn' }, {}, 'warn');
  const household = await measured(() => clients(server, users.slice(0, 10), STORM));
  const warmStorm = await measured(() => clients(server, users.slice(0, 10), STORM));
  await server.stop();

  const rate = (r: ClientReport) => ((r.ok / r.wallMs) * 1000).toFixed(0);
  console.log(`bcrypt cost 10, ${USERS} distinct users, logins over real WebSockets (client in a separate process)`);
  console.log(`cold   : ${cold.result.ok}/${USERS} ok in ${cold.result.wallMs.toFixed(0)} ms = ${rate(cold.result)} logins/s; server loop stall max ${cold.maxStallMs.toFixed(1)} ms`);
  console.log(`         ${cold.stalls}`);
  console.log(`cached : ${cached.result.ok}/${USERS} ok in ${cached.result.wallMs.toFixed(0)} ms = ${rate(cached.result)} logins/s; server loop stall max ${cached.maxStallMs.toFixed(1)} ms`);
  console.log(`         ${cached.stalls}`);
  console.log(
    `storm  : ${storm.result.ok}/${STORM} ok (${storm.result.failed} failed), all authenticated after ${storm.result.wallMs.toFixed(0)} ms ` +
      `(p50 ${storm.result.p50.toFixed(0)} ms, p99 ${storm.result.p99.toFixed(0)} ms); server loop stall max ${storm.maxStallMs.toFixed(1)} ms, p99 ${storm.p99StallMs.toFixed(1)} ms`,
  );
  console.log(`         ${storm.stalls}`);
  for (const [label, r] of [['storm, 10 users, cold  ', household], ['storm, 10 users, cached', warmStorm]] as const) {
    console.log(
      `${label}: ${r.result.ok}/${STORM} ok, all authenticated after ${r.result.wallMs.toFixed(0)} ms (p99 ${r.result.p99.toFixed(0)} ms); ` +
        `server loop stall max ${r.maxStallMs.toFixed(1)} ms, p99 ${r.p99StallMs.toFixed(1)} ms`,
    );
    console.log(`         ${r.stalls}`);
  }
} finally {
  await db.drop();
}

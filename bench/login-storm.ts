// Benchmark (not a test): logins per second for bcrypt cost-10 users, cold and cached, and the
// event-loop stalls of the server (p50/p90/p99/max of the loop delay, 1 ms resolution) and its
// garbage-collection pauses during 1,000-client login storms.
// The server is a real zmes process, as it ships (compiled, default log level), with a preloaded
// probe (lib/stall-probe.mjs) measuring its own loop and collections; the clients are another
// process. So neither the harness nor the clients count in the figures.
// Run: node --import tsx bench/login-storm.ts   (needs the test MariaDB, like npm test;
// ZMES_BENCH_NODE_ARGS adds options to the server's node, e.g. --cpu-prof)
// Figures before and after: bench/RESULTS.md.
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createZmTestDatabase } from '../test/helpers/zm-db.js';
import { insertZmUser, zmPasswordHash } from '../test/helpers/zmes-server.js';
import type { ZmesProcess } from '../test/helpers/zmes-process.js';
import { buildShippedServer, startShippedServer, type Settings } from './lib/shipped-server.js';

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

async function clients(server: ProbedServer, users: Array<{ user: string; password: string }>, connections: number): Promise<ClientReport> {
  const job = JSON.stringify({ url: server.url, users, connections });
  // The phones are elsewhere in real life: at the lowest priority here, the clients take only
  // the CPU the server leaves, so their work does not show up as the server's stalls.
  const { stdout } = await run('nice', ['-n', '19', process.execPath, '--import', 'tsx', new URL('./lib/login-client.ts', import.meta.url).pathname, job], {
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

/** What lib/stall-probe.mjs prints: loop delay percentiles and GC pauses, in ms. */
interface ProbeReport {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  gcPauses: number;
  gcMajor: number;
  gcLongest: number;
  gcMajorLongest: number;
  gcTotal: number;
}

class ProbedServer {
  private reports = 0;

  private constructor(
    private readonly process: ZmesProcess,
    readonly url: string,
  ) {}

  static async start(): Promise<ProbedServer> {
    const zmes = startShippedServer(MAIN, { ...base, 'general.base_data_path': mkdtempSync(join(work, 'data-')) }, { ZMES_DATABASE_PASSWORD: app.password }, [
      '--import',
      PROBE,
      ...NODE_ARGS,
    ]);
    const port = Number((await zmes.waitFor(/listening for ws:\/\/ connections on 127\.0\.0\.1:(\d+)/))[1]);
    await zmes.waitFor(/zmes \S+ ready/);
    const server = new ProbedServer(zmes, `ws://127.0.0.1:${port}`);
    await server.probe(); // from here on: only the scenario counts, not the start-up
    return server;
  }

  /** What the probe measured since the last call. */
  async probe(): Promise<ProbeReport> {
    this.reports += 1;
    process.kill(this.process.pid!, 'SIGUSR2');
    const line = await this.process.waitFor(new RegExp(`^STALL-PROBE ${this.reports} (.*)$`, 'm'));
    return JSON.parse(line[1]!) as ProbeReport;
  }

  async stop(): Promise<void> {
    const { code } = await this.process.stop();
    // ZMES_BENCH_OUTPUT=file keeps what the servers printed (with --trace-gc, say).
    if (process.env.ZMES_BENCH_OUTPUT) appendFileSync(process.env.ZMES_BENCH_OUTPUT, this.process.output());
    if (code !== 0) throw new Error(`zmes exited with ${code}:\n${this.process.output()}`);
    if (/^\S+ (ERROR|FATAL) /m.test(this.process.output())) throw new Error(`zmes reported an error:\n${this.process.output()}`);
  }
}

async function measured(server: ProbedServer, work: () => Promise<ClientReport>): Promise<Measured<ClientReport>> {
  const result = await work();
  const probe = await server.probe();
  const ms = (value: number) => value.toFixed(1);
  const unanswered = Object.entries(result.closedUnanswered ?? {}).map(([code, n]) => `${n} closed with ${code}`);
  const stalls =
    `loop delay p50 ${ms(probe.p50)} p90 ${ms(probe.p90)} p99 ${ms(probe.p99)} max ${ms(probe.max)} ms; ` +
    `GC ${probe.gcPauses} pauses (${probe.gcMajor} major, longest ${ms(probe.gcMajorLongest)} ms), longest ${ms(probe.gcLongest)} ms, ${probe.gcTotal.toFixed(0)} ms in all` +
    (unanswered.length > 0 ? `; unanswered logins: ${unanswered.join(', ')}` : '');
  return { result, maxStallMs: probe.max, p99StallMs: probe.p99, stalls };
}

const MAIN = buildShippedServer();
// Extra options for the server's node (ZMES_BENCH_NODE_ARGS="--cpu-prof …"), as in memory.ts.
const NODE_ARGS = (process.env.ZMES_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const PROBE = new URL('./lib/stall-probe.mjs', import.meta.url).href;
const db = await createZmTestDatabase({ appUser: true });
const app = db.appSettings!;
const work = mkdtempSync(join(tmpdir(), 'zmes-login-storm-'));
const base: Settings = {
  'network.address': '127.0.0.1',
  'network.port': 0,
  'ssl.enable': false,
  'database.host': app.host,
  'database.port': app.port,
  'database.name': app.database,
  'database.user': app.user,
  'auth.max_failures': 0,
  'fcm.enable': false,
  'mqtt.enable': false,
};
try {
  const users = Array.from({ length: USERS }, (_, i) => ({ user: `bench${i}`, password: `pw-${i}` }));
  for (const u of users) await insertZmUser(db.execute, { username: u.user, passwordHash: await zmPasswordHash(u.password, 'bcrypt-2y', 10) });

  let server = await ProbedServer.start();
  const cold = await measured(server, () => clients(server, users, USERS));
  const cached = await measured(server, () => clients(server, users, USERS));
  await server.stop();

  // A fresh server (empty cache): every zmNinja phone reconnects at once after a restart.
  server = await ProbedServer.start();
  const storm = await measured(server, () => clients(server, users, STORM));
  await server.stop();
  // A household: 1,000 connections from 10 accounts, cold.
  server = await ProbedServer.start();
  const household = await measured(server, () => clients(server, users.slice(0, 10), STORM));
  const warmStorm = await measured(server, () => clients(server, users.slice(0, 10), STORM));
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
  rmSync(work, { recursive: true, force: true });
}

/**
 * Detection benchmark (not a test): what one poll costs on a realistic Events table, what polling
 * costs when nothing happens, and how long an event takes from its INSERT to the 'zm:event'
 * start on the bus.
 *
 *   node --import tsx bench/detection-latency.ts [--interval 0.1] [--events 300] [--idle 30]
 *        [--compare 0.05,0.1,0.25,0.5] [--table 100000] [--shared]
 *
 * Runs on a private MariaDB (its own data directory, so other work on the shared server does not
 * disturb the figures and the server's CPU can be read from /proc); --shared uses the test server.
 * The table is filled with --table closed events on 4 monitors plus 3 open ones.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createPool } from 'mariadb';
import { schema as configSchema } from '../src/config/schema.js';
import { EventBus } from '../src/event-bus.js';
import { createLogger, type Logger } from '../src/log/logger.js';
import type { ZmesEvents } from '../src/domain/bus-events.js';
import { ZmSimulator } from '../dev/sim/zm-simulator.js';
import { ZmDatabase } from '../src/zm/db.js';
import { EventDetection } from '../src/zm/event-detection.js';
import { EventsReader } from '../src/zm/events-poller.js';
import { detectSchema, type ZmSchema } from '../src/zm/schema.js';
import { startPrivateMariadb, type PrivateMariadb } from '../test/helpers/private-mariadb.js';
import { createZmTestDatabase, type ZmTestDatabase } from '../test/helpers/zm-db.js';

const { values: args } = parseArgs({
  options: {
    interval: { type: 'string', default: String(configSchema.customize.event_check_interval.default) },
    events: { type: 'string', default: '300' },
    idle: { type: 'string', default: '30' },
    compare: { type: 'string', default: '0.05,0.1,0.25,0.5' },
    table: { type: 'string', default: '100000' },
    shared: { type: 'boolean', default: false },
  },
});
const INTERVAL = Number(args.interval);
const EVENTS = Number(args.events);
const IDLE_SEC = Number(args.idle);
const COMPARE = (args.compare ?? '').split(',').filter(Boolean).map(Number);
const TABLE_ROWS = Number(args.table);

const log = createLogger({ level: 'warn' });
const quiet: Logger = createLogger({ level: 'error' });

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summary(values: number[]): { p50: number; p90: number; p99: number; max: number; mean: number } {
  const s = [...values].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.at(-1) ?? Number.NaN, mean: s.reduce((a, b) => a + b, 0) / s.length };
}

const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/**
 * CPU time (ns) used so far by each thread of a process, from the scheduler's exact accounting
 * (/proc/<pid>/task/<tid>/schedstat). getrusage()/process.cpuUsage() sample at timer ticks, which
 * overcharges short, tick-aligned wake-ups such as a poll timer; null when /proc is unreadable.
 */
function threadCpuNs(pid: number | 'self' | null): Map<string, number> | null {
  if (pid === null) return null;
  try {
    const threads = new Map<string, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        threads.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // a thread that just ended
      }
    }
    return threads;
  } catch {
    return null;
  }
}

/**
 * CPU used between two snapshots: per-thread differences, so a thread that ended meanwhile (a
 * closed server connection) does not take its whole past runtime off the total.
 */
function cpuDeltaNs(before: Map<string, number> | null, after: Map<string, number> | null): number | null {
  if (before === null || after === null) return null;
  let total = 0;
  for (const [tid, ns] of after) total += ns - (before.get(tid) ?? 0);
  return total;
}

/** Measures CPU of this process and the server over `seconds`, as % of one core. */
async function cpuOver(seconds: number, pid: number | null): Promise<{ zmes: number | null; server: number | null; wall: number }> {
  const self0 = threadCpuNs('self');
  const server0 = threadCpuNs(pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  const share = (ns: number | null) => (ns === null ? null : (ns / 1e9 / wall) * 100);
  return { zmes: share(cpuDeltaNs(self0, threadCpuNs('self'))), server: share(cpuDeltaNs(server0, threadCpuNs(pid))), wall };
}

const pct = (v: number | null) => (v === null ? '    n/a' : `${v.toFixed(2).padStart(5)} %`);

function serverPid(server: PrivateMariadb | null): number | null {
  try {
    if (server) return Number(readFileSync(join(server.baseDir, 'run', 'mysqld.pid'), 'utf8').trim());
    return Number(execFileSync('pidof', ['mariadbd'], { encoding: 'utf8' }).trim().split(' ')[0]);
  } catch {
    return null;
  }
}

async function fill(zm: ZmTestDatabase, sim: ZmSimulator, monitors: number[]): Promise<bigint[]> {
  const t0 = performance.now();
  const chunk = 20_000;
  for (let done = 0; done < TABLE_ROWS; done += chunk) {
    const n = Math.min(chunk, TABLE_ROWS - done);
    // Closed events spread over the last ~30 days, as a long-running ZoneMinder has them.
    await zm.execute(
      `INSERT INTO Events (MonitorId, StorageId, Name, Cause, StartDateTime, EndDateTime, Length, Frames, AlarmFrames,
                           TotScore, AvgScore, MaxScore, Notes, StateId, DefaultVideo, Videoed)
       SELECT ? + seq % ?, 1, 'Event', 'Motion', NOW() - INTERVAL (CAST(? AS SIGNED) - CAST(seq AS SIGNED)) * 26 + 60 SECOND,
              NOW() - INTERVAL (CAST(? AS SIGNED) - CAST(seq AS SIGNED)) * 26 + 50 SECOND, 10, 100, 60, 1600, 26, 40, 'Motion: zone1', 1, '', 0
         FROM seq_1_to_${n}`,
      [monitors[0]!, monitors.length, TABLE_ROWS - done, TABLE_ROWS - done],
    );
  }
  const open: bigint[] = [];
  for (const m of monitors.slice(0, 3)) open.push(await sim.startEvent(m));
  await sim.idle();
  console.log(`  table: ${TABLE_ROWS} closed events + ${open.length} open, filled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return open;
}

async function pollCost(db: ZmDatabase, schema: ZmSchema, open: bigint[], pid: number | null): Promise<void> {
  const reader = new EventsReader(db, schema, quiet);
  const { maxId } = await reader.idRange();
  const plan = { after: maxId, recheck: open, limit: 500 };
  for (let i = 0; i < 200; i++) await reader.read(plan); // warm up
  const rounds = 3000;
  const times: number[] = [];
  const self0 = threadCpuNs('self');
  const server0 = threadCpuNs(pid);
  const q0 = db.stats.queries;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    const s = performance.now();
    const result = await reader.read(plan);
    times.push(performance.now() - s);
    if (result.rows.length !== open.length) throw new Error(`expected ${open.length} rows, got ${result.rows.length}`);
  }
  const wall = performance.now() - t0;
  const selfNs = cpuDeltaNs(self0, threadCpuNs('self'));
  const serverNs = cpuDeltaNs(server0, threadCpuNs(pid));
  const s = summary(times);
  console.log(`  one idle poll (Id > MAX OR Id IN (3 open), ${db.stats.queries - q0} back-to-back queries in ${(wall / 1000).toFixed(1)} s):`);
  console.log(`    round trip      p50 ${ms(s.p50)}  p90 ${ms(s.p90)}  p99 ${ms(s.p99)}  max ${ms(s.max)}`);
  if (selfNs !== null) console.log(`    zmes CPU        ${(selfNs / 1000 / rounds).toFixed(0)} µs per poll`);
  if (serverNs !== null) console.log(`    MariaDB CPU     ${(serverNs / 1000 / rounds).toFixed(0)} µs per poll`);
  const [plan2] = await db.query(
    `EXPLAIN SELECT Id FROM Events WHERE Id > ? OR Id IN (${open.map(() => '?').join(', ')}) ORDER BY Id LIMIT 503`,
    [maxId, ...open],
    (r) => r as Record<string, unknown>,
  );
  console.log(`    plan            type=${String(plan2?.['type'])} key=${String(plan2?.['key'])} rows=${String(plan2?.['rows'])} extra=${String(plan2?.['Extra'])}`);
}

interface Running {
  det: EventDetection;
  db: ZmDatabase;
  bus: EventBus<ZmesEvents>;
  stop(): Promise<void>;
}

async function runDetection(zm: ZmTestDatabase, intervalSec: number): Promise<Running> {
  const dataDir = await mkdtemp(join(tmpdir(), 'zmes-bench-'));
  const db = new ZmDatabase(zm.appSettings ?? zm.settings, log);
  await db.start(AbortSignal.timeout(10_000));
  const schema = await detectSchema(db);
  const bus = new EventBus<ZmesEvents>(log);
  const det = new EventDetection(
    db,
    () => Promise.resolve(schema),
    bus,
    { eventCheckIntervalSec: intervalSec, monitorReloadIntervalSec: 300, maxEventAgeSec: 600, skipMonitors: [], baseDataPath: dataDir },
    quiet,
  );
  await det.start(AbortSignal.timeout(10_000));
  await det.ready();
  return {
    det,
    db,
    bus,
    stop: async () => {
      await det.stop();
      await db.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function idleCost(zm: ZmTestDatabase, intervalSec: number, seconds: number, pid: number | null): Promise<{ line: string; zmes: number | null }> {
  const run = await runDetection(zm, intervalSec);
  await sleep(1000);
  const q0 = run.db.stats.queries;
  const cpu = await cpuOver(seconds, pid);
  const queries = run.db.stats.queries - q0;
  await run.stop();
  return {
    line: `${`${intervalSec.toFixed(2)} s`.padEnd(22)} ${(queries / cpu.wall).toFixed(1).padStart(5)} q/s   zmes ${pct(cpu.zmes)}   MariaDB ${pct(cpu.server)}   (${seconds} s idle)`,
    zmes: cpu.zmes,
  };
}

/** What any 10 Hz poller costs here: an empty timer, and a bare driver `SELECT 1`. */
async function floor(zm: ZmTestDatabase, seconds: number, pid: number | null): Promise<{ lines: string[]; emptyTimer: number | null }> {
  const lines: string[] = [];
  const empty = setInterval(() => undefined, 100);
  const a = await cpuOver(seconds, pid);
  clearInterval(empty);
  lines.push(`${'empty 10 Hz timer'.padEnd(22)} ${'0.0'.padStart(5)} q/s   zmes ${pct(a.zmes)}   MariaDB ${pct(a.server)}   (${seconds} s)`);
  const pool = createPool({ ...(zm.appSettings ?? zm.settings), connectionLimit: 1 });
  await pool.query('SELECT 1');
  let n = 0;
  const ticking = setInterval(() => void pool.query('SELECT 1').then(() => n++), 100);
  const b = await cpuOver(seconds, pid);
  clearInterval(ticking);
  await pool.end();
  lines.push(`${'driver SELECT 1, 10 Hz'.padEnd(22)} ${(n / b.wall).toFixed(1).padStart(5)} q/s   zmes ${pct(b.zmes)}   MariaDB ${pct(b.server)}   (${seconds} s)`);
  return { lines, emptyTimer: a.zmes };
}

async function latency(zm: ZmTestDatabase, sim: ZmSimulator, monitors: number[], intervalSec: number, count: number): Promise<ReturnType<typeof summary>> {
  const run = await runDetection(zm, intervalSec);
  const seen = new Map<bigint, number>();
  run.bus.on('zm:event', (change) => {
    if (change.kind === 'start') seen.set(change.event.eventId, performance.now());
  });
  const inserted = new Map<bigint, number>();
  const ends: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const monitor = monitors[i % monitors.length]!;
    const before = performance.now(); // before the INSERT is sent, so before it returns
    const id = await sim.startEvent(monitor);
    inserted.set(id, before);
    ends.push(sleep(150).then(() => sim.endEvent(id)));
    // Random spacing: inserts land at every phase of the poll interval.
    await sleep(15 + Math.random() * 45);
  }
  await Promise.all(ends);
  const deadline = performance.now() + 10_000;
  while (seen.size < inserted.size && performance.now() < deadline) await sleep(20);
  await run.stop();
  const latencies = [...inserted].map(([id, t]) => (seen.get(id) ?? Number.POSITIVE_INFINITY) - t);
  const missing = latencies.filter((l) => !Number.isFinite(l)).length;
  if (missing > 0) console.log(`  WARNING: ${missing} events were not detected`);
  return summary(latencies.filter(Number.isFinite));
}

async function main(): Promise<void> {
  console.log(`zmes detection benchmark (Node ${process.version}, ${cpus().length} CPUs, Linux ${release()})`);
  let server: PrivateMariadb | null = null;
  if (!args.shared) {
    try {
      server = await startPrivateMariadb();
    } catch (err) {
      console.log(`  private MariaDB unavailable (${String(err)}); using the shared test server`);
    }
  }
  const zm = await createZmTestDatabase({ ...(server ? { server } : {}), appUser: true });
  try {
    const pid = serverPid(server);
    const [version] = await zm.query('SELECT VERSION() AS v');
    console.log(`  MariaDB ${String(version?.['v'])} (${server ? 'private server' : 'shared server, other load may show'}), ZoneMinder 1.36 schema`);
    const sim = await ZmSimulator.create(zm.pool);
    const monitors: number[] = [];
    for (const name of ['Front', 'Back', 'Side', 'Garage']) monitors.push(await sim.createMonitor({ name }));
    const open = await fill(zm, sim, monitors);

    console.log('\n1. Cost of one poll cycle');
    const db = new ZmDatabase(zm.appSettings ?? zm.settings, log);
    await db.start(AbortSignal.timeout(10_000));
    await pollCost(db, await detectSchema(db), open, pid);
    await db.stop();

    console.log('\n2. Idle cost (CPU as % of one core, scheduler runtime of all threads)');
    const base = await floor(zm, Math.min(10, IDLE_SEC), pid);
    for (const line of base.lines) console.log(`  ${line}`);
    for (const interval of COMPARE.filter((i) => i !== INTERVAL)) console.log(`  ${(await idleCost(zm, interval, Math.min(10, IDLE_SEC), pid)).line}`);
    const chosen = await idleCost(zm, INTERVAL, IDLE_SEC, pid);
    console.log(`  ${chosen.line}   <- chosen`);
    if (chosen.zmes !== null && base.emptyTimer !== null) {
      console.log(`  zmes at the chosen interval minus the empty 10 Hz timer: ${pct(chosen.zmes - base.emptyTimer)} (goal ≤ 0.3 %)`);
    }

    console.log('\n3. Latency INSERT → zm:event start');
    for (const interval of COMPARE.filter((i) => i !== INTERVAL)) {
      const s = await latency(zm, sim, monitors, interval, 100);
      console.log(`  ${interval.toFixed(2).padStart(5)} s  p50 ${ms(s.p50).padStart(8)}  p90 ${ms(s.p90).padStart(8)}  p99 ${ms(s.p99).padStart(8)}  max ${ms(s.max).padStart(8)}  (100 events)`);
    }
    const s = await latency(zm, sim, monitors, INTERVAL, EVENTS);
    console.log(
      `  ${INTERVAL.toFixed(2).padStart(5)} s  p50 ${ms(s.p50).padStart(8)}  p90 ${ms(s.p90).padStart(8)}  p99 ${ms(s.p99).padStart(8)}  max ${ms(s.max).padStart(8)}  (${EVENTS} events)  <- chosen`,
    );
    console.log(`\n  goal: p50 ≤ 75 ms, p99 ≤ 150 ms INSERT → client (this measures INSERT → bus; the pipeline and WebSocket add their share)`);
    await sim.idle();
  } finally {
    await zm.drop();
    await server?.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * Event detection end to end: the real ZoneMinder schema (Debian's 1.36, reshaped to 1.34 and
 * 1.38), rows written by the simulator the way ZoneMinder writes them, the EventDetection service
 * polling through ZmDatabase with a least-privilege user, and bus listeners collecting what it
 * emits. No timing assertions: waits are bounded, never measured.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../../src/clock.js';
import { EventBus } from '../../../src/event-bus.js';
import type { MonitorInfo, ZmEventChange } from '../../../src/domain/zm-event.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import { ZmSimulator, type SimulatorNotice } from '../../../dev/sim/zm-simulator.js';
import { ZmDatabase, type ZmDatabaseOptions } from '../../../src/zm/db.js';
import { EventDetection, type EventDetectionOptions } from '../../../src/zm/event-detection.js';
import { detectSchema, type ZmSchema } from '../../../src/zm/schema.js';
import { memoryLogger, type MemoryLogger } from '../../helpers/memory-log.js';
import { startPrivateMariadb, type PrivateMariadb } from '../../helpers/private-mariadb.js';
import { createZmTestDatabase, type ZmGeneration, type ZmTestDatabase } from '../../helpers/zm-db.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejections');
});

const WAIT_MS = 15_000;

interface Harness {
  det: EventDetection;
  db: ZmDatabase;
  mem: MemoryLogger;
  changes: ZmEventChange[];
  monitorLists: { monitors: readonly MonitorInfo[]; removed: readonly number[] }[];
  dataDir: string;
  stop(): Promise<void>;
}

interface HarnessOptions extends Partial<EventDetectionOptions> {
  dbOptions?: ZmDatabaseOptions;
  /** Reuse a data directory (restart tests); a fresh one otherwise. */
  dataDir?: string;
  clock?: Clock;
  /** Do not wait for the first cycle (for a database that is down). */
  noWait?: boolean;
}

const dataDirs: string[] = [];
after(async () => {
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
});

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zmes-detection-'));
  dataDirs.push(dir);
  return dir;
}

function memoSchema(db: ZmDatabase): () => Promise<ZmSchema> {
  let schema: Promise<ZmSchema> | undefined;
  return () => {
    schema ??= detectSchema(db).catch((err: unknown) => {
      schema = undefined;
      throw err;
    });
    return schema;
  };
}

async function startDetection(t: { after(fn: () => Promise<void>): void }, zm: ZmTestDatabase, options: HarnessOptions = {}): Promise<Harness> {
  const mem = memoryLogger();
  const db = new ZmDatabase(zm.appSettings ?? zm.settings, mem.log.child('db'), options.dbOptions ?? {});
  await db.start(AbortSignal.timeout(10_000));
  const bus = new EventBus<ZmesEvents>(mem.log);
  const changes: ZmEventChange[] = [];
  const monitorLists: Harness['monitorLists'] = [];
  bus.on('zm:event', (c) => changes.push(c));
  bus.on('zm:monitors', (m) => monitorLists.push(m));
  const dataDir = options.dataDir ?? (await newDataDir());
  const det = new EventDetection(
    db,
    memoSchema(db),
    bus,
    {
      eventCheckIntervalSec: 0.05,
      monitorReloadIntervalSec: 300,
      maxEventAgeSec: 600,
      skipMonitors: [],
      baseDataPath: dataDir,
      minMonitorReloadGapMs: 100,
      ...options,
    },
    mem.log.child('detection'),
    options.clock ?? systemClock,
  );
  // The start signal bounds the start only: aborting it afterwards must not stop detection.
  const starting = new AbortController();
  await det.start(starting.signal);
  starting.abort();
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      await det.stop();
      await db.stop();
    })();
    return stopped;
  };
  t.after(stop);
  if (!options.noWait) await withTimeout(det.ready(), 'the first poll cycle');
  return { det, db, mem, changes, monitorLists, dataDir, stop };
}

async function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `check` returns a value (checked after every poll cycle, and every 20 ms). */
async function until<T>(what: string, check: () => T | undefined | null | false, ms = WAIT_MS): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Lets detection run a few more full cycles, so anything wrongly repeated would show. */
async function settle(h: Harness, cycles = 3): Promise<void> {
  for (let i = 0; i < cycles; i++) await withTimeout(h.det.nextCycle(), 'a poll cycle');
}

function label(c: ZmEventChange): string {
  return `${c.kind}${c.kind === 'end' ? `:${c.how}` : ''} ${c.event.eventId}`;
}

function find(h: Harness, kind: string, id: bigint): ZmEventChange | undefined {
  return h.changes.find((c) => label(c) === `${kind} ${id}`);
}

function labelsFor(h: Harness, id: bigint): string[] {
  return h.changes.filter((c) => c.event.eventId === id).map(label);
}

async function startUnix(zm: ZmTestDatabase, id: bigint): Promise<{ start: number; end: number | null }> {
  const start = zm.generation === '1.34' ? 'StartTime' : 'StartDateTime';
  const end = zm.generation === '1.34' ? 'EndTime' : 'EndDateTime';
  const [row] = await zm.query(`SELECT UNIX_TIMESTAMP(${start}) AS s, UNIX_TIMESTAMP(${end}) AS e FROM Events WHERE Id = ?`, [id]);
  assert.ok(row);
  return { start: Number(row['s']), end: row['e'] === null ? null : Number(row['e']) };
}

describe('ZoneMinder 1.36', () => {
  let zm: ZmTestDatabase;
  let sim: ZmSimulator;
  before(async () => {
    zm = await createZmTestDatabase({ appUser: true });
    sim = await ZmSimulator.create(zm.pool);
  });
  after(async () => {
    await sim?.idle().catch(() => undefined);
    await zm?.drop();
  });

  test('an event is notified at its start, at each Notes change and at its end, with the row as ZmEvent', async (t) => {
    const monitor = await sim.createMonitor({ name: 'Front Door', function: 'Modect' });
    const h = await startDetection(t, zm);
    const id = await sim.startEvent(monitor, { zones: ['zone1'] });
    const start = await until('the start', () => find(h, 'start', id));
    const times = await startUnix(zm, id);
    assert.deepEqual(start.event, {
      eventId: id,
      monitorId: monitor,
      monitorName: 'Front Door',
      cause: 'Motion',
      notes: 'Motion: zone1',
      startTime: times.start,
      endTime: null,
      alarmFrames: null,
      maxScore: 0,
    });

    await sim.updateEvent(id, { frames: 10, alarmFrames: 8, score: 27, notes: { cause: 'Motion', zones: ['Left Half'] } });
    const cause = await until('the cause change', () => find(h, 'cause', id));
    assert.equal(cause.event.notes, 'Motion: Left Half, zone1');

    await sim.endEvent(id);
    const end = await until('the end', () => find(h, 'end:ended', id));
    const ended = await startUnix(zm, id);
    assert.deepEqual(end.event, {
      eventId: id,
      monitorId: monitor,
      monitorName: 'Front Door',
      cause: 'Motion',
      notes: 'Motion: Left Half, zone1',
      startTime: ended.start,
      endTime: ended.end,
      alarmFrames: 8,
      maxScore: 27,
    });
    await settle(h);
    assert.deepEqual(labelsFor(h, id), [`start ${id}`, `cause ${id}`, `end:ended ${id}`]);
    assert.equal(h.mem.grep(new RegExp(`event ${id} started on monitor Front Door \\(${monitor}\\): Motion: zone1$`)).length, 1);
    assert.equal(h.mem.grep(new RegExp(`event ${id} ended on monitor Front Door \\(${monitor}\\) after \\d`)).length, 1);
    assert.equal(h.det.stats.tracked, 0);
  });

  test('events that existed before the first start are not notified, and the cursor file holds the Id as a string', async (t) => {
    const monitor = await sim.createMonitor({ name: 'History' });
    const old = await sim.startEvent(monitor);
    const h = await startDetection(t, zm);
    await sim.endEvent(old);
    const fresh = await sim.startEvent(monitor);
    await until('the new event', () => find(h, 'start', fresh));
    await settle(h);
    assert.deepEqual(labelsFor(h, old), []);
    assert.equal(h.mem.grep(/first start: watching for events after \d+/).length, 1);
    const stored = JSON.parse(await readFile(h.det.cursorPath, 'utf8')) as Record<string, unknown>;
    assert.equal(h.det.cursorPath, join(h.dataDir, 'events', 'last-event.json'));
    assert.equal(stored['lastEventId'], String(fresh));
    assert.deepEqual(stored['openEvents'], [{ id: String(fresh), monitorId: monitor, notified: true }]);
    await sim.endEvent(fresh);
  });

  test('gaps in the Ids do not hide the events after them', async (t) => {
    const monitor = await sim.createMonitor({ name: 'Gaps' });
    const h = await startDetection(t, zm);
    const [max] = await zm.query('SELECT MAX(Id) AS m FROM Events');
    const jump = BigInt(String(max?.['m'] ?? 0)) + 50n;
    const a = await sim.startEvent(monitor, { id: jump });
    await sim.endEvent(a);
    const b = await sim.startEvent(monitor);
    await sim.endEvent(b);
    await until('both events', () => find(h, 'end:ended', a) && find(h, 'end:ended', b));
    await settle(h);
    assert.deepEqual(labelsFor(h, a), [`start ${a}`, `end:ended ${a}`]);
    assert.deepEqual(labelsFor(h, b), [`start ${b}`, `end:ended ${b}`]);
  });

  test('a row committed after a higher Id of another monitor is seen, once, and the higher one is not repeated', async (t) => {
    const m1 = await sim.createMonitor({ name: 'Slow Commit' });
    const m2 = await sim.createMonitor({ name: 'Fast Commit' });
    const h = await startDetection(t, zm);
    const hidden = await sim.beginHiddenEvent(m1);
    const visible = await sim.startEvent(m2);
    assert.ok(visible > hidden.id);
    await until('the higher Id', () => find(h, 'start', visible));
    await settle(h, 2);
    assert.equal(find(h, 'start', hidden.id), undefined, 'not visible yet');
    await hidden.commit();
    await until('the late row', () => find(h, 'start', hidden.id));
    await sim.endEvent(hidden.id);
    await sim.endEvent(visible);
    await until('both ends', () => find(h, 'end:ended', hidden.id) && find(h, 'end:ended', visible));
    await settle(h);
    assert.deepEqual(labelsFor(h, hidden.id), [`start ${hidden.id}`, `end:ended ${hidden.id}`]);
    assert.deepEqual(labelsFor(h, visible), [`start ${visible}`, `end:ended ${visible}`]);
  });

  test('an event that never closes is abandoned after the limit and nothing of it is kept', async (t) => {
    const monitor = await sim.createMonitor({ name: 'Crashy' });
    const h = await startDetection(t, zm, { abandonAfterSec: 2 });
    const id = await sim.startEvent(monitor, { preEventSeconds: 0 });
    sim.abandonEvent(id); // the capture process was killed: the row stays open forever
    await until('the start', () => find(h, 'start', id));
    const end = await until('the abandonment', () => find(h, 'end:abandoned', id), 20_000);
    assert.equal(end.event.endTime, null);
    await settle(h);
    assert.deepEqual(labelsFor(h, id), [`start ${id}`, `end:abandoned ${id}`]);
    assert.equal(h.det.stats.tracked, 0);
    assert.equal(h.mem.grep(new RegExp(`event ${id} on monitor Crashy \\(${monitor}\\) still has no end after`)).length, 1);
  });

  test('an event deleted while open ends as deleted', async (t) => {
    const monitor = await sim.createMonitor({ name: 'Deleted Event' });
    const h = await startDetection(t, zm);
    const id = await sim.startEvent(monitor);
    await until('the start', () => find(h, 'start', id));
    await sim.deleteEvent(id);
    const end = await until('the deletion', () => find(h, 'end:deleted', id));
    assert.equal(end.event.monitorName, 'Deleted Event');
    await settle(h);
    assert.deepEqual(labelsFor(h, id), [`start ${id}`, `end:deleted ${id}`]);
  });

  test('monitors: skipped and non-alarming ones are not notified, a renamed one carries its new name, a new one is found through its first event', async (t) => {
    const skipped = await sim.createMonitor({ name: 'Skipped', function: 'Modect' });
    const watchOnly = await sim.createMonitor({ name: 'Watch Only', function: 'Monitor' });
    const disabled = await sim.createMonitor({ name: 'Disabled', function: 'Modect', enabled: false });
    const renamed = await sim.createMonitor({ name: 'Old Name', function: 'Nodect' });
    const h = await startDetection(t, zm, { skipMonitors: [skipped] });
    const first = h.monitorLists[0];
    assert.ok(first, 'the list is published at start');
    const byId = new Map(first.monitors.map((m) => [m.id, m]));
    assert.deepEqual(byId.get(skipped), { id: skipped, name: 'Skipped', notify: false });
    assert.deepEqual(byId.get(watchOnly), { id: watchOnly, name: 'Watch Only', notify: false });
    assert.deepEqual(byId.get(disabled), { id: disabled, name: 'Disabled', notify: false });
    assert.deepEqual(byId.get(renamed), { id: renamed, name: 'Old Name', notify: true });

    const ignored = [await sim.startEvent(skipped), await sim.startEvent(watchOnly), await sim.startEvent(disabled)];

    await sim.renameMonitor(renamed, 'New Name');
    await h.det.reloadMonitors();
    const last = h.monitorLists.at(-1);
    assert.equal(last?.monitors.find((m) => m.id === renamed)?.name, 'New Name');
    assert.equal(h.mem.grep(new RegExp(`monitor ${renamed} renamed from Old Name to New Name`)).length, 1);
    const afterRename = await sim.startEvent(renamed);
    const start = await until('the renamed monitor’s event', () => find(h, 'start', afterRename));
    assert.equal(start.event.monitorName, 'New Name');

    const added = await sim.createMonitor({ name: 'Garden', function: 'Mocord' });
    const lists = h.monitorLists.length;
    const onNew = await sim.startEvent(added, { cause: 'Motion' });
    const startNew = await until('the new monitor’s event', () => find(h, 'start', onNew));
    assert.equal(startNew.event.monitorName, 'Garden');
    assert.ok(h.monitorLists.length > lists, 'the reload was published');
    assert.deepEqual(h.monitorLists.at(-1)?.monitors.find((m) => m.id === added), { id: added, name: 'Garden', notify: true });
    assert.equal(h.mem.grep(new RegExp(`monitor Garden \\(${added}\\) added`)).length, 1);

    await zm.execute('DELETE FROM Monitors WHERE Id = ?', [watchOnly]);
    await h.det.reloadMonitors();
    assert.deepEqual(h.monitorLists.at(-1)?.removed, [watchOnly]);

    await settle(h);
    for (const id of ignored) assert.deepEqual(labelsFor(h, id), []);
    for (const id of [...ignored, afterRename, onNew]) await sim.endEvent(id).catch(() => undefined);
  });

  test('a Continuous event is notified once it has alarm frames, and one without any never', async (t) => {
    const monitor = await sim.createMonitor({ name: 'Mocord', function: 'Mocord' });
    const h = await startDetection(t, zm);
    const calm = await sim.startEvent(monitor, { cause: 'Continuous', zones: [] });
    await sim.updateEvent(calm, { frames: 20, alarmFrames: 0 });
    await sim.endEvent(calm);
    const busy = await sim.startEvent(monitor, { cause: 'Continuous', zones: [] });
    await sim.updateEvent(busy, { frames: 20, alarmFrames: 0 });
    await settle(h, 2);
    assert.equal(find(h, 'start', busy), undefined);
    await sim.updateEvent(busy, { frames: 5, alarmFrames: 3, score: 30, notes: { cause: 'Motion', zones: ['zone1'] } });
    const start = await until('the alarm', () => find(h, 'start', busy));
    assert.equal(start.event.cause, 'Continuous');
    assert.equal(start.event.alarmFrames, 3);
    await sim.endEvent(busy);
    await until('the end', () => find(h, 'end:ended', busy));
    await settle(h);
    assert.deepEqual(labelsFor(h, calm), []);
    assert.deepEqual(labelsFor(h, busy), [`start ${busy}`, `end:ended ${busy}`]);
  });

  test('a restart mid-stream repeats nothing and misses nothing: ends, starts and whole events that happened while stopped', async (t) => {
    const monitor = await sim.createMonitor({ name: 'Restart' });
    const other = await sim.createMonitor({ name: 'Restart 2' });
    const first = await startDetection(t, zm);
    const open = await sim.startEvent(monitor);
    const done = await sim.startEvent(other);
    await sim.endEvent(done);
    await until('the events before the stop', () => find(first, 'start', open) && find(first, 'end:ended', done));
    await first.stop();

    await sim.updateEvent(open, { notes: { cause: 'Motion', zones: ['while away'] } });
    await sim.endEvent(open);
    const whole = await sim.startEvent(other);
    await sim.endEvent(whole);
    const running = await sim.startEvent(other);

    const second = await startDetection(t, zm, { dataDir: first.dataDir });
    await until('what happened meanwhile', () => find(second, 'end:ended', open) && find(second, 'end:ended', whole) && find(second, 'start', running));
    await sim.endEvent(running);
    await until('the last end', () => find(second, 'end:ended', running));
    await settle(second);
    const all = [...first.changes, ...second.changes].map(label);
    assert.deepEqual(
      all.filter((l) => [open, done, whole, running].some((id) => l.endsWith(` ${id}`))).sort(),
      [
        `start ${open}`,
        `end:ended ${open}`,
        `start ${done}`,
        `end:ended ${done}`,
        `start ${whole}`,
        `end:ended ${whole}`,
        `start ${running}`,
        `end:ended ${running}`,
      ].sort(),
    );
    assert.equal(second.mem.grep(/resuming after event \d+/).length, 1);
  });

  test('a stored cursor ahead of the database is reset to its newest event with a warning', async (t) => {
    const monitor = await sim.createMonitor({ name: 'Restored' });
    const dataDir = await newDataDir();
    await mkdir(join(dataDir, 'events'));
    await writeFile(
      join(dataDir, 'events', 'last-event.json'),
      JSON.stringify({ format: 1, lastEventId: '99999999', savedAt: new Date().toISOString(), openEvents: [], gaps: [] }),
    );
    const h = await startDetection(t, zm, { dataDir });
    const [max] = await zm.query('SELECT MAX(Id) AS m FROM Events');
    assert.equal(h.det.stats.lastEventId, BigInt(String(max?.['m'])));
    assert.equal(h.mem.grep(/last handled event 99999999 is beyond the database's newest event \d+.*restored or recreated/).filter((l) => l.level === 'warn').length, 1);
    const id = await sim.startEvent(monitor);
    await until('a new event after the reset', () => find(h, 'start', id));
    await sim.endEvent(id);
  });

  test('a corrupt cursor file is set aside with a warning and detection starts afresh', async (t) => {
    const dataDir = await newDataDir();
    await mkdir(join(dataDir, 'events'));
    await writeFile(join(dataDir, 'events', 'last-event.json'), '{"format":1,"lastEventId":12');
    const h = await startDetection(t, zm, { dataDir });
    assert.equal(h.mem.grep(/last-event\.json is corrupt .*kept as .*corrupt-.*starting as if for the first time/).length, 1);
    const files = await readdir(join(dataDir, 'events'));
    assert.ok(files.some((f) => f.startsWith('last-event.json.corrupt-')), files.join(', '));
    assert.ok(files.includes('last-event.json'), 'a fresh file is written');
  });

  test('events older than max_event_age when first seen are logged, not notified, and the cursor moves past them', async (t) => {
    const monitor = await sim.createMonitor({ name: 'Back Yard' });
    const first = await startDetection(t, zm);
    await first.stop();
    const hourAgo: Clock = { ...systemClock, now: () => Date.now() - 3_600_000 };
    const pastSim = await ZmSimulator.create(zm.pool, { clock: hourAgo });
    const old = await pastSim.startEvent(monitor, { preEventSeconds: 0 });
    const second = await startDetection(t, zm, { dataDir: first.dataDir });
    await settle(second, 2);
    assert.equal(second.mem.grep(new RegExp(`event ${old} on monitor Back Yard started 3[56]\\d\\d s ago; not notified`)).length, 1);
    await pastSim.endEvent(old);
    const fresh = await sim.startEvent(monitor);
    await until('a fresh event', () => find(second, 'start', fresh));
    await settle(second);
    assert.deepEqual(labelsFor(second, old), []);
    await sim.endEvent(fresh);
  });
});

for (const generation of ['1.38', '1.34'] as const satisfies readonly ZmGeneration[]) {
  describe(`ZoneMinder ${generation}`, () => {
    let zm: ZmTestDatabase;
    let sim: ZmSimulator;
    before(async () => {
      zm = await createZmTestDatabase({ generation, appUser: true });
      sim = await ZmSimulator.create(zm.pool);
    });
    after(async () => {
      await sim?.idle().catch(() => undefined);
      await zm?.drop();
    });

    test('start, cause and end are detected with this generation’s columns', async (t) => {
      const monitor = await sim.createMonitor({ name: 'Porch', function: 'Modect' });
      const record = await sim.createMonitor({ name: 'Recorder', function: 'Record' });
      const h = await startDetection(t, zm);
      assert.deepEqual(
        h.monitorLists[0]?.monitors.filter((m) => m.id === monitor || m.id === record),
        [
          { id: monitor, name: 'Porch', notify: true },
          { id: record, name: 'Recorder', notify: false },
        ],
      );
      const id = await sim.startEvent(monitor, { zones: ['zone1'] });
      const start = await until('the start', () => find(h, 'start', id));
      const times = await startUnix(zm, id);
      assert.equal(start.event.startTime, times.start);
      assert.equal(start.event.cause, generation === '1.38' ? 'Motion:zone1' : 'Motion');
      await sim.updateEvent(id, { notes: { cause: 'Forced Web', zones: [] } });
      await until('the cause', () => find(h, 'cause', id));
      await sim.endEvent(id);
      const end = await until('the end', () => find(h, 'end:ended', id));
      assert.equal(end.event.endTime, (await startUnix(zm, id)).end);
      await settle(h);
      assert.deepEqual(labelsFor(h, id), [`start ${id}`, `cause ${id}`, `end:ended ${id}`]);
    });

    if (generation === '1.38') {
      test('a soft-deleted monitor leaves the list and its events are not notified', async (t) => {
        const monitor = await sim.createMonitor({ name: 'Going Away' });
        const h = await startDetection(t, zm);
        await sim.updateMonitor(monitor, { deleted: true });
        await h.det.reloadMonitors();
        assert.deepEqual(h.monitorLists.at(-1)?.removed, [monitor]);
        const id = await sim.startEvent(monitor);
        await settle(h, 3);
        assert.deepEqual(labelsFor(h, id), []);
        assert.equal(h.mem.grep(/not in ZoneMinder's monitor list/).length, 0);
        await sim.endEvent(id);
      });
    }
  });
}

describe('database outage (private server)', () => {
  let server: PrivateMariadb;
  let zm: ZmTestDatabase;
  before(async () => {
    server = await startPrivateMariadb();
    zm = await createZmTestDatabase({ server, appUser: true });
  });
  after(async () => {
    await zm?.drop();
    await server?.destroy();
  });

  test('events before, around and after a MariaDB restart are each notified exactly once, without polling the dead server', async (t) => {
    t.after(() => server.start()); // leave it running, also on failure
    const sim = await ZmSimulator.create(zm.pool);
    const monitors = [await sim.createMonitor({ name: 'One' }), await sim.createMonitor({ name: 'Two' }), await sim.createMonitor({ name: 'Three' })];
    const h = await startDetection(t, zm, {
      dbOptions: { backoff: { initialMs: 100, maxMs: 500 }, connectTimeoutMs: 1000, acquireTimeoutMs: 1000 },
    });

    const notices: SimulatorNotice[] = [];
    const abort = new AbortController();
    const run = sim.run({
      ratePerSecond: 20,
      monitorIds: monitors,
      eventDurationMs: 300,
      updateIntervalMs: 100,
      signal: abort.signal,
      onEvent: (n) => notices.push(n),
    });
    await until('events before the outage', () => notices.filter((n) => n.kind === 'end').length >= 5);
    await server.stop();
    // Down until detection has found it down and probed it in vain at least once (no fixed delay).
    await until('a failed probe of the stopped server', () => h.mem.grep(/still unreachable/).length > 0);
    await server.start();
    const startsAtRestart = notices.filter((n) => n.kind === 'start').length;
    await until('events after the restart', () => notices.filter((n) => n.kind === 'start').length >= startsAtRestart + 10);
    abort.abort();
    const stats = await run;
    assert.ok(stats.started >= 15, `only ${stats.started} events started`);

    const started = notices.filter((n) => n.kind === 'start').map((n) => n.id);
    const ended = notices.filter((n) => n.kind === 'end').map((n) => n.id);
    await until('every start and end', () => started.every((id) => find(h, 'start', id)) && ended.every((id) => find(h, 'end:ended', id)), 30_000);
    await settle(h);

    const counts = new Map<string, number>();
    for (const c of h.changes) counts.set(label(c), (counts.get(label(c)) ?? 0) + 1);
    const repeated = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(repeated, [], 'nothing notified twice');
    // Rows whose INSERT the server applied but whose answer was lost in the shutdown are not in
    // the simulator's list; whatever else was notified must be such a row.
    const known = new Set(started);
    for (const c of h.changes.filter((x) => x.kind === 'start' && !known.has(x.event.eventId))) {
      const [row] = await zm.query('SELECT Id FROM Events WHERE Id = ?', [c.event.eventId]);
      assert.ok(row, `event ${c.event.eventId} was notified but does not exist`);
    }
    assert.equal(h.db.stats.failedFast, 0, 'no poll was sent at the dead server: detection waited for it');
    assert.equal(h.mem.grep(/ZoneMinder database unreachable .*retrying with backoff/).length, 1);
    assert.equal(h.mem.lines.filter((l) => l.level === 'error').length, 0, h.mem.lines.filter((l) => l.level === 'error').map((l) => l.message).join('\n'));
  });

  test('a database that is down when detection starts delays detection, not the start, and nothing is lost', async (t) => {
    t.after(() => server.start());
    const sim = await ZmSimulator.create(zm.pool);
    const monitor = await sim.createMonitor({ name: 'Late' });
    const dataDir = await newDataDir();
    const first = await startDetection(t, zm, { dataDir });
    await first.stop();
    const before = await sim.startEvent(monitor);
    await server.stop();
    const h = await startDetection(t, zm, {
      dataDir,
      noWait: true,
      dbOptions: { backoff: { initialMs: 100, maxMs: 500 }, connectTimeoutMs: 1000, acquireTimeoutMs: 1000 },
    });
    // A positive witness instead of a fixed delay: detection is waiting for the server, which it
    // has probed in vain at least once (after the outage was noticed); it has not polled.
    await until('a failed probe of the stopped server', () => h.mem.grep(/still unreachable/).length > 0);
    assert.equal(h.det.stats.polls, 0);
    await server.start();
    await withTimeout(h.det.ready(), 'detection after the server came back');
    await until('the event from before', () => find(h, 'start', before));
    await sim.endEvent(before);
    await until('its end', () => find(h, 'end:ended', before));
  });
});

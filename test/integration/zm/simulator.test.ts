/**
 * The simulator must write rows the way ZoneMinder 1.36 does (zoneminder.md §2–§3), column by
 * column, because every detection test downstream trusts it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ZmSimulator, type SimulatorNotice } from '../../../dev/sim/zm-simulator.js';
import { ZmDatabase } from '../../../src/zm/db.js';
import { eventSelectList, monitorSelectList, parseEventRow, parseMonitorRow } from '../../../src/zm/rows.js';
import { detectSchema } from '../../../src/zm/schema.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { createZmTestDatabase, type ZmGeneration, type ZmTestDatabase } from '../../helpers/zm-db.js';

let zm: ZmTestDatabase;
let sim: ZmSimulator;
let videoMonitor: number;
let jpegMonitor: number;

before(async () => {
  zm = await createZmTestDatabase();
  sim = await ZmSimulator.create(zm.pool);
  videoMonitor = await sim.createMonitor({ name: 'Front', function: 'Modect', videoWriter: 1 });
  jpegMonitor = await sim.createMonitor({ name: 'Back', function: 'Modect', videoWriter: 0 });
});

after(async () => {
  await zm?.drop();
});

async function eventRow(id: bigint, db: ZmTestDatabase = zm): Promise<Record<string, unknown>> {
  const start = db.generation === '1.34' ? 'StartTime' : 'StartDateTime';
  const end = db.generation === '1.34' ? 'EndTime' : 'EndDateTime';
  const [row] = await db.query(
    `SELECT *, UNIX_TIMESTAMP(${start}) AS StartUnix, UNIX_TIMESTAMP(${end}) AS EndUnix FROM Events WHERE Id = ?`,
    [id],
  );
  assert.ok(row, `event ${id} not found`);
  return row;
}

/** Picks the given columns, to compare a row with one deepEqual. */
function pick(row: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, row[k]]));
}

test('a started event has the INSERT values of ZoneMinder 1.36 and then DefaultVideo from the second UPDATE', async () => {
  const before = Date.now();
  const id = await sim.startEvent(videoMonitor);
  const afterInsert = Date.now();
  await sim.idle();
  const row = await eventRow(id);
  assert.deepEqual(
    pick(row, ['MonitorId', 'StorageId', 'Name', 'Cause', 'Notes', 'EndDateTime', 'Width', 'Height', 'Length', 'Frames', 'AlarmFrames', 'TotScore', 'AvgScore', 'MaxScore', 'DefaultVideo', 'Videoed', 'SaveJPEGs', 'StateId', 'Orientation', 'DiskSpace', 'Scheme', 'Archived']),
    {
      MonitorId: videoMonitor,
      StorageId: 1,
      Name: 'New Event',
      Cause: 'Motion',
      Notes: 'Motion: zone1',
      EndDateTime: null,
      Width: 1280,
      Height: 720,
      Length: '0.00',
      Frames: null,
      AlarmFrames: null,
      TotScore: 0,
      AvgScore: 0,
      MaxScore: 0,
      DefaultVideo: `${id}-video.mp4`,
      Videoed: 1,
      SaveJPEGs: 3,
      StateId: 1,
      Orientation: 'ROTATE_0',
      DiskSpace: null,
      Scheme: 'Medium',
      Archived: 0,
    },
  );
  // The start is the first pre-event frame, one second before the alarm.
  const start = Number(row['StartUnix']);
  assert.ok(start >= Math.floor((before - 1000) / 1000) && start <= Math.floor((afterInsert - 1000) / 1000), `start ${start}`);
});

test('an event of a JPEG-only monitor keeps DefaultVideo empty and Videoed 0', async () => {
  const id = await sim.startEvent(jpegMonitor);
  await sim.idle();
  assert.deepEqual(pick(await eventRow(id), ['DefaultVideo', 'Videoed']), { DefaultVideo: '', Videoed: 0 });
});

test('running updates grow the counters, AvgScore is TotScore/AlarmFrames rounded down, and Notes gains zones', async () => {
  const id = await sim.startEvent(videoMonitor);
  await sim.updateEvent(id, { frames: 13, alarmFrames: 1, score: 8 });
  assert.deepEqual(pick(await eventRow(id), ['Name', 'EndDateTime', 'Length', 'Frames', 'AlarmFrames', 'TotScore', 'AvgScore', 'MaxScore', 'Notes']), {
    Name: 'New Event',
    EndDateTime: null,
    Length: '1.30',
    Frames: 13,
    AlarmFrames: 1,
    TotScore: 8,
    AvgScore: 8,
    MaxScore: 8,
    Notes: 'Motion: zone1',
  });
  await sim.updateEvent(id, { frames: 27, alarmFrames: 27, score: 27, notes: { cause: 'Motion', zones: ['Left Half'] } });
  assert.deepEqual(pick(await eventRow(id), ['Name', 'EndDateTime', 'Length', 'Frames', 'AlarmFrames', 'TotScore', 'AvgScore', 'MaxScore', 'Notes', 'Cause']), {
    Name: 'New Event',
    EndDateTime: null,
    Length: '4.00',
    Frames: 40,
    AlarmFrames: 28,
    TotScore: 737,
    AvgScore: 26, // 737 / 28 = 26.3
    MaxScore: 27,
    Notes: 'Motion: Left Half, zone1',
    Cause: 'Motion', // Cause is written by the INSERT only
  });
});

test('the end UPDATE names the event EventPrefix + Id, sets EndDateTime and the final counters, and leaves Notes alone', async () => {
  const id = await sim.startEvent(videoMonitor);
  await sim.updateEvent(id, { frames: 40, alarmFrames: 28, score: 27, notes: { cause: 'Motion', zones: ['Left Half'] } });
  await sim.endEvent(id, { frames: 60 });
  const row = await eventRow(id);
  assert.deepEqual(pick(row, ['Name', 'Cause', 'Notes', 'Length', 'Frames', 'AlarmFrames', 'TotScore', 'AvgScore', 'MaxScore', 'DefaultVideo']), {
    Name: `Event-${id}`,
    Cause: 'Motion',
    Notes: 'Motion: Left Half, zone1',
    Length: '10.00',
    Frames: 100,
    AlarmFrames: 28,
    TotScore: 756,
    AvgScore: 27,
    MaxScore: 27,
    DefaultVideo: `${id}-video.mp4`,
  });
  assert.notEqual(row['EndDateTime'], null);
  assert.equal(Number(row['EndUnix']) - Number(row['StartUnix']), 10);
});

test("the monitor's EventPrefix names the ended event", async () => {
  const garage = await sim.createMonitor({ name: 'Garage', eventPrefix: 'Garage-' });
  const id = await sim.startEvent(garage);
  await sim.endEvent(id);
  assert.equal((await eventRow(id))['Name'], `Garage-${id}`);
});

test('a name given by a user while the event runs is kept at the end, and the end values are still written', async () => {
  const id = await sim.startEvent(videoMonitor);
  await sim.renameEvent(id, 'Delivery van');
  await sim.endEvent(id);
  const row = await eventRow(id);
  assert.equal(row['Name'], 'Delivery van');
  assert.notEqual(row['EndDateTime'], null);
  assert.equal(row['Frames'], 10);
});

test('an event whose capture process died stays New Event with EndDateTime NULL', async () => {
  const id = await sim.startEvent(videoMonitor);
  await sim.updateEvent(id, { frames: 5 });
  sim.abandonEvent(id);
  const next = await sim.startEvent(videoMonitor); // the restarted process goes on with a new Id
  await sim.endEvent(next);
  await sim.idle();
  assert.deepEqual(pick(await eventRow(id), ['Name', 'EndDateTime', 'Frames']), { Name: 'New Event', EndDateTime: null, Frames: 5 });
  assert.ok(next > id);
  assert.equal((await eventRow(next))['Name'], `Event-${next}`);
});

test("a forced alarm has Cause 'Forced Web', Notes 'Forced Web: ' and MaxScore 255", async () => {
  const id = await sim.forceAlarm(jpegMonitor);
  assert.deepEqual(pick(await eventRow(id), ['Name', 'Cause', 'Notes', 'MaxScore', 'EndDateTime']), {
    Name: 'New Event',
    Cause: 'Forced Web',
    Notes: 'Forced Web: ',
    MaxScore: 255,
    EndDateTime: null,
  });
});

test('a forced alarm during a motion event adds its Notes group before Motion', async () => {
  const id = await sim.startEvent(jpegMonitor, { zones: ['zone1', 'Left Half'] });
  await sim.updateEvent(id, { frames: 1, alarmFrames: 1, score: 255, notes: { cause: 'Forced Web', zones: [] } });
  assert.deepEqual(pick(await eventRow(id), ['Cause', 'Notes', 'MaxScore']), {
    Cause: 'Motion',
    Notes: 'Forced Web: Motion: Left Half, zone1',
    MaxScore: 255,
  });
});

test('events can be deleted and monitors renamed', async () => {
  const id = await sim.startEvent(jpegMonitor);
  await sim.deleteEvent(id);
  assert.deepEqual(await zm.query('SELECT Id FROM Events WHERE Id = ?', [id]), []);
  const monitor = await sim.createMonitor({ name: 'Old name' });
  await sim.renameMonitor(monitor, 'New name');
  assert.deepEqual(await zm.query('SELECT Name FROM Monitors WHERE Id = ?', [monitor]), [{ Name: 'New name' }]);
});

test('an Id reserved in an open transaction becomes visible only after a higher Id', async () => {
  const hidden = await sim.beginHiddenEvent(videoMonitor);
  const visible = await sim.startEvent(jpegMonitor);
  assert.ok(visible > hidden.id);
  const seen = async () => (await zm.query('SELECT Id FROM Events WHERE Id IN (?, ?) ORDER BY Id', [hidden.id, visible])).map((r) => r['Id']);
  assert.deepEqual(await seen(), [visible]);
  await hidden.commit();
  assert.deepEqual(await seen(), [hidden.id, visible]);
  await sim.idle();
  assert.equal((await eventRow(hidden.id))['DefaultVideo'], `${hidden.id}-video.mp4`);
});

test('an explicit lower Id can be inserted after a higher one', async () => {
  const high = await sim.startEvent(jpegMonitor, { id: 5_000_100n });
  const low = await sim.startEvent(jpegMonitor, { id: 5_000_050n });
  assert.deepEqual([high, low], [5_000_100n, 5_000_050n]);
  assert.equal((await eventRow(low))['Name'], 'New Event');
});

for (const generation of ['1.34', '1.38'] as const satisfies readonly ZmGeneration[]) {
  test(`the same lifecycle works on the ${generation} schema and reads back through the typed mappers`, async (t) => {
    const other = await createZmTestDatabase({ generation, appUser: true });
    t.after(() => other.drop());
    const otherSim = await ZmSimulator.create(other.pool);
    const monitor = await otherSim.createMonitor({ name: 'Porch', function: 'Modect' });
    const id = await otherSim.startEvent(monitor, { zones: ['zone1', 'Left Half'] });
    await otherSim.updateEvent(id, { frames: 20, alarmFrames: 10, score: 30 });
    await otherSim.endEvent(id);
    const open = await otherSim.startEvent(monitor);
    await otherSim.idle();

    const db = new ZmDatabase(other.appSettings!, memoryLogger().log);
    t.after(() => db.stop());
    await db.start(AbortSignal.timeout(10_000));
    const schema = await detectSchema(db);
    const events = await db.query(`SELECT ${eventSelectList(schema)} FROM Events ORDER BY Id`, [], parseEventRow);
    const [ended, running] = events.map((e) => (e.ok ? e.value : assert.fail(e.detail)));
    assert.equal(ended?.id, id);
    assert.equal(ended?.name, `Event-${id}`);
    assert.equal(ended?.cause, generation === '1.38' ? 'Motion:zone1,Left Half' : 'Motion');
    assert.equal(ended?.notes, 'Motion: Left Half, zone1');
    assert.equal(ended?.frames, 30);
    assert.equal(ended?.maxScore, 30);
    assert.equal((ended?.endTime ?? 0) - (ended?.startTime ?? 0), 3);
    assert.equal(running?.id, open);
    assert.equal(running?.endTime, null);
    assert.equal(running?.name, 'New Event');

    const [mon] = await db.query(`SELECT ${monitorSelectList(schema)} FROM Monitors WHERE Id = ?`, [monitor], parseMonitorRow);
    assert.ok(mon?.ok);
    assert.deepEqual(
      mon.value.activity,
      generation === '1.38'
        ? { model: 'capturing', capturing: 'Always', analysing: 'Always', recording: 'OnMotion' }
        : { model: 'function', function: 'Modect' },
    );
    if (generation === '1.38') {
      await otherSim.updateMonitor(monitor, { deleted: true });
      const [deleted] = await db.query(`SELECT ${monitorSelectList(schema)} FROM Monitors WHERE Id = ?`, [monitor], parseMonitorRow);
      assert.equal(deleted?.ok && deleted.value.deleted, true);
    }
  });
}

test('run() produces overlapping events across monitors, one open event per monitor, some never closing', async (t) => {
  const other = await createZmTestDatabase();
  t.after(() => other.drop());
  const runSim = await ZmSimulator.create(other.pool);
  const monitors: number[] = [];
  for (let i = 1; i <= 4; i++) monitors.push(await runSim.createMonitor({ name: `Cam ${i}`, videoWriter: (i % 2) as 0 | 1 }));

  let seed = 42;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const notices: SimulatorNotice[] = [];
  const controller = new AbortController();
  const running = runSim.run({
    ratePerSecond: 20,
    monitorIds: monitors,
    eventDurationMs: 300,
    updateIntervalMs: 100,
    neverCloseRatio: 0.3,
    random,
    signal: controller.signal,
    onEvent: (n) => notices.push(n),
  });
  // Stop once enough events went through their whole life, whatever the machine's speed.
  const giveUp = Date.now() + 30_000; // a broken run fails the assertions below instead of hanging
  while ((notices.filter((n) => n.kind === 'end').length < 6 || notices.filter((n) => n.kind === 'abandon').length < 2) && Date.now() < giveUp) {
    await new Promise((r) => setTimeout(r, 50));
  }
  controller.abort();
  const stats = await running;

  assert.equal(stats.errors, 0, stats.lastError ?? '');
  assert.equal(stats.started, stats.ended + stats.neverClosed);
  assert.ok(stats.updates > 0);

  // One open event per monitor, and more than one monitor busy at some point.
  const open = new Map<number, bigint>();
  let maxConcurrent = 0;
  for (const n of notices) {
    if (n.kind === 'start') {
      assert.equal(open.has(n.monitorId), false, `monitor ${n.monitorId} had two open events`);
      open.set(n.monitorId, n.id);
      maxConcurrent = Math.max(maxConcurrent, open.size);
    } else if (n.kind === 'end' || n.kind === 'abandon') {
      open.delete(n.monitorId);
    }
  }
  assert.ok(maxConcurrent >= 2, `at most ${maxConcurrent} monitor(s) busy at once`);

  const rows = await other.query('SELECT Id, Name, EndDateTime FROM Events ORDER BY Id');
  assert.equal(rows.length, stats.started);
  const abandoned = new Set(notices.filter((n) => n.kind === 'abandon').map((n) => n.id));
  for (const row of rows) {
    const id = row['Id'] as bigint;
    if (abandoned.has(id)) assert.deepEqual([row['Name'], row['EndDateTime']], ['New Event', null]);
    else assert.equal(row['Name'], `Event-${id}`);
  }
});

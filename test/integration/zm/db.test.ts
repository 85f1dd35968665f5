import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isZmesError } from '../../../src/errors.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';
import { ZmDatabase } from '../../../src/zm/db.js';
import { eventSelectList, monitorSelectList, parseEventRow, parseMonitorRow } from '../../../src/zm/rows.js';
import { detectSchema, type ZmSchema } from '../../../src/zm/schema.js';
import { memoryLogger, type MemoryLogger } from '../../helpers/memory-log.js';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';

const TWO_POW_53_PLUS_1 = 9007199254740993n;

let zm: ZmTestDatabase;
let db: ZmDatabase;
let mem: MemoryLogger;
let sim: ZmSimulator;
let schema: ZmSchema;

before(async () => {
  zm = await createZmTestDatabase({ appUser: true });
  mem = memoryLogger();
  // zmes runs as the least-privilege user (SELECT, UPDATE); the simulator writes as administrator.
  db = new ZmDatabase(zm.appSettings!, mem.log, { acquireTimeoutMs: 2000 });
  await db.start(AbortSignal.timeout(10_000));
  sim = await ZmSimulator.create(zm.pool);
  schema = await detectSchema(db);
});

after(async () => {
  await db?.stop();
  await zm?.drop();
});

test('a typed query passes every row through the mapper and returns what the mapper made', async () => {
  const garage = await sim.createMonitor({ name: 'Garage', function: 'Modect' });
  const door = await sim.createMonitor({ name: 'Door', function: 'Nodect', enabled: false, eventPrefix: 'Door-' });
  const rows = await db.query(`SELECT ${monitorSelectList(schema)} FROM Monitors WHERE Id IN (?, ?) ORDER BY Id`, [garage, door], parseMonitorRow);
  assert.deepEqual(
    rows.map((r) => (r.ok ? r.value : r.detail)),
    [
      { id: garage, name: 'Garage', activity: { model: 'function', function: 'Modect' }, enabled: true, deleted: false, serverId: null, eventPrefix: 'Event-' },
      { id: door, name: 'Door', activity: { model: 'function', function: 'Nodect' }, enabled: false, deleted: false, serverId: null, eventPrefix: 'Door-' },
    ],
  );
});

test('event ids above 2^53 round-trip exactly through insert and select', async () => {
  const monitor = await sim.createMonitor({ name: 'Big ids' });
  const id = await sim.startEvent(monitor, { id: TWO_POW_53_PLUS_1 });
  assert.equal(id, TWO_POW_53_PLUS_1);
  const next = await sim.startEvent(monitor); // auto-increment continues above the explicit id
  assert.equal(next, TWO_POW_53_PLUS_1 + 1n);
  await sim.idle();

  const rows = await db.query(`SELECT ${eventSelectList(schema)} FROM Events WHERE Id > ? ORDER BY Id`, [TWO_POW_53_PLUS_1 - 1n], parseEventRow);
  const ids = rows.map((r) => (r.ok ? r.value.id : r.detail));
  assert.deepEqual(ids, [TWO_POW_53_PLUS_1, TWO_POW_53_PLUS_1 + 1n]);
  // 2^53 + 1 has no exact double: a number-typed path would have turned it into 2^53.
  assert.notEqual(String(ids[0]), String(Number(TWO_POW_53_PLUS_1)));

  const [exact] = await db.query('SELECT Id, DefaultVideo FROM Events WHERE Id = ?', [TWO_POW_53_PLUS_1], (row) => row as { Id: unknown; DefaultVideo: unknown });
  assert.equal(exact?.Id, TWO_POW_53_PLUS_1);
  assert.equal(exact?.DefaultVideo, '9007199254740993-video.mp4');

  const updated = await db.execute('UPDATE Events SET Notes = CONCAT(?, Notes) WHERE Id = ?', ['[a] detected:person ', TWO_POW_53_PLUS_1]);
  assert.equal(updated.affectedRows, 1);
});

test('DATETIME values are read as stored, and UNIX_TIMESTAMP uses the server zone, not the process zone', async (t) => {
  const previousTz = process.env['TZ'];
  process.env['TZ'] = 'Pacific/Chatham'; // UTC+12:45/+13:45: any accidental conversion would show
  t.after(() => {
    if (previousTz === undefined) delete process.env['TZ'];
    else process.env['TZ'] = previousTz;
  });
  const local = memoryLogger();
  const tzDb = new ZmDatabase(zm.appSettings!, local.log);
  t.after(() => tzDb.stop());
  await tzDb.start(AbortSignal.timeout(10_000));

  const monitor = await sim.createMonitor({ name: 'Clock' });
  const id = await sim.startEvent(monitor);
  await sim.idle();
  await zm.execute("UPDATE Events SET StartDateTime = '2026-11-25 07:48:56', EndDateTime = '2026-11-25 07:49:05' WHERE Id = ?", [id]);
  const [expected] = await zm.query("SELECT UNIX_TIMESTAMP('2026-11-25 07:48:56') AS s, UNIX_TIMESTAMP('2026-11-25 07:49:05') AS e");

  const [raw] = await tzDb.query(
    'SELECT StartDateTime AS start, @@session.time_zone AS sessionZone, @@global.time_zone AS globalZone FROM Events WHERE Id = ?',
    [id],
    (row) => row as Record<string, unknown>,
  );
  assert.equal(raw?.['start'], '2026-11-25 07:48:56');
  assert.equal(raw?.['sessionZone'], raw?.['globalZone'], 'the driver must not change the session time zone');

  const [event] = await tzDb.query(`SELECT ${eventSelectList(schema)} FROM Events WHERE Id = ?`, [id], parseEventRow);
  assert.ok(event?.ok);
  assert.equal(event.value.startTime, Number(expected?.['s']));
  assert.equal(event.value.endTime, Number(expected?.['e']));
  assert.equal(event.value.endTime! - event.value.startTime!, 9);
});

test('a failing statement is a ZMES_DB_QUERY error and does not count as an outage', async () => {
  await assert.rejects(
    db.query('SELECT NoSuchColumn FROM Events', [], (row) => row),
    (err: unknown) => isZmesError(err, 'ZMES_DB_QUERY') && /NoSuchColumn/.test(err.message),
  );
  assert.equal(db.isAvailable, true);
  assert.equal(db.stats.outages, 0);
  assert.deepEqual(mem.grep(/unreachable/), []);
});

test('the least-privilege user may read and update but not insert', async () => {
  const monitor = await sim.createMonitor({ name: 'Privileges' });
  const id = await sim.startEvent(monitor);
  await sim.idle();
  const result = await db.execute('UPDATE Events SET Notes = CONCAT(?, Notes) WHERE Id = ?', ['[s] ', id]);
  assert.equal(result.affectedRows, 1);
  await assert.rejects(
    db.execute("INSERT INTO Monitors (Name) VALUES ('intruder')", []),
    (err: unknown) => isZmesError(err, 'ZMES_DB_QUERY') && /INSERT command denied/i.test(err.message),
  );
  assert.equal(db.isAvailable, true);
});

test('start fails at once with ZMES_DB_UNAVAILABLE when the password is wrong, naming what to check', async () => {
  const local = memoryLogger();
  const wrong = new ZmDatabase({ ...zm.appSettings!, password: 'not-the-password' }, local.log, { acquireTimeoutMs: 1000 });
  await assert.rejects(
    wrong.start(AbortSignal.timeout(10_000)),
    (err: unknown) => isZmesError(err, 'ZMES_DB_UNAVAILABLE') && /Access denied/.test(err.message) && /user and password/.test(err.message),
  );
  await wrong.stop(); // idempotent after the failed start
  assert.equal(wrong.isAvailable, false);
});

test('start fails with ZMES_DB_UNAVAILABLE when the database does not exist', async () => {
  const local = memoryLogger();
  const wrong = new ZmDatabase({ ...zm.settings, database: `${zm.name}_missing` }, local.log, { acquireTimeoutMs: 1000 });
  await assert.rejects(
    wrong.start(AbortSignal.timeout(10_000)),
    (err: unknown) => isZmesError(err, 'ZMES_DB_UNAVAILABLE') && /Unknown database/.test(err.message),
  );
});

test('queries before start and after stop fail with ZMES_DB_UNAVAILABLE, and stop can be called twice', async () => {
  const local = memoryLogger();
  const client = new ZmDatabase(zm.appSettings!, local.log);
  await assert.rejects(client.ping(), (err: unknown) => isZmesError(err, 'ZMES_DB_UNAVAILABLE') && /not started/.test(err.message));
  await client.start(AbortSignal.timeout(10_000));
  await client.ping();
  assert.equal(client.isAvailable, true);
  await client.stop();
  await client.stop();
  assert.equal(client.isAvailable, false);
  await assert.rejects(client.ping(), (err: unknown) => isZmesError(err, 'ZMES_DB_UNAVAILABLE') && /stopped/.test(err.message));
  await assert.rejects(client.waitUntilAvailable(), (err: unknown) => isZmesError(err, 'ZMES_DB_UNAVAILABLE'));
});

test('waitUntilAvailable resolves at once while the database is up', async () => {
  await db.waitUntilAvailable(AbortSignal.timeout(5000));
  assert.equal(db.isAvailable, true);
});

/**
 * The database going away must never crash zmes or flood its log: one warning per outage, fast
 * failures while it lasts, one line when it is back. Connection kills run on the shared server
 * (they only touch our own test user's connections); stops and crashes run on a private server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isZmesError } from '../../../src/errors.js';
import { ZmDatabase, type ZmDatabaseOptions } from '../../../src/zm/db.js';
import { memoryLogger, type MemoryLogger } from '../../helpers/memory-log.js';
import { startPrivateMariadb, type PrivateMariadb } from '../../helpers/private-mariadb.js';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
});

const UNREACHABLE = /ZoneMinder database unreachable \(.+\); retrying with backoff/;
const RESTORED = /ZoneMinder database connection restored after \d/;

/** Test-sized timings: quick detection and probes, so outages fit in seconds. */
const FAST: ZmDatabaseOptions = {
  backoff: { initialMs: 100, maxMs: 800 },
  connectTimeoutMs: 1000,
  acquireTimeoutMs: 1000,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('on the shared server', () => {
  let zm: ZmTestDatabase;
  before(async () => {
    zm = await createZmTestDatabase({ appUser: true });
  });
  after(async () => {
    await zm?.drop();
  });

  async function client(t: { after(fn: () => Promise<void>): void }, mem: MemoryLogger): Promise<ZmDatabase> {
    const db = new ZmDatabase(zm.appSettings!, mem.log, { connectionLimit: 1 });
    t.after(() => db.stop());
    await db.start(AbortSignal.timeout(10_000));
    return db;
  }

  const connectionId = (db: ZmDatabase) => db.query('SELECT CONNECTION_ID() AS id', [], (row) => BigInt((row as { id: number }).id));

  test('an idle connection killed server-side is replaced and the next query succeeds without any error', async (t) => {
    const mem = memoryLogger();
    const db = await client(t, mem);
    const [victim] = await connectionId(db);
    await zm.execute(`KILL ${victim}`);
    const [fresh] = await connectionId(db);
    assert.notEqual(fresh, victim);
    assert.equal(db.stats.outages, 0);
    assert.deepEqual(mem.lines.filter((l) => l.level === 'warn' || l.level === 'error'), []);
  });

  test('a query whose connection is killed while it runs succeeds through the single retry', async (t) => {
    const mem = memoryLogger();
    const db = await client(t, mem);
    const running = db.query('SELECT SLEEP(1) AS slept, CONNECTION_ID() AS id', [], (row) => row as { slept: number; id: number });
    let victim: unknown;
    for (let i = 0; i < 200 && victim === undefined; i++) {
      const rows = await zm.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE 'SELECT SLEEP(1)%'", [zm.appSettings!.user]);
      victim = rows[0]?.['ID'];
      if (victim === undefined) await sleep(10);
    }
    assert.notEqual(victim, undefined, 'the query never showed up in the process list');
    await zm.execute(`KILL ${String(victim)}`);
    const [result] = await running;
    assert.notEqual(BigInt(result?.id ?? 0), victim);
    assert.equal(db.stats.retries, 1);
    assert.equal(db.stats.outages, 0);
    assert.equal(mem.grep(/dead connection .*retrying once/).length, 1);
    assert.deepEqual(mem.lines.filter((l) => l.level === 'warn' || l.level === 'error'), []);
  });
});

describe('on a private server', () => {
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

  const BURST = 5;

  /** Queries while the server is away: rounds of concurrent bursts. */
  async function hammer(db: ZmDatabase, rounds: number): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (let i = 0; i < rounds; i++) {
      const burst = await Promise.allSettled(Array.from({ length: BURST }, () => db.query('SELECT COUNT(*) AS n FROM Events', [], (r) => r)));
      for (const outcome of burst) if (outcome.status === 'rejected') errors.push(outcome.reason);
      await sleep(40);
    }
    return errors;
  }

  async function outageAndRecovery(t: { after(fn: () => Promise<void>): void }, breakServer: () => Promise<void>) {
    const mem = memoryLogger();
    const db = new ZmDatabase(zm.appSettings!, mem.log, FAST);
    t.after(() => db.stop());
    t.after(() => server.start()); // leave the server running for the next test, also on failure
    const changes: boolean[] = [];
    db.onAvailabilityChange((available) => changes.push(available));
    await db.start(AbortSignal.timeout(10_000));
    await db.ping();

    await breakServer();
    const rounds = 20;
    const errors = await hammer(db, rounds);
    assert.equal(errors.length, rounds * BURST, 'every query while the server is away must fail');
    for (const err of errors) assert.ok(isZmesError(err, 'ZMES_DB_UNAVAILABLE'), `unexpected ${String(err)}`);
    // Only the first burst (before the outage is known) and one probe per burst reach the pool.
    const mayTouchPool = BURST + rounds;
    assert.ok(db.stats.failedFast >= errors.length - mayTouchPool, `only ${db.stats.failedFast} of ${errors.length} failed fast`);
    assert.ok(db.stats.probes >= 1, 'no probe during the outage');
    assert.equal(db.isAvailable, false);
    assert.equal(mem.grep(UNREACHABLE).length, 1, 'one warning per outage');

    await server.start();
    await db.waitUntilAvailable(AbortSignal.timeout(30_000));
    const [row] = await db.query('SELECT COUNT(*) AS n FROM Events', [], (r) => r as { n: bigint });
    assert.equal(row?.n, 0n);
    assert.equal(db.isAvailable, true);
    assert.equal(mem.grep(RESTORED).length, 1, 'one line when the connection is back');
    assert.equal(mem.grep(UNREACHABLE).length, 1);
    assert.deepEqual(mem.lines.filter((l) => l.level === 'error'), []);
    assert.deepEqual(changes, [false, true]);
    assert.deepEqual(unhandled, []);
  }

  test('a stopped server gives one warning, fast failures, and one restored line after it restarts', async (t) => {
    await outageAndRecovery(t, () => server.stop());
  });

  test('a SIGKILLed server behaves the same and the client recovers by itself', async (t) => {
    await outageAndRecovery(t, () => server.kill());
  });

  test('a server that is down when zmes starts does not fail the start, and is picked up when it comes', async (t) => {
    await server.stop();
    t.after(() => server.start());
    const mem = memoryLogger();
    const db = new ZmDatabase(zm.appSettings!, mem.log, FAST);
    t.after(() => db.stop());
    await db.start(AbortSignal.timeout(10_000));
    assert.equal(db.isAvailable, false);
    assert.equal(mem.grep(UNREACHABLE).length, 1);
    await assert.rejects(db.ping(), (err: unknown) => isZmesError(err, 'ZMES_DB_UNAVAILABLE'));

    const failedProbes = () => mem.grep(/still unreachable/).length;
    const before = failedProbes();
    const waiting = db.waitUntilAvailable(AbortSignal.timeout(30_000));
    // Let it probe the dead server at least once (its debug line says so), then bring the server back.
    for (const deadline = Date.now() + 10_000; failedProbes() === before; ) {
      assert.ok(Date.now() < deadline, 'no probe of the dead server');
      await sleep(10);
    }
    await server.start();
    await waiting;
    await db.ping();
    assert.equal(mem.grep(RESTORED).length, 1);
    assert.equal(mem.grep(UNREACHABLE).length, 1);
    assert.deepEqual(unhandled, []);
  });

  test('waiting for the database can be abandoned with an AbortSignal', async (t) => {
    await server.stop();
    t.after(() => server.start());
    const mem = memoryLogger();
    const db = new ZmDatabase(zm.appSettings!, mem.log, FAST);
    t.after(() => db.stop());
    await db.start(AbortSignal.timeout(10_000));
    const controller = new AbortController();
    const waiting = db.waitUntilAvailable(controller.signal);
    controller.abort(new Error('shutting down'));
    await assert.rejects(waiting, /shutting down/);
  });
});

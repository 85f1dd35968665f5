/**
 * ZmNotificationsRegistry against a scripted database: finding the table on a later check
 * (manual clock, no waiting), losing it, one warning per bad row, one line per missing privilege.
 * The real statements run against MariaDB in test/integration/push/zm-notifications.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZmNotificationsRegistry, type NotificationsDatabase } from '../../../src/zm/notifications-registry.js';
import type { RowMapper, SqlValue, WriteResult } from '../../../src/zm/db.js';
import { ZmesError } from '../../../src/errors.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { manualClock } from '../../helpers/manual-clock.js';
import { settle } from '../../helpers/push-fixtures.js';

/** A driver error as ZmDatabase wraps it: the MariaDB code sits in the cause. */
function driverError(code: string, message: string): ZmesError {
  return new ZmesError('ZMES_DB_QUERY', message, { cause: Object.assign(new Error(message), { code, sqlMessage: message }) });
}

class ScriptedDb implements NotificationsDatabase {
  table = false;
  rows: Record<string, unknown>[] = [];
  denied = new Set<string>();
  readonly statements: string[] = [];

  query<T>(sql: string, _params: readonly SqlValue[], mapRow: RowMapper<T>): Promise<T[]> {
    this.statements.push(sql);
    if (sql.includes('information_schema.TABLES')) return Promise.resolve([mapRow({ n: this.table ? 1 : 0 })]);
    if (sql.includes('CURRENT_USER()')) return Promise.resolve([mapRow({ who: 'zmes@%' })]);
    if (sql.includes('DATABASE()')) return Promise.resolve([mapRow({ name: 'zm' })]);
    if (!this.table) return Promise.reject(driverError('ER_NO_SUCH_TABLE', "Table 'zm.Notifications' doesn't exist"));
    if (this.denied.has('SELECT')) return Promise.reject(driverError('ER_TABLEACCESS_DENIED_ERROR', 'SELECT command denied'));
    return Promise.resolve(this.rows.map(mapRow));
  }

  /** Statements that fail once as if the server went away. */
  failOnce = 0;

  execute(sql: string): Promise<WriteResult> {
    this.statements.push(sql);
    if (this.failOnce > 0) {
      this.failOnce--;
      return Promise.reject(new ZmesError('ZMES_DB_UNAVAILABLE', 'ZoneMinder database unreachable (ECONNRESET)'));
    }
    const verb = sql.split(' ')[0]!;
    if (this.denied.has(verb)) return Promise.reject(driverError('ER_TABLEACCESS_DENIED_ERROR', `${verb} command denied to user 'zmes'@'10.0.0.2'`));
    return Promise.resolve({ affectedRows: sql.includes('1 = 0') ? 0 : 1, insertId: 0n });
  }
}

const ROW = { Id: 1, UserId: 2, Username: 'alice', Token: 'tok-a', Platform: 'android', MonitorList: '', IntervalText: '0', PushState: 'enabled', BadgeCount: 3, UpdatedAt: 1n };

function fixture(db = new ScriptedDb()) {
  const clock = manualClock(1_000_000);
  const logs = memoryLogger();
  const registry = new ZmNotificationsRegistry(db, { authEnabled: true, recheckMs: 60_000 }, clock, logs.log);
  return { db, clock, logs, registry };
}

test('an absent table gives no devices and is looked for again on the interval; once created it is used', async (t) => {
  const f = fixture();
  t.after(() => f.registry.stop());
  await f.registry.start();
  await f.registry.checkNow();
  assert.equal(f.registry.state, 'absent');
  assert.deepEqual(await f.registry.devices(), []);
  const reads = f.db.statements.length;
  assert.deepEqual(await f.registry.devices(), []);
  assert.equal(f.db.statements.length, reads, 'no query per event while the table is absent');

  f.db.table = true;
  f.db.rows = [ROW];
  f.clock.advance(60_000);
  await settle();
  await f.registry.checkNow();
  assert.equal(f.registry.state, 'present');
  assert.equal(f.logs.grep(/Notifications table found: 1 device\(s\), 1 with pushes enabled/).length, 1);
  const devices = await f.registry.devices();
  assert.deepEqual(devices.map((d) => [d.token, d.zmUser, d.clientKind]), [['tok-a', 'alice', 'zmninjang']]);
  assert.deepEqual(f.registry.usersInUse(), ['alice']);
  assert.equal(await f.registry.prepare(devices[0]!, 0), 4, 'the push carries BadgeCount + 1');
});

test('a table that disappears gives no devices, with one warning, and is found again later', async (t) => {
  const f = fixture();
  t.after(() => f.registry.stop());
  f.db.table = true;
  f.db.rows = [ROW];
  await f.registry.checkNow();
  f.db.table = false;
  assert.deepEqual(await f.registry.devices(), []);
  assert.equal(f.registry.state, 'absent');
  assert.deepEqual(f.registry.usersInUse(), []);
  await f.registry.checkNow();
  assert.equal(f.logs.grep(/is gone/).length, 1);
  f.db.table = true;
  await f.registry.checkNow();
  assert.equal((await f.registry.devices()).length, 1);
});

test('a bad row is reported once per row Id, not per read, and again only when it changes', async (t) => {
  const f = fixture();
  t.after(() => f.registry.stop());
  f.db.table = true;
  f.db.rows = [ROW, { ...ROW, Id: 9, Token: 'tok-b', Platform: 'windows\u001b[31m' }];
  await f.registry.checkNow();
  for (let i = 0; i < 3; i++) assert.equal((await f.registry.devices()).length, 1);
  const lines = f.logs.grep(/row 9/);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!.message, /row 9: unknown Platform "windows\?\[31m"; skipped/);
  f.db.rows = [ROW, { ...ROW, Id: 9, Token: '' }];
  await f.registry.devices();
  assert.equal(f.logs.grep(/row 9: empty Token/).length, 1);
});

test('missing UPDATE and DELETE rights: one error line each naming the GRANT; pushes still go out', async (t) => {
  const f = fixture();
  t.after(() => f.registry.stop());
  f.db.table = true;
  f.db.rows = [ROW];
  f.db.denied = new Set(['UPDATE', 'DELETE']);
  await f.registry.checkNow();
  const errors = f.logs.lines.filter((l) => l.level === 'error');
  assert.equal(errors.length, 2);
  assert.match(errors[0]!.message, /database user 'zmes'@'%' may not UPDATE ZoneMinder's Notifications table .*GRANT SELECT, UPDATE, DELETE ON `zm`\.Notifications TO 'zmes'@'%';/);
  assert.match(errors[1]!.message, /may not DELETE/);
  const [device] = await f.registry.devices();
  assert.equal(await f.registry.prepare(device!, 0), 4);
  await f.registry.delivered(device!, 1, 'start', 0);
  await f.registry.forget(device!, 'FCM rejected it');
  assert.equal(f.logs.lines.filter((l) => l.level === 'error').length, 2, 'not repeated per push');
  f.db.denied.clear();
  await f.registry.delivered(device!, 1, 'start', 0);
  f.db.denied.add('UPDATE');
  await f.registry.delivered(device!, 1, 'start', 0);
  assert.equal(f.logs.grep(/may not UPDATE/).length, 2, 'reported again after the right came back and went');
});

test('a refused SELECT gives no devices and one error line', async (t) => {
  const f = fixture();
  t.after(() => f.registry.stop());
  f.db.table = true;
  f.db.denied.add('SELECT');
  await f.registry.checkNow();
  assert.deepEqual(await f.registry.devices(), []);
  assert.deepEqual(await f.registry.devices(), []);
  assert.equal(f.logs.grep(/may not SELECT .*its devices get no pushes/).length, 1);
});

test('a first check cut short by an outage is repeated in full: rights asked, "found" logged', async (t) => {
  const f = fixture();
  t.after(() => f.registry.stop());
  f.db.table = true;
  f.db.rows = [ROW];
  f.db.failOnce = 1;
  await f.registry.checkNow();
  assert.equal(f.registry.state, 'unknown');
  assert.equal(f.logs.grep(/found/).length, 0);
  f.db.denied.add('DELETE');
  assert.equal((await f.registry.devices()).length, 1, 'the next push looks again');
  assert.equal(f.registry.state, 'present');
  assert.equal(f.logs.grep(/found: 1 device/).length, 1);
  assert.equal(f.logs.grep(/may not DELETE/).length, 1);
});

test('stop cancels the re-check timer', async () => {
  const f = fixture();
  await f.registry.start();
  await f.registry.stop();
  await f.registry.stop();
  assert.equal(f.clock.pending, 0);
});

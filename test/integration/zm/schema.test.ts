import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { isZmesError } from '../../../src/errors.js';
import { ZmDatabase } from '../../../src/zm/db.js';
import { detectSchema, type ZmSchema } from '../../../src/zm/schema.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { createZmTestDatabase, type ZmTestDatabase, type ZmTestDatabaseOptions } from '../../helpers/zm-db.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A database of the given shape and a started client on it as the least-privilege user. */
async function connect(options: ZmTestDatabaseOptions): Promise<{ zm: ZmTestDatabase; db: ZmDatabase }> {
  const zm = await createZmTestDatabase({ ...options, appUser: true });
  cleanups.push(() => zm.drop());
  const db = new ZmDatabase(zm.appSettings!, memoryLogger().log);
  cleanups.push(() => db.stop());
  await db.start(AbortSignal.timeout(10_000));
  return { zm, db };
}

test("Debian's real ZoneMinder schema is detected as 1.36", async () => {
  const { db } = await connect({});
  const expected: ZmSchema = {
    label: '1.36',
    events: { startColumn: 'StartDateTime', endColumn: 'EndDateTime', causeIsText: false },
    monitors: { activity: 'function', hasFunction: true, hasDeleted: false },
    users: { hasMonitorIds: true, hasRoleId: false, hasApiEnabled: true },
    tables: { monitorsPermissions: false, groupsPermissions: false, notifications: false },
  };
  assert.deepEqual(await detectSchema(db), expected);
});

test('the 1.34 variant is detected as pre-1.35.13 with StartTime/EndTime', async () => {
  const { db } = await connect({ generation: '1.34' });
  const expected: ZmSchema = {
    label: 'pre-1.35.13',
    events: { startColumn: 'StartTime', endColumn: 'EndTime', causeIsText: false },
    monitors: { activity: 'function', hasFunction: true, hasDeleted: false },
    users: { hasMonitorIds: true, hasRoleId: false, hasApiEnabled: true },
    tables: { monitorsPermissions: false, groupsPermissions: false, notifications: false },
  };
  assert.deepEqual(await detectSchema(db), expected);
});

test('the 1.38 variant is detected as 1.37+ with the new monitor model, permissions tables and no MonitorIds', async () => {
  const { db } = await connect({ generation: '1.38' });
  const expected: ZmSchema = {
    label: '1.37+',
    events: { startColumn: 'StartDateTime', endColumn: 'EndDateTime', causeIsText: true },
    monitors: { activity: 'capturing', hasFunction: true, hasDeleted: true },
    users: { hasMonitorIds: false, hasRoleId: true, hasApiEnabled: true },
    tables: { monitorsPermissions: true, groupsPermissions: true, notifications: false },
  };
  assert.deepEqual(await detectSchema(db), expected);
});

test('a database without ZoneMinder tables is rejected with ZMES_DB_SCHEMA naming the database', async () => {
  const { zm, db } = await connect({ empty: true });
  await assert.rejects(
    detectSchema(db),
    (err: unknown) =>
      isZmesError(err, 'ZMES_DB_SCHEMA') &&
      err.message.includes(`database ${zm.name} has no ZoneMinder Events, Monitors, Users tables`) &&
      /database name/.test(err.message),
  );
});

test('a user who may read only Config sees no ZoneMinder tables and gets the same ZMES_DB_SCHEMA error', async () => {
  const { zm } = await connect({});
  const narrow = await zm.createUser(['SELECT'], 'Config');
  const db = new ZmDatabase(narrow, memoryLogger().log);
  cleanups.push(() => db.stop());
  await db.start(AbortSignal.timeout(10_000));
  await assert.rejects(
    detectSchema(db),
    (err: unknown) => isZmesError(err, 'ZMES_DB_SCHEMA') && /may this user read it/.test(err.message),
  );
});

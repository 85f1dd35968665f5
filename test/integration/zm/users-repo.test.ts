import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { insertZmUser, zmPasswordHash } from '../../helpers/zmes-server.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { ZmDatabase } from '../../../src/zm/db.js';
import { ZmUserDirectory } from '../../../src/zm/auth/users-repo.js';
import { lazySchema } from '../../../src/app.js';

let zm: ZmTestDatabase;
let db: ZmDatabase;

before(async () => {
  zm = await createZmTestDatabase({ appUser: true });
  await insertZmUser(zm.execute, { username: 'phone', passwordHash: await zmPasswordHash('pw', 'mysql41'), monitorIds: '1,3' });
  const { log } = memoryLogger();
  db = new ZmDatabase(zm.appSettings!, log);
  await db.start(new AbortController().signal);
});

after(async () => {
  await db?.stop();
  await zm?.drop();
});

test('a login storm reads each user row once, and a change is seen after the short cache time', async () => {
  let now = 1_000_000;
  const { log } = memoryLogger();
  const users = new ZmUserDirectory(db, lazySchema(db, log), { now: () => now });
  await users.authHashSecret(); // config and schema are read once up front
  await users.findUser('nobody');
  const before = db.stats.queries;
  const rows = await Promise.all(Array.from({ length: 50 }, () => users.findUser('phone')));
  assert.equal(db.stats.queries - before, 1);
  assert.ok(rows.every((r) => r?.username === 'phone' && r.monitorIds === '1,3' && r.enabled));

  await zm.execute("UPDATE Users SET Enabled = 0 WHERE Username = 'phone'");
  now += 4_000;
  assert.equal((await users.findUser('phone'))?.enabled, true, 'still inside the cache time');
  now += 2_000;
  assert.equal((await users.findUser('phone'))?.enabled, false, 'the disabled flag is read again');
});

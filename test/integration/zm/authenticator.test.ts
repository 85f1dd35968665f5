// The authenticator against a real ZoneMinder Users table: unknown and disabled users must cost
// a bcrypt like a wrong password does (timings themselves: bench/login-timing.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { insertZmUser, zmPasswordHash } from '../../helpers/zmes-server.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { manualClock } from '../../helpers/manual-clock.js';
import { ZmDatabase } from '../../../src/zm/db.js';
import { ZmUserDirectory } from '../../../src/zm/auth/users-repo.js';
import { AuthCache } from '../../../src/zm/auth/auth-cache.js';
import { Authenticator } from '../../../src/zm/auth/authenticator.js';
import { passwordScheme, verifyZmPassword, ZM_BCRYPT_COST } from '../../../src/zm/auth/password.js';
import { lazySchema } from '../../../src/app.js';

let zm: ZmTestDatabase;
let db: ZmDatabase;
let aliceHash: string;

before(async () => {
  zm = await createZmTestDatabase({ appUser: true });
  aliceHash = await zmPasswordHash('alice-pw', 'bcrypt-2y');
  await insertZmUser(zm.execute, { username: 'alice', passwordHash: aliceHash });
  await insertZmUser(zm.execute, { username: 'gone', passwordHash: await zmPasswordHash('gone-pw', 'bcrypt-2y'), enabled: false });
  db = new ZmDatabase(zm.appSettings!, memoryLogger().log);
  await db.start(new AbortController().signal);
});

after(async () => {
  await db?.stop();
  await zm?.drop();
});

/** An authenticator whose password checks are recorded (and still really run). */
function observed() {
  const clock = manualClock(1_000_000);
  const log = memoryLogger().log;
  const checks: Array<{ password: string; storedHash: string }> = [];
  const cache = new AuthCache({ maxEntries: 100, ttlMs: 60_000, clock }, (password, storedHash) => {
    checks.push({ password, storedHash });
    return verifyZmPassword(password, storedHash);
  });
  const authenticator = new Authenticator(new ZmUserDirectory(db, lazySchema(db, log), clock), cache, log, () => clock.now());
  return { authenticator, checks };
}

const COST = new RegExp(`^\\$2[aby]\\$${String(ZM_BCRYPT_COST).padStart(2, '0')}\\$`);

test('an unknown user costs one bcrypt at ZoneMinder’s cost against a dummy hash, then fails', async () => {
  const { authenticator, checks } = observed();
  const outcome = await authenticator.authenticate('nobody', 'guess');
  assert.deepEqual(outcome, { ok: false, reason: 'unknown-user', detail: 'no such user' });
  assert.equal(checks.length, 1);
  assert.equal(checks[0]!.password, 'guess');
  assert.equal(passwordScheme(checks[0]!.storedHash), 'bcrypt');
  assert.match(checks[0]!.storedHash, COST);
});

test('a disabled user costs the same dummy bcrypt, even with its right password', async () => {
  const { authenticator, checks } = observed();
  const outcome = await authenticator.authenticate('gone', 'gone-pw');
  assert.equal(outcome.ok === false && outcome.reason, 'disabled-user');
  assert.equal(checks.length, 1);
  assert.match(checks[0]!.storedHash, COST);
  assert.notEqual(checks[0]!.storedHash, aliceHash);
});

test('the dummy hash is made once per process, and a wrong password for a real user checks the real hash', async () => {
  const first = observed();
  await first.authenticator.authenticate('nobody', 'a');
  await first.authenticator.authenticate('nobody-else', 'b');
  const second = observed();
  await second.authenticator.authenticate('someone', 'c');
  const dummies = new Set([...first.checks, ...second.checks].map((c) => c.storedHash));
  assert.equal(dummies.size, 1);

  const outcome = await second.authenticator.authenticate('alice', 'wrong');
  assert.equal(outcome.ok === false && outcome.reason, 'wrong-password');
  assert.equal(second.checks.at(-1)!.storedHash, aliceHash);
  assert.equal((await second.authenticator.authenticate('alice', 'alice-pw')).ok, true);
});

test('missing credentials are refused without any password check', async () => {
  const { authenticator, checks } = observed();
  assert.equal((await authenticator.authenticate('', 'x')).ok, false);
  assert.equal((await authenticator.authenticate('alice', '')).ok, false);
  assert.equal(checks.length, 0);
});

test('a user name longer than ZoneMinder allows is refused without a query or a check', async () => {
  const { authenticator, checks } = observed();
  const before = db.stats.queries;
  const outcome = await authenticator.authenticate('x'.repeat(1 << 20), 'guess');
  assert.equal(outcome.ok, false);
  assert.equal(!outcome.ok && outcome.reason, 'unknown-user');
  assert.equal(db.stats.queries, before, 'no query for an impossible name');
  assert.equal(checks.length, 0);
  // 64 characters is still asked for.
  assert.equal((await authenticator.authenticate('y'.repeat(64), 'guess')).ok, false);
  assert.ok(db.stats.queries > before);
});

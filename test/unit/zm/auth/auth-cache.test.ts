import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { bcryptHash } from '../../../helpers/bcrypt.js';
import { AuthCache, type PasswordVerifier } from '../../../../src/zm/auth/auth-cache.js';
import { verifyZmPassword } from '../../../../src/zm/auth/password.js';

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** The real verifier, counting its calls. */
function countingVerifier(): { verify: PasswordVerifier; calls: () => number } {
  let calls = 0;
  return {
    verify: (password, storedHash) => {
      calls++;
      return verifyZmPassword(password, storedHash);
    },
    calls: () => calls,
  };
}

const HASH_A = '*E866443102F34FF6EC9107BDD315B0717076EAD8'; // viewerpass

test('a repeated login with the same password and hash is answered from the cache', async () => {
  const counter = countingVerifier();
  const cache = new AuthCache({ maxEntries: 10, ttlMs: 60_000, clock: fakeClock() }, counter.verify);
  const first = await cache.verify('viewer', 'viewerpass', HASH_A);
  const second = await cache.verify('viewer', 'viewerpass', HASH_A);
  assert.deepEqual(first, { ok: true, scheme: 'mysql41', cached: false });
  assert.deepEqual(second, { ok: true, scheme: 'mysql41', cached: true });
  assert.equal(counter.calls(), 1);
});

test('a wrong password is never answered from the cache and never cached', async () => {
  const counter = countingVerifier();
  const cache = new AuthCache({ maxEntries: 10, ttlMs: 60_000, clock: fakeClock() }, counter.verify);
  await cache.verify('viewer', 'viewerpass', HASH_A);
  const wrong = await cache.verify('viewer', 'wrong', HASH_A);
  const wrongAgain = await cache.verify('viewer', 'wrong', HASH_A);
  assert.equal(wrong.ok, false);
  assert.equal(wrongAgain.ok, false);
  assert.equal(wrongAgain.cached, false);
  assert.equal(counter.calls(), 3);
  assert.equal(cache.size, 1);
});

test('an entry stops matching when the stored hash changes', async () => {
  const counter = countingVerifier();
  const cache = new AuthCache({ maxEntries: 10, ttlMs: 60_000, clock: fakeClock() }, counter.verify);
  const bcrypt = await bcryptHash('viewerpass', 4, '2y');
  await cache.verify('viewer', 'viewerpass', HASH_A);
  // The web UI rehashed the password as bcrypt: same password, new stored hash.
  const rehashed = await cache.verify('viewer', 'viewerpass', bcrypt);
  assert.deepEqual(rehashed, { ok: true, scheme: 'bcrypt', cached: false });
  // The password was then changed: the old password must be checked against the new hash.
  const changed = await cache.verify('viewer', 'viewerpass', '*0000000000000000000000000000000000000000');
  assert.equal(changed.ok, false);
  assert.equal(counter.calls(), 3);
});

test('the same password for another user is not a hit', async () => {
  const counter = countingVerifier();
  const cache = new AuthCache({ maxEntries: 10, ttlMs: 60_000, clock: fakeClock() }, counter.verify);
  await cache.verify('viewer', 'viewerpass', HASH_A);
  const other = await cache.verify('viewer2', 'viewerpass', HASH_A);
  assert.equal(other.cached, false);
  assert.equal(counter.calls(), 2);
});

test('an entry expires after the TTL counted from the verification', async () => {
  const clock = fakeClock();
  const counter = countingVerifier();
  const cache = new AuthCache({ maxEntries: 10, ttlMs: 60_000, clock }, counter.verify);
  await cache.verify('viewer', 'viewerpass', HASH_A);
  clock.advance(60_000);
  assert.equal((await cache.verify('viewer', 'viewerpass', HASH_A)).cached, true);
  clock.advance(1); // lru-cache: stale once more than the TTL has passed
  assert.equal((await cache.verify('viewer', 'viewerpass', HASH_A)).cached, false);
  assert.equal(counter.calls(), 2);
});

test('the cache holds at most maxEntries and evicts the least recently used', async () => {
  const counter = countingVerifier();
  const cache = new AuthCache({ maxEntries: 3, ttlMs: 60_000, clock: fakeClock() }, counter.verify);
  for (const user of ['a', 'b', 'c']) await cache.verify(user, user, user); // plain-text hashes
  await cache.verify('a', 'a', 'a'); // a is now the most recent; b the least
  await cache.verify('d', 'd', 'd');
  assert.equal(cache.size, 3);
  assert.equal(counter.calls(), 4);
  assert.equal((await cache.verify('a', 'a', 'a')).cached, true);
  assert.equal((await cache.verify('c', 'c', 'c')).cached, true);
  assert.equal((await cache.verify('b', 'b', 'b')).cached, false);
  for (let i = 0; i < 100; i++) await cache.verify(`u${i}`, 'p', 'p');
  assert.equal(cache.size, 3);
});

test('invalidateUser drops every entry of that user only', async () => {
  const counter = countingVerifier();
  const cache = new AuthCache({ maxEntries: 10, ttlMs: 60_000, clock: fakeClock() }, counter.verify);
  await cache.verify('viewer', 'viewerpass', HASH_A);
  await cache.verify('viewer', 'plainpw', 'plainpw');
  await cache.verify('admin', 'adminpw', 'adminpw');
  assert.equal(cache.invalidateUser('viewer'), 2);
  assert.equal(cache.size, 1);
  assert.equal((await cache.verify('viewer', 'viewerpass', HASH_A)).cached, false);
  assert.equal((await cache.verify('admin', 'adminpw', 'adminpw')).cached, true);
  cache.clear();
  assert.equal(cache.size, 0);
});

test('simultaneous identical logins share one verification', async () => {
  const counter = countingVerifier();
  const cache = new AuthCache({ maxEntries: 10, ttlMs: 60_000, clock: fakeClock() }, counter.verify);
  const stored = await bcryptHash('pw', 6);
  const results = await Promise.all(Array.from({ length: 20 }, () => cache.verify('u', 'pw', stored)));
  assert.equal(counter.calls(), 1);
  assert.ok(results.every((r) => r.ok));
  assert.equal(results.filter((r) => !r.cached).length, 1);
});

test('the cache keeps neither the password nor anything derived from it without the key', async () => {
  const cache = new AuthCache({ maxEntries: 10, ttlMs: 60_000, clock: fakeClock() });
  await cache.verify('viewer', 'viewerpass', HASH_A);
  const dump = inspect(cache, { depth: 10, showHidden: true });
  assert.ok(!dump.includes('viewerpass'), dump);
  assert.ok(!dump.includes(HASH_A), 'the stored hash is only part of the HMAC input');
});

test('two caches with different keys do not produce the same entry ids', async () => {
  const a = new AuthCache({ maxEntries: 10, ttlMs: 60_000, clock: fakeClock() });
  const b = new AuthCache({ maxEntries: 10, ttlMs: 60_000, clock: fakeClock() });
  await a.verify('u', 'p', 'p');
  await b.verify('u', 'p', 'p');
  const idsOf = (cache: AuthCache) => [...cache['entries'].keys()];
  assert.equal(idsOf(a).length, 1);
  assert.notDeepEqual(idsOf(a), idsOf(b));
});

test('invalid sizes are refused at construction', () => {
  const clock = fakeClock();
  assert.throws(() => new AuthCache({ maxEntries: 0, ttlMs: 1000, clock }), RangeError);
  assert.throws(() => new AuthCache({ maxEntries: 1.5, ttlMs: 1000, clock }), RangeError);
  assert.throws(() => new AuthCache({ maxEntries: 10, ttlMs: 0, clock }), RangeError);
  assert.throws(() => new AuthCache({ maxEntries: 10, ttlMs: Number.NaN, clock }), RangeError);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLimiter, type LimiterVerdict, type LoginLimiterOptions } from '../../../../src/zm/auth/login-limiter.js';
import { manualClock, type ManualClock } from '../../../helpers/manual-clock.js';

const DEFAULTS: LoginLimiterOptions = { maxFailures: 10, maxFailuresPerUser: 30, maxFailuresPerAddress: 100, windowMs: 300_000 };

function limiterWith(options: Partial<LoginLimiterOptions> = {}): { limiter: LoginLimiter; clock: ManualClock } {
  const clock = manualClock(1_000_000);
  return { limiter: new LoginLimiter({ ...DEFAULTS, ...options }, clock), clock };
}

function refusedBy(verdict: LimiterVerdict): string | undefined {
  return verdict.allowed ? undefined : verdict.limit;
}

test('a user is refused at an address after max_failures failures there, until the oldest leaves the window', () => {
  const { limiter, clock } = limiterWith({ maxFailures: 3, windowMs: 60_000 });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(limiter.check('10.0.0.1', 'admin'), { allowed: true });
    limiter.recordFailure('10.0.0.1', 'admin');
    clock.advance(1000);
  }
  const verdict = limiter.check('10.0.0.1', 'admin');
  assert.equal(refusedBy(verdict), 'user-address');
  assert.equal(!verdict.allowed && verdict.retryAfterMs, 57_000);
  assert.match(!verdict.allowed ? verdict.detail : '', /auth\.max_failures\b/);
  clock.advance(57_000);
  assert.equal(limiter.check('10.0.0.1', 'admin').allowed, true, 'sliding window: the first failure expired');
  assert.equal(limiter.recordFailure('10.0.0.1', 'admin').pair, 3);
});

test('logging in as another account between guesses no longer resets the count (9 bad admin, 1 good lowpriv, repeat)', () => {
  const { limiter } = limiterWith();
  let guesses = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 9; i++) {
      if (!limiter.check('198.51.100.7', 'admin').allowed) break;
      limiter.recordFailure('198.51.100.7', 'admin');
      guesses++;
    }
    assert.equal(limiter.check('198.51.100.7', 'lowpriv').allowed, true);
    limiter.recordSuccess('198.51.100.7', 'lowpriv');
  }
  assert.equal(guesses, 10, 'refused after 10 failures in total');
  assert.equal(refusedBy(limiter.check('198.51.100.7', 'admin')), 'user-address');
});

test('another user with the right password still gets in at an address where one user is locked', () => {
  const { limiter } = limiterWith();
  for (let i = 0; i < 10; i++) limiter.recordFailure('192.168.1.1', 'grandpa');
  assert.equal(refusedBy(limiter.check('192.168.1.1', 'grandpa')), 'user-address');
  assert.deepEqual(limiter.check('192.168.1.1', 'mum'), { allowed: true });
  limiter.recordSuccess('192.168.1.1', 'mum');
  assert.equal(refusedBy(limiter.check('192.168.1.1', 'grandpa')), 'user-address', "mum's success does not clear grandpa");
});

test('a success clears only its own pair, never the per-user or per-address counts', () => {
  const { limiter } = limiterWith();
  for (let i = 0; i < 9; i++) limiter.recordFailure('10.0.0.1', 'admin');
  limiter.recordFailure('10.0.0.1', 'bob');
  limiter.recordFailure('10.0.0.2', 'admin');
  limiter.recordSuccess('10.0.0.1', 'admin');
  assert.deepEqual(limiter.recordFailure('10.0.0.1', 'admin'), { pair: 1, user: 11, address: 11 });
  assert.equal(limiter.recordFailure('10.0.0.1', 'bob').pair, 2, "bob's pair is untouched");
  assert.equal(limiter.recordFailure('10.0.0.2', 'admin').pair, 2, 'the same user at another address is untouched');
});

test('user names are keyed as sent, trimmed, not case-folded', () => {
  const { limiter } = limiterWith({ maxFailures: 2 });
  limiter.recordFailure('10.0.0.1', 'admin');
  limiter.recordFailure('10.0.0.1', ' admin ');
  assert.equal(refusedBy(limiter.check('10.0.0.1', 'admin')), 'user-address');
  assert.equal(limiter.check('10.0.0.1', 'Admin').allowed, true);
  assert.equal(limiter.check('10.0.0.1', undefined).allowed, true);
});

test('a user is refused from new addresses after max_failures_per_user failures spread over many addresses', () => {
  const { limiter } = limiterWith();
  for (let i = 0; i < 30; i++) {
    const address = `203.0.113.${i}`;
    assert.equal(limiter.check(address, 'admin').allowed, true);
    limiter.recordFailure(address, 'admin');
  }
  const verdict = limiter.check('203.0.113.200', 'admin');
  assert.equal(refusedBy(verdict), 'user');
  assert.match(!verdict.allowed ? verdict.detail : '', /auth\.max_failures_per_user/);
  assert.equal(limiter.check('203.0.113.200', 'bob').allowed, true, 'other users are not affected');
});

test('an address where the user logged in before is exempt from the per-user limit, not from the pair limit', () => {
  const { limiter } = limiterWith();
  limiter.recordSuccess('192.168.1.10', 'admin');
  for (let i = 0; i < 40; i++) limiter.recordFailure(`203.0.113.${i}`, 'admin');
  assert.equal(refusedBy(limiter.check('203.0.113.250', 'admin')), 'user', 'the attacker is refused elsewhere');
  assert.deepEqual(limiter.check('192.168.1.10', 'admin'), { allowed: true }, 'the real user still gets in at home');
  assert.equal(refusedBy(limiter.check('192.168.1.11', 'admin')), 'user', 'known good is per address, not per subnet');

  for (let i = 0; i < 10; i++) limiter.recordFailure('192.168.1.10', 'admin');
  assert.equal(refusedBy(limiter.check('192.168.1.10', 'admin')), 'user-address');
});

test('an address is refused for every user after max_failures_per_address failures over many user names', () => {
  const { limiter } = limiterWith();
  for (let i = 0; i < 100; i++) {
    const user = `guess${i}`;
    assert.equal(limiter.check('198.51.100.9', user).allowed, true);
    limiter.recordFailure('198.51.100.9', user);
  }
  const verdict = limiter.check('198.51.100.9', 'admin');
  assert.equal(refusedBy(verdict), 'address');
  assert.match(!verdict.allowed ? verdict.detail : '', /auth\.max_failures_per_address/);
  limiter.recordSuccess('198.51.100.9', 'admin');
  assert.equal(refusedBy(limiter.check('198.51.100.9', 'admin')), 'address', 'a success does not lift the address limit');
  assert.equal(limiter.check('198.51.100.10', 'admin').allowed, true);
});

test("a valid account logging in from many addresses cannot push another user's home out of the known-good list", () => {
  const { limiter } = limiterWith({ knownGoodPerUser: 4 });
  limiter.recordSuccess('192.168.1.10', 'admin');
  for (let i = 0; i < 5000; i++) limiter.recordSuccess(`2001:db8::${i.toString(16)}`, 'lowpriv');
  for (let i = 0; i < 40; i++) limiter.recordFailure(`203.0.113.${i}`, 'admin');
  assert.deepEqual(limiter.check('192.168.1.10', 'admin'), { allowed: true });
  assert.equal(refusedBy(limiter.check('2001:db8::1', 'admin')), 'user');
});

test('when several limits refuse, the verdict names the one that lasts longest', () => {
  const { limiter, clock } = limiterWith({ maxFailures: 2, maxFailuresPerAddress: 3, windowMs: 60_000 });
  limiter.recordFailure('10.0.0.1', 'other');
  clock.advance(10_000);
  limiter.recordFailure('10.0.0.1', 'admin');
  limiter.recordFailure('10.0.0.1', 'admin');
  const verdict = limiter.check('10.0.0.1', 'admin');
  assert.equal(refusedBy(verdict), 'user-address');
  assert.equal(!verdict.allowed && verdict.retryAfterMs, 60_000);
});

test('failures older than failure_window no longer count, and their keys are dropped', () => {
  const { limiter, clock } = limiterWith({ windowMs: 10_000 });
  for (let i = 0; i < 100; i++) limiter.recordFailure('a', `user${i}`);
  assert.equal(refusedBy(limiter.check('a', 'user0')), 'address');
  clock.advance(10_001);
  assert.deepEqual(limiter.check('a', 'user0'), { allowed: true });
  assert.deepEqual(limiter.recordFailure('a', 'user0'), { pair: 1, user: 1, address: 1 });
});

test('max_failures 0 disables every limit; 0 for the others disables only that one', () => {
  const off = limiterWith({ maxFailures: 0 }).limiter;
  for (let i = 0; i < 500; i++) off.recordFailure('10.0.0.1', 'admin');
  off.recordSuccess('10.0.0.1', 'bob');
  assert.deepEqual(off.check('10.0.0.1', 'admin'), { allowed: true });
  assert.deepEqual(off.size, { pairs: 0, users: 0, addresses: 0, knownGood: 0 });

  const noPerUser = limiterWith({ maxFailuresPerUser: 0 }).limiter;
  for (let i = 0; i < 50; i++) noPerUser.recordFailure(`203.0.113.${i}`, 'admin');
  assert.equal(noPerUser.check('203.0.113.250', 'admin').allowed, true);
  for (let i = 0; i < 10; i++) noPerUser.recordFailure('10.0.0.1', 'admin');
  assert.equal(refusedBy(noPerUser.check('10.0.0.1', 'admin')), 'user-address');

  const noPerAddress = limiterWith({ maxFailuresPerAddress: 0 }).limiter;
  for (let i = 0; i < 500; i++) noPerAddress.recordFailure('10.0.0.1', `guess${i}`);
  assert.equal(noPerAddress.check('10.0.0.1', 'admin').allowed, true);
  assert.equal(noPerAddress.size.addresses, 0);
});

test('memory stays bounded under a spray of addresses and user names', () => {
  const { limiter } = limiterWith({ maxTrackedKeys: 50, maxKnownGoodUsers: 20, knownGoodPerUser: 3 });
  const hugeName = 'x'.repeat(1_000_000);
  for (let i = 0; i < 5000; i++) {
    const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    limiter.recordFailure(address, `user${i}`);
    limiter.recordFailure(`10.1.${i & 255}.${i >> 8}`, `other${i}`);
    limiter.recordSuccess(address, `user${i}`);
  }
  const size = limiter.size;
  assert.ok(size.pairs <= 50 && size.users <= 50 && size.addresses <= 50, JSON.stringify(size));
  assert.equal(size.knownGood, 20);
  for (let i = 0; i < 1000; i++) limiter.recordSuccess(`10.2.${i >> 8}.${i & 255}`, 'sprayer');
  assert.equal(limiter.size.knownGood, 20 - 1 + 3, 'one user holds at most knownGoodPerUser addresses');
  // Names beyond any possible ZoneMinder user name are cut, so they cannot each hold a megabyte.
  const { limiter: capped } = limiterWith({ maxFailures: 2 });
  capped.recordFailure('10.0.0.1', `${hugeName}a`);
  capped.recordFailure('10.0.0.1', `${hugeName}b`);
  assert.equal(refusedBy(capped.check('10.0.0.1', `${hugeName}c`)), 'user-address');
});

test('invalid options are refused', () => {
  assert.throws(() => limiterWith({ maxFailures: -1 }), RangeError);
  assert.throws(() => limiterWith({ windowMs: 0 }), RangeError);
});

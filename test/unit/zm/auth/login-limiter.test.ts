import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLimiter } from '../../../../src/zm/auth/login-limiter.js';

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

test('an address is refused after maxFailures failures inside the window', () => {
  const clock = fakeClock();
  const limiter = new LoginLimiter({ maxFailures: 3, windowMs: 60_000 }, clock);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(limiter.check('10.0.0.1'), { allowed: true });
    limiter.recordFailure('10.0.0.1');
    clock.advance(1000);
  }
  const verdict = limiter.check('10.0.0.1');
  assert.equal(verdict.allowed, false);
  assert.equal(!verdict.allowed && verdict.retryAfterMs, 57_000);
});

test('other addresses are not affected by one address failing', () => {
  const clock = fakeClock();
  const limiter = new LoginLimiter({ maxFailures: 2, windowMs: 60_000 }, clock);
  limiter.recordFailure('a');
  limiter.recordFailure('a');
  assert.equal(limiter.check('a').allowed, false);
  assert.equal(limiter.check('b').allowed, true);
});

test('failures older than the window no longer count', () => {
  const clock = fakeClock();
  const limiter = new LoginLimiter({ maxFailures: 2, windowMs: 10_000 }, clock);
  limiter.recordFailure('a');
  limiter.recordFailure('a');
  clock.advance(10_001);
  assert.equal(limiter.check('a').allowed, true);
  assert.equal(limiter.trackedAddresses, 0);
});

test('a success clears the failures of that address', () => {
  const clock = fakeClock();
  const limiter = new LoginLimiter({ maxFailures: 2, windowMs: 60_000 }, clock);
  limiter.recordFailure('a');
  limiter.recordSuccess('a');
  assert.equal(limiter.recordFailure('a'), 1);
});

test('the number of tracked addresses is bounded, evicting the stalest', () => {
  const clock = fakeClock();
  const limiter = new LoginLimiter({ maxFailures: 1, windowMs: 60_000, maxTrackedAddresses: 3 }, clock);
  for (const address of ['a', 'b', 'c', 'd']) limiter.recordFailure(address);
  assert.equal(limiter.trackedAddresses, 3);
  assert.equal(limiter.check('a').allowed, true);
  assert.equal(limiter.check('d').allowed, false);
});

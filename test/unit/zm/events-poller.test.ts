import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../../src/clock.js';
import { ZmesError } from '../../../src/errors.js';
import { cursorIsAhead, pollStatement, runPollLoop } from '../../../src/zm/events-poller.js';
import { memoryLogger } from '../../helpers/memory-log.js';

test('the poll statement reads above the cursor plus the re-checked Ids, with room for all of them in the LIMIT', () => {
  assert.deepEqual(pollStatement('Id AS Id', { after: 10n, recheck: [], limit: 500 }), {
    sql: 'SELECT Id AS Id, UNIX_TIMESTAMP() AS DbNow FROM Events WHERE Id > ? ORDER BY Id LIMIT ?',
    params: [10n, 500],
  });
  assert.deepEqual(pollStatement('Id AS Id', { after: 10n, recheck: [7n, 9n], limit: 500 }), {
    sql: 'SELECT Id AS Id, UNIX_TIMESTAMP() AS DbNow FROM Events WHERE Id > ? OR Id IN (?, ?) ORDER BY Id LIMIT ?',
    params: [10n, 7n, 9n, 502],
  });
});

test('a cursor is ahead only at or past the next auto-increment value (or past MAX(Id) when that is unknown)', () => {
  assert.equal(cursorIsAhead(100n, { maxId: 100n, nextId: 101n }), false);
  assert.equal(cursorIsAhead(100n, { maxId: 90n, nextId: 101n }), false, 'the newest events were deleted: nothing to reset');
  assert.equal(cursorIsAhead(101n, { maxId: 90n, nextId: 101n }), true);
  assert.equal(cursorIsAhead(5000n, { maxId: 0n, nextId: 1n }), true, 'recreated empty');
  assert.equal(cursorIsAhead(100n, { maxId: 100n, nextId: null }), false);
  assert.equal(cursorIsAhead(101n, { maxId: 100n, nextId: null }), true);
});

/** Real timers that keep the process alive (systemClock's are unref'd, for the server). */
const clock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
  },
  setInterval(fn, ms) {
    const handle = setInterval(fn, ms);
    return { cancel: () => clearInterval(handle) };
  },
};

const never = { waitUntilAvailable: () => new Promise<void>(() => undefined) };

test('polls never overlap, even when a cycle takes longer than the interval', async () => {
  const abort = new AbortController();
  let running = 0;
  let most = 0;
  let cycles = 0;
  await runPollLoop({
    intervalMs: 5,
    db: never,
    clock,
    log: memoryLogger().log,
    signal: abort.signal,
    cycle: async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 15));
      running--;
      if (++cycles === 5) abort.abort();
      return false;
    },
  });
  assert.equal(most, 1);
  assert.equal(cycles, 5);
});

test('a full batch is followed by the next cycle at once, and stop does not wait for a hung cycle', async () => {
  const abort = new AbortController();
  let cycles = 0;
  const loop = runPollLoop({
    intervalMs: 60_000,
    db: never,
    clock,
    log: memoryLogger().log,
    signal: abort.signal,
    cycle: () => {
      cycles++;
      return cycles < 3 ? Promise.resolve(true) : new Promise<boolean>(() => undefined);
    },
  });
  for (const deadline = Date.now() + 5000; cycles < 3; ) {
    assert.ok(Date.now() < deadline, `only ${cycles} cycles`);
    await new Promise((r) => setTimeout(r, 5));
  }
  abort.abort();
  await loop;
  assert.equal(cycles, 3);
});

test('while the database is unreachable the loop waits for it instead of polling, then resumes at once', async () => {
  const abort = new AbortController();
  let release: () => void = () => undefined;
  let waits = 0;
  let recovered = 0;
  const calls: string[] = [];
  // The real clock, with the timers the loop has pending.
  const pending = new Set<object>();
  const counting: Clock = {
    ...clock,
    setTimeout(fn, ms) {
      const token = {};
      pending.add(token);
      const handle = clock.setTimeout(() => {
        pending.delete(token);
        fn();
      }, ms);
      return {
        cancel: () => {
          pending.delete(token);
          handle.cancel();
        },
      };
    },
  };
  const loop = runPollLoop({
    intervalMs: 1,
    db: {
      waitUntilAvailable: () => {
        waits++;
        return new Promise<void>((resolve) => (release = resolve));
      },
    },
    clock: counting,
    log: memoryLogger().log,
    signal: abort.signal,
    onRecovered: () => recovered++,
    cycle: async () => {
      calls.push('cycle');
      if (calls.length === 1) throw new ZmesError('ZMES_DB_UNAVAILABLE', 'down');
      if (calls.length === 2) abort.abort();
      return false;
    },
  });
  for (const deadline = Date.now() + 5000; waits === 0; ) {
    assert.ok(Date.now() < deadline, 'the loop never waited for the database');
    await new Promise((r) => setImmediate(r));
  }
  // Instead of watching for a while: the loop waits on the database alone. No cycle ran and no
  // timer is pending that could start one, so none can run before release().
  assert.deepEqual(calls, ['cycle'], 'no cycle while waiting for the database');
  assert.equal(waits, 1);
  assert.equal(pending.size, 0, 'a timer is pending while the loop should wait for the database');
  release();
  await loop;
  assert.deepEqual(calls, ['cycle', 'cycle']);
  assert.equal(recovered, 1);
});

test('a failing cycle is logged once per distinct error, backs off, and recovery is logged', async () => {
  const abort = new AbortController();
  const mem = memoryLogger();
  let n = 0;
  await runPollLoop({
    intervalMs: 1,
    db: never,
    clock,
    log: mem.log,
    signal: abort.signal,
    cycle: async () => {
      n++;
      if (n <= 3) throw new ZmesError('ZMES_DB_QUERY', 'Unknown column');
      if (n === 5) abort.abort(); // after one clean cycle
      return false;
    },
  });
  assert.equal(mem.grep(/event polling failed: .*Unknown column; retrying in \d+ ms/).filter((l) => l.level === 'error').length, 1);
  assert.equal(mem.grep(/event polling works again/).length, 1);
});

// Delivery decisions beyond test/unit/notify and test/unit/zm/auth/access-recheck.test.ts: the
// recipient rules at their edges, the in-memory interval store, and the re-check that keeps
// push visibility in step with ZoneMinder (timer, freshness, listeners, outage logs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, startsInterval } from '../../../src/notify/recipients.js';
import { MemoryLastSent } from '../../../src/notify/throttle.js';
import { parseMonitorFilter } from '../../../src/domain/monitor-filter.js';
import { AccessRecheck, type AccessDirectory, type AccessSnapshot } from '../../../src/zm/auth/access-recheck.js';
import type { StoredUser } from '../../../src/zm/auth/authenticator.js';
import { VISIBLE_ALL, type MonitorVisibility } from '../../../src/zm/auth/permissions.js';
import { manualClock } from '../../helpers/manual-clock.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { storedUser } from '../../helpers/stored-user.js';

const NOW = 1_800_000_000_000;

describe('recipient rules', () => {
  test('an interval of 0 never throttles, even when the last send looks to be in the future', () => {
    const view = { visibility: VISIBLE_ALL, filter: parseMonitorFilter('1', '0').filter, lastSentAt: NOW + 5_000 };
    assert.equal(decide(view, 1, 'start', NOW), 'send');
    const throttled = { ...view, filter: parseMonitorFilter('1', '60').filter };
    assert.equal(decide(throttled, 1, 'start', NOW), 'throttled');
  });

  test('only a start begins an interval', () => {
    assert.equal(startsInterval('start'), true);
    assert.equal(startsInterval('end'), false);
  });
});

describe('MemoryLastSent', () => {
  test('keeps every monitor of a key', () => {
    const store = new MemoryLastSent();
    store.set('conn:1', 1, 100);
    store.set('conn:1', 2, 200);
    store.set('conn:1', 1, 150);
    assert.deepEqual([store.get('conn:1', 1), store.get('conn:1', 2), store.get('conn:1', 3), store.get('conn:2', 1)], [150, 200, undefined, undefined]);
    assert.equal(store.size, 1);
  });

  test('holds at most maxKeys keys, dropping the oldest', () => {
    const store = new MemoryLastSent(2);
    store.set('a', 1, 1);
    store.set('b', 1, 2);
    assert.equal(store.size, 2);
    store.set('b', 2, 3); // a known key does not count again
    assert.equal(store.size, 2);
    store.set('c', 1, 4);
    assert.equal(store.size, 2);
    assert.deepEqual([store.get('a', 1), store.get('b', 1), store.get('c', 1)], [undefined, 2, 4]);
  });

  test('forget drops a key and nothing else', () => {
    const store = new MemoryLastSent();
    store.set('a', 1, 1);
    store.set('b', 1, 2);
    store.forget('a');
    store.forget('nobody');
    assert.deepEqual([store.get('a', 1), store.get('b', 1), store.size], [undefined, 2, 1]);
  });
});

// ---------------------------------------------------------------------------------------------
// AccessRecheck

function user(username: string, id: number, overrides: Partial<StoredUser> = {}): StoredUser {
  return storedUser({ id, username, tokenMinExpiry: 0, ...overrides });
}

class StubDirectory implements AccessDirectory {
  users = new Map<string, StoredUser>();
  down = false;
  finds = 0;
  async findUsers(names: readonly string[]): Promise<Map<string, StoredUser>> {
    this.finds++;
    if (this.down) throw new Error('connect ECONNREFUSED');
    return new Map(names.flatMap((name) => (this.users.has(name) ? [[name, this.users.get(name)!] as const] : [])));
  }
  async visibilities(users: readonly StoredUser[]): Promise<Map<number, MonitorVisibility>> {
    return new Map(users.map((u) => [u.id, VISIBLE_ALL]));
  }
}

function setup(options: { authEnabled?: boolean; inUse?: string[] } = {}) {
  const directory = new StubDirectory();
  const clock = manualClock(1_000_000);
  const logs = memoryLogger('debug');
  const inUse = options.inUse ?? [];
  const recheck = new AccessRecheck(directory, { authEnabled: options.authEnabled ?? true, intervalMs: 5000 }, () => inUse, clock, logs.log);
  return { directory, clock, logs, recheck, inUse };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('AccessRecheck', () => {
  test('with auth off no timer is started; with auth on one re-check per interval until stopped', async () => {
    const off = setup({ authEnabled: false });
    await off.recheck.start();
    assert.equal(off.clock.pending, 0);
    await off.recheck.stop();

    const on = setup({ inUse: ['alice'] });
    await on.recheck.stop(); // stopping what never started is harmless
    await on.recheck.start();
    await on.recheck.start();
    assert.equal(on.clock.pending, 1, 'starting twice keeps one timer');
    on.clock.advance(5000);
    await settle();
    on.clock.advance(5000);
    await settle();
    assert.equal(on.directory.finds, 2);
    await on.recheck.stop();
    assert.equal(on.clock.pending, 0);
    on.clock.advance(20_000);
    await settle();
    assert.equal(on.directory.finds, 2);
  });

  test('each checkNow after the previous one finished asks the database again', async () => {
    const { recheck, directory } = setup({ inUse: ['alice'] });
    await recheck.checkNow();
    await recheck.checkNow();
    assert.equal(directory.finds, 2);
  });

  test('an answer exactly two intervals old is still used', async () => {
    const { recheck, directory, clock } = setup();
    directory.users.set('alice', user('alice', 1));
    await recheck.visibilityOf('alice');
    clock.advance(10_000);
    await recheck.visibilityOf('alice');
    assert.equal(directory.finds, 1);
    clock.advance(1);
    await recheck.visibilityOf('alice');
    assert.equal(directory.finds, 2);
  });

  test('an unknown user is answered from the last batch too, without a warning', async () => {
    const { recheck, directory, logs } = setup();
    assert.equal((await recheck.visibilityOf('ghost')).kind, 'none');
    assert.equal((await recheck.visibilityOf('ghost')).kind, 'none');
    assert.equal(directory.finds, 1);
    assert.equal(logs.lines.filter((l) => l.level.includes('warn')).length, 0);
  });

  test('answers for users no longer in use are dropped at the next re-check', async () => {
    const { recheck, directory, inUse } = setup({ inUse: ['alice'] });
    directory.users.set('alice', user('alice', 1));
    directory.users.set('bob', user('bob', 2));
    await recheck.visibilityOf('bob');
    assert.equal(directory.finds, 1);
    await recheck.checkNow(); // bob is not in use
    await recheck.visibilityOf('alice');
    assert.equal(directory.finds, 2, 'alice answered from the batch');
    await recheck.visibilityOf('bob');
    assert.equal(directory.finds, 3, 'bob asked again');
    inUse.length = 0;
  });

  test('a failing listener is logged and the others still hear of the re-check; unsubscribed ones do not', async () => {
    const { recheck, logs } = setup({ inUse: ['alice'] });
    const heard: string[] = [];
    const offFirst = recheck.onChecked(() => heard.push('first'));
    recheck.onChecked(() => {
      throw new Error('socket gone');
    });
    const offLast = recheck.onChecked((snapshot: AccessSnapshot) => heard.push(`last ${snapshot.size}`));
    await recheck.checkNow();
    assert.deepEqual(heard, ['first', 'last 1']);
    assert.equal(logs.grep(/applying the access re-check failed: socket gone/).length, 1);
    offFirst();
    offFirst();
    await recheck.checkNow();
    assert.deepEqual(heard, ['first', 'last 1', 'last 1'], 'unsubscribing twice removes no other listener');
    offLast();
    await recheck.checkNow();
    assert.equal(heard.length, 3);
  });

  test('a re-check without listeners logs no error', async () => {
    const { recheck, logs } = setup({ inUse: ['alice'] });
    await recheck.checkNow();
    assert.equal(logs.lines.filter((l) => l.level.includes('error')).length, 0);
  });

  test('the outage warning says when pushes stop; the recovery says how long it lasted', async () => {
    const { recheck, directory, clock, logs } = setup();
    directory.users.set('alice', user('alice', 1));
    await recheck.visibilityOf('alice');
    assert.equal(logs.grep(/re-checked again/).length, 0, 'no recovery without an outage');
    directory.down = true;
    clock.advance(10_001);
    await recheck.visibilityOf('alice');
    assert.equal(logs.grep(/stop once the last answer is 10 s old/).length, 1);
    clock.advance(7_000);
    directory.down = false;
    await recheck.visibilityOf('alice');
    assert.equal(logs.grep(/ZoneMinder users can be re-checked again \(after 7 s\)/).length, 1);
  });
});

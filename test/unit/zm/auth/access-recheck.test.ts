import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessRecheck, type AccessDirectory, type AccessSnapshot } from '../../../../src/zm/auth/access-recheck.js';
import type { StoredUser } from '../../../../src/zm/auth/authenticator.js';
import { VISIBLE_ALL, type MonitorVisibility } from '../../../../src/zm/auth/permissions.js';
import { manualClock } from '../../../helpers/manual-clock.js';
import { memoryLogger } from '../../../helpers/memory-log.js';
import { storedUser } from '../../../helpers/stored-user.js';

/**
 * The push visibility lookup and the batched re-check, against a directory whose answers and
 * failures the test controls (a real database cannot fail on demand between two calls).
 */
function user(username: string, id: number, overrides: Partial<StoredUser> = {}): StoredUser {
  return storedUser({ id, username, tokenMinExpiry: 0, ...overrides });
}

class StubDirectory implements AccessDirectory {
  users = new Map<string, StoredUser>();
  visibility = new Map<number, MonitorVisibility>();
  down = false;
  findCalls: string[][] = [];
  visibilityCalls = 0;
  /** Users whose visibility the directory leaves out of its answer. */
  unanswered = new Set<number>();
  async findUsers(names: readonly string[]): Promise<Map<string, StoredUser>> {
    this.findCalls.push([...names]);
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
    const found = new Map<string, StoredUser>();
    for (const name of names) {
      const row = this.users.get(name);
      if (row) found.set(name, row);
    }
    return found;
  }
  async visibilities(users: readonly StoredUser[]): Promise<Map<number, MonitorVisibility>> {
    this.visibilityCalls++;
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
    return new Map(users.filter((u) => !this.unanswered.has(u.id)).map((u) => [u.id, this.visibility.get(u.id) ?? VISIBLE_ALL]));
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

describe('push visibility lookup (AccessRecheck.visibilityOf)', () => {
  test('a known, enabled user gets its monitor permissions', async () => {
    const { directory, recheck } = setup();
    directory.users.set('alice', user('alice', 1));
    directory.visibility.set(1, { kind: 'some', ids: new Set([2]) });
    const v = await recheck.visibilityOf('alice');
    assert.ok(v.kind === 'some' && v.ids.has(2) && v.ids.size === 1);
  });

  test('a disabled user sees nothing', async () => {
    const { directory, recheck } = setup();
    directory.users.set('alice', user('alice', 1, { enabled: false }));
    assert.equal((await recheck.visibilityOf('alice')).kind, 'none');
  });

  test('an unknown (deleted) user sees nothing', async () => {
    const { recheck } = setup();
    assert.equal((await recheck.visibilityOf('ghost')).kind, 'none');
  });

  test('a user whose permissions could not be worked out sees nothing', async () => {
    const { directory, recheck } = setup();
    directory.users.set('alice', user('alice', 1));
    directory.unanswered.add(1);
    assert.equal((await recheck.visibilityOf('alice')).kind, 'none');
  });

  test('a database error without a fresh answer sees nothing, logged once per outage', async () => {
    const { directory, recheck, logs, clock } = setup();
    directory.down = true;
    assert.equal((await recheck.visibilityOf('alice')).kind, 'none');
    assert.equal((await recheck.visibilityOf('bob')).kind, 'none');
    clock.advance(60_000);
    assert.equal((await recheck.visibilityOf('alice')).kind, 'none');
    assert.equal(logs.grep(/cannot re-check ZoneMinder users/).length, 1);
    directory.down = false;
    directory.users.set('alice', user('alice', 1));
    assert.equal((await recheck.visibilityOf('alice')).kind, 'all');
    assert.equal(logs.grep(/can be re-checked again/).length, 1);
    directory.down = true;
    clock.advance(60_000);
    assert.equal((await recheck.visibilityOf('alice')).kind, 'none');
    assert.equal(logs.grep(/cannot re-check ZoneMinder users/).length, 2, 'a new outage is logged again');
  });

  test('a fresh answer is used without asking the database; a stale one is not trusted during an outage', async () => {
    const { directory, recheck, clock } = setup();
    directory.users.set('alice', user('alice', 1));
    assert.equal((await recheck.visibilityOf('alice')).kind, 'all');
    directory.down = true;
    clock.advance(9_000);
    assert.equal((await recheck.visibilityOf('alice')).kind, 'all', 'within two intervals the last answer holds');
    assert.equal(directory.findCalls.length, 1);
    clock.advance(2_000);
    assert.equal((await recheck.visibilityOf('alice')).kind, 'none', 'older than two intervals: fail closed');
  });

  test('with auth off, or for a token without a ZoneMinder user, everything is visible without a query', async () => {
    const off = setup({ authEnabled: false });
    assert.equal((await off.recheck.visibilityOf('alice')).kind, 'all');
    const on = setup();
    assert.equal((await on.recheck.visibilityOf(undefined)).kind, 'all');
    assert.equal(off.directory.findCalls.length + on.directory.findCalls.length, 0);
  });
});

describe('batched re-check', () => {
  test('one batch per interval for all users in use, de-duplicated, handed to the listeners', async () => {
    const { directory, recheck, clock, inUse } = setup({ inUse: ['alice', 'bob', 'alice', 'ghost'] });
    directory.users.set('alice', user('alice', 1));
    directory.users.set('bob', user('bob', 2, { enabled: false }));
    const seen: AccessSnapshot[] = [];
    recheck.onChecked((s) => seen.push(s));
    await recheck.start();
    clock.advance(5000);
    await waitFor(() => seen.length === 1);
    assert.deepEqual(directory.findCalls, [['alice', 'bob', 'ghost']]);
    assert.equal(directory.visibilityCalls, 1);
    const snapshot = seen[0]!;
    assert.equal(snapshot.get('alice')?.user.enabled, true);
    assert.equal(snapshot.get('bob')?.user.enabled, false);
    assert.equal(snapshot.get('ghost'), null);
    // Answers from the batch serve pushes without further queries.
    assert.equal((await recheck.visibilityOf('bob')).kind, 'none');
    assert.equal(directory.findCalls.length, 1);
    inUse.length = 0;
    await recheck.stop();
  });

  test('a failed batch tells no listener and changes nothing', async () => {
    const { directory, recheck } = setup({ inUse: ['alice'] });
    let calls = 0;
    recheck.onChecked(() => calls++);
    directory.down = true;
    assert.equal(await recheck.checkNow(), undefined);
    assert.equal(calls, 0);
  });

  test('concurrent callers share one re-check', async () => {
    const { directory, recheck } = setup({ inUse: ['alice'] });
    directory.users.set('alice', user('alice', 1));
    const [a, b] = await Promise.all([recheck.checkNow(), recheck.checkNow()]);
    assert.equal(a, b);
    assert.equal(directory.findCalls.length, 1);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

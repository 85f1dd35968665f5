// The push token registry (src/tokens/token-store.ts) beyond test/unit/tokens/token-store.test.ts:
// what load() reports for each kind of file, when the file is (not) written, how registrations
// are normalised, and the leftovers of interrupted writes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_TOKEN_LENGTH, TokenStore, trimToQuota, type TokenStoreOptions } from '../../../src/tokens/token-store.js';
import type { TokenRecord } from '../../../src/tokens/token-file.js';
import { manualClock, type ManualClock } from '../../helpers/manual-clock.js';
import { memoryLogger, type MemoryLogger } from '../../helpers/memory-log.js';

const START = new Date(2026, 2, 15, 12, 0, 0).getTime();
const DAY = 86_400_000;

interface Fixture {
  dir: string;
  path: string;
  clock: ManualClock;
  logs: MemoryLogger;
  make(options?: Partial<TokenStoreOptions>): TokenStore;
}

function fixture(t: { after(fn: () => void): void }, content?: string): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-token-guards-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'tokens.json');
  if (content !== undefined) writeFileSync(path, content);
  const clock = manualClock(START);
  const logs = memoryLogger('debug');
  return { dir, path, clock, logs, make: (options = {}) => new TokenStore({ path, log: logs.log, clock, ...options }) };
}

const lines = (logs: MemoryLogger, level: string, pattern: RegExp) => logs.lines.filter((l) => l.level.includes(level) && pattern.test(l.message));

function record(token: string, zmUser: string | undefined, registeredAt: number | undefined): TokenRecord {
  return {
    token,
    platform: 'android',
    monlist: '',
    intlist: '',
    pushstate: 'enabled',
    appversion: 'unknown',
    invocations: { count: 0, at: 2 },
    profile: undefined,
    clientKind: 'unknown',
    badge: 0,
    lastSent: {},
    zmUser,
    registeredAt,
  };
}

describe('TokenStore.load() reports what it found', () => {
  test('a missing file: nothing loaded, nothing written until a registration', async (t) => {
    const f = fixture(t);
    const store = f.make();
    assert.deepEqual(store.load(), { count: 0, source: 'missing' });
    await store.stop();
    assert.equal(existsSync(f.path), false, 'stopping with nothing to write creates no file');
  });

  test('an empty file is "empty", a JSON file "json", and neither is rewritten after loading', (t) => {
    const empty = fixture(t, '  \n');
    assert.deepEqual(empty.make().load(), { count: 0, source: 'empty' });

    const text = '{"tokens":{"a":{"platform":"android"},"b":{"platform":"ios"}}}';
    const f = fixture(t, text);
    const store = f.make();
    assert.deepEqual(store.load(), { count: 2, source: 'json' });
    assert.equal(f.clock.pending, 0, 'no write scheduled');
    f.clock.advance(60_000);
    assert.equal(readFileSync(f.path, 'utf8'), text);
    assert.equal(existsSync(`${f.path}.migrated`), false);
    assert.equal(lines(f.logs, 'warn', /dropped/).length, 0);
  });

  test('a file that cannot be read is "unreadable" and is never written over', (t) => {
    const f = fixture(t);
    mkdirSync(f.path); // reading a directory fails with EISDIR
    const store = f.make();
    assert.deepEqual(store.load(), { count: 0, source: 'unreadable' });
    assert.equal(lines(f.logs, 'error', /cannot read token file/).length, 1);
    assert.ok(store.register({ token: 'kept-in-memory', platform: 'android' }));
    store.flush();
    f.clock.advance(60_000);
    assert.deepEqual(readdirSync(f.path), [], 'the unreadable path was left alone');
    assert.equal(lines(f.logs, 'error', /cannot write/).length, 0, 'no write was even tried');
    assert.equal(store.get('kept-in-memory')?.platform, 'android');
  });

  test('a corrupt file is "corrupt" and says where it was moved', (t) => {
    const f = fixture(t, '{"tokens":{"cut-off');
    const summary = f.make().load();
    assert.equal(summary.source, 'corrupt');
    assert.equal(summary.count, 0);
    assert.ok(summary.setAsideAs?.startsWith(`${f.path}.corrupt-`));
    assert.equal(readFileSync(summary.setAsideAs!, 'utf8'), '{"tokens":{"cut-off');
  });

  test('a corrupt file that cannot be moved aside is left as it is and never written over', (t) => {
    const garbage = '{"tokens":{"cut-off';
    const f = fixture(t, garbage);
    // setAside renames to <path>.corrupt-<ISO time>; a non-empty directory there makes it fail.
    const target = `${f.path}.corrupt-${new Date(START).toISOString().replace(/[:.]/g, '-')}`;
    mkdirSync(target);
    writeFileSync(join(target, 'occupied'), '');
    const store = f.make();
    assert.deepEqual(store.load(), { count: 0, source: 'corrupt' });
    assert.equal(lines(f.logs, 'error', /could not be moved aside/).length, 1);
    store.register({ token: 'new', platform: 'android' });
    store.flush();
    assert.equal(readFileSync(f.path, 'utf8'), garbage);
  });

  test('the old line format is "migrated"; when the migration cannot be written it is retried later', (t) => {
    const f = fixture(t, 'tok-a:1:0:android:enabled\n');
    mkdirSync(`${f.path}.migrated`); // the copy of the old file cannot be written
    const store = f.make();
    assert.deepEqual(store.load(), { count: 1, source: 'migrated' });
    assert.equal(lines(f.logs, 'error', /migration could not be written/).length, 1);
    assert.equal(readFileSync(f.path, 'utf8'), 'tok-a:1:0:android:enabled\n', 'the old file is still there');
    store.flush();
    assert.deepEqual(Object.keys((JSON.parse(readFileSync(f.path, 'utf8')) as { tokens: object }).tokens), ['tok-a']);
  });

  test('a file over quota reports how many were dropped, in words for one user', (t) => {
    const tokens: Record<string, unknown> = {};
    for (let i = 0; i < 3; i++) tokens[`alice-${i}`] = { platform: 'android', zm_user: 'alice', registered_at: i };
    tokens['bob-0'] = { platform: 'android', zm_user: 'bob', registered_at: 1 };
    const f = fixture(t, JSON.stringify({ tokens }));
    assert.deepEqual(f.make({ maxDevicesPerUser: 2 }).load(), { count: 3, source: 'json', droppedOverQuota: 1 });
    assert.match(lines(f.logs, 'warn', /dropped/)[0]?.message ?? '', /1 push tokens dropped, one user was over fcm\.max_devices_per_user \(2\)/);
  });

  test('at most 20 repair warnings are logged one by one, then one line for the rest', (t) => {
    const tokens: Record<string, unknown> = {};
    for (let i = 0; i < 25; i++) tokens[`bad-${i}`] = 42;
    tokens['good'] = { platform: 'android' };
    const f = fixture(t, JSON.stringify({ tokens }));
    assert.deepEqual(f.make().load(), { count: 1, source: 'json' });
    assert.equal(lines(f.logs, 'warn', /entry is not an object/).length, 20);
    assert.equal(lines(f.logs, 'warn', /: 5 more entries repaired or skipped/).length, 1);

    const exactly = fixture(t, JSON.stringify({ tokens: Object.fromEntries(Object.entries(tokens).slice(5)) }));
    exactly.make().load();
    assert.equal(lines(exactly.logs, 'warn', /entry is not an object/).length, 20);
    assert.equal(lines(exactly.logs, 'warn', /more entries/).length, 0);
  });

  test('a last-sent time exactly 30 days old is kept, an older one dropped', (t) => {
    const f = fixture(t, JSON.stringify({ tokens: { T: { platform: 'android', last_sent: { '1': START - 30 * DAY, '2': START - 30 * DAY - 1 } } } }));
    const store = f.make();
    store.load();
    assert.deepEqual(store.get('T')?.lastSent, { '1': START - 30 * DAY });
  });

  test('start() loads the file, and a store started again after stop() coalesces writes again', async (t) => {
    const f = fixture(t, '{"tokens":{"a":{"platform":"ios"}}}');
    const store = f.make({ writeDelayMs: 1000 });
    await store.start(new AbortController().signal);
    assert.equal(store.get('a')?.platform, 'ios');
    await store.stop();
    await store.start(new AbortController().signal);
    store.register({ token: 'b', platform: 'android' });
    assert.deepEqual(Object.keys((JSON.parse(readFileSync(f.path, 'utf8')) as { tokens: object }).tokens), ['a'], 'not written at once');
    f.clock.advance(1000);
    assert.deepEqual(Object.keys((JSON.parse(readFileSync(f.path, 'utf8')) as { tokens: object }).tokens), ['a', 'b']);
  });
});

describe('TokenStore writes', () => {
  test('the write delay is writeDelayMs, 200 ms by default, with one timer for a burst', (t) => {
    const f = fixture(t);
    const store = f.make();
    store.load();
    store.register({ token: 'a', platform: 'android' });
    store.register({ token: 'b', platform: 'android' });
    assert.equal(f.clock.pending, 1);
    f.clock.advance(199);
    assert.equal(existsSync(f.path), false);
    f.clock.advance(1);
    assert.equal(existsSync(f.path), true);

    const slow = fixture(t);
    const delayed = slow.make({ writeDelayMs: 5000 });
    delayed.load();
    delayed.register({ token: 'a', platform: 'android' });
    slow.clock.advance(4999);
    assert.equal(existsSync(slow.path), false);
    slow.clock.advance(1);
    assert.equal(existsSync(slow.path), true);
  });

  test('a change that changes nothing schedules no write', (t) => {
    const f = fixture(t);
    const store = f.make();
    store.load();
    store.register({ token: 'a', platform: 'android' });
    store.setBadge('a', 3);
    store.flush();
    assert.equal(f.clock.pending, 0);
    assert.equal(store.setBadge('a', 3), true);
    assert.equal(f.clock.pending, 0);
    store.setBadge('a', 4);
    assert.equal(f.clock.pending, 1);
  });

  test('flush() writes only what is pending', (t) => {
    const f = fixture(t);
    const store = f.make();
    store.load();
    store.flush();
    assert.equal(existsSync(f.path), false, 'nothing pending, nothing written');
    store.register({ token: 'a', platform: 'android' });
    store.flush();
    assert.equal(existsSync(f.path), true);
    // Once written, the store is clean: a flush does not try to write again.
    rmSync(f.path);
    mkdirSync(f.path);
    store.flush();
    assert.equal(lines(f.logs, 'error', /cannot write/).length, 0);
    assert.equal(lines(f.logs, 'info', /written again/).length, 0, 'a plain write is no recovery');
  });

  test('a failed write is logged at once, once per outage, and again after a recovery', (t) => {
    const f = fixture(t);
    const store = f.make({ retryDelayMs: 1000 });
    store.load();
    mkdirSync(f.path);
    store.register({ token: 'a', platform: 'android' });
    store.flush();
    assert.equal(lines(f.logs, 'error', /cannot write token file/).length, 1, 'the first failure is logged');
    f.clock.advance(1000);
    assert.equal(lines(f.logs, 'error', /cannot write token file/).length, 1, 'the retry fails quietly');
    rmSync(f.path, { recursive: true });
    f.clock.advance(1000);
    assert.equal(lines(f.logs, 'info', /written again/).length, 1);
    rmSync(f.path);
    mkdirSync(f.path);
    store.register({ token: 'b', platform: 'android' });
    store.flush();
    assert.equal(lines(f.logs, 'error', /cannot write token file/).length, 2, 'a new outage is logged again');
  });

  test('after stop() a failed write is not retried by a timer', async (t) => {
    const f = fixture(t);
    const store = f.make();
    store.load();
    await store.stop();
    assert.equal(f.clock.pending, 0);
    mkdirSync(f.path);
    store.register({ token: 'a', platform: 'android' });
    assert.equal(lines(f.logs, 'error', /cannot write token file/).length, 1);
    assert.equal(f.clock.pending, 0);
  });

  test('leftover temporary files of this token file are removed at load, nothing else', (t) => {
    const f = fixture(t);
    const leftovers = ['.tokens.json.123.ab12.tmp', '.tokens.json.9.f.tmp'];
    const others = [
      '.tokens.json.123.xyz.tmp',
      '.tokens.json.abc.12.tmp',
      '.tokens.json.1.a.tmp.bak',
      '.tokens.json.a b.c.1.a.tmp',
      '.other.json.1.a.tmp',
      'tokens.json.1.a.tmp',
      '.tokens.json.backup',
    ];
    for (const name of [...leftovers, ...others]) writeFileSync(join(f.dir, name), 'x');
    f.make().load();
    assert.deepEqual(readdirSync(f.dir).sort(), [...others].sort());
  });

  test('a leftover that cannot be removed is left alone and logged at debug', (t) => {
    const f = fixture(t, '{"tokens":{"a":{"platform":"ios"}}}');
    const stuck = join(f.dir, '.tokens.json.42.beef.tmp');
    mkdirSync(stuck); // a directory: rmSync without `recursive` refuses it
    writeFileSync(join(stuck, 'inside'), 'x');
    const store = f.make();
    assert.deepEqual(store.load(), { count: 1, source: 'json' });
    assert.equal(existsSync(stuck), true);
    assert.equal(lines(f.logs, 'debug', /could not remove leftover \.tokens\.json\.42\.beef\.tmp: /).length, 1);
  });
});

describe('TokenStore registrations', () => {
  test('text fields are trimmed; blank ones fall back to the stored or default value', (t) => {
    const f = fixture(t);
    const store = f.make();
    store.load();
    const created = store.tryRegister({ token: 'T', platform: ' ios ', monlist: ' 1,2 ', intlist: ' 0,60 ', profile: ' Home ', appversion: '1.0' });
    assert.equal(created.ok && created.created, true);
    assert.deepEqual(
      [store.get('T')?.platform, store.get('T')?.monlist, store.get('T')?.intlist, store.get('T')?.profile],
      ['ios', '1,2', '0,60', 'Home'],
    );
    const updated = store.tryRegister({ token: 'T', platform: '  ', appversion: '', profile: '   ', monlist: ' -1 ', intlist: ' -1 ' });
    assert.equal(updated.ok && updated.created, false);
    assert.deepEqual(
      [store.get('T')?.platform, store.get('T')?.appversion, store.get('T')?.profile, store.get('T')?.monlist, store.get('T')?.intlist],
      ['ios', '1.0', undefined, '1,2', '0,60'],
    );
    store.register({ token: 'N', platform: '', appversion: '', monlist: '3' });
    assert.deepEqual(
      [store.get('N')?.platform, store.get('N')?.appversion, store.get('N')?.clientKind, store.get('N')?.monlist, store.get('N')?.intlist],
      ['unknown', 'unknown', 'unknown', '3', ''],
    );
    assert.equal(store.setFilter('N', ' 4 ', ' 10 '), true);
    assert.deepEqual([store.get('N')?.monlist, store.get('N')?.intlist], ['4', '10']);
  });

  test('a new device is logged at info, a re-registration only at debug', (t) => {
    const f = fixture(t);
    const store = f.make();
    store.load();
    store.register({ token: 'device-token-1', platform: 'android', clientKind: 'zmninja' });
    store.register({ token: 'device-token-1', platform: 'ios', state: 'disabled' });
    assert.equal(lines(f.logs, 'info', /registered push token/).length, 1);
    assert.match(lines(f.logs, 'info', /registered push token/)[0]!.message, /\(android, enabled, zmninja\)/);
    assert.equal(lines(f.logs, 'debug', /updated push token/).length, 1);
    assert.match(lines(f.logs, 'debug', /updated push token/)[0]!.message, /\(ios, disabled\)/);
  });

  test('the longest token accepted is MAX_TOKEN_LENGTH characters; refusals say why', (t) => {
    const f = fixture(t);
    const store = f.make();
    store.load();
    assert.equal(store.tryRegister({ token: 'x'.repeat(MAX_TOKEN_LENGTH), platform: 'android' }).ok, true);
    assert.deepEqual(store.tryRegister({ token: 'y'.repeat(MAX_TOKEN_LENGTH + 1), platform: 'android' }), {
      ok: false,
      reason: 'invalid',
      detail: `push token registration refused: token of ${MAX_TOKEN_LENGTH + 1} characters`,
    });
    assert.deepEqual(store.tryRegister({ token: ' \t ', platform: 'android' }), {
      ok: false,
      reason: 'invalid',
      detail: 'push token registration refused: empty token',
    });
  });

  test('unknown tokens: no last-sent time, nothing to remove', (t) => {
    const f = fixture(t);
    const store = f.make();
    store.load();
    assert.equal(store.lastSent('nobody', 1), undefined);
    assert.equal(store.remove('nobody', 'test'), false);
    assert.equal(f.clock.pending, 0);
  });
});

describe('trimToQuota', () => {
  test('a bucket exactly at the limit is no user over quota', () => {
    const records = [record('a', 'u', 1), record('b', 'u', 2)];
    assert.deepEqual(trimToQuota(records, 2), { kept: records, dropped: 0, users: 0 });
  });

  test('a registration with a time is newer than one without, wherever it is in the file', () => {
    const dated = record('dated', 'u', 5);
    const undated = record('undated', 'u', undefined);
    assert.deepEqual(trimToQuota([dated, undated], 1).kept, [dated]);
    assert.deepEqual(trimToQuota([undated, dated], 1).kept, [dated]);
  });
});

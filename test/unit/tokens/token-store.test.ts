import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAX_DEVICES_PER_USER, MONTHLY_PUSH_LIMIT, TokenStore, tokenFilter, trimToQuota } from '../../../src/tokens/token-store.js';
import { parseTokenFile, type TokenRecord } from '../../../src/tokens/token-file.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { testClock, type TestClock } from '../../helpers/push-fixtures.js';

interface Fixture {
  dir: string;
  path: string;
  clock: TestClock;
  logs: ReturnType<typeof memoryLogger>;
  store: TokenStore;
  reopen(): TokenStore;
}

function fixture(t: { after(fn: () => void): void }, options: { content?: string; monthlyLimit?: number; maxDevicesPerUser?: number; maxTokens?: number } = {}): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-tokens-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'push', 'tokens.txt');
  if (options.content !== undefined) {
    mkdirSync(join(dir, 'push'), { recursive: true });
    writeFileSync(path, options.content);
  }
  const clock = testClock(new Date(2026, 2, 15, 12, 0, 0).getTime()); // mid-March, local time
  const logs = memoryLogger();
  const make = () =>
    new TokenStore({
      path,
      log: logs.log,
      clock,
      writeDelayMs: 200,
      ...(options.monthlyLimit === undefined ? {} : { monthlyLimit: options.monthlyLimit }),
      ...(options.maxDevicesPerUser === undefined ? {} : { maxDevicesPerUser: options.maxDevicesPerUser }),
      ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
    });
  const store = make();
  store.load();
  return {
    dir,
    path,
    clock,
    logs,
    store,
    reopen() {
      const again = make();
      again.load();
      return again;
    },
  };
}

const fileTokens = (path: string) => Object.keys((JSON.parse(readFileSync(path, 'utf8')) as { tokens: Record<string, unknown> }).tokens);

test('a registration is written as classic JSON plus our fields, and reads back the same', async (t) => {
  const f = fixture(t);
  f.store.register({ token: 'tokA', platform: 'android', state: 'enabled', monlist: '1,2', intlist: '0,60', appversion: '1.8.001', clientKind: 'zmninja' });
  f.store.register({ token: 'tokB', platform: 'ios', state: '', profile: 'Home', appversion: '1.2.3', clientKind: 'zmninjang' });
  await f.store.stop();
  const json = JSON.parse(readFileSync(f.path, 'utf8')) as { tokens: Record<string, Record<string, unknown>> };
  assert.deepEqual(json.tokens['tokA'], {
    platform: 'android',
    monlist: '1,2',
    intlist: '0,60',
    pushstate: 'enabled',
    appversion: '1.8.001',
    invocations: { count: 0, at: 2 },
    client_kind: 'zmninja',
    badge: 0,
    last_sent: {},
    registered_at: f.clock.now(),
  });
  assert.equal(json.tokens['tokB']?.['profile'], 'Home');
  assert.equal(json.tokens['tokB']?.['pushstate'], 'enabled');
  const again = f.reopen();
  assert.deepEqual(again.all(), f.store.all());
});

test('a registration without lists keeps the stored filter; "-1" keeps it too; "" means all monitors', (t) => {
  const f = fixture(t);
  f.store.register({ token: 'T', platform: 'android', monlist: '1,3', intlist: '60,60' });
  f.store.register({ token: 'T', platform: 'android', state: 'enabled' });
  assert.equal(f.store.get('T')?.monlist, '1,3');
  assert.equal(f.store.get('T')?.intlist, '60,60');
  f.store.register({ token: 'T', platform: 'android', monlist: '-1', intlist: '-1' });
  assert.equal(f.store.get('T')?.monlist, '1,3');
  f.store.register({ token: 'T', platform: 'android', monlist: '', intlist: '' });
  assert.equal(f.store.get('T')?.monlist, '');
  assert.equal(tokenFilter(f.store.get('T')!).kind, 'all');
});

test('re-registration keeps badge, counters, last-sent times, profile and a known client kind', (t) => {
  const f = fixture(t);
  f.store.register({ token: 'T', platform: 'ios', profile: 'Home', clientKind: 'zmninjang', appversion: '1.0' });
  f.store.setBadge('T', 4);
  f.store.tryConsume('T');
  f.store.recordSent('T', 3, 1234);
  const r = f.store.register({ token: 'T', platform: 'ios', state: 'disabled', clientKind: 'unknown' })!;
  assert.equal(r.badge, 4);
  assert.equal(r.invocations.count, 1);
  assert.deepEqual(r.lastSent, { '3': 1234 });
  assert.equal(r.profile, 'Home');
  assert.equal(r.clientKind, 'zmninjang');
  assert.equal(r.appversion, '1.0');
  assert.equal(r.pushstate, 'disabled');
});

test('setFilter replaces both lists', (t) => {
  const f = fixture(t);
  f.store.register({ token: 'T', platform: 'android', monlist: '1', intlist: '0' });
  assert.equal(f.store.setFilter('T', '2,4', '0,30'), true);
  const filter = tokenFilter(f.store.get('T')!);
  assert.equal(filter.kind === 'some' ? filter.intervals.get(4) : undefined, 30);
  assert.equal(f.store.setFilter('unknown', '1', '1'), false);
});

test('badge increments are persisted: nextBadge is stored + 1, a badge frame resets it', async (t) => {
  const f = fixture(t);
  f.store.register({ token: 'T', platform: 'ios' });
  assert.equal(f.store.nextBadge('T'), 1);
  assert.equal(f.store.nextBadge('T'), 2);
  await f.store.stop();
  const again = f.reopen();
  assert.equal(again.nextBadge('T'), 3);
  again.setBadge('T', 0);
  assert.equal(again.nextBadge('T'), 1);
  assert.equal(again.nextBadge('nobody'), undefined);
  assert.equal(again.setBadge('T', -1), false);
});

test('writes are coalesced: a burst becomes one write after the delay', (t) => {
  const f = fixture(t);
  for (let i = 0; i < 50; i++) f.store.register({ token: `t${i}`, platform: 'android', zmUser: `user${i % 5}` });
  assert.equal(existsSync(f.path), false, 'nothing written before the delay');
  f.clock.advance(199);
  assert.equal(existsSync(f.path), false);
  f.clock.advance(1);
  assert.equal(fileTokens(f.path).length, 50);
});

test('stop() writes a pending registration at once (never lost on a clean stop)', async (t) => {
  const f = fixture(t);
  f.store.register({ token: 'late', platform: 'android' });
  await f.store.stop();
  assert.deepEqual(fileTokens(f.path), ['late']);
  // A change after stop is written immediately too.
  f.store.register({ token: 'later', platform: 'ios' });
  assert.deepEqual(fileTokens(f.path), ['late', 'later']);
});

test('removal is final: later counter, badge and last-sent updates do not resurrect it, across reload', async (t) => {
  const f = fixture(t);
  f.store.register({ token: 'dead', platform: 'android', monlist: '1', intlist: '0' });
  f.store.register({ token: 'alive', platform: 'android' });
  f.clock.advance(200);
  assert.equal(f.store.remove('dead', 'FCM: UNREGISTERED'), true);
  assert.equal(f.store.tryConsume('dead'), false);
  assert.equal(f.store.recordSent('dead', 1, 5), false);
  assert.equal(f.store.setBadge('dead', 3), false);
  assert.equal(f.store.nextBadge('dead'), undefined);
  assert.equal(f.store.setFilter('dead', '', ''), false);
  await f.store.stop();
  assert.deepEqual(fileTokens(f.path), ['alive']);
  const again = f.reopen();
  assert.equal(again.get('dead'), undefined);
  assert.equal(f.logs.grep(/removed push token …dead|removed push token …/).length, 1);
  // The device registering again is a new registration.
  again.register({ token: 'dead', platform: 'android' });
  assert.equal(again.get('dead')?.monlist, '');
});

test('the monthly quota allows 8000 pushes per token and resets when the month changes', (t) => {
  const f = fixture(t, { monthlyLimit: 3 });
  f.store.register({ token: 'T', platform: 'android' });
  const march = new Date(2026, 2, 20).getTime();
  assert.deepEqual([1, 2, 3, 4].map(() => f.store.tryConsume('T', march)), [true, true, true, false]);
  assert.deepEqual(f.store.get('T')?.invocations, { count: 3, at: 2 });
  const april = new Date(2026, 3, 1, 0, 0, 1).getTime();
  assert.equal(f.store.tryConsume('T', april), true);
  assert.deepEqual(f.store.get('T')?.invocations, { count: 1, at: 3 });
  assert.equal(MONTHLY_PUSH_LIMIT, 8000);
});

test('reaching the cap is logged once per token, not at every alarm', (t) => {
  const f = fixture(t, { monthlyLimit: 1 });
  f.store.register({ token: 'capped-token-123', platform: 'android' });
  const now = f.clock.now();
  f.store.tryConsume('capped-token-123', now);
  for (let i = 0; i < 5; i++) assert.equal(f.store.tryConsume('capped-token-123', now), false);
  assert.equal(f.logs.grep(/reached the monthly limit of 1 pushes/).length, 1);
});

test('the default quota is exactly 8000 in a month, counted from the file', (t) => {
  const f = fixture(t, { content: JSON.stringify({ tokens: { T: { platform: 'android', invocations: { count: '7999', at: '2' } } } }) });
  const now = f.clock.now();
  assert.equal(f.store.tryConsume('T', now), true);
  assert.equal(f.store.tryConsume('T', now), false);
});

test('recordSent persists the last push time per monitor', async (t) => {
  const f = fixture(t);
  f.store.register({ token: 'T', platform: 'android' });
  const now = f.clock.now();
  f.store.recordSent('T', 2, now - 1_000);
  f.store.recordSent('T', 5, now);
  await f.store.stop();
  const again = f.reopen();
  assert.equal(again.lastSent('T', 2), now - 1_000);
  assert.equal(again.lastSent('T', 5), now);
  assert.equal(again.lastSent('T', 9), undefined);
});

test('old line format is migrated to JSON and the old file kept as .migrated', (t) => {
  const old = 'tok:with:colons:1,2:0,120:android:enabled\nios-token:3:0:ios:disabled\n';
  const f = fixture(t, { content: old });
  assert.equal(f.store.size, 2);
  assert.equal(readFileSync(`${f.path}.migrated`, 'utf8'), old);
  assert.deepEqual(fileTokens(f.path), ['tok:with:colons', 'ios-token']);
  assert.equal(f.store.get('ios-token')?.pushstate, 'disabled');
  assert.equal(f.logs.grep(/migrated 2 tokens/).length, 1);
});

test('lenient load: a malformed entry is logged and skipped, the others survive', (t) => {
  const f = fixture(t, { content: '{"tokens":{"a":{"platform":"android"},"b":42,"c":{"platform":"ios","invocations":{"count":"9","at":"2"}}}}' });
  assert.deepEqual(f.store.all().map((r) => r.token), ['a', 'c']);
  assert.equal(f.store.get('c')?.invocations.count, 9);
  assert.equal(f.logs.grep(/entry is not an object; skipped/).length, 1);
});

test('a corrupt file is set aside with an error log, the store starts empty and the evidence is kept', async (t) => {
  const garbage = '{"tokens":{"half-written';
  const f = fixture(t, { content: garbage });
  assert.equal(f.store.size, 0);
  const aside = readdirSync(join(f.dir, 'push')).filter((n) => n.startsWith('tokens.txt.corrupt-'));
  assert.equal(aside.length, 1);
  assert.equal(readFileSync(join(f.dir, 'push', aside[0]!), 'utf8'), garbage);
  const errors = f.logs.lines.filter((l) => l.level === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /unreadable.*kept as .*corrupt-/);
  f.store.register({ token: 'fresh', platform: 'android' });
  await f.store.stop();
  assert.deepEqual(fileTokens(f.path), ['fresh']);
  assert.equal(readFileSync(join(f.dir, 'push', aside[0]!), 'utf8'), garbage);
});

test('a failed write (target is a directory) is logged once and retried; nothing is lost', (t) => {
  const f = fixture(t);
  mkdirSync(f.path, { recursive: true }); // rename over a directory fails
  f.store.register({ token: 'a', platform: 'android' });
  assert.doesNotThrow(() => f.clock.advance(200));
  f.clock.advance(5000);
  assert.equal(f.logs.grep(/cannot write token file/).length, 1);
  rmSync(f.path, { recursive: true });
  f.clock.advance(5000);
  assert.deepEqual(fileTokens(f.path), ['a']);
  assert.equal(f.logs.grep(/written again/).length, 1);
});

test('a missing file is fine: the store starts empty and creates the file (and directory) on first write', (t) => {
  const f = fixture(t);
  assert.equal(f.store.size, 0);
  f.store.register({ token: 'x', platform: 'android' });
  f.store.flush();
  assert.deepEqual(fileTokens(f.path), ['x']);
});

test('refused registrations: empty or oversized tokens, a full store; profiles are capped at 128 characters', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-tokens-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logs = memoryLogger();
  const store = new TokenStore({ path: join(dir, 'tokens.txt'), log: logs.log, clock: testClock(), maxTokens: 2 });
  assert.equal(store.register({ token: '  ', platform: 'android' }), undefined);
  assert.equal(store.register({ token: 'x'.repeat(4097), platform: 'android' }), undefined);
  assert.ok(store.register({ token: 'one', platform: 'android', profile: 'p'.repeat(300) }));
  assert.equal(store.get('one')?.profile?.length, 128);
  assert.ok(store.register({ token: 'two', platform: 'android' }));
  assert.equal(store.register({ token: 'three', platform: 'android' }), undefined);
  assert.ok(store.register({ token: 'two', platform: 'ios' }), 'a known token may always re-register');
  assert.equal(store.size, 2);
  assert.equal(logs.grep(/refused/).length, 3);
});

test('last-sent times older than 30 days are dropped at load', (t) => {
  const now = new Date(2026, 2, 15, 12, 0, 0).getTime();
  const f = fixture(t, { content: JSON.stringify({ tokens: { T: { platform: 'android', last_sent: { '1': now - 31 * 86_400_000, '2': now - 86_400_000 } } } }) });
  assert.deepEqual(f.store.get('T')?.lastSent, { '2': now - 86_400_000 });
});

test('full tokens never reach the log', (t) => {
  const token = 'VERYSECRETPREFIX-abcdefghijklmnopqrstuvwxyz';
  const f = fixture(t, { content: `{"tokens":{"${token}":{"invocations":"bad"}}}` });
  f.store.register({ token, platform: 'android' });
  f.store.remove(token, 'test');
  assert.ok(f.logs.lines.length >= 3);
  assert.ok(f.logs.lines.every((l) => !l.message.includes('VERYSECRETPREFIX')));
});

// ---------------------------------------------------------------------------------------------
// Per-user device quota

test('the per-user quota: the 21st new token of one user is refused with reason quota, nothing is stored for it', (t) => {
  const f = fixture(t);
  assert.equal(DEFAULT_MAX_DEVICES_PER_USER, 20);
  for (let i = 0; i < 20; i++) assert.equal(f.store.tryRegister({ token: `alice-${i}`, platform: 'android', zmUser: 'alice' }).ok, true);
  const refused = f.store.tryRegister({ token: 'alice-20', platform: 'android', zmUser: 'alice' });
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.reason, 'quota');
  assert.match(!refused.ok ? refused.detail : '', /TOKENQUOTA.*user "alice" already has 20 devices/);
  assert.equal(f.store.get('alice-20'), undefined);
  assert.equal(f.store.devicesOf('alice'), 20);
  // tryRegister leaves logging to the caller, register() logs the refusal once
  assert.equal(f.logs.grep(/refused/).length, 0);
  assert.equal(f.store.register({ token: 'alice-21', platform: 'android', zmUser: 'alice' }), undefined);
  assert.equal(f.logs.grep(/refused \(TOKENQUOTA\)/).length, 1);
});

test('re-registering a token the same user already holds is never refused by the quota', (t) => {
  const f = fixture(t, { maxDevicesPerUser: 2 });
  f.store.register({ token: 'a1', platform: 'android', zmUser: 'alice' });
  f.store.register({ token: 'a2', platform: 'ios', zmUser: 'alice' });
  for (let i = 0; i < 5; i++) {
    const again = f.store.tryRegister({ token: 'a1', platform: 'android', zmUser: 'alice', state: i % 2 === 0 ? 'disabled' : 'enabled' });
    assert.equal(again.ok && again.created, false);
  }
  // a registration without a user (auth switched off) keeps the stored user, so is a re-registration too
  assert.equal(f.store.tryRegister({ token: 'a2', platform: 'ios' }).ok, true);
  assert.equal(f.store.get('a2')?.zmUser, 'alice');
  assert.equal(f.store.tryRegister({ token: 'a3', platform: 'ios', zmUser: 'alice' }).ok, false);
});

test('one user at quota blocks nobody else, and nobody is evicted', (t) => {
  const f = fixture(t, { maxDevicesPerUser: 3 });
  for (let i = 0; i < 5; i++) f.store.register({ token: `m-${i}`, platform: 'android', zmUser: 'mallory' });
  assert.equal(f.store.devicesOf('mallory'), 3);
  assert.equal(f.store.tryRegister({ token: 'b-0', platform: 'ios', zmUser: 'bob' }).ok, true);
  assert.deepEqual(f.store.all().map((r) => r.token), ['m-0', 'm-1', 'm-2', 'b-0']);
});

test('tokens without a ZoneMinder user share one bucket with the same limit', (t) => {
  const f = fixture(t, { maxDevicesPerUser: 2 });
  f.store.register({ token: 'anon-1', platform: 'android' });
  f.store.register({ token: 'anon-2', platform: 'android' });
  const third = f.store.tryRegister({ token: 'anon-3', platform: 'android' });
  assert.equal(!third.ok && third.reason, 'quota');
  assert.match(!third.ok ? third.detail : '', /tokens without a ZoneMinder user/);
  assert.equal(f.store.devicesOf(undefined), 2);
  assert.equal(f.store.tryRegister({ token: 'carol-1', platform: 'android', zmUser: 'carol' }).ok, true);
});

test('a token moving to another user counts against the new user, and frees its place with the old one', (t) => {
  const f = fixture(t, { maxDevicesPerUser: 1 });
  f.store.register({ token: 'classic', platform: 'android' }); // from a classic file: no user
  f.store.register({ token: 'dave-phone', platform: 'android', zmUser: 'dave' });
  const moved = f.store.tryRegister({ token: 'classic', platform: 'android', zmUser: 'dave' });
  assert.equal(!moved.ok && moved.reason, 'quota', 'dave already holds his one device');
  assert.equal(f.store.get('classic')?.zmUser, undefined, 'the refused move changed nothing');
  assert.equal(f.store.tryRegister({ token: 'classic', platform: 'android', zmUser: 'erin' }).ok, true);
  assert.equal(f.store.devicesOf('erin'), 1);
  assert.equal(f.store.devicesOf(undefined), 0);
  assert.equal(f.store.tryRegister({ token: 'anon', platform: 'ios' }).ok, true, 'the no-user place is free again');
  f.store.remove('classic', 'test');
  assert.equal(f.store.devicesOf('erin'), 0);
});

test('a full store refuses new tokens with reason full, before touching anyone; the quota is checked first', (t) => {
  const f = fixture(t, { maxTokens: 3, maxDevicesPerUser: 2 });
  f.store.register({ token: 'a1', platform: 'android', zmUser: 'a' });
  f.store.register({ token: 'a2', platform: 'android', zmUser: 'a' });
  f.store.register({ token: 'b1', platform: 'android', zmUser: 'b' });
  const full = f.store.tryRegister({ token: 'c1', platform: 'android', zmUser: 'c' });
  assert.equal(!full.ok && full.reason, 'full');
  assert.match(!full.ok ? full.detail : '', /TOKENSTOREFULL/);
  const quota = f.store.tryRegister({ token: 'a3', platform: 'android', zmUser: 'a' });
  assert.equal(!quota.ok && quota.reason, 'quota');
  assert.equal(f.store.tryRegister({ token: 'b1', platform: 'ios', zmUser: 'b' }).ok, true, 'a known token still re-registers');
  assert.equal(f.store.size, 3);
});

test('the registration time is stored, refreshed on every registration, and read back', async (t) => {
  const f = fixture(t);
  f.store.register({ token: 'T', platform: 'android', zmUser: 'u' });
  const first = f.clock.now();
  assert.equal(f.store.get('T')?.registeredAt, first);
  f.clock.advance(5_000);
  f.store.register({ token: 'T', platform: 'android' });
  assert.equal(f.store.get('T')?.registeredAt, first + 5_000);
  await f.store.stop();
  assert.equal(f.reopen().get('T')?.registeredAt, first + 5_000);
});

function fileWith(entries: Record<string, { user?: string; at?: number }>): string {
  const tokens: Record<string, unknown> = {};
  for (const [token, { user, at }] of Object.entries(entries)) {
    tokens[token] = { platform: 'android', ...(user === undefined ? {} : { zm_user: user }), ...(at === undefined ? {} : { registered_at: at }) };
  }
  return JSON.stringify({ tokens });
}

test('a file over quota loads with the newest registrations per user, logs one line, and is rewritten without the rest', async (t) => {
  const entries: Record<string, { user?: string; at?: number }> = {};
  // alice: 5 devices with times, out of order in the file; bob: 2 (under quota); 4 classic entries without user or time
  for (const [i, at] of [[0, 500], [1, 100], [2, 400], [3, 200], [4, 300]] as const) entries[`alice-${i}`] = { user: 'alice', at };
  entries['bob-0'] = { user: 'bob', at: 1 };
  entries['bob-1'] = { user: 'bob' };
  for (let i = 0; i < 4; i++) entries[`classic-${i}`] = {};
  const f = fixture(t, { maxDevicesPerUser: 3, content: fileWith(entries) });
  assert.deepEqual(
    f.store.all().map((r) => r.token),
    ['alice-0', 'alice-2', 'alice-4', 'bob-0', 'bob-1', 'classic-1', 'classic-2', 'classic-3'],
  );
  const lines = f.logs.grep(/dropped/);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!.message, /3 push tokens dropped, 2 users were over fcm\.max_devices_per_user \(3\)/);
  f.clock.advance(200);
  assert.deepEqual(Object.keys((JSON.parse(readFileSync(f.path, 'utf8')) as { tokens: object }).tokens).length, 8);
  assert.equal(f.reopen().size, 8);
});

test('trimToQuota: entries without a time are older than any with one; among them the later in the file is newer', () => {
  const parsed = parseTokenFile(fileWith({ old1: { user: 'u' }, old2: { user: 'u' }, dated: { user: 'u', at: 1 }, old3: { user: 'u' } }), 0);
  const { kept, dropped, users } = trimToQuota(parsed.records, 2);
  assert.deepEqual(kept.map((r: TokenRecord) => r.token), ['dated', 'old3']);
  assert.deepEqual([dropped, users], [2, 1]);
  assert.deepEqual(trimToQuota(parsed.records, 4).dropped, 0);
});

test('leftover temporary files of an interrupted write are removed at load, also for a file name with spaces', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-tokens-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'my tokens.txt');
  const leftover = '.my tokens.txt.4242.0a1b2c3d.tmp';
  const foreign = ['.my tokens.txt.backup', '.other.txt.4242.0a1b2c3d.tmp', 'my tokens.txt.4242.0a1b2c3d.tmp'];
  for (const name of [leftover, ...foreign]) writeFileSync(join(dir, name), '{');
  new TokenStore({ path, log: memoryLogger().log, clock: testClock(Date.now()) }).load();
  assert.deepEqual(readdirSync(dir).sort(), [...foreign].sort());
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MONTHLY_PUSH_LIMIT, TokenStore, tokenFilter } from '../../../src/tokens/token-store.js';
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

function fixture(t: { after(fn: () => void): void }, options: { content?: string; monthlyLimit?: number } = {}): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-tokens-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'push', 'tokens.txt');
  if (options.content !== undefined) {
    mkdirSync(join(dir, 'push'), { recursive: true });
    writeFileSync(path, options.content);
  }
  const clock = testClock(new Date(2026, 2, 15, 12, 0, 0).getTime()); // mid-March, local time
  const logs = memoryLogger();
  const make = () => new TokenStore({ path, log: logs.log, clock, writeDelayMs: 200, ...(options.monthlyLimit === undefined ? {} : { monthlyLimit: options.monthlyLimit }) });
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
  for (let i = 0; i < 50; i++) f.store.register({ token: `t${i}`, platform: 'android' });
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

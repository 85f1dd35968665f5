import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHookOutput, resultCode, type ProcessEnd } from '../../../src/notify/hooks/hook-output.js';
import { hookEnvironment, signalNumber } from '../../../src/notify/hooks/hook-runner.js';
import { HookLimiter } from '../../../src/notify/hooks/hook-limiter.js';
import { clampDescription, mergeDescription, withDescription, MAX_DESCRIPTION_CHARS } from '../../../src/notify/hooks/event-notes.js';
import { eventFolder } from '../../../src/notify/hooks/event-path.js';

const exited = (exitCode: number): ProcessEnd => ({ exitCode, signal: null, timedOut: false, spawnError: null });

test('text--SPLIT--json splits into the trimmed text and the parsed JSON', () => {
  const out = parseHookOutput('[a] detected:person:97% --SPLIT--{"labels":["person"],"frame_id":"alarm"}\n');
  assert.equal(out.text, '[a] detected:person:97%');
  assert.deepEqual(out.json, { labels: ['person'], frame_id: 'alarm' });
  assert.equal(out.jsonText, '{"labels":["person"],"frame_id":"alarm"}');
  assert.equal(out.jsonError, null);
  assert.deepEqual(parseHookOutput('just text\n'), { text: 'just text', jsonText: '[]', json: [], jsonError: null });
});

test('invalid JSON after --SPLIT-- gives [] and an error, and the hook counts as failed (result 1)', () => {
  const out = parseHookOutput('detected:car--SPLIT--{"labels": [');
  assert.deepEqual(out.json, []);
  assert.ok(out.jsonError);
  assert.equal(resultCode(exited(0), out, signalNumber), 1);
});

test('result codes: raw exit code, 1 for empty output or a timeout, 128+n for a signal, 127/126 when not startable', () => {
  const text = parseHookOutput('ok');
  const empty = parseHookOutput('  \n');
  assert.equal(resultCode(exited(0), text, signalNumber), 0);
  assert.equal(resultCode(exited(0), empty, signalNumber), 1);
  assert.equal(resultCode(exited(0), parseHookOutput('--SPLIT--[]'), signalNumber), 1, 'JSON but no text is empty');
  assert.equal(resultCode(exited(3), text, signalNumber), 3);
  assert.equal(resultCode({ exitCode: null, signal: 'SIGTERM', timedOut: true, spawnError: null }, empty, signalNumber), 1);
  assert.equal(resultCode({ exitCode: null, signal: 'SIGKILL', timedOut: false, spawnError: null }, empty, signalNumber), 137);
  assert.equal(resultCode({ exitCode: null, signal: null, timedOut: false, spawnError: 'ENOENT' }, empty, signalNumber), 127);
  assert.equal(resultCode({ exitCode: null, signal: null, timedOut: false, spawnError: 'EACCES' }, empty, signalNumber), 126);
});

test('the limiter runs at most N, queues up to M, refuses the rest, and hands slots over in order', async () => {
  const limiter = new HookLimiter(2, 1);
  const a = await limiter.acquire()!;
  const b = await limiter.acquire()!;
  const order: string[] = [];
  const c = limiter.acquire()!.then((release) => {
    order.push('c');
    return release;
  });
  assert.equal(limiter.acquire(), null, 'queue full');
  assert.deepEqual(limiter.stats, { running: 2, queued: 1, peakRunning: 2, refused: 1 });
  a();
  a(); // a second release of the same slot changes nothing
  const releaseC = await c;
  assert.deepEqual(order, ['c']);
  assert.equal(limiter.stats.running, 2);
  b();
  releaseC();
  assert.equal(limiter.stats.running, 0);
  const unlimited = new HookLimiter(0, 0);
  await Promise.all(Array.from({ length: 50 }, () => unlimited.acquire()!));
  assert.equal(unlimited.stats.running, 50);
});

test('closing the limiter fails the waiters', async () => {
  const limiter = new HookLimiter(1, 5);
  await limiter.acquire()!;
  const waiting = limiter.acquire()!;
  limiter.close(new Error('stopping'));
  await assert.rejects(waiting, /stopping/);
});

test('descriptions: once into Notes and into the end cause (classic defect #13), clamped in length', () => {
  assert.equal(withDescription('Motion: zone1', '[a] detected:person'), '[a] detected:person Motion: zone1');
  assert.equal(withDescription('[a] detected:person Motion: zone1', '[a] detected:person'), '[a] detected:person Motion: zone1');
  assert.equal(mergeDescription('[a] detected:person Motion: zone1', '[a] detected:person Motion: zone1'), '[a] detected:person Motion: zone1');
  assert.equal(mergeDescription('[a] detected:person', '[a] detected:person Motion: zone1'), '[a] detected:person Motion: zone1');
  assert.equal(mergeDescription('[a] detected:person Motion: zone1 more', 'Motion: zone1'), '[a] detected:person Motion: zone1 more');
  assert.equal(mergeDescription('[a] detected:car', 'Motion: zone1'), '[a] detected:car Motion: zone1');
  const long = clampDescription('x'.repeat(5000));
  assert.equal([...long].length, MAX_DESCRIPTION_CHARS);
  assert.ok(long.endsWith('…'));
});

test('event folders follow ZoneMinder\'s Medium, Shallow and Deep schemes', () => {
  const base = { eventId: 4242n, monitorId: 3, start: '2026-11-25 07:08:09', storagePath: '/data/zm/events/' };
  assert.equal(eventFolder({ ...base, scheme: 'Medium' }, '/unused'), '/data/zm/events/3/2026-11-25/4242');
  assert.equal(eventFolder({ ...base, scheme: null }, '/unused'), '/data/zm/events/3/2026-11-25/4242');
  assert.equal(eventFolder({ ...base, scheme: 'Shallow' }, '/unused'), '/data/zm/events/3/4242');
  assert.equal(eventFolder({ ...base, scheme: 'Deep' }, '/unused'), '/data/zm/events/3/26/11/25/07/08/09');
  assert.equal(eventFolder({ ...base, scheme: 'Medium', storagePath: null }, '/var/cache/zoneminder/events'), '/var/cache/zoneminder/events/3/2026-11-25/4242');
  assert.equal(eventFolder({ ...base, scheme: 'Medium', start: null }, '/x'), null);
});

test('hooks do not inherit zmes settings or the Supervisor token from the environment', () => {
  const env = hookEnvironment({ PATH: '/usr/bin', ZMES_DATABASE_PASSWORD: 'secret', SUPERVISOR_TOKEN: 't', TZ: 'Europe/Berlin' });
  assert.deepEqual(env, { PATH: '/usr/bin', TZ: 'Europe/Berlin' });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FcmSender, createFcmSender, selectFcmMode, type PushResult } from '../../../src/push/fcm-sender.js';
import type { PushOutcome, PushStatus } from '../../../src/push/fcm-errors.js';
import type { PushRequest } from '../../../src/push/fcm-payload.js';
import type { PushTransport } from '../../../src/push/push-transport.js';
import { loadConfig } from '../../../src/config/load.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { makePayloadOptions, makeRequests, settle, testClock } from '../../helpers/push-fixtures.js';

/** A transport answering from a script per token; records each delivery call. */
class ScriptedTransport implements PushTransport {
  readonly mode = 'proxy' as const;
  readonly calls: string[][] = [];
  stopped = false;
  constructor(private readonly script: Map<string, PushStatus[]>) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {
    this.stopped = true;
  }
  describe(): string {
    return 'scripted';
  }
  async deliver(requests: readonly PushRequest[], _payload: unknown, onOutcome: (i: number, o: PushOutcome) => void): Promise<void> {
    this.calls.push(requests.map((r) => r.target.token));
    await Promise.resolve();
    requests.forEach((r, i) => {
      const status = this.script.get(r.target.token)?.shift() ?? 'ok';
      onOutcome(i, status === 'fatal' ? { status, detail: 'HTTP 401', key: 'proxy-401' } : { status, detail: status === 'ok' ? 'sent' : `scripted ${status}` });
    });
  }
}

function setup(script: Record<string, PushStatus[]>) {
  const clock = testClock();
  const logs = memoryLogger();
  const transport = new ScriptedTransport(new Map(Object.entries(script)));
  const sender = new FcmSender({
    transport,
    payload: makePayloadOptions(),
    log: logs.log,
    clock,
    random: () => 0.5, // no jitter: delays are exactly 1 s, 2 s, 4 s
    retry: { attempts: 4, backoff: { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.3 } },
  });
  return { clock, logs, transport, sender };
}

test('ok and invalid devices are reported at once; a transient one is retried alone with backoff', async () => {
  const { clock, transport, sender } = setup({ b: ['transient', 'transient', 'ok'], c: ['invalid-token'] });
  const seen: PushResult[] = [];
  const done = sender.send(makeRequests(['a', 'b', 'c']), (r) => seen.push(r));
  await settle();
  assert.deepEqual(seen.map((r) => `${r.token}:${r.status}`), ['a:ok', 'c:invalid-token']);

  clock.advance(999);
  await settle();
  assert.equal(transport.calls.length, 1, 'no retry before the first backoff delay');
  clock.advance(1 + 10); // 1 s backoff, then the 10 ms gathering window
  await settle();
  assert.deepEqual(transport.calls[1], ['b']);
  clock.advance(2000 + 10);
  await settle();
  assert.deepEqual(transport.calls[2], ['b']);

  const results = await done;
  assert.deepEqual(results.map((r) => `${r.token}:${r.status}:${r.attempts}`), ['a:ok:1', 'b:ok:3', 'c:invalid-token:1']);
});

test('a device that keeps failing is given up after the bounded attempts and logged as a warning', async () => {
  const { clock, logs, sender } = setup({ d: ['transient', 'transient', 'transient', 'transient', 'ok'] });
  const done = sender.send(makeRequests(['d']));
  for (let i = 0; i < 6; i++) {
    clock.advance(10_000);
    await settle();
  }
  const [result] = await done;
  assert.equal(result?.status, 'transient');
  assert.equal(result?.attempts, 4);
  assert.equal(logs.grep(/1 of 1 devices not reached after 4 attempts/).length, 1);
});

test('devices that failed together are retried together in one delivery', async () => {
  const { clock, transport, sender } = setup({ x: ['transient', 'ok'], y: ['transient', 'ok'], z: ['transient', 'ok'] });
  const done = sender.send(makeRequests(['x', 'y', 'z']));
  await settle();
  clock.advance(1010);
  await settle();
  assert.deepEqual(transport.calls, [['x', 'y', 'z'], ['x', 'y', 'z']]);
  assert.ok((await done).every((r) => r.status === 'ok'));
});

test('a fatal reason is logged once as an error, repeats only at debug level', async () => {
  const { logs, sender } = setup({ a: ['fatal'], b: ['fatal'] });
  await sender.send(makeRequests(['a', 'b']));
  await sender.send(makeRequests(['a']));
  assert.equal(logs.lines.filter((l) => l.level === 'error').length, 1);
  assert.match(logs.lines.find((l) => l.level === 'error')!.message, /push failed: HTTP 401/);
});

test('stop() cancels pending retries, reports them as transient and stops the transport', async () => {
  const { transport, sender } = setup({ b: ['transient', 'ok'] });
  const done = sender.send(makeRequests(['a', 'b']));
  await settle();
  await sender.stop();
  const results = await done;
  assert.deepEqual(results.map((r) => r.status), ['ok', 'transient']);
  assert.match(results[1]!.detail, /stopping/);
  assert.equal(transport.stopped, true);
  const after = await sender.send(makeRequests(['c']));
  assert.equal(after[0]?.status, 'transient');
});

test('a throwing result handler is contained', async () => {
  const { logs, sender } = setup({});
  const results = await sender.send(makeRequests(['a']), () => {
    throw new Error('handler bug');
  });
  assert.equal(results[0]?.status, 'ok');
  assert.equal(logs.grep(/handler bug/).length, 1);
});

test('full tokens never appear in the log', async () => {
  const token = 'SECRET-TOKEN-PREFIX-0123456789abcdef';
  const { clock, logs, sender } = setup({ [token]: ['transient', 'fatal'] });
  const done = sender.send(makeRequests([token]));
  await settle();
  clock.advance(1010);
  await settle();
  await done;
  assert.ok(logs.lines.length > 0);
  assert.ok(logs.lines.every((l) => !l.message.includes('SECRET-TOKEN-PREFIX')));
});

test('mode selection: a service-account file means direct, else the proxy needs URL and key', () => {
  const fcm = (overrides: Record<string, unknown>) => loadConfig({ env: {}, overrides }).config.fcm;
  assert.deepEqual(selectFcmMode(fcm({ 'fcm.fcm_service_account_file': '/config/sa.json', 'fcm.fcm_v1_url': 'https://p.example/send', 'fcm.fcm_v1_key': 'k' })), {
    kind: 'direct',
    serviceAccountFile: '/config/sa.json',
  });
  assert.deepEqual(selectFcmMode(fcm({ 'fcm.fcm_v1_url': 'https://p.example/send', 'fcm.fcm_v1_key': 'k' })), { kind: 'proxy', url: 'https://p.example/send', key: 'k' });
  const noKey = selectFcmMode(fcm({ 'fcm.fcm_v1_url': 'https://p.example/send' }));
  assert.equal(noKey.kind, 'disabled');
  assert.match(noKey.kind === 'disabled' ? noKey.reason : '', /fcm\.fcm_v1_key/);
  assert.deepEqual(selectFcmMode(fcm({ 'fcm.enable': 'no' })), { kind: 'disabled', reason: 'fcm.enable is off' });
});

test('createFcmSender warns once and returns nothing when no delivery is configured', async () => {
  const logs = memoryLogger();
  const sender = await createFcmSender({ fcm: loadConfig({ env: {} }).config.fcm, payload: makePayloadOptions(), log: logs.log });
  assert.equal(sender, undefined);
  const warnings = logs.lines.filter((l) => l.level === 'warn');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /FCM push is disabled: no push delivery configured/);
});

test('createFcmSender builds a proxy sender without touching the network or logging the key', async () => {
  const logs = memoryLogger();
  const sender = await createFcmSender({
    fcm: loadConfig({ env: {}, overrides: { 'fcm.fcm_v1_url': 'https://p.example/send?x=1', 'fcm.fcm_v1_key': 'super-secret-key' } }).config.fcm,
    payload: makePayloadOptions(),
    log: logs.log,
  });
  assert.equal(sender?.mode, 'proxy');
  assert.ok(logs.lines.every((l) => !l.message.includes('super-secret-key')));
});

test('a transport that throws or forgets a device still settles every result', async () => {
  const logs = memoryLogger();
  const broken: PushTransport = {
    mode: 'proxy',
    start: async () => undefined,
    stop: async () => undefined,
    describe: () => 'broken',
    async deliver(requests, _payload, onOutcome) {
      onOutcome(0, { status: 'ok', detail: 'sent' });
      if (requests.length > 2) throw new Error('transport bug');
    },
  };
  const sender = new FcmSender({ transport: broken, payload: makePayloadOptions(), log: logs.log });
  const two = await sender.send(makeRequests(['a', 'b']));
  assert.deepEqual(two.map((r) => r.status), ['ok', 'fatal']);
  const three = await sender.send(makeRequests(['a', 'b', 'c']));
  assert.deepEqual(three.map((r) => r.status), ['ok', 'fatal', 'fatal']);
  assert.equal(logs.grep(/transport bug/).length, 1);
});

/**
 * Direct mode end to end through firebase-admin's own code, including the production HTTP/2
 * sendEach() path, against a fake FCM v1 endpoint with TLS verification on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FcmSender, createFcmSender, type PushResult } from '../../../src/push/fcm-sender.js';
import { DirectTransport } from '../../../src/push/fcm-direct.js';
import { buildPushContent } from '../../../src/push/fcm-payload.js';
import { dispatchPush } from '../../../src/push/push-dispatch.js';
import { TokenStore } from '../../../src/tokens/token-store.js';
import { tokenStoreRegistry } from '../../../src/tokens/token-registry.js';
import { isZmesError } from '../../../src/errors.js';
import { loadConfig } from '../../../src/config/load.js';
import { connectFakeFcm, startFakeFcm, type FakeFcm, type FakeFcmApp } from '../../helpers/fake-fcm.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { makeNotification, makePayloadOptions, makeRequests, makeTarget } from '../../helpers/push-fixtures.js';

const FAST_RETRY = { attempts: 3, backoff: { initialMs: 30, maxMs: 200, factor: 2, jitter: 0.2 } };

let fake: FakeFcm;
let routed: FakeFcmApp;
let dir: string;

before(async () => {
  fake = await startFakeFcm({
    unregistered: ['gone-token-0001'],
    invalid: ['not-a-token-0002'],
    transient: new Map([
      ['flaky-500-0003', { status: 500, times: 1 }],
      ['flaky-503-0004', { status: 503, times: 1 }],
      ['down-0005', { status: 500, times: Infinity }],
    ]),
  });
  routed = connectFakeFcm(fake);
  dir = mkdtempSync(join(tmpdir(), 'zmes-fcm-direct-'));
});

after(async () => {
  await routed.dispose();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

function directSender(log = memoryLogger().log, payload = makePayloadOptions()): FcmSender {
  return new FcmSender({ transport: new DirectTransport({ app: routed.app }), payload, log, retry: FAST_RETRY });
}

test('sendEach over HTTP/2: live ok, UNREGISTERED and invalid-argument tokens invalid, a 500 retried to ok', async () => {
  const sender = directSender();
  await sender.start();
  const before = fake.requests.length;
  const results = await sender.send(makeRequests(['live-token-0000', 'gone-token-0001', 'not-a-token-0002', 'flaky-500-0003']));
  assert.deepEqual(
    results.map((r) => [r.token, r.status, r.attempts]),
    [
      ['live-token-0000', 'ok', 1],
      ['gone-token-0001', 'invalid-token', 1],
      ['not-a-token-0002', 'invalid-token', 1],
      ['flaky-500-0003', 'ok', 2],
    ],
  );
  assert.match(results[0]!.messageId ?? '', /^projects\/demo-zmes\/messages\//);
  const seen = fake.requests.slice(before);
  assert.equal(seen.length, 5, 'four first attempts and one retry');
  assert.ok(seen.every((r) => r.httpVersion === '2.0'), `HTTP versions: ${seen.map((r) => r.httpVersion).join(',')}`);
  assert.ok(seen.every((r) => r.headers['authorization'] === `Bearer ${fake.accessToken}`));
  assert.ok(seen.every((r) => r.path === '/v1/projects/demo-zmes/messages:send'));
  await sender.stop();
});

test('a 503 is retried by firebase-admin itself; a device that stays down is given up after bounded attempts without holding up the others', async () => {
  const logs = memoryLogger();
  const sender = directSender(logs.log);
  await sender.start();
  const order: string[] = [];
  const results = await sender.send(makeRequests(['flaky-503-0004', 'down-0005', 'live-token-0006']), (r) => order.push(r.token));
  assert.deepEqual(results.map((r) => [r.status, r.attempts]), [['ok', 1], ['transient', 3], ['ok', 1]]);
  assert.equal(order.at(-1), 'down-0005', 'the failing device was reported last; the others did not wait for it');
  assert.equal(logs.grep(/1 of 3 devices not reached after 3 attempts/).length, 1);
  await sender.stop();
});

test('the wire message is the FCM v1 shape the apps read (Android and iOS)', async () => {
  const payload = makePayloadOptions({ androidTtlSeconds: 60, replacePushMessages: true, includeProfile: true });
  const sender = directSender(undefined, payload);
  await sender.start();
  const content = buildPushContent(makeNotification({ picture: 'https://zm.example/zm/index.php?view=image&eid=4242&fid=snapshot' }), payload);
  const before = fake.requests.length;
  await sender.send([
    { content, target: makeTarget({ token: 'wire-android-0007', clientKind: 'zmninjang', profile: 'Home' }) },
    { content, target: makeTarget({ token: 'wire-ios-0008', platform: 'ios', badge: 7, profile: 'Home' }) },
  ]);
  const byToken = new Map(fake.requests.slice(before).map((r) => [r.token, (r.body as { message: Record<string, unknown> }).message]));
  const android = byToken.get('wire-android-0007')!;
  assert.deepEqual(android['android'], {
    priority: 'high',
    ttl: '60s',
    notification: { icon: 'ic_stat_notification', sound: 'default', tag: 'zmninjapush', channel_id: 'zmninja-ng' },
  });
  assert.deepEqual(android['notification'], {
    title: 'Front Door Alarm',
    body: 'Motion: zone1 at 02:07 PM, 05-Mar — Home',
    image: 'https://zm.example/zm/index.php?view=image&eid=4242&fid=snapshot',
  });
  const data = android['data'] as Record<string, unknown>;
  assert.deepEqual(Object.keys(data).sort(), ['cause', 'eid', 'mid', 'monitorName', 'notification_foreground', 'profile']);
  assert.ok(Object.values(data).every((v) => typeof v === 'string'));
  const ios = byToken.get('wire-ios-0008')!;
  assert.equal(ios['android'], undefined);
  assert.deepEqual(ios['apns'], {
    headers: { 'apns-priority': '10', 'apns-push-type': 'alert', 'apns-collapse-id': 'zmninjapush' },
    payload: {
      aps: {
        alert: { title: 'Front Door Alarm', body: 'Motion: zone1 at 02:07 PM, 05-Mar', subtitle: 'Home' },
        badge: 7,
        sound: 'default',
        'thread-id': 'zmninja_alarm',
        'mutable-content': 1,
      },
    },
    // firebase-admin keeps the camelCase field name here; FCM's proto3 JSON accepts both spellings.
    fcmOptions: { image: 'https://zm.example/zm/index.php?view=image&eid=4242&fid=snapshot' },
  });
  assert.equal((ios['data'] as Record<string, unknown>)['image_url_jpg'], 'https://zm.example/zm/index.php?view=image&eid=4242&fid=snapshot');
  await sender.stop();
});

test('60 KB of event Notes: the request that reaches FCM carries a message within 4096 bytes, multi-byte text intact', async (t) => {
  const payload = makePayloadOptions({ androidTtlSeconds: 3600, replacePushMessages: true, includeProfile: true, tagAlarmEventId: true });
  const sender = directSender(undefined, payload);
  await sender.start();
  const picture = 'https://zm.example/zm/index.php?view=image&eid=4242&fid=snapshot';
  const notes = [
    'Motion: zone1 ' + 'Bewegung erkannt. '.repeat(60 * 1024 / 18),
    '前门检测到移动 👨‍👩‍👧‍👦 '.repeat(3000),
  ];
  const before = fake.requests.length;
  const targets = ['android', 'ios'].flatMap((platform) =>
    notes.map((cause, i) => ({
      content: buildPushContent(makeNotification({ phase: 'end', cause, picture }), payload),
      target: makeTarget({ token: `big-${platform}-${i}-${'x'.repeat(150)}`, platform, clientKind: 'zmninjang', profile: 'Home 🏠', badge: 3 }),
    })),
  );
  const results = await sender.send(targets);
  assert.deepEqual(results.map((r) => r.status), ['ok', 'ok', 'ok', 'ok']);
  const arrived = fake.requests.slice(before);
  assert.equal(arrived.length, 4);
  t.diagnostic(`message bytes on the wire: ${arrived.map((r) => Buffer.byteLength(JSON.stringify((r.body as { message: unknown }).message))).join(', ')}`);
  for (const request of arrived) {
    const message = (request.body as { message: { data: Record<string, string>; notification: { body: string } } }).message;
    // firebase-admin sends compact JSON, so re-serializing the parsed body gives the bytes that arrived
    const size = Buffer.byteLength(JSON.stringify(message), 'utf8');
    assert.ok(size <= 4096, `${request.token?.slice(0, 12)}: message of ${size} bytes`);
    assert.ok(size > 3800, `${request.token?.slice(0, 12)}: cut further than needed (${size} bytes)`);
    const contentLength = Number(request.headers['content-length'] ?? Buffer.byteLength(JSON.stringify(request.body)));
    assert.ok(contentLength <= 4096 + '{"message":}'.length, `request body of ${contentLength} bytes`);
    assert.match(message.data['cause']!, /^End:.*…$/);
    assert.match(message.notification.body, /… ended at 02:07 PM, 05-Mar — Home 🏠$|… ended at 02:07 PM, 05-Mar$/);
    assert.ok(!/[\ud800-\udfff]/.test(message.data['cause']!.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')), 'no lone surrogate');
  }
  await sender.stop();
});

test('wrong credentials are a fatal error, logged once, and never remove a token', async () => {
  const wrong = connectFakeFcm(fake, { accessToken: 'expired' });
  const logs = memoryLogger();
  const sender = new FcmSender({ transport: new DirectTransport({ app: wrong.app }), payload: makePayloadOptions(), log: logs.log, retry: FAST_RETRY });
  await sender.start();
  const results = await sender.send(makeRequests(['a-token-0009', 'b-token-0010']));
  assert.deepEqual(results.map((r) => r.status), ['fatal', 'fatal']);
  assert.equal(logs.lines.filter((l) => l.level === 'error').length, 1);
  await sender.stop();
  await wrong.dispose();
});

test('dispatchPush: dead tokens leave the store, badges and counters advance, sends are recorded', async (t) => {
  const path = join(dir, 'dispatch', 'tokens.txt');
  const logs = memoryLogger();
  const store = new TokenStore({ path, log: logs.log });
  await store.start(new AbortController().signal);
  t.after(() => store.stop());
  store.register({ token: 'keep-token-0011', platform: 'ios', clientKind: 'zmninja', appversion: '1.8.001' });
  store.register({ token: 'gone-token-0001', platform: 'android' });
  store.setBadge('keep-token-0011', 4);
  const sender = directSender(logs.log);
  await sender.start();
  const content = buildPushContent(makeNotification(), makePayloadOptions());
  const now = Date.now();
  const results: PushResult[] = await dispatchPush({ sender, log: logs.log }, content, await tokenStoreRegistry(store).devices(), { now });
  assert.deepEqual(results.map((r) => r.status), ['ok', 'invalid-token']);
  assert.equal(store.get('gone-token-0001'), undefined);
  const kept = store.get('keep-token-0011')!;
  assert.equal(kept.badge, 5);
  assert.equal(kept.invocations.count, 1);
  assert.equal(store.lastSent('keep-token-0011', 1), now);
  const sent = fake.requests.filter((r) => r.token === 'keep-token-0011').at(-1)!;
  const aps = ((sent.body as { message: { apns: { payload: { aps: { badge: number } } } } }).message.apns.payload.aps);
  assert.equal(aps.badge, 5);
  await sender.stop();
});

test('a missing service-account file is a clear ZMES_CONFIG_INVALID error at start', async () => {
  const sender = await createFcmSender({
    fcm: loadConfig({ env: {}, overrides: { 'fcm.fcm_service_account_file': join(dir, 'nope.json') } }).config.fcm,
    payload: makePayloadOptions(),
    log: memoryLogger().log,
  });
  assert.equal(sender?.mode, 'direct');
  await assert.rejects(sender!.start(), (err: unknown) => isZmesError(err, 'ZMES_CONFIG_INVALID') && /nope\.json: cannot be read/.test(err.message));
});

test('a broken service-account file names what is wrong, never its content', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cases: [string, string, RegExp][] = [
    ['not-json.json', '{"project_id": "x", ', /is not valid JSON/],
    ['array.json', '[]', /is not a JSON object/],
    ['no-email.json', JSON.stringify({ project_id: 'p', private_key: pem }), /has no "client_email"/],
    ['no-key.json', JSON.stringify({ project_id: 'p', client_email: 'a@b' }), /has no "private_key"/],
    ['bad-key.json', JSON.stringify({ project_id: 'p', client_email: 'a@b', private_key: 'SECRETSTUFF' }), /"private_key" is not a usable PEM private key/],
  ];
  for (const [name, content, expected] of cases) {
    const file = join(dir, name);
    writeFileSync(file, content);
    const transport = new DirectTransport({ serviceAccountFile: file });
    await assert.rejects(transport.start(), (err: unknown) => {
      assert.ok(isZmesError(err, 'ZMES_CONFIG_INVALID'), name);
      assert.match(err.message, expected, name);
      assert.ok(!err.message.includes('SECRETSTUFF') && !err.message.includes('BEGIN PRIVATE KEY'), name);
      return true;
    });
  }
});

test('a valid service-account file starts direct mode for its project without any network access', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const file = join(dir, 'sa.json');
  writeFileSync(
    file,
    JSON.stringify({
      type: 'service_account',
      project_id: 'my-zmninja-build',
      client_email: 'firebase-adminsdk@my-zmninja-build.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    }),
  );
  const logs = memoryLogger();
  const sender = (await createFcmSender({
    fcm: loadConfig({ env: {}, overrides: { 'fcm.fcm_service_account_file': file } }).config.fcm,
    payload: makePayloadOptions(),
    log: logs.log,
  }))!;
  await sender.start();
  assert.equal(logs.grep(/FCM push: direct to Firebase project my-zmninja-build/).length, 1);
  await sender.stop();
  await sender.stop(); // idempotent
});

/** Proxy mode end to end over real sockets: plain HTTP and HTTPS with a verified certificate. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { createServer } from 'node:net';
import { createFcmSender, FcmSender, ProxyTransport } from '../../../src/push/fcm-sender.js';
import { loadConfig } from '../../../src/config/load.js';
import { startFakeFcmProxy } from '../../helpers/fake-fcm-proxy.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { makeNotification, makePayloadOptions, makeRequests, makeTarget } from '../../helpers/push-fixtures.js';
import { buildPushContent } from '../../../src/push/fcm-payload.js';

const KEY = 'Bearer eyJhbGciOiJIUzI1NiJ9.test-proxy-key.signature';
const FAST_RETRY = { attempts: 3, backoff: { initialMs: 20, maxMs: 100, factor: 2, jitter: 0.2 } };

function proxyConfig(url: string, key = KEY) {
  return loadConfig({ env: {}, overrides: { 'fcm.fcm_v1_url': url, 'fcm.fcm_v1_key': key } }).config.fcm;
}

test('over http://: the key is the Authorization header, replies are classified, a 503 is retried', async (t) => {
  const proxy = await startFakeFcmProxy({
    key: KEY,
    unregistered: ['gone-token-0001'],
    invalid: ['not-a-token-0002'],
    transient: new Map([['flaky-token-0003', { status: 503, times: 1 }]]),
  });
  t.after(() => proxy.close());
  const logs = memoryLogger();
  const sender = (await createFcmSender({ fcm: proxyConfig(proxy.url), payload: makePayloadOptions(), log: logs.log, retry: FAST_RETRY }))!;
  assert.equal(sender.mode, 'proxy');
  await sender.start();
  t.after(() => sender.stop());
  const results = await sender.send(makeRequests(['live-token-0000', 'gone-token-0001', 'not-a-token-0002', 'flaky-token-0003']));
  assert.deepEqual(
    results.map((r) => [r.status, r.attempts]),
    [['ok', 1], ['invalid-token', 1], ['invalid-token', 1], ['ok', 2]],
  );
  assert.match(results[0]!.messageId ?? '', /^projects\/zmninja\/messages\//);
  assert.equal(proxy.requests.length, 5);
  for (const r of proxy.requests) {
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/sendPushNotification');
    assert.equal(r.authorization, KEY);
    assert.equal(r.contentType, 'application/json');
  }
  const body = proxy.requests[0]!.body as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), ['token', 'title', 'body', 'sound', 'badge', 'log_message_id', 'data', 'android']);
  assert.equal(body['token'], 'live-token-0000');
  assert.equal(body['title'], 'Front Door Alarm');
  assert.ok(logs.lines.every((l) => !l.message.includes('test-proxy-key')), 'the key never reaches the log');
  assert.equal(logs.grep(/FCM push: through the proxy at http:\/\/127\.0\.0\.1:\d+\/sendPushNotification/).length, 1);
});

test('60 KB of event Notes: the body the proxy receives stays within 4096 bytes, cut with an ellipsis', async (t) => {
  const proxy = await startFakeFcmProxy({ key: KEY });
  t.after(() => proxy.close());
  const payload = makePayloadOptions({ includeProfile: true, androidTtlSeconds: 60, replacePushMessages: true });
  const sender = (await createFcmSender({ fcm: proxyConfig(proxy.url), payload, log: memoryLogger().log, retry: FAST_RETRY }))!;
  await sender.start();
  t.after(() => sender.stop());
  const content = buildPushContent(makeNotification({ phase: 'end', cause: 'Motion: zone1 ' + '動体検知 😀 '.repeat(6000), picture: 'https://zm.example/zm/?eid=4242' }), payload);
  const results = await sender.send([
    { content, target: makeTarget({ token: 'proxy-big-android', profile: 'Home' }) },
    { content, target: makeTarget({ token: 'proxy-big-ios', platform: 'ios', profile: 'Home' }) },
  ]);
  assert.deepEqual(results.map((r) => r.status), ['ok', 'ok']);
  assert.equal(proxy.requests.length, 2);
  for (const request of proxy.requests) {
    const size = Buffer.byteLength(JSON.stringify(request.body), 'utf8');
    assert.ok(size <= 4096, `${request.token}: ${size} bytes`);
    const body = request.body as { body: string; data: Record<string, string>; image_url?: string };
    assert.match(body.data['cause']!, /^End:Motion: zone1 動体検知.*…$/);
    assert.equal(body.image_url, 'https://zm.example/zm/?eid=4242');
    assert.equal(Buffer.from(body.body, 'utf8').toString('utf8'), body.body);
  }
});

test('over https:// with the proxy certificate verified', async (t) => {
  const proxy = await startFakeFcmProxy({ key: KEY, tls: true });
  t.after(() => proxy.close());
  const agent = new https.Agent({ keepAlive: true, ca: proxy.ca });
  t.after(() => agent.destroy());
  const sender = (await createFcmSender({ fcm: proxyConfig(proxy.url), payload: makePayloadOptions(), log: memoryLogger().log, proxy: { agent } }))!;
  await sender.start();
  t.after(() => sender.stop());
  const results = await sender.send(makeRequests(['ios-token-0004'], undefined, 'ios'));
  assert.equal(results[0]?.status, 'ok');
  assert.equal(proxy.requests[0]?.authorization, KEY);
  const body = proxy.requests[0]?.body as Record<string, unknown>;
  assert.deepEqual(body['ios'], { thread_id: 'zmninja_alarm', headers: { 'apns-priority': '10', 'apns-push-type': 'alert' } });
});

test('an untrusted proxy certificate is a fatal error, not retried', async (t) => {
  const proxy = await startFakeFcmProxy({ key: KEY, tls: true });
  t.after(() => proxy.close());
  const logs = memoryLogger();
  const sender = (await createFcmSender({ fcm: proxyConfig(proxy.url), payload: makePayloadOptions(), log: logs.log, retry: FAST_RETRY }))!;
  await sender.start();
  t.after(() => sender.stop());
  const [result] = await sender.send(makeRequests(['a-token-0005']));
  assert.equal(result?.status, 'fatal');
  assert.equal(result?.attempts, 1);
  assert.equal(proxy.requests.length, 0);
});

test('a wrong key (401) is a configuration error logged once; the token is kept', async (t) => {
  const proxy = await startFakeFcmProxy({ key: KEY });
  t.after(() => proxy.close());
  const logs = memoryLogger();
  const sender = (await createFcmSender({ fcm: proxyConfig(proxy.url, 'wrong-key-value'), payload: makePayloadOptions(), log: logs.log, retry: FAST_RETRY }))!;
  await sender.start();
  t.after(() => sender.stop());
  const first = await sender.send(makeRequests(['a-token-0006', 'b-token-0007']));
  const second = await sender.send(makeRequests(['c-token-0008']));
  assert.deepEqual([...first, ...second].map((r) => r.status), ['fatal', 'fatal', 'fatal']);
  const errors = logs.lines.filter((l) => l.level === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /HTTP 401: Invalid credentials.*check fcm\.fcm_v1_key/);
  assert.ok(logs.lines.every((l) => !l.message.includes('wrong-key-value')));
});

test('an unreachable proxy is transient and given up after the bounded attempts', async (t) => {
  // A port that was free a moment ago: connections are refused.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = server.address() as { port: number };
      server.close(() => resolve(p));
    });
  });
  const logs = memoryLogger();
  const sender = new FcmSender({
    transport: new ProxyTransport({ url: `http://127.0.0.1:${port}/send`, key: KEY, timeoutMs: 2000 }),
    payload: makePayloadOptions(),
    log: logs.log,
    retry: FAST_RETRY,
  });
  await sender.start();
  t.after(() => sender.stop());
  // The system clock's timers do not keep the process alive (a server has its sockets for that);
  // with nothing else open here, hold the event loop while the retries run.
  const keepAlive = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(keepAlive));
  const [result] = await sender.send(makeRequests(['a-token-0009']));
  assert.equal(result?.status, 'transient');
  assert.equal(result?.attempts, 3);
  assert.match(result?.detail ?? '', /ECONNREFUSED/);
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { connectFakeFcm, startFakeFcm, type FakeFcm, type FakeFcmApp } from '../../helpers/fake-fcm.js';
import { SHARED_BROKER, clearRetained, uniqueTopic, sharedBrokerSettings } from '../../helpers/mqtt-subscriber.js';
import { fetchStatus, openStream, pageToken, request } from '../../helpers/status-client.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';
import { loadConfig } from '../../../src/config/load.js';
import { CONTAINER_PATHS, INGRESS_PORT, INGRESS_PROXY_ADDRESS, mapOptions } from '../../../src/config/addon-options.js';
import { deviceId } from '../../../src/status/test-push.js';
import type { StatusSnapshot } from '../../../src/status/status-types.js';

/**
 * The status page of a running zmes on its own port: the JSON view and the event stream follow
 * ZoneMinder rows, app connections and push registrations; the test notification reaches the
 * fake FCM only from the page itself; only allowed clients get an answer; the WebSocket port
 * serves none of it.
 */
let db: ZmTestDatabase;
let sim: ZmSimulator;
let fake: FakeFcm;
let fcm: FakeFcmApp;
let server: TestServer;
let port: number;
let front: number;
let phone: TestClient;
const topic = uniqueTopic('status');
const TOKEN = 'status-page-token-0123456789abcdef';

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  sim = await ZmSimulator.create(db.pool);
  front = await sim.createMonitor({ name: 'Front Door' });
  await insertZmUser(db.execute, { username: 'owner', passwordHash: await zmPasswordHash('pw', 'mysql41') });
  fake = await startFakeFcm({ unregistered: ['dead-token-0123456789'] });
  fcm = connectFakeFcm(fake);
  server = await startTestServer(
    db.appSettings!,
    {
      ...sharedBrokerSettings(topic),
      'mqtt.ha_discovery': false,
      'customize.read_alarm_cause': true,
    },
    { firebaseApp: fcm.app },
  );
  port = server.app.statusPort!;
  phone = await connectClient(server.url);
  phone.send({ event: 'auth', data: { user: 'owner', password: 'pw', appversion: '1.8.001' } });
  assert.equal((await phone.next((f) => f['event'] === 'auth'))['status'], 'Success');
  phone.send({ event: 'push', data: { type: 'token', platform: 'android', token: TOKEN, state: 'enabled', appversion: '1.8.001' } });
  phone.send({ event: 'control', data: { type: 'version' } });
  await phone.next((f) => f['type'] === 'version');
});

after(async () => {
  await phone?.close();
  await server?.stop();
  await fcm?.dispose();
  await fake?.close();
  await sim?.idle();
  await clearRetained(SHARED_BROKER, topic);
  await db?.drop();
});

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('GET /api/status: the database, MQTT, the connected app, the registered device and the events', async () => {
  const id = await sim.startEvent(front, { zones: ['Porch'] });
  let status: StatusSnapshot | undefined;
  await until(async () => {
    status = await fetchStatus(port);
    return status.events.some((e) => e.event_id === String(id)) && status.mqtt.state === 'up' && status.database.schema !== null;
  }, 'the event, the broker and the schema in /api/status');
  const s = status!;
  for (const key of ['database', 'mqtt', 'clients', 'devices', 'events']) assert.ok(key in s, `key ${key}`);
  assert.equal(s.database.state, 'up');
  assert.match(s.database.detail, new RegExp(`/${db.name}$`));
  assert.ok(s.database.last_poll_at !== null && s.database.polls > 0);
  assert.match(s.mqtt.detail, /broker 127\.0\.0\.1:1883/);
  assert.equal(s.fcm.state, 'up');
  assert.equal(s.zoneminder_api.state, 'off');
  const event = s.events.find((e) => e.event_id === String(id))!;
  assert.deepEqual({ monitor: event.monitor_name, cause: event.cause, state: event.state }, { monitor: 'Front Door', cause: 'Motion: Porch', state: 'open' });
  assert.equal(s.monitors.find((m) => m.id === front)?.last_event?.event_id, String(id));
  const client = s.clients.find((c) => c.user === 'owner');
  assert.ok(client, 'the logged-in app is listed');
  assert.deepEqual({ app: client.app, version: client.app_version, address: client.address }, { app: 'zmNinja', version: '1.8.001', address: '127.0.0.1' });
  const device = s.devices.find((d) => d.id === deviceId(TOKEN));
  assert.ok(device, 'the registered device is listed');
  assert.equal(device.token, `…${TOKEN.slice(-10)}`);
  assert.equal(device.user, 'owner');
  assert.ok(!JSON.stringify(s).includes(TOKEN), 'the whole token never appears');
  // The alarm's push shows as the device's last push.
  await until(async () => (await fetchStatus(port)).devices.find((d) => d.id === device.id)?.last_push?.status === 'ok', 'the push result');
  await sim.endEvent(id);
  await until(async () => (await fetchStatus(port)).events.find((e) => e.event_id === String(id))?.state === 'ended', 'the end of the event');
});

test('the event stream sends a snapshot at once and another when an event starts', async () => {
  const stream = await openStream(port);
  try {
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
    await stream.next(() => true);
    const id = await sim.startEvent(front);
    const seen = await stream.next((s) => s.events.some((e) => e.event_id === String(id)));
    assert.equal(seen.events[0]!.event_id, String(id), 'newest first');
    await sim.endEvent(id);
  } finally {
    stream.close();
  }
});

test('a test notification needs the page token and no other site; it reaches FCM and shows as the last push', async () => {
  const path = `/api/devices/${deviceId(TOKEN)}/test`;
  const token = await pageToken(port);
  const before = fake.requests.length;
  assert.equal((await request(port, path, { method: 'POST' })).status, 403, 'no token');
  assert.equal((await request(port, path, { method: 'POST', headers: { 'x-zmes-csrf': 'guess' } })).status, 403, 'wrong token');
  const crossSite = await request(port, path, { method: 'POST', headers: { 'x-zmes-csrf': token, 'sec-fetch-site': 'cross-site' } });
  assert.equal(crossSite.status, 403, 'another site');
  assert.equal((await request(port, path, { method: 'GET' })).status, 404, 'GET does not send');
  assert.equal(fake.requests.length, before, 'nothing was sent for a refused request');

  const sent = await request(port, path, { method: 'POST', headers: { 'x-zmes-csrf': token, 'sec-fetch-site': 'same-origin' } });
  assert.equal(sent.status, 200, sent.body);
  assert.equal((JSON.parse(sent.body) as { result: string }).result, 'sent');
  const push = fake.requests.slice(before).find((r) => r.token === TOKEN);
  assert.ok(push, 'the fake FCM got the push');
  assert.equal((push.body as { message: { notification: { title: string } } }).message.notification.title, 'zmes test notification');
  const device = (await fetchStatus(port)).devices.find((d) => d.id === deviceId(TOKEN))!;
  assert.deepEqual({ status: device.last_push?.status, test: device.last_push?.test }, { status: 'ok', test: true });

  const unknown = await request(port, '/api/devices/AAAAAAAAAAAAAAAA/test', { method: 'POST', headers: { 'x-zmes-csrf': token } });
  assert.equal(unknown.status, 404);
});

test('the page, its script and stylesheet are served with a strict content security policy', async () => {
  const page = await request(port, '/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
  assert.match(page.body, /src="status\.js"/, 'relative paths, for the ingress prefix');
  assert.equal((await request(port, '/status.js')).status, 200);
  assert.equal((await request(port, '/status.css')).status, 200);
  assert.equal((await request(port, '/nothing')).status, 404);
});

test('without an allow-list, only requests naming the server by IP address or localhost are answered', async () => {
  assert.equal((await request(port, '/api/status', { headers: { host: `localhost:${port}` } })).status, 200);
  assert.equal((await request(port, '/api/status', { headers: { host: `[::1]:${port}` } })).status, 200);
  const rebound = await request(port, '/api/status', { headers: { host: `attacker.example:${port}` } });
  assert.equal(rebound.status, 403);
  assert.doesNotMatch(rebound.body, /"database"/);
});

test('the WebSocket port serves no status page', async () => {
  const wsPort = server.app.port;
  for (const path of ['/', '/api/status', '/api/stream', '/status.js']) {
    const answer = await request(wsPort, path);
    assert.notEqual(answer.status, 200, path);
    assert.doesNotMatch(answer.body, /"database"|zmes-csrf/, path);
  }
  const post = await request(wsPort, `/api/devices/${deviceId(TOKEN)}/test`, { method: 'POST', headers: { 'x-zmes-csrf': await pageToken(port) } });
  assert.notEqual(post.status, 200);
});

test("in the add-on only the Supervisor's ingress proxy is answered, on the ingress port", async () => {
  const { overrides } = mapOptions({ zm_db_host: 'zm', zm_db_password: 'pw', fcm_mode: 'disabled', mqtt_enable: false }, CONTAINER_PATHS);
  assert.deepEqual(
    { enable: overrides['status.enable'], port: overrides['status.port'], allowed: overrides['status.allowed_clients'] },
    { enable: true, port: INGRESS_PORT, allowed: INGRESS_PROXY_ADDRESS },
  );
  // The add-on's allow-list on a loopback listener: this test's 127.0.0.1 is not the proxy.
  const addon = await startTestServer(db.appSettings!, { 'status.enable': true, 'status.port': 0, 'status.allowed_clients': overrides['status.allowed_clients'] });
  try {
    const refused = await request(addon.app.statusPort!, '/api/status');
    assert.equal(refused.status, 403);
    assert.doesNotMatch(refused.body, /"database"/);
    assert.equal((await request(addon.app.statusPort!, '/')).status, 403);
  } finally {
    await addon.stop();
  }
  const listed = await startTestServer(db.appSettings!, { 'status.enable': true, 'status.port': 0, 'status.allowed_clients': '127.0.0.1' });
  try {
    assert.equal((await request(listed.app.statusPort!, '/api/status', { headers: { host: 'zmes.example' } })).status, 200, 'a listed client, by any name');
  } finally {
    await listed.stop();
  }
});

test('outside the add-on the page is off by default, and on 127.0.0.1:8099 when turned on', async () => {
  const { config } = loadConfig({ env: {} });
  assert.deepEqual(config.status, { enable: false, port: 8099, address: '127.0.0.1', allowed_clients: '' });
  const plain = await startTestServer(db.appSettings!);
  try {
    assert.equal(plain.app.statusPort, undefined);
  } finally {
    await plain.stop();
  }
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { connectFakeFcm, startFakeFcm, type FakeFcm, type FakeFcmApp } from '../../helpers/fake-fcm.js';
import { SHARED_BROKER, clearRetained, uniqueTopic, sharedBrokerSettings } from '../../helpers/mqtt-subscriber.js';
import { fetchStatus } from '../../helpers/status-client.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';
import { deviceId } from '../../../src/status/test-push.js';

/**
 * The status page in a real browser (Debian's chromium driven by playwright-core): it loads, a
 * new ZoneMinder event appears without a reload, the "send test notification" button reaches the
 * fake FCM, and a screenshot is kept in test-artifacts/status-page.png.
 */
const CHROMIUM = process.env['ZMES_CHROMIUM'] ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
const SCREENSHOT = join(ARTIFACTS, 'status-page.png');
const STEP_MS = 15_000;

let db: ZmTestDatabase;
let sim: ZmSimulator;
let fake: FakeFcm;
let fcm: FakeFcmApp;
let server: TestServer;
let browser: BrowserContext | undefined;
let profile: string;
const phones: TestClient[] = [];
const topic = uniqueTopic('status-browser');
const monitors: Record<string, number> = {};
const ANDROID = 'android-token-for-the-status-page-7c1d9a2b40';
const IPHONE = 'ios-token-for-the-status-page-55e0f3b9c8a1';

/** A phone that logs in and registers for push, sending its frames the way its app does. */
async function phone(user: string, token: string, app: 'zmNinja' | 'zmNinjaNg'): Promise<void> {
  const c = await connectClient(server.url);
  phones.push(c);
  if (app === 'zmNinja') {
    // zmNinja: a top-level token on every frame, appversion in the token frame too.
    c.send({ event: 'auth', data: { user, password: 'pw', appversion: '1.8.001' }, token });
    c.send({ event: 'push', data: { type: 'token', platform: 'android', token, state: 'enabled', appversion: '1.8.001' }, token });
  } else {
    // zmNinjaNg: a top-level category on the auth frame, its profile name in the token frame.
    c.send({ event: 'auth', category: 'auth', data: { user, password: 'pw', appversion: '2.1.4' } });
    c.send({ event: 'push', data: { type: 'token', platform: 'ios', token, state: 'enabled', profile: 'Home' } });
  }
  assert.equal((await c.next((f) => f['event'] === 'auth'))['status'], 'Success');
  c.send({ event: 'control', data: { type: 'version' } });
  await c.next((f) => f['type'] === 'version');
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  db = await createZmTestDatabase({ appUser: true });
  sim = await ZmSimulator.create(db.pool);
  for (const name of ['Front Door', 'Driveway', 'Backyard']) monitors[name] = await sim.createMonitor({ name, function: 'Modect' });
  const hash = await zmPasswordHash('pw', 'mysql41');
  await insertZmUser(db.execute, { username: 'anna', passwordHash: hash });
  await insertZmUser(db.execute, { username: 'ben', passwordHash: hash });
  fake = await startFakeFcm();
  fcm = connectFakeFcm(fake);
  server = await startTestServer(
    db.appSettings!,
    {
      ...sharedBrokerSettings(topic),
      'mqtt.ha_discovery': false,
      'customize.read_alarm_cause': true,
      'customize.send_event_end_notification': true,
    },
    { firebaseApp: fcm.app },
  );
  await phone('anna', ANDROID, 'zmNinja');
  await phone('ben', IPHONE, 'zmNinjaNg');
  // Some history, as after a while of running.
  const porch = await sim.startEvent(monitors['Front Door']!, { zones: ['Porch', 'Steps'] });
  await sim.endEvent(porch);
  const car = await sim.startEvent(monitors['Driveway']!, { zones: ['Gate'] });
  await sim.endEvent(car);
  await until(async () => (await fetchStatus(server.app.statusPort!)).events.filter((e) => e.state === 'ended').length === 2, 'the first events');
  profile = mkdtempSync(join(tmpdir(), 'zmes-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: STEP_MS,
  });
  browser.setDefaultTimeout(STEP_MS);
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await Promise.all(phones.map((c) => c.close()));
  await server?.stop();
  await fcm?.dispose();
  await fake?.close();
  await sim?.idle();
  await clearRetained(SHARED_BROKER, topic);
  await db?.drop();
});

test('the page shows a new event without a reload, sends a test notification to FCM, and is kept as a screenshot', async () => {
  const page: Page = await browser!.newPage();
  await page.goto(`http://127.0.0.1:${server.app.statusPort!}/`);
  await page.locator('#live.on').waitFor();
  await page.locator('article.card[data-channel="MQTT"] .pill.up').waitFor();
  assert.equal(await page.locator('#monitors tbody tr').count(), 3);
  assert.equal(await page.locator('#clients tbody tr').count(), 2);
  // A mark in the page's own state: a reload would lose it.
  await page.evaluate(() => {
    (globalThis as unknown as { zmesMark: number }).zmesMark = 42;
  });

  const id = await sim.startEvent(monitors['Backyard']!, { zones: ['Lawn'] });
  const row = page.locator(`#events tr[data-event-id="${id}"]`);
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', /Backyard.*Motion: Lawn.*running/);
  assert.equal(await page.evaluate(() => (globalThis as unknown as { zmesMark?: number }).zmesMark), 42, 'the page was not reloaded');

  // The alarm's own pushes first, so the test push is the last one the page shows.
  const alarmPushes = () => fake.requests.filter((r) => (r.body as { message: { data: { eid: string } } }).message.data.eid === String(id));
  await until(() => Promise.resolve(alarmPushes().length === 2), "the alarm's pushes to both phones");
  const before = fake.requests.filter((r) => r.token === IPHONE).length;
  await page.locator(`button[data-device="${deviceId(IPHONE)}"]`).click();
  await page.locator(`#devices .result.ok`).filter({ hasText: 'sent' }).waitFor();
  // ...and the live update shows it as the device's last push.
  await page.locator('#devices td .ok').filter({ hasText: 'test: delivered to FCM' }).waitFor();
  const pushes = fake.requests.filter((r) => r.token === IPHONE);
  assert.equal(pushes.length, before + 1, 'one push reached the fake FCM');
  assert.equal((pushes.at(-1)!.body as { message: { notification: { title: string } } }).message.notification.title, 'zmes test notification');

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.ok(existsSync(SCREENSHOT));
  await sim.endEvent(id);
});

// ZoneMinder's web API in zmes, against ZoneMinder 1.36's own PHP API from Debian's package behind
// a private Apache (test/helpers/zm-web.ts), a real Mosquitto and real sockets: the client's
// login and its errors, the event picture as Home Assistant's image entity, the Force alarm
// button reaching ZoneMinder, signed picture links served by zmes, and /health and /ready.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ZmSimulator } from '../../dev/sim/zm-simulator.js';
import { systemClock } from '../../src/clock.js';
import { ZmApiClient, ZmApiError, type ZmApiSettings } from '../../src/zm/api/zm-api-client.js';
import type { Notification } from '../../src/domain/notification.js';
import { haConfigProblems } from '../helpers/ha-mqtt-schemas.js';
import { memoryLogger } from '../helpers/memory-log.js';
import { connectSubscriber, SHARED_BROKER, type MqttSubscriber } from '../helpers/mqtt-subscriber.js';
import { createZmTestDatabase, type ZmTestDatabase } from '../helpers/zm-db.js';
import { startZmWeb, type ZmWeb } from '../helpers/zm-web.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../helpers/zmes-server.js';

/** Any bytes do for ZoneMinder's view=image: it serves the file as it is. */
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(2048), Buffer.from([0xff, 0xd9])]);
const DEADLINE_MS = 20_000;

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function settings(zm: ZmWeb, user: string | null, password: string): ZmApiSettings {
  return { portalUrl: zm.portalUrl, apiUrl: zm.apiUrl, user, password, tls: { verify: true }, maxPictureBytes: 1024 * 1024, timeoutMs: 10_000 };
}

describe("ZoneMinder's API", () => {
  let db: ZmTestDatabase;
  let sim: ZmSimulator;
  let zm: ZmWeb;
  let monitorId: number;

  before(async () => {
    db = await createZmTestDatabase();
    sim = await ZmSimulator.create(db.pool);
    monitorId = await sim.createMonitor({ name: 'Front' });
    await insertZmUser(db.execute, { username: 'alice', passwordHash: await zmPasswordHash('s3cret', 'bcrypt-2y') });
    zm = await startZmWeb({ db });
  });

  after(async () => {
    await zm?.stop();
    await sim?.idle();
    await db?.drop();
  });

  describe('the client', () => {
    it('logs in, fetches an event picture, and answers null for a frame ZoneMinder does not have', async () => {
      const eventId = await sim.startEvent(monitorId);
      await zm.writeEventImage(eventId, 'snapshot', JPEG);
      const memory = memoryLogger();
      const client = new ZmApiClient(settings(zm, 'alice', 's3cret'), memory.log, systemClock);
      await client.start();
      try {
        assert.deepEqual(await client.eventPicture(eventId, 'snapshot'), JPEG);
        assert.equal(await client.eventPicture(eventId, 'objdetect'), null);
        assert.equal(client.health().state, 'ok');
        assert.equal(memory.grep(/logged in, the access token is valid for 120 min/).length, 1);
        assert.ok(!memory.lines.some((l) => l.message.includes('s3cret') || /token=/.test(l.message)), 'no secret in the log');
      } finally {
        await client.stop();
      }
    });

    it('says clearly when the password is wrong, and does not retry at once', async () => {
      const memory = memoryLogger();
      const client = new ZmApiClient(settings(zm, 'alice', 'wrong'), memory.log, systemClock);
      await client.start();
      const refused = (err: unknown) => err instanceof ZmApiError && err.kind === 'refused' && /refused the login of "alice" \(401: Login denied for user &quot;alice&quot;\): check zoneminder\.user and zoneminder\.password/.test(err.message);
      await assert.rejects(client.eventPicture(1n, 'snapshot'), refused);
      await assert.rejects(client.eventPicture(1n, 'snapshot'), refused);
      await client.stop();
      assert.equal(client.health().state, 'refused');
      assert.equal(memory.grep(/ERROR .*refused the login/).length, 1, 'one login attempt, one error line');
    });

    it("says when ZoneMinder's API is turned off (OPT_USE_API)", async () => {
      const other = await createZmTestDatabase();
      await insertZmUser(other.execute, { username: 'alice', passwordHash: await zmPasswordHash('s3cret', 'bcrypt-2y') });
      const off = await startZmWeb({ db: other, api: false });
      try {
        const memory = memoryLogger();
        const client = new ZmApiClient(settings(off, 'alice', 's3cret'), memory.log, systemClock);
        await assert.rejects(client.setAlarm(1, 'on'), (err: unknown) => err instanceof ZmApiError && err.kind === 'disabled' && /OPT_USE_API/.test(err.message));
        await client.stop();
      } finally {
        await off.stop();
        await other.drop();
      }
    });

    it('reports a ZoneMinder that cannot be reached as down, without a stack trace', async () => {
      const memory = memoryLogger();
      const client = new ZmApiClient({ ...settings(zm, 'alice', 's3cret'), portalUrl: 'http://127.0.0.1:9/zm', apiUrl: 'http://127.0.0.1:9/zm/api' }, memory.log, systemClock);
      await assert.rejects(client.eventPicture(1n, 'snapshot'), (err: unknown) => err instanceof ZmApiError && err.kind === 'down' && /ECONNREFUSED/.test(err.message));
      await assert.rejects(client.eventPicture(1n, 'snapshot'), (err: unknown) => err instanceof ZmApiError && /not attempted/.test(err.message));
      await client.stop();
      assert.equal(memory.grep(/WARN .*ZoneMinder API unreachable: .*ECONNREFUSED.*retrying with backoff/).length, 1);
    });
  });

  describe('in zmes with MQTT and Home Assistant discovery', () => {
    let server: TestServer;
    let subscriber: MqttSubscriber;
    const topic = `zmes-api-${randomBytes(4).toString('hex')}`;
    const notifications: Notification[] = [];

    before(async () => {
      subscriber = await connectSubscriber(SHARED_BROKER, [`${topic}/#`, `${topic}-ha/#`]);
      server = await startTestServer(db.settings, {
        'zoneminder.portal_url': zm.portalUrl,
        'zoneminder.user': 'alice',
        'zoneminder.password': 's3cret',
        'mqtt.enable': true,
        'mqtt.server': `${SHARED_BROKER.host}:${SHARED_BROKER.port}`,
        'mqtt.topic': topic,
        'mqtt.discovery_prefix': `${topic}-ha`,
        'customize.include_picture': true,
        'network.public_url': 'https://zmes.example:9443/',
        'status.enable': true,
        'status.port': 0,
      });
      server.app.bus.on('notification', (n) => notifications.push(n));
    });

    after(async () => {
      await server?.stop();
      await subscriber?.close();
    });

    it('announces the picture and the alarm buttons per monitor, in a shape Home Assistant accepts', async () => {
      const config = (component: string, suffix: string) =>
        subscriber.waitFor((m) => m.topic === `${topic}-ha/${component}/zmes_${topic.replace(/-/g, '_')}/monitor_${monitorId}_${suffix}/config` && m.payload !== '', suffix);
      const picture = JSON.parse((await config('image', 'picture')).payload) as unknown;
      assert.deepEqual(haConfigProblems('image', picture), []);
      for (const suffix of ['force_alarm', 'cancel_alarm']) assert.deepEqual(haConfigProblems('button', JSON.parse((await config('button', suffix)).payload)), []);
      await subscriber.waitFor((m) => m.topic === `${topic}/zmes/database` && m.payload === 'ON', 'database ON');
    });

    it("publishes the event's picture to the image topic, and links to it in the alarm through zmes, signed", async () => {
      const eventId = await sim.startEvent(monitorId);
      // ZoneMinder writes the first alarmed frame a moment after the row: zmes tries again.
      await zm.writeEventImage(eventId, 'alarm', JPEG);
      const image = await subscriber.waitFor((m) => m.topic === `${topic}/zmes/monitor/${monitorId}/picture` && m.payload.length > 0, 'picture');
      assert.equal(image.payload, JPEG.toString('utf8'));
      assert.equal(image.retained, false, 'live message (retained on the broker)');

      const notification = await until('the start notification', () => notifications.find((n) => n.event.eventId === eventId));
      const link = new URL(notification.picture ?? '');
      assert.equal(link.origin, 'https://zmes.example:9443');
      assert.match(link.pathname + link.search, new RegExp(`^/picture/${eventId}\\?exp=\\d+&sig=[\\w-]{43}$`));
      assert.doesNotMatch(link.href, /token|user|pass|auth/i, 'no ZoneMinder credentials in the link');

      const local = `http://127.0.0.1:${server.app.port}`;
      const served = await fetch(`${local}${link.pathname}${link.search}`, { signal: AbortSignal.timeout(DEADLINE_MS) });
      assert.equal(served.status, 200);
      assert.equal(served.headers.get('content-type'), 'image/jpeg');
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), JPEG);

      const sig = link.searchParams.get('sig')!;
      const altered = sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A');
      for (const path of [
        `/picture/${eventId}`,
        `/picture/${eventId}?exp=${link.searchParams.get('exp')}&sig=${altered}`,
        `/picture/${eventId + 1n}?exp=${link.searchParams.get('exp')}&sig=${sig}`,
        `/picture/${eventId}?exp=${Number(link.searchParams.get('exp')) + 1}&sig=${sig}`,
      ]) {
        const refused = await fetch(`${local}${path}`, { signal: AbortSignal.timeout(DEADLINE_MS) });
        assert.equal(refused.status, 403, path);
        await refused.arrayBuffer();
      }
      // The status page shows it too, for the monitor's last event, from its own port.
      const status = `http://127.0.0.1:${server.app.statusPort}`;
      const page = await (await fetch(`${status}/`, { signal: AbortSignal.timeout(DEADLINE_MS) })).text();
      assert.match(page, /<meta name="zmes-pictures" content="yes">/);
      const shown = await fetch(`${status}/api/picture/${eventId}`, { signal: AbortSignal.timeout(DEADLINE_MS) });
      assert.equal(shown.status, 200);
      assert.deepEqual(Buffer.from(await shown.arrayBuffer()), JPEG);
      const none = await fetch(`${status}/api/picture/${eventId + 1000n}`, { signal: AbortSignal.timeout(DEADLINE_MS) });
      assert.equal(none.status, 404);
      await none.arrayBuffer();
      await sim.endEvent(eventId);
    });

    it('Force alarm reaches ZoneMinder; a failed press shows on the status entity', async () => {
      const before = zm.zmuCalls().length;
      await subscriber.publish(`${topic}/zmes/monitor/${monitorId}/alarm/set`, 'on');
      const call = await until('zmu -a', () => zm.zmuCalls().slice(before).find((args) => args.includes('-a')));
      assert.ok(call.includes(`-m${monitorId}`), call.join(' '));
      await subscriber.waitFor((m) => m.topic === `${topic}/zmes/status/attributes` && /"last_action_result":"ok"/.test(m.payload), 'ok attributes');

      await subscriber.publish(`${topic}/zmes/monitor/999/alarm/set`, 'on');
      const failed = await subscriber.waitFor((m) => m.topic === `${topic}/zmes/status/attributes` && /"last_action_result":"failed"/.test(m.payload), 'failed attributes');
      const attributes = JSON.parse(failed.payload) as Record<string, string>;
      assert.equal(attributes['last_action'], 'force an alarm on monitor 999');
      assert.match(attributes['last_error'] ?? '', /404 Invalid monitor/);
      assert.equal(server.logs.grep(/WARN .*cannot force an alarm on monitor 999: .*404 Invalid monitor/).length, 1);
      await subscriber.publish(`${topic}/zmes/monitor/${monitorId}/alarm/set`, 'off');
      await until('zmu -c', () => zm.zmuCalls().slice(before).find((args) => args.includes('-c')));
    });

    it('/health tells the state of each part and /ready follows the database', async () => {
      const local = `http://127.0.0.1:${server.app.port}`;
      const health = (await (await fetch(`${local}/health`, { signal: AbortSignal.timeout(DEADLINE_MS) })).json()) as Record<string, { state?: string } | string>;
      assert.equal(health['status'], 'ok');
      assert.equal((health['database'] as { state: string }).state, 'up');
      assert.equal((health['mqtt'] as { state: string }).state, 'connected');
      assert.equal((health['zoneminder_api'] as { state: string }).state, 'ok');
      const ready = await fetch(`${local}/ready`, { signal: AbortSignal.timeout(DEADLINE_MS) });
      assert.equal(ready.status, 200);
      await ready.arrayBuffer();
    });
  });
});

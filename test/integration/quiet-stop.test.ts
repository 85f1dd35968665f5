import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase } from '../helpers/zm-db.js';
import { connectClient } from '../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash } from '../helpers/zmes-server.js';
import { connectFakeFcm, startFakeFcm } from '../helpers/fake-fcm.js';
import { SHARED_BROKER, clearRetained, uniqueTopic, sharedBrokerSettings } from '../helpers/mqtt-subscriber.js';
import { openStream } from '../helpers/status-client.js';
import { ZmSimulator } from '../../dev/sim/zm-simulator.js';

/**
 * A clean stop of the whole server, with every part busy (a broker connection, push, a connected
 * app, an open status page, an event under way), writes no warning and no error: the Supervisor
 * log of a normal add-on restart has nothing to alarm anybody.
 */
test('a clean stop with MQTT, push, an app, an open status page and a running event logs no warning', async () => {
  const db = await createZmTestDatabase({ appUser: true });
  const sim = await ZmSimulator.create(db.pool);
  const fake = await startFakeFcm();
  const fcm = connectFakeFcm(fake);
  const topic = uniqueTopic('quiet');
  try {
    const monitor = await sim.createMonitor({ name: 'Porch' });
    await insertZmUser(db.execute, { username: 'owner', passwordHash: await zmPasswordHash('pw', 'mysql41') });
    const server = await startTestServer(
      db.appSettings!,
      {
        ...sharedBrokerSettings(topic),
        'mqtt.discovery_prefix': topic,
      },
      { firebaseApp: fcm.app },
    );
    const app = await connectClient(server.url);
    app.send({ event: 'auth', data: { user: 'owner', password: 'pw' } });
    assert.equal((await app.next((f) => f['event'] === 'auth'))['status'], 'Success');
    app.send({ event: 'push', data: { type: 'token', platform: 'android', token: 'quiet-stop-token-0123456789', state: 'enabled' } });
    const page = await openStream(server.app.statusPort!);
    const id = await sim.startEvent(monitor);
    await page.next((s) => s.events.some((e) => e.event_id === String(id)) && s.mqtt.state === 'up');
    await app.next((f) => f['event'] === 'alarm');

    await server.stop();
    await page.ended;
    await app.closed;
    const stopping = server.logs.lines.findIndex((l) => / zmes stopping$/.test(l.message));
    assert.ok(stopping >= 0);
    const loud = server.logs.lines.slice(stopping).filter((l) => l.level === 'warn' || l.level === 'error');
    assert.deepEqual(loud.map((l) => l.message), []);
    assert.match(server.logs.lines.at(-1)!.message, / zmes stopped$/);
  } finally {
    await fcm.dispose();
    await fake.close();
    await sim.idle();
    await clearRetained(SHARED_BROKER, topic);
    await db.drop();
  }
});

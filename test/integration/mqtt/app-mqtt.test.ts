import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { startTestServer, type TestServer } from '../../helpers/zmes-server.js';
import { SHARED_BROKER, clearRetained, connectSubscriber, uniqueTopic, type MqttSubscriber } from '../../helpers/mqtt-subscriber.js';
import { ZmSimulator } from '../../../dev/sim/zm-simulator.js';

/** The MQTT channel wired into the running server: a ZoneMinder row ends up on the broker. */
let db: ZmTestDatabase;
let server: TestServer;
let sim: ZmSimulator;
let sub: MqttSubscriber;
let monitor: number;
const topic = uniqueTopic('app');
const prefix = uniqueTopic('ha');

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  sim = await ZmSimulator.create(db.pool);
  monitor = await sim.createMonitor({ name: 'Porch' });
  sub = await connectSubscriber(SHARED_BROKER, [`${topic}/#`, `${prefix}/#`]);
  server = await startTestServer(db.appSettings!, {
    'mqtt.enable': true,
    'mqtt.server': `${SHARED_BROKER.host}:${SHARED_BROKER.port}`,
    'mqtt.topic': topic,
    'mqtt.discovery_prefix': prefix,
  });
});

after(async () => {
  await server?.stop();
  await sim?.idle();
  await clearRetained(SHARED_BROKER, topic);
  await clearRetained(SHARED_BROKER, prefix);
  await sub?.close();
  await db?.drop();
});

test('an event written by ZoneMinder is published on the classic topic and drives the Home Assistant motion sensor', async () => {
  const discovery = await sub.waitFor((m) => m.topic.startsWith(`${prefix}/binary_sensor/`) && m.payload.includes('"Porch'), 'motion sensor discovery');
  const config = JSON.parse(discovery.payload) as { state_topic: string; unique_id: string; device: unknown; availability: unknown };
  assert.ok(config.unique_id && config.device && config.availability);

  const mark = sub.mark();
  const id = await sim.startEvent(monitor, { zones: ['Steps'] });
  const classic = await sub.waitFor((m) => m.topic === `${topic}/${monitor}`, 'classic event_start message', { after: mark });
  assert.deepEqual(JSON.parse(classic.payload), {
    monitor: String(monitor),
    name: `Porch:(${id}) Motion`,
    state: 'alarm',
    eventid: String(id),
    hookvalue: 0,
    eventtype: 'event_start',
    detection: [],
  });
  await sub.waitFor((m) => m.topic === config.state_topic && m.payload === 'ON', 'motion ON', { after: mark });
  await sim.endEvent(id);
  await sub.waitFor((m) => m.topic === config.state_topic && m.payload === 'OFF', 'motion OFF', { after: mark });
});

/**
 * The MQTT channel against the real Mosquitto on 127.0.0.1:1883, driven through the event bus
 * (no database). Every test uses its own topic prefix, and clears what it retained.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/event-bus.js';
import { MqttConnection } from '../../../src/mqtt/mqtt-client.js';
import { MqttChannel, type MqttChannelOptions } from '../../../src/notify/channels/mqtt-channel.js';
import type { MonitorInfo } from '../../../src/domain/zm-event.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { manualClock, notification, testSettings, until, zmEvent, type ManualClock } from '../../helpers/mqtt-fixtures.js';
import {
  clearRetained,
  connectSubscriber,
  retainedMessages,
  SHARED_BROKER,
  uniqueTopic,
  type MqttSubscriber,
  type ReceivedMessage,
} from '../../helpers/mqtt-subscriber.js';

interface Harness {
  bus: EventBus<ZmesEvents>;
  publisher: MqttChannel;
  connection: MqttConnection;
  sub: MqttSubscriber;
  clock: ManualClock;
  topic: string;
  prefix: string;
  nodeId: string;
}

async function start(t: TestContext, options: Partial<MqttChannelOptions> = {}): Promise<Harness> {
  const topic = uniqueTopic('pub');
  const prefix = `${topic}/ha`;
  const { log } = memoryLogger('info');
  const bus = new EventBus<ZmesEvents>(log);
  const clock = manualClock();
  const sub = await connectSubscriber(SHARED_BROKER, [`${topic}/#`]);
  const connection = new MqttConnection(testSettings(SHARED_BROKER.port, topic), log);
  const publisher = new MqttChannel(
    bus,
    { topic, retain: false, haDiscovery: true, discoveryPrefix: prefix, motionTimeoutMs: 600_000, version: '0.0.0-test', ...options },
    connection,
    log,
    clock,
  );
  t.after(async () => {
    await publisher.stop();
    await sub.close();
    await clearRetained(SHARED_BROKER, topic);
  });
  await publisher.start();
  await until(() => connection.connected, 'zmes is connected to the broker');
  return { bus, publisher, connection, sub, clock, topic, prefix, nodeId: publisher.topics.nodeId };
}

const monitors = (...list: Array<[number, string]>): MonitorInfo[] => list.map(([id, name]) => ({ id, name, notify: true }));
const json = (m: ReceivedMessage) => JSON.parse(m.payload) as Record<string, unknown>;

describe('classic messages', () => {
  test('go to <topic>/<MonitorId> with the exact classic payload at start and end', async (t) => {
    const h = await start(t);
    const detection = { labels: ['dog'], boxes: [[1, 2, 3, 4]], frame_id: 'alarm', confidences: [0.9], image_dimensions: {} };
    h.bus.emit('notification', notification({ cause: '[a] detected:dog Motion All', detectionJson: detection }));
    h.bus.emit('notification', notification({ phase: 'end', cause: 'Motion: All' }));
    const [start_, end] = [
      await h.sub.waitFor((m) => m.topic === `${h.topic}/3`, 'start message'),
      await h.sub.waitFor((m) => m.topic === `${h.topic}/3` && m.payload.includes('event_end'), 'end message'),
    ];
    assert.equal(
      start_.payload,
      '{"monitor":"3","name":"Backyard:(999) [a] detected:dog Motion All","state":"alarm","eventid":"999","hookvalue":0,' +
        '"eventtype":"event_start","detection":{"labels":["dog"],"boxes":[[1,2,3,4]],"frame_id":"alarm","confidences":[0.9],"image_dimensions":{}}}',
    );
    assert.equal(
      end.payload,
      '{"monitor":"3","name":"Ended:Backyard:(999) Motion: All","state":"alarm","eventid":"999","hookvalue":0,"eventtype":"event_end","detection":[]}',
    );
  });

  test('are retained when mqtt.retain is on, and not when it is off', async (t) => {
    const retained = await start(t, { retain: true });
    retained.bus.emit('notification', notification({ event: zmEvent({ monitorId: 5 }) }));
    await retained.sub.waitFor((m) => m.topic === `${retained.topic}/5`, 'retained classic message');
    const held = await retainedMessages(SHARED_BROKER, [`${retained.topic}/5`]);
    assert.equal(JSON.parse(held.get(`${retained.topic}/5`) ?? '{}').eventid, '999');

    const plain = await start(t, { retain: false });
    plain.bus.emit('notification', notification({ event: zmEvent({ monitorId: 5 }) }));
    await plain.sub.waitFor((m) => m.topic === `${plain.topic}/5`, 'plain classic message');
    assert.equal((await retainedMessages(SHARED_BROKER, [`${plain.topic}/5`])).size, 0);
  });

  test('are skipped when the notification may not use the mqtt channel', async (t) => {
    const h = await start(t);
    h.bus.emit('notification', notification({ event: zmEvent({ monitorId: 1 }), channels: ['web', 'fcm'] }));
    h.bus.emit('notification', notification({ event: zmEvent({ monitorId: 2 }), channels: ['mqtt'] }));
    // One connection delivers in order: once monitor 2's message is here, monitor 1's would be too.
    await h.sub.waitFor((m) => m.topic === `${h.topic}/2`, 'message for monitor 2');
    assert.deepEqual(h.sub.on(`${h.topic}/1`), []);
  });
});

describe('Home Assistant discovery', () => {
  test('announces each monitor with unique_id, device, availability, origin and state topics', async (t) => {
    const h = await start(t);
    h.bus.emit('zm:monitors', { monitors: monitors([3, 'Backyard'], [4, 'Porch']), removed: [] });
    const configTopic = (component: string, objectId: string) => `${h.prefix}/${component}/${h.nodeId}/${objectId}/config`;
    const expected = [
      configTopic('binary_sensor', 'status'),
      ...[3, 4].flatMap((id) => [
        configTopic('binary_sensor', `monitor_${id}_motion`),
        configTopic('sensor', `monitor_${id}_last_event`),
        configTopic('event', `monitor_${id}_alarm`),
      ]),
    ];
    const configs = new Map<string, Record<string, unknown>>();
    for (const topic of expected) configs.set(topic, json(await h.sub.waitFor((m) => m.topic === topic, topic)));

    const motion = configs.get(configTopic('binary_sensor', 'monitor_3_motion'))!;
    assert.equal(motion['unique_id'], `${h.nodeId}_monitor_3_motion`);
    assert.equal(motion['device_class'], 'motion');
    assert.equal(motion['state_topic'], `${h.topic}/zmes/monitor/3/motion`);
    assert.deepEqual((motion['device'] as Record<string, unknown>)['identifiers'], [`${h.nodeId}_monitor_3`]);
    assert.equal((motion['device'] as Record<string, unknown>)['via_device'], h.nodeId);
    assert.deepEqual(motion['availability'], [
      { payload_available: 'online', payload_not_available: 'offline', topic: `${h.topic}/zmes/availability` },
    ]);
    assert.equal((motion['origin'] as Record<string, unknown>)['name'], 'zmes');
    const lastEvent = configs.get(configTopic('sensor', 'monitor_4_last_event'))!;
    assert.equal(lastEvent['json_attributes_topic'], `${h.topic}/zmes/monitor/4/last_event/attributes`);
    assert.deepEqual(configs.get(configTopic('event', 'monitor_4_alarm'))!['event_types'], ['event_start', 'event_end']);

    const held = await retainedMessages(SHARED_BROKER, [...expected, `${h.topic}/zmes/availability`, `${h.topic}/zmes/monitor/3/motion`]);
    for (const topic of expected) assert.ok(held.has(topic), `retained: ${topic}`);
    assert.equal(held.get(`${h.topic}/zmes/availability`), 'online');
    assert.equal(held.get(`${h.topic}/zmes/monitor/3/motion`), 'OFF', 'a new monitor starts with motion off');
  });

  test('re-sends a config only when it changed', async (t) => {
    const h = await start(t);
    const topic = `${h.prefix}/binary_sensor/${h.nodeId}/monitor_3_motion/config`;
    h.bus.emit('zm:monitors', { monitors: monitors([3, 'Backyard']), removed: [] });
    h.bus.emit('zm:monitors', { monitors: monitors([3, 'Backyard']), removed: [] });
    h.bus.emit('zm:monitors', { monitors: monitors([3, 'Garden']), removed: [] });
    await h.sub.waitFor((m) => m.topic === topic && m.payload.includes('"Garden"'), 'renamed config');
    assert.deepEqual(
      h.sub.on(topic).map((m) => (json(m)['device'] as Record<string, unknown>)['name']),
      ['Backyard', 'Garden'],
    );
  });

  test("removes a deleted monitor's entities with empty retained configs and clears its state", async (t) => {
    const h = await start(t);
    h.bus.emit('zm:monitors', { monitors: monitors([3, 'Backyard'], [4, 'Porch']), removed: [] });
    h.bus.emit('zm:event', { kind: 'start', event: zmEvent({ monitorId: 4, monitorName: 'Porch' }) });
    const configs = ['binary_sensor/%/monitor_4_motion', 'sensor/%/monitor_4_last_event', 'event/%/monitor_4_alarm'].map(
      (path) => `${h.prefix}/${path.replace('%', h.nodeId)}/config`,
    );
    await h.sub.waitFor((m) => m.topic === `${h.topic}/zmes/monitor/4/last_event`, 'state of monitor 4');
    const mark = h.sub.mark();
    h.bus.emit('zm:monitors', { monitors: monitors([3, 'Backyard']), removed: [4] });
    for (const topic of configs) await h.sub.waitFor((m) => m.topic === topic && m.payload === '', `removal of ${topic}`, { after: mark });

    const states = ['motion', 'last_event', 'last_event/attributes'].map((s) => `${h.topic}/zmes/monitor/4/${s}`);
    const held = await retainedMessages(SHARED_BROKER, [...configs, ...states, `${h.prefix}/sensor/${h.nodeId}/monitor_3_last_event/config`]);
    assert.deepEqual([...held.keys()], [`${h.prefix}/sensor/${h.nodeId}/monitor_3_last_event/config`]);
  });

  test('removes configs an earlier run left for a monitor that no longer exists', async (t) => {
    const topic = uniqueTopic('stale');
    const prefix = `${topic}/ha`;
    const { log } = memoryLogger('info');
    const bus = new EventBus<ZmesEvents>(log);
    const sub = await connectSubscriber(SHARED_BROKER, [`${topic}/#`]);
    const publisher = new MqttChannel(
      bus,
      { topic, retain: false, haDiscovery: true, discoveryPrefix: prefix, motionTimeoutMs: 0 },
      new MqttConnection(testSettings(SHARED_BROKER.port, topic), log),
      log,
    );
    t.after(async () => {
      await publisher.stop();
      await sub.close();
      await clearRetained(SHARED_BROKER, topic);
    });
    const stale = `${prefix}/binary_sensor/${publisher.topics.nodeId}/monitor_9_motion/config`;
    await sub.publish(stale, '{"name":"Motion"}', { retain: true });
    await publisher.start();
    bus.emit('zm:monitors', { monitors: monitors([1, 'Gate']), removed: [] });
    await sub.waitFor((m) => m.topic === stale && m.payload === '', 'removal of the stale config');
    assert.equal((await retainedMessages(SHARED_BROKER, [stale])).size, 0);
  });

  test('re-sends every config and state when Home Assistant announces itself online', async (t) => {
    const h = await start(t);
    h.bus.emit('zm:monitors', { monitors: monitors([3, 'Backyard']), removed: [] });
    h.bus.emit('zm:event', { kind: 'start', event: zmEvent() });
    const config = `${h.prefix}/event/${h.nodeId}/monitor_3_alarm/config`;
    const motion = `${h.topic}/zmes/monitor/3/motion`;
    await h.sub.waitFor((m) => m.topic === motion && m.payload === 'ON', 'motion on');
    const mark = h.sub.mark();
    await h.sub.publish(`${h.prefix}/status`, 'online');
    await h.sub.waitFor((m) => m.topic === config, 're-sent config', { after: mark });
    await h.sub.waitFor((m) => m.topic === `${h.prefix}/binary_sensor/${h.nodeId}/status/config`, 're-sent zmes config', { after: mark });
    await h.sub.waitFor((m) => m.topic === motion && m.payload === 'ON', 're-sent motion state', { after: mark });
    await h.sub.waitFor((m) => m.topic === `${h.topic}/zmes/monitor/3/last_event` && m.payload === '999', 're-sent last event', { after: mark });
  });
});

describe('ha_discovery off', () => {
  test('withdraws what an earlier run announced: empty retained configs, cleared state; classic messages go on', async (t) => {
    const h = await start(t);
    h.bus.emit('zm:monitors', { monitors: monitors([3, 'Backyard'], [4, 'Porch']), removed: [] });
    h.bus.emit('zm:event', { kind: 'start', event: zmEvent({ monitorId: 4, monitorName: 'Porch' }) });
    const configTopic = (component: string, objectId: string) => `${h.prefix}/${component}/${h.nodeId}/${objectId}/config`;
    const configs = [
      configTopic('binary_sensor', 'status'),
      ...[3, 4].flatMap((id) => [
        configTopic('binary_sensor', `monitor_${id}_motion`),
        configTopic('sensor', `monitor_${id}_last_event`),
        configTopic('event', `monitor_${id}_alarm`),
      ]),
    ];
    const states = [`${h.topic}/zmes/monitor/3/motion`, ...['motion', 'last_event', 'last_event/attributes'].map((state) => `${h.topic}/zmes/monitor/4/${state}`)];
    await h.sub.waitFor((m) => m.topic === `${h.topic}/zmes/monitor/4/last_event/attributes`, 'state of monitor 4');
    await h.publisher.stop();
    // An entity of a monitor deleted while zmes was stopped: only the broker still knows it.
    const orphan = configTopic('event', 'monitor_9_alarm');
    await h.sub.publish(orphan, '{"name":"Alarm"}', { retain: true });
    const announced = await retainedMessages(SHARED_BROKER, [...configs, ...states, orphan]);
    assert.deepEqual([...announced.keys()].sort(), [...configs, ...states, orphan].sort(), 'everything is announced before');

    const { log, grep } = memoryLogger('info');
    const bus = new EventBus<ZmesEvents>(log);
    const off = new MqttChannel(
      bus,
      { topic: h.topic, retain: false, haDiscovery: false, discoveryPrefix: h.prefix, motionTimeoutMs: 0 },
      new MqttConnection(testSettings(SHARED_BROKER.port, h.topic), log),
      log,
    );
    t.after(() => off.stop());
    const mark = h.sub.mark();
    await off.start();
    bus.emit('zm:monitors', { monitors: monitors([3, 'Backyard'], [4, 'Porch']), removed: [] });
    for (const topic of [...configs, orphan]) {
      await h.sub.waitFor((m) => m.topic === topic && m.payload === '', `empty config on ${topic}`, { after: mark });
    }
    assert.equal((await retainedMessages(SHARED_BROKER, [...configs, ...states, orphan])).size, 0, 'nothing of the entities is left');
    assert.equal(grep(/removing Home Assistant entity event monitor_9_alarm: ha_discovery is off/).length, 1);

    bus.emit('notification', notification({ event: zmEvent({ monitorId: 3 }) }));
    await h.sub.waitFor((m) => m.topic === `${h.topic}/3`, 'classic message', { after: mark });
    assert.equal(h.sub.messages.slice(mark).filter((m) => m.payload !== '' && m.topic !== `${h.topic}/3` && m.topic !== `${h.topic}/zmes/availability`).length, 0, 'nothing announced');
  });
});

describe('entity state', () => {
  test('motion is on from the start to the end of an event, with the last event sensor and the event entity', async (t) => {
    const h = await start(t);
    const base = `${h.topic}/zmes/monitor/3`;
    h.bus.emit('zm:monitors', { monitors: monitors([3, 'Backyard']), removed: [] });
    await h.sub.waitFor((m) => m.topic === `${base}/motion` && m.payload === 'OFF', 'initial motion off');

    h.bus.emit('zm:event', { kind: 'start', event: zmEvent() });
    await h.sub.waitFor((m) => m.topic === `${base}/motion` && m.payload === 'ON', 'motion on');
    const fired = await h.sub.waitFor((m) => m.topic === `${base}/event`, 'event_start');
    assert.deepEqual(json(fired), { cause: 'Motion: All', event_id: '999', event_type: 'event_start', monitor_id: 3, monitor_name: 'Backyard' });
    assert.equal(fired.retained, false);
    assert.equal((await h.sub.waitFor((m) => m.topic === `${base}/last_event`, 'last event')).payload, '999');
    const attributes = json(await h.sub.waitFor((m) => m.topic === `${base}/last_event/attributes`, 'attributes'));
    assert.equal(attributes['start_time'], '2026-01-01T00:00:00.000Z');
    assert.equal(attributes['monitor_name'], 'Backyard');
    assert.equal(attributes['state'], 'open');

    h.bus.emit('notification', notification({ cause: '[a] detected:person Motion All', picture: 'https://zm.example/zm/index.php?view=image&eid=999' }));
    const enriched = json(await h.sub.waitFor((m) => m.topic === `${base}/last_event/attributes` && m.payload.includes('person'), 'hook cause'));
    assert.equal(enriched['picture'], 'https://zm.example/zm/index.php?view=image&eid=999');

    h.bus.emit('zm:event', { kind: 'end', event: zmEvent({ endTime: 1_767_225_630 }), how: 'ended' });
    await h.sub.waitFor((m) => m.topic === `${base}/motion` && m.payload === 'OFF' && m.index > fired.index, 'motion off');
    const ended = json(await h.sub.waitFor((m) => m.topic === `${base}/event` && m.payload.includes('event_end'), 'event_end'));
    assert.equal(ended['end_state'], 'ended');
    const final = json(await h.sub.waitFor((m) => m.topic === `${base}/last_event/attributes` && m.payload.includes('"ended"'), 'ended attributes'));
    assert.equal(final['end_time'], '2026-01-01T00:00:30.000Z');
    assert.equal(final['cause'], '[a] detected:person Motion All');
    assert.equal((await retainedMessages(SHARED_BROKER, [`${base}/motion`])).get(`${base}/motion`), 'OFF');
  });

  test('motion turns off after motion_timeout when the event never ends', async (t) => {
    const h = await start(t, { motionTimeoutMs: 600_000 });
    const motion = `${h.topic}/zmes/monitor/3/motion`;
    h.bus.emit('zm:event', { kind: 'start', event: zmEvent() });
    const on = await h.sub.waitFor((m) => m.topic === motion && m.payload === 'ON', 'motion on');
    h.clock.advance(600_000);
    await h.sub.waitFor((m) => m.topic === motion && m.payload === 'OFF' && m.index > on.index, 'motion off after the timeout');
  });
});

/**
 * Event messages survive a broker outage: zmes queues them (bounded), reconnects within seconds
 * of the broker's return and publishes them in order. Each test stops and restarts its own
 * Mosquitto, with persistence so that a persistent test subscriber misses nothing while the
 * broker and zmes reconnect, whichever of the two is first.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/event-bus.js';
import { DEFAULT_RECONNECT, MqttConnection, type MqttConnectionDeps, type MqttSettings } from '../../../src/mqtt/mqtt-client.js';
import { MqttChannel } from '../../../src/notify/channels/mqtt-channel.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import { memoryLogger, type MemoryLogger } from '../../helpers/memory-log.js';
import { notification, testSettings, until, zmEvent } from '../../helpers/mqtt-fixtures.js';
import { connectSubscriber, uniqueTopic, type MqttSubscriber, type ReceivedMessage } from '../../helpers/mqtt-subscriber.js';
import { startPrivateMosquitto, type PrivateMosquitto } from '../../helpers/private-mosquitto.js';

interface Setup {
  broker: PrivateMosquitto;
  sub: MqttSubscriber;
  bus: EventBus<ZmesEvents>;
  connection: MqttConnection;
  logs: MemoryLogger;
  topic: string;
}

async function setup(t: TestContext, settings: Partial<MqttSettings> = {}, deps: MqttConnectionDeps = {}): Promise<Setup> {
  const broker = await startPrivateMosquitto({ persistence: true });
  t.after(() => broker.destroy());
  const topic = uniqueTopic('queue');
  const sub = await connectSubscriber({ port: broker.port }, [`${topic}/#`], { sessionId: `zmes-test-sub-${topic.replace(/[^A-Za-z0-9]+/g, '-')}` });
  t.after(() => sub.close());
  const logs = memoryLogger('info');
  const bus = new EventBus<ZmesEvents>(logs.log);
  const connection = new MqttConnection(testSettings(broker.port, topic, settings), logs.log.child('mqtt'), deps);
  const publisher = new MqttChannel(
    bus,
    { topic, retain: false, haDiscovery: true, discoveryPrefix: `${topic}/ha`, motionTimeoutMs: 0 },
    connection,
    logs.log,
  );
  t.after(() => publisher.stop());
  await publisher.start();
  await until(() => connection.connected, 'connected');
  bus.emit('zm:monitors', { monitors: [{ id: 3, name: 'Backyard', notify: true }], removed: [] });
  await sub.waitFor((m) => m.topic === `${topic}/zmes/monitor/3/motion`, 'state before the outage');
  return { broker, sub, bus, connection, logs, topic };
}

async function outage(s: Setup): Promise<void> {
  await s.broker.stop();
  await until(() => !s.connection.connected, 'the loss is noticed');
}

/** `<eventtype> <eventid>` of classic messages, `<event_type> <event_id>` of event entity messages. */
function label(message: ReceivedMessage): string {
  const json = JSON.parse(message.payload) as { eventtype?: string; eventid?: string; event_type?: string; event_id?: string };
  return `${json.eventtype ?? json.event_type} ${json.eventid ?? json.event_id}`;
}

function messagesOn(sub: MqttSubscriber, topic: string, after: number): ReceivedMessage[] {
  return sub.messages.slice(after).filter((m) => m.topic === topic);
}

describe('event messages during a broker outage', () => {
  test('arrive complete and in order once the broker is back, the first within 5 s of its return', async (t) => {
    // The product's own backoff, not the fast one of the other tests: this measures it.
    const s = await setup(t, { reconnect: DEFAULT_RECONNECT });
    const classic = `${s.topic}/3`;
    const entity = `${s.topic}/zmes/monitor/3/event`;
    await outage(s);

    const events = 25;
    const expected: string[] = [];
    for (let id = 1; id <= events; id++) {
      const event = zmEvent({ eventId: BigInt(id) });
      s.bus.emit('zm:event', { kind: 'start', event });
      s.bus.emit('notification', notification({ event }));
      s.bus.emit('zm:event', { kind: 'end', event: { ...event, endTime: 1_767_225_610 }, how: 'ended' });
      s.bus.emit('notification', notification({ phase: 'end', event }));
      expected.push(`event_start ${id}`, `event_end ${id}`);
    }
    assert.equal(s.connection.queueSize, events * 4);

    // After two failed retries (1 s, then 2 s) the next one is 4 s away, the backoff's cap:
    // restarting now is the worst case for how soon zmes notices the broker is back.
    await until(() => s.connection.stats.reconnectAttempts >= 2, 'retries at the cap of the backoff');
    const mark = s.sub.mark();
    const restartAt = Date.now();
    await s.broker.start();
    const reachableAt = Date.now();

    await s.sub.waitFor((m) => m.topic === classic && label(m) === `event_end ${events}`, 'the last classic message', { after: mark });
    await s.sub.waitFor((m) => m.topic === entity && label(m) === `event_end ${events}`, 'the last event entity message', { after: mark });
    const classicMessages = messagesOn(s.sub, classic, mark);
    const entityMessages = messagesOn(s.sub, entity, mark);
    assert.deepEqual(classicMessages.map(label), expected);
    assert.deepEqual(entityMessages.map(label), expected);
    assert.ok(classicMessages.every((m) => !m.retained) && entityMessages.every((m) => !m.retained));

    const first = Math.min(classicMessages[0]!.at, entityMessages[0]!.at);
    t.diagnostic(`first queued message ${first - restartAt} ms after the restart began, ${first - reachableAt} ms after the broker was reachable`);
    assert.ok(first - restartAt < 5000, `the first queued message arrived ${first - restartAt} ms after the broker was restarted`);
    assert.equal(s.logs.grep(/reconnected to MQTT broker .* sending 100 queued message\(s\)/).length, 1);
    assert.equal(s.logs.grep(/lost while the broker was unreachable/).length, 0);
  });

  test('beyond 1,000 the oldest are dropped: the newest 1,000 arrive in order, and one warning counts the rest', async (t) => {
    const s = await setup(t);
    const classic = `${s.topic}/7`;
    await outage(s);
    const sent = 1010;
    for (let id = 1; id <= sent; id++) s.bus.emit('notification', notification({ event: zmEvent({ eventId: BigInt(id), monitorId: 7 }) }));
    assert.equal(s.connection.queueSize, 1000);

    const mark = s.sub.mark();
    await s.broker.start();
    await s.sub.waitFor((m) => m.topic === classic && label(m) === `event_start ${sent}`, 'the newest message', { after: mark });
    const ids = messagesOn(s.sub, classic, mark).map((m) => Number(label(m).split(' ')[1]));
    assert.deepEqual(ids, Array.from({ length: 1000 }, (_, i) => i + 11));
    const lost = s.logs.grep(/lost while the broker was unreachable/);
    assert.equal(lost.length, 1, 'one line for the outage');
    assert.match(lost[0]!.message, /WARN .*10 MQTT event message\(s\) lost while the broker was unreachable \(10 oldest dropped when it was full\); the offline queue keeps at most 1000 messages for 10 min/);
  });

  test('older than 10 minutes when the broker returns are dropped, the younger ones sent', async (t) => {
    let skew = 0;
    const s = await setup(t, {}, { now: () => Date.now() + skew });
    const classic = `${s.topic}/5`;
    await outage(s);
    for (const id of [1, 2, 3]) s.bus.emit('notification', notification({ event: zmEvent({ eventId: BigInt(id), monitorId: 5 }) }));
    skew = 5 * 60_000;
    for (const id of [4, 5]) s.bus.emit('notification', notification({ event: zmEvent({ eventId: BigInt(id), monitorId: 5 }) }));
    skew = 10 * 60_000 + 1000;

    const mark = s.sub.mark();
    await s.broker.start();
    await s.sub.waitFor((m) => m.topic === classic && label(m) === 'event_start 5', 'the youngest message', { after: mark });
    assert.deepEqual(messagesOn(s.sub, classic, mark).map(label), ['event_start 4', 'event_start 5']);
    assert.match(s.logs.grep(/lost while/)[0]!.message, /3 MQTT event message\(s\) lost .*\(3 older than 10 min\)/);
  });
});

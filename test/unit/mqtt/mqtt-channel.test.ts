/**
 * The channel's decisions, against a recording link instead of a broker (the integration tests
 * cover the same paths against Mosquitto): what is published, retained, re-sent and removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/event-bus.js';
import type { InboundMessage, MqttLink, PublishOptions, PublishResult } from '../../../src/mqtt/mqtt-client.js';
import { MqttChannel, type MqttChannelOptions } from '../../../src/notify/channels/mqtt-channel.js';
import type { MonitorInfo } from '../../../src/domain/zm-event.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { manualClock, notification, zmEvent } from '../../helpers/mqtt-fixtures.js';

interface Sent {
  topic: string;
  payload: string;
  retain: boolean;
}

/** Queues like MqttConnection (while disconnected, sent after the connect listeners), without bounds. */
class RecordingLink implements MqttLink {
  connected = false;
  readonly sent: Sent[] = [];
  readonly queued: Sent[] = [];
  readonly subscriptions: string[] = [];
  private readonly connectListeners = new Set<() => void>();
  private readonly messageListeners = new Set<(m: InboundMessage) => void>();
  async start(): Promise<void> {}
  async stop(): Promise<void> {
    this.connected = false;
  }
  publish(topic: string, payload: string, options: PublishOptions): PublishResult {
    const message = { topic, payload, retain: options.retain };
    if (this.connected) {
      this.sent.push(message);
      return 'sent';
    }
    if (options.queue !== true) return 'dropped';
    this.queued.push(message);
    return 'queued';
  }
  subscribe(topic: string): void {
    this.subscriptions.push(topic);
  }
  onConnect(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }
  onMessage(listener: (m: InboundMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }
  connect(): void {
    this.connected = true;
    for (const l of this.connectListeners) l();
    this.sent.push(...this.queued.splice(0));
  }
  deliver(message: InboundMessage): void {
    for (const l of this.messageListeners) l(message);
  }
  to(topic: string): string[] {
    return this.sent.filter((s) => s.topic === topic).map((s) => s.payload);
  }
}

const OPTIONS: MqttChannelOptions = {
  topic: 'zm',
  retain: false,
  haDiscovery: true,
  discoveryPrefix: 'homeassistant',
  motionTimeoutMs: 600_000,
  version: '9.9.9',
};
const monitor = (id: number, name = `Cam ${id}`, notify = true): MonitorInfo => ({ id, name, notify });

async function setup(options: Partial<MqttChannelOptions> = {}) {
  const { log, grep } = memoryLogger();
  const bus = new EventBus<ZmesEvents>(log);
  const link = new RecordingLink();
  const clock = manualClock();
  const publisher = new MqttChannel(bus, { ...OPTIONS, ...options }, link, log, clock);
  await publisher.start();
  link.connect();
  return { bus, link, clock, publisher, grep };
}

test('subscribes to Home Assistant\'s status and to its own discovery configs', async () => {
  const { link } = await setup();
  assert.deepEqual(link.subscriptions, ['homeassistant/status', 'homeassistant/+/zmes_zm/+/config']);
});

test('with ha_discovery off, the classic message is the only news; entities announced before are withdrawn', async () => {
  const { bus, link, grep } = await setup({ haDiscovery: false });
  assert.deepEqual(link.subscriptions, ['homeassistant/+/zmes_zm/+/config'], 'reads back what an earlier run left');
  const zmes = 'homeassistant/binary_sensor/zmes_zm/status/config';
  assert.deepEqual(link.to(zmes), [''], 'the zmes entity goes at the connect');

  link.sent.length = 0;
  bus.emit('zm:monitors', { monitors: [monitor(3), monitor(4, 'Cam 4', false)], removed: [7] });
  const expected = [3, 4, 7].flatMap((id) => [
    `homeassistant/binary_sensor/zmes_zm/monitor_${id}_motion/config`,
    `homeassistant/sensor/zmes_zm/monitor_${id}_last_event/config`,
    `homeassistant/event/zmes_zm/monitor_${id}_alarm/config`,
    // With the ZoneMinder API (an earlier run may have had it): picture and alarm buttons.
    `homeassistant/image/zmes_zm/monitor_${id}_picture/config`,
    `homeassistant/button/zmes_zm/monitor_${id}_force_alarm/config`,
    `homeassistant/button/zmes_zm/monitor_${id}_cancel_alarm/config`,
    `zm/zmes/monitor/${id}/motion`,
    `zm/zmes/monitor/${id}/last_event`,
    `zm/zmes/monitor/${id}/last_event/attributes`,
    `zm/zmes/monitor/${id}/picture`,
  ]);
  assert.deepEqual(link.sent.map((s) => s.topic).sort(), expected.sort());
  assert.ok(link.sent.every((s) => s.payload === '' && s.retain), 'empty and retained');
  assert.equal(grep(/INFO .*ha_discovery is off: withdrawing the Home Assistant entities zmes may have announced \(zmes itself\)$/).length, 1);
  assert.equal(grep(/INFO .*ha_discovery is off: withdrawing .*\(zmes itself and 3 monitor\(s\)\)$/).length, 1);

  link.sent.length = 0;
  bus.emit('zm:monitors', { monitors: [monitor(3), monitor(4, 'Cam 4', false)], removed: [] });
  assert.equal(link.sent.length, 0, 'once per connection');
  bus.emit('zm:event', { kind: 'start', event: zmEvent() });
  bus.emit('notification', notification());
  assert.deepEqual(link.sent.map((s) => s.topic), ['zm/3']);

  link.sent.length = 0;
  link.connect();
  assert.equal(link.sent.length, 2 + 2 * 10, 'again after a reconnect: a restarted broker may have lost the empty configs, Home Assistant still has the entities');
  assert.equal(grep(/INFO .*ha_discovery is off: withdrawing/).length, 2, 'no new info line for the same monitors');
});

test('with ha_discovery off, a config of ours read back from the broker is emptied, once', async () => {
  const { bus, link, grep } = await setup({ haDiscovery: false });
  bus.emit('zm:monitors', { monitors: [monitor(3)], removed: [] });
  link.sent.length = 0;
  link.deliver({ topic: 'homeassistant/sensor/zmes_zm/monitor_3_last_event/config', payload: '{"name":"Last event"}', retained: true });
  assert.equal(link.sent.length, 0, 'already emptied on this connection');
  const stale = 'homeassistant/event/zmes_zm/monitor_9_alarm/config';
  link.deliver({ topic: stale, payload: '{"name":"Alarm"}', retained: true });
  assert.deepEqual(link.to(stale), ['']);
  assert.deepEqual(link.to('zm/zmes/monitor/9/motion'), ['']);
  assert.equal(grep(/removing Home Assistant entity event monitor_9_alarm: ha_discovery is off/).length, 1);
  link.deliver({ topic: stale, payload: '', retained: false });
  link.deliver({ topic: 'homeassistant/status', payload: 'online', retained: false });
  assert.equal(link.to(stale).length, 1);
  assert.equal(link.to('homeassistant/binary_sensor/zmes_zm/status/config').length, 0, 'Home Assistant\'s birth re-sends nothing');
});

test('the motion timeout turns a never-ending event off, and the late end changes nothing more', async () => {
  const { bus, link, clock, grep } = await setup();
  const motion = 'zm/zmes/monitor/3/motion';
  bus.emit('zm:event', { kind: 'start', event: zmEvent() });
  assert.deepEqual(link.to(motion), ['ON']);
  clock.advance(599_999);
  assert.deepEqual(link.to(motion), ['ON']);
  clock.advance(1);
  assert.deepEqual(link.to(motion), ['ON', 'OFF']);
  assert.equal(grep(/event 999 still open after 600 s, motion sensor turned off/).length, 1);
  bus.emit('zm:event', { kind: 'end', event: zmEvent({ endTime: 1_767_226_000 }), how: 'ended' });
  assert.deepEqual(link.to(motion), ['ON', 'OFF']);
  assert.equal(clock.pending, 0);
});

test('a new event restarts the timeout; motion stays on until the last open event ends', async () => {
  const { bus, link, clock } = await setup();
  const motion = 'zm/zmes/monitor/3/motion';
  bus.emit('zm:event', { kind: 'start', event: zmEvent({ eventId: 1n }) });
  clock.advance(400_000);
  bus.emit('zm:event', { kind: 'start', event: zmEvent({ eventId: 2n }) });
  clock.advance(400_000);
  assert.deepEqual(link.to(motion), ['ON']);
  bus.emit('zm:event', { kind: 'end', event: zmEvent({ eventId: 1n }), how: 'ended' });
  assert.deepEqual(link.to(motion), ['ON']);
  bus.emit('zm:event', { kind: 'end', event: zmEvent({ eventId: 2n }), how: 'deleted' });
  assert.deepEqual(link.to(motion), ['ON', 'OFF']);
  assert.equal(clock.pending, 0);
});

test('motion_timeout 0 leaves motion on until the end', async () => {
  const { bus, clock } = await setup({ motionTimeoutMs: 0 });
  bus.emit('zm:event', { kind: 'start', event: zmEvent() });
  assert.equal(clock.pending, 0);
});

test('the start notification adds its hook cause and picture to the last event, not to an older event', async () => {
  const { bus, link } = await setup();
  const attributes = 'zm/zmes/monitor/3/last_event/attributes';
  bus.emit('zm:event', { kind: 'start', event: zmEvent({ eventId: 5n }) });
  bus.emit('notification', notification({ event: zmEvent({ eventId: 4n }), cause: 'old' }));
  bus.emit('notification', notification({ event: zmEvent({ eventId: 5n }), cause: '[a] detected:person Motion', picture: 'https://zm/pic?eid=5' }));
  const last = JSON.parse(link.to(attributes).at(-1)!) as Record<string, unknown>;
  assert.equal(last['cause'], '[a] detected:person Motion');
  assert.equal(last['picture'], 'https://zm/pic?eid=5');
  assert.equal(link.to(attributes).length, 2);
  bus.emit('zm:event', { kind: 'cause', event: zmEvent({ eventId: 5n, notes: 'Motion: Porch' }) });
  assert.equal(link.to(attributes).length, 2, 'the notified cause wins over later Notes');
});

test('a monitor whose notify flag goes off loses its entities like a deleted one', async () => {
  const { bus, link } = await setup();
  bus.emit('zm:monitors', { monitors: [monitor(1), monitor(2)], removed: [] });
  bus.emit('zm:monitors', { monitors: [monitor(1), monitor(2, 'Cam 2', false)], removed: [] });
  assert.deepEqual(link.to('homeassistant/event/zmes_zm/monitor_2_alarm/config').map((p) => p === ''), [false, true]);
  assert.deepEqual(link.to('homeassistant/event/zmes_zm/monitor_1_alarm/config').length, 1);
});

test('state for monitors is bounded: the oldest is forgotten first', async () => {
  const { bus, link } = await setup({ maxMonitors: 2 });
  for (const monitorId of [7, 8, 9]) bus.emit('zm:event', { kind: 'start', event: zmEvent({ monitorId }) });
  link.sent.length = 0;
  link.connect();
  const motions = link.sent.filter((s) => s.topic.endsWith('/motion')).map((s) => s.topic);
  assert.deepEqual(motions.sort(), ['zm/zmes/monitor/8/motion', 'zm/zmes/monitor/9/motion']);
});

test('once the monitor list is known, events of monitors not in it are ignored', async () => {
  const { bus, link } = await setup();
  bus.emit('zm:monitors', { monitors: [monitor(1), monitor(2, 'Off', false)], removed: [] });
  link.sent.length = 0;
  bus.emit('zm:event', { kind: 'start', event: zmEvent({ monitorId: 2 }) });
  bus.emit('zm:event', { kind: 'start', event: zmEvent({ monitorId: 5 }) });
  assert.deepEqual(link.sent, []);
});

test('while disconnected, event messages are queued in order and state waits for the re-send; nothing throws', async () => {
  const { bus, link } = await setup();
  link.connected = false;
  link.sent.length = 0;
  bus.emit('zm:monitors', { monitors: [monitor(1)], removed: [] });
  bus.emit('zm:event', { kind: 'start', event: zmEvent({ monitorId: 1 }) });
  bus.emit('notification', notification({ event: zmEvent({ monitorId: 1 }) }));
  bus.emit('zm:event', { kind: 'end', event: zmEvent({ monitorId: 1, endTime: 1_767_225_630 }), how: 'ended' });
  bus.emit('notification', notification({ phase: 'end', event: zmEvent({ monitorId: 1 }) }));
  assert.equal(link.sent.length, 0);
  assert.deepEqual(
    link.queued.map((q) => `${q.topic} ${(JSON.parse(q.payload) as { event_type?: string; eventtype?: string }).event_type ?? (JSON.parse(q.payload) as { eventtype: string }).eventtype}`),
    ['zm/zmes/monitor/1/event event_start', 'zm/1 event_start', 'zm/zmes/monitor/1/event event_end', 'zm/1 event_end'],
  );
  assert.ok(link.queued.every((q) => !q.retain));
  link.connect();
  assert.deepEqual(link.to('zm/zmes/monitor/1/motion'), ['OFF'], 'the state as it is now');
  assert.equal(link.to('homeassistant/binary_sensor/zmes_zm/monitor_1_motion/config').length, 1);
  assert.equal(link.to('zm/zmes/monitor/1/last_event').length, 1);
  assert.equal(link.to('zm/zmes/monitor/1/event').length, 2);
});

test('a retained "online" on subscribe does not trigger a second re-send; a live one does', async () => {
  const { bus, link } = await setup();
  bus.emit('zm:monitors', { monitors: [monitor(1)], removed: [] });
  const config = 'homeassistant/sensor/zmes_zm/monitor_1_last_event/config';
  link.deliver({ topic: 'homeassistant/status', payload: 'online', retained: true });
  assert.equal(link.to(config).length, 1);
  link.deliver({ topic: 'homeassistant/status', payload: 'offline', retained: false });
  assert.equal(link.to(config).length, 1);
  link.deliver({ topic: 'homeassistant/status', payload: 'online', retained: false });
  assert.equal(link.to(config).length, 2);
});

test('stop cancels the motion timers', async () => {
  const { bus, clock, publisher } = await setup();
  bus.emit('zm:event', { kind: 'start', event: zmEvent() });
  assert.equal(clock.pending, 1);
  await publisher.stop();
  assert.equal(clock.pending, 0);
  await publisher.stop();
});

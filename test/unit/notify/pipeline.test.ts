import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/event-bus.js';
import { NotificationPipeline } from '../../../src/notify/pipeline.js';
import { alarmFramesOf } from '../../../src/notify/channels/ws-channel.js';
import { causeText } from '../../../src/notify/cause-text.js';
import type { Notification } from '../../../src/domain/notification.js';
import type { ZmEvent } from '../../../src/domain/zm-event.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import { memoryLogger } from '../../helpers/memory-log.js';

const event: ZmEvent = {
  eventId: 9007199254740993n,
  monitorId: 3,
  monitorName: 'Back "Yard"',
  cause: 'Motion',
  notes: 'Motion: Lawn, Gate',
  startTime: 1_800_000_000,
  endTime: null,
  alarmFrames: 3,
  maxScore: 40,
};

function setup(options: { sendStart?: boolean; sendEnd?: boolean; causeFromNotes?: boolean } = {}) {
  const { log } = memoryLogger();
  const bus = new EventBus<ZmesEvents>(log);
  const pipeline = new NotificationPipeline(
    bus,
    { sendStart: options.sendStart ?? true, sendEnd: options.sendEnd ?? false, causeFromNotes: options.causeFromNotes ?? false },
    log,
    (e, phase) => `https://zm.example/zm/index.php?view=image&eid=${e.eventId}&phase=${phase}`,
  );
  const seen: Notification[] = [];
  bus.on('notification', (n) => seen.push(n));
  void pipeline.start(); // subscribes synchronously
  return { bus, pipeline, seen };
}

test('a start becomes one notification whose frame has integer ids and both name fields', async () => {
  const { pipeline, seen } = setup();
  await pipeline.handle({ kind: 'start', event });
  assert.equal(seen.length, 1);
  const frame = alarmFramesOf(seen[0]!).normal;
  assert.ok(frame.includes('"EventId":9007199254740993'), frame);
  const parsed = JSON.parse(frame) as { events: Array<Record<string, unknown>> };
  assert.equal(parsed.events[0]!['Name'], 'Back "Yard"');
  assert.equal(parsed.events[0]!['MonitorName'], 'Back "Yard"');
  assert.equal(parsed.events[0]!['MonitorId'], 3);
  assert.equal(parsed.events[0]!['Cause'], 'Motion');
  assert.equal(parsed.events[0]!['Picture'], 'https://zm.example/zm/index.php?view=image&eid=9007199254740993&phase=start');
  assert.ok(Object.isFrozen(seen[0]));
});

test('end notifications are off by default and carry End: and the final Notes when on', async () => {
  const off = setup();
  await off.pipeline.handle({ kind: 'end', event: { ...event, endTime: 1_800_000_010 }, how: 'ended' });
  assert.equal(off.seen.length, 0);
  const on = setup({ sendEnd: true });
  await on.pipeline.handle({ kind: 'end', event: { ...event, endTime: 1_800_000_010 }, how: 'ended' });
  const parsed = JSON.parse(alarmFramesOf(on.seen[0]!).normal) as { events: Array<Record<string, unknown>> };
  assert.equal(parsed.events[0]!['Cause'], 'End:Motion: Lawn, Gate');
});

test('deleted and abandoned events, and cause changes, notify nothing', async () => {
  const { pipeline, seen } = setup({ sendEnd: true });
  await pipeline.handle({ kind: 'end', event, how: 'deleted' });
  await pipeline.handle({ kind: 'end', event, how: 'abandoned' });
  await pipeline.handle({ kind: 'cause', event });
  assert.equal(seen.length, 0);
});

test('send_event_start_notification off silences starts', async () => {
  const { pipeline, seen } = setup({ sendStart: false });
  await pipeline.handle({ kind: 'start', event });
  assert.equal(seen.length, 0);
});

test('a stage can change the cause and the channels, or drop the notification', async () => {
  const { pipeline, seen } = setup();
  pipeline.addStage((draft) => {
    draft.cause = `[a] detected:person ${draft.cause}`;
    draft.channels.delete('fcm');
    return draft;
  });
  await pipeline.handle({ kind: 'start', event });
  assert.equal(seen[0]!.cause, '[a] detected:person Motion');
  assert.deepEqual([...seen[0]!.channels].sort(), ['api', 'mqtt', 'web']);
  pipeline.addStage(() => null);
  await pipeline.handle({ kind: 'start', event });
  assert.equal(seen.length, 1);
});

test('the cause falls back sensibly and read_alarm_cause selects the zone detail', () => {
  assert.equal(causeText(event, 'start', false), 'Motion');
  assert.equal(causeText(event, 'start', true), 'Motion: Lawn, Gate');
  assert.equal(causeText({ ...event, notes: '' }, 'end', false), 'Motion');
  assert.equal(causeText({ ...event, cause: '', notes: '' }, 'start', false), 'Alarm');
});

test('an end waits for a slow stage of the same event, so it never overtakes the start', async () => {
  const { pipeline, seen } = setup({ sendEnd: true });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  pipeline.addStage(async (draft) => {
    if (draft.phase === 'start' && draft.event.eventId === event.eventId) await gate;
    return draft;
  });
  const start = pipeline.handle({ kind: 'start', event });
  const end = pipeline.handle({ kind: 'end', event: { ...event, endTime: 1_800_000_010 }, how: 'ended' });
  const other = await pipeline.handle({ kind: 'start', event: { ...event, eventId: 5n } });
  assert.equal(other?.event.eventId, 5n, 'another event is not held up');
  assert.deepEqual(seen.map((n) => `${n.event.eventId}:${n.phase}`), ['5:start']);
  release();
  await Promise.all([start, end]);
  assert.deepEqual(seen.map((n) => `${n.event.eventId}:${n.phase}`), ['5:start', '9007199254740993:start', '9007199254740993:end']);
});

test('stages run for a phase whose notifications are off, and nothing is notified', async () => {
  const { pipeline, seen } = setup({ sendEnd: false });
  const ran: string[] = [];
  pipeline.addStage((draft) => {
    ran.push(draft.phase);
    return draft;
  });
  await pipeline.handle({ kind: 'end', event: { ...event, endTime: 1_800_000_010 }, how: 'ended' });
  assert.deepEqual(ran, ['end']);
  assert.equal(seen.length, 0);
});

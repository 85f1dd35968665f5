import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalJson,
  monitorDiscovery,
  monitorDiscoveryTopics,
  monitorIdOfObjectId,
  serverDiscovery,
  type DiscoveryContext,
} from '../../../src/mqtt/ha-discovery.js';
import { eventEntityPayload, isoTime, lastEventAttributes, lastEventState, motionPayload } from '../../../src/mqtt/ha-state.js';
import { nodeIdFor, slugify, topicLayout } from '../../../src/mqtt/topics.js';
import { haConfigProblems } from '../../helpers/ha-mqtt-schemas.js';

const layout = topicLayout('zoneminder', 'homeassistant');
const ctx: DiscoveryContext = { layout, version: '1.2.3', supportUrl: 'https://example.invalid/zmes' };
const backyard = { id: 3, name: 'Backyard' };

type Config = Record<string, unknown> & {
  device: Record<string, unknown>;
  origin: Record<string, unknown>;
  availability?: Array<Record<string, unknown>>;
};
const parse = (payload: string) => JSON.parse(payload) as Config;

describe('topic layout', () => {
  test('keeps the classic <topic>/<MonitorId> and puts everything new two levels below the topic', () => {
    assert.equal(layout.classic(3), 'zoneminder/3');
    assert.equal(layout.availability, 'zoneminder/zmes/availability');
    assert.equal(layout.motion(3), 'zoneminder/zmes/monitor/3/motion');
    assert.equal(layout.lastEvent(3), 'zoneminder/zmes/monitor/3/last_event');
    assert.equal(layout.lastEventAttributes(3), 'zoneminder/zmes/monitor/3/last_event/attributes');
    assert.equal(layout.event(3), 'zoneminder/zmes/monitor/3/event');
    assert.equal(layout.haStatus, 'homeassistant/status');
    assert.equal(layout.discoveryConfig('sensor', 'x'), 'homeassistant/sensor/zmes_zoneminder/x/config');
    assert.equal(layout.discoveryWildcard, 'homeassistant/+/zmes_zoneminder/+/config');
  });

  test('derives the node id from the topic as a slug', () => {
    assert.equal(slugify('Home/ZoneMinder 2'), 'home_zoneminder_2');
    assert.equal(nodeIdFor('home/zm'), 'zmes_home_zm');
    assert.equal(nodeIdFor('///'), 'zmes_zoneminder');
  });

  test('recognises only this instance\'s discovery config topics', () => {
    assert.deepEqual(layout.parseDiscoveryTopic('homeassistant/event/zmes_zoneminder/monitor_3_alarm/config'), {
      component: 'event',
      objectId: 'monitor_3_alarm',
    });
    assert.equal(layout.parseDiscoveryTopic('homeassistant/event/zmes_other/monitor_3_alarm/config'), null);
    assert.equal(layout.parseDiscoveryTopic('homeassistant/event/zmes_zoneminder/monitor_3_alarm/state'), null);
    assert.equal(layout.parseDiscoveryTopic('zoneminder/3'), null);
  });
});

describe('discovery configs', () => {
  test('are byte-for-byte identical for the same input, with keys sorted at every level', () => {
    const first = monitorDiscovery(ctx, backyard);
    const second = monitorDiscovery({ ...ctx }, { name: 'Backyard', id: 3 });
    assert.deepEqual(first, second);
    for (const { payload } of [...first, ...serverDiscovery(ctx)]) {
      assert.equal(payload, canonicalJson(JSON.parse(payload)));
      const keys = Object.keys(JSON.parse(payload) as object);
      assert.deepEqual(keys, [...keys].sort());
    }
  });

  test('canonicalJson sorts nested keys and keeps array order', () => {
    assert.equal(canonicalJson({ b: [{ z: 1, a: 2 }, 3], a: null }), '{"a":null,"b":[{"a":2,"z":1},3]}');
  });

  test('give each monitor a motion binary_sensor, a last event sensor and an alarm event entity', () => {
    const messages = monitorDiscovery(ctx, backyard);
    assert.deepEqual(
      messages.map((m) => m.topic),
      [
        'homeassistant/binary_sensor/zmes_zoneminder/monitor_3_motion/config',
        'homeassistant/sensor/zmes_zoneminder/monitor_3_last_event/config',
        'homeassistant/event/zmes_zoneminder/monitor_3_alarm/config',
      ],
    );
    assert.deepEqual(monitorDiscoveryTopics(layout, 3).slice(0, 3), messages.map((m) => m.topic), 'removal covers them, and the API entities');
    const [motion, lastEvent, alarm] = messages.map((m) => parse(m.payload));

    assert.equal(motion?.['device_class'], 'motion');
    assert.equal(motion?.['state_topic'], 'zoneminder/zmes/monitor/3/motion');
    assert.equal(motion?.['payload_on'], 'ON');
    assert.equal(motion?.['payload_off'], 'OFF');
    assert.equal(motion?.['default_entity_id'], 'binary_sensor.zoneminder_3_motion');

    assert.equal(lastEvent?.['state_topic'], 'zoneminder/zmes/monitor/3/last_event');
    assert.equal(lastEvent?.['json_attributes_topic'], 'zoneminder/zmes/monitor/3/last_event/attributes');
    assert.equal(lastEvent?.['default_entity_id'], 'sensor.zoneminder_3_last_event');

    assert.deepEqual(alarm?.['event_types'], ['event_start', 'event_end']);
    assert.equal(alarm?.['state_topic'], 'zoneminder/zmes/monitor/3/event');
    assert.equal(alarm?.['default_entity_id'], 'event.zoneminder_3_alarm');
  });

  test('carry what Home Assistant requires: unique_id, device, availability, origin', () => {
    for (const { payload } of monitorDiscovery(ctx, backyard)) {
      const config = parse(payload);
      assert.match(String(config['unique_id']), /^zmes_zoneminder_monitor_3_[a-z_]+$/);
      assert.equal(typeof config['name'], 'string');
      assert.equal('object_id' in config, false, 'object_id is gone from current Home Assistant');
      assert.deepEqual(config.device, {
        identifiers: ['zmes_zoneminder_monitor_3'],
        manufacturer: 'ZoneMinder',
        model: 'Monitor',
        name: 'Backyard',
        via_device: 'zmes_zoneminder',
      });
      assert.deepEqual(config.availability, [
        { payload_available: 'online', payload_not_available: 'offline', topic: 'zoneminder/zmes/availability' },
      ]);
      assert.deepEqual(config.origin, { name: 'zmes', support_url: 'https://example.invalid/zmes', sw_version: '1.2.3' });
    }
  });

  test('use distinct unique ids across entities and monitors', () => {
    const ids = [backyard, { id: 4, name: 'Backyard' }, { id: 30, name: 'Porch' }]
      .flatMap((m) => monitorDiscovery(ctx, m))
      .concat(serverDiscovery(ctx))
      .map((m) => parse(m.payload)['unique_id']);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('describe zmes itself as a device with a connectivity sensor on the availability topic', () => {
    const [status] = serverDiscovery(ctx);
    assert.equal(status?.topic, 'homeassistant/binary_sensor/zmes_zoneminder/status/config');
    const config = parse(status!.payload);
    assert.equal(config['device_class'], 'connectivity');
    assert.equal(config['state_topic'], 'zoneminder/zmes/availability');
    assert.equal(config['payload_on'], 'online');
    assert.equal(config['payload_off'], 'offline');
    assert.equal(config['availability'], undefined, 'its own state must not make it unavailable');
    assert.deepEqual(config.device['identifiers'], ['zmes_zoneminder']);
    assert.equal(config.device['sw_version'], '1.2.3');
  });

  test('name a monitor without a name after its id, and leave out an unknown support url', () => {
    const [motion] = monitorDiscovery({ layout, version: '1.2.3' }, { id: 7, name: '  ' });
    const config = parse(motion!.payload);
    assert.equal(config.device['name'], 'Monitor 7');
    assert.deepEqual(config.origin, { name: 'zmes', sw_version: '1.2.3' });
  });

  test('with the ZoneMinder API, each monitor also gets its event picture and Force / Cancel alarm buttons that Home Assistant accepts', () => {
    const messages = monitorDiscovery({ ...ctx, zoneminderApi: true }, backyard);
    assert.deepEqual(messages.map((m) => m.topic), monitorDiscoveryTopics(layout, 3));
    const byTopic = new Map(messages.map((m) => [m.topic, parse(m.payload)]));
    const picture = byTopic.get('homeassistant/image/zmes_zoneminder/monitor_3_picture/config')!;
    assert.deepEqual(haConfigProblems('image', picture), []);
    assert.equal(picture['image_topic'], 'zoneminder/zmes/monitor/3/picture');
    assert.equal(picture['content_type'], 'image/jpeg');
    const force = byTopic.get('homeassistant/button/zmes_zoneminder/monitor_3_force_alarm/config')!;
    const cancel = byTopic.get('homeassistant/button/zmes_zoneminder/monitor_3_cancel_alarm/config')!;
    for (const button of [force, cancel]) {
      assert.deepEqual(haConfigProblems('button', button), []);
      assert.equal(button['command_topic'], 'zoneminder/zmes/monitor/3/alarm/set');
    }
    assert.match(String(force['unique_id']), /force_alarm/);
    assert.equal(force['payload_press'], 'on');
    assert.equal(cancel['payload_press'], 'off');
    assert.equal(layout.parseAlarmCommandTopic('zoneminder/zmes/monitor/3/alarm/set'), 3);
    assert.equal(layout.parseAlarmCommandTopic('zoneminder/zmes/monitor/3/alarm'), null);
    assert.equal(layout.parseAlarmCommandTopic('other/zmes/monitor/3/alarm/set'), null);
    // The schemas bite: what Home Assistant would refuse or ignore is reported.
    assert.notDeepEqual(haConfigProblems('image', { ...picture, url_topic: 'x' }), []);
    assert.notDeepEqual(haConfigProblems('button', { ...force, command_topic: 'a/+/b' }), []);
    assert.notDeepEqual(haConfigProblems('button', { ...force, state_topic: 'a' }), []);
  });

  test('describe the ZoneMinder database as a diagnostic connectivity sensor of zmes, and carry the last failed action on the status entity', () => {
    const [status, database] = serverDiscovery(ctx);
    assert.equal(parse(status!.payload)['json_attributes_topic'], 'zoneminder/zmes/status/attributes');
    assert.equal(database?.topic, 'homeassistant/binary_sensor/zmes_zoneminder/database/config');
    const config = parse(database!.payload);
    assert.equal(config['device_class'], 'connectivity');
    assert.equal(config['entity_category'], 'diagnostic');
    assert.equal(config['state_topic'], 'zoneminder/zmes/database');
    assert.deepEqual([config['payload_on'], config['payload_off']], ['ON', 'OFF']);
  });

  test('map object ids back to their monitor', () => {
    assert.equal(monitorIdOfObjectId('monitor_12_motion'), 12);
    assert.equal(monitorIdOfObjectId('monitor_12_last_event'), 12);
    assert.equal(monitorIdOfObjectId('status'), null);
  });
});

describe('entity state payloads', () => {
  const record = {
    eventId: 18_446_744_073_709_551_000n,
    monitorId: 3,
    monitorName: 'Backyard',
    cause: 'Motion: All',
    startTime: 1_767_225_600,
    endTime: null,
    picture: null,
    state: 'open' as const,
  };

  test('motion is ON or OFF', () => {
    assert.equal(motionPayload(true), 'ON');
    assert.equal(motionPayload(false), 'OFF');
  });

  test('the last event sensor shows the id without losing BigInt precision, attributes in ISO time', () => {
    assert.equal(lastEventState(record), '18446744073709551000');
    assert.equal(
      lastEventAttributes(record),
      '{"cause":"Motion: All","end_time":null,"event_id":"18446744073709551000","monitor_id":3,' +
        '"monitor_name":"Backyard","picture":null,"start_time":"2026-01-01T00:00:00.000Z","state":"open"}',
    );
    assert.equal(isoTime(null), null);
  });

  test('the event entity payload names its event type and, at the end, how the event ended', () => {
    assert.equal(
      eventEntityPayload('event_start', record),
      '{"cause":"Motion: All","event_id":"18446744073709551000","event_type":"event_start","monitor_id":3,"monitor_name":"Backyard"}',
    );
    const end = JSON.parse(eventEntityPayload('event_end', { ...record, state: 'ended' })) as Record<string, unknown>;
    assert.equal(end['event_type'], 'event_end');
    assert.equal(end['end_state'], 'ended');
  });
});

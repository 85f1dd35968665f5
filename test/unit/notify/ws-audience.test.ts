import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedTopic, TopicMemo, TOPIC_ALL, type AudienceInput } from '../../../src/notify/channels/ws-audience.js';
import { ALL_MONITORS, parseMonitorFilter } from '../../../src/domain/monitor-filter.js';
import { VISIBLE_ALL, VISIBLE_NONE, type MonitorVisibility } from '../../../src/zm/auth/permissions.js';
import { decide } from '../../../src/notify/recipients.js';

const some = (...ids: number[]): MonitorVisibility => ({ kind: 'some', ids: new Set(ids) });
const filter = (monlist: string, intlist = '') => parseMonitorFilter(monlist, intlist).filter;
const input = (visibility: MonitorVisibility, f = ALL_MONITORS, pushRegistered = false): AudienceInput => ({ visibility, filter: f, pushRegistered });

test('everything visible and no filter: the topic everybody like it shares', () => {
  assert.equal(sharedTopic(input(VISIBLE_ALL)), TOPIC_ALL);
});

test('the topic names the monitors it may receive: permissions intersected with the filter, in order', () => {
  assert.equal(sharedTopic(input(some(7, 2, 3))), 'zmes/alarm/m:2,3,7');
  assert.equal(sharedTopic(input(VISIBLE_ALL, filter('9,1,4', '0,0,0'))), 'zmes/alarm/m:1,4,9');
  assert.equal(sharedTopic(input(some(1, 2), filter('2,3'))), 'zmes/alarm/m:2');
  // Same monitor set, reached two ways: the same topic.
  assert.equal(sharedTopic(input(some(2, 5))), sharedTopic(input(VISIBLE_ALL, filter('5,2'))));
});

test('no topic where a per-device decision is needed, or where nothing can be received', () => {
  assert.equal(sharedTopic(input(VISIBLE_ALL, ALL_MONITORS, true)), undefined, 'a push token: the one-alert rule');
  assert.equal(sharedTopic(input(VISIBLE_ALL, filter('1,2', '0,30'))), undefined, 'an interval on one monitor');
  assert.equal(sharedTopic(input(VISIBLE_NONE)), undefined);
  assert.equal(sharedTopic(input(some(1), filter('2'))), undefined, 'filter and permissions do not meet');
});

test('every member of a topic gets the verdict decide() gives it, for every monitor', () => {
  const recipients = [
    input(VISIBLE_ALL),
    input(some(1, 3)),
    input(VISIBLE_ALL, filter('3,1')),
    input(some(1, 2, 3), filter('1,3,8', '0,0,0')),
    input(some(4), filter('4')),
    input(VISIBLE_ALL, filter('4', '0')),
  ];
  const byTopic = new Map<string, AudienceInput[]>();
  for (const r of recipients) {
    const topic = sharedTopic(r);
    assert.ok(topic !== undefined);
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), r]);
  }
  assert.equal(byTopic.size, 3);
  for (const [topic, members] of byTopic) {
    for (let monitor = 1; monitor <= 9; monitor++) {
      const verdicts = members.map((m) => decide({ visibility: m.visibility, filter: m.filter, lastSentAt: undefined }, monitor, 'start', 0) === 'send');
      assert.ok(verdicts.every((v) => v === verdicts[0]), `${topic}, monitor ${monitor}`);
      const named = topic === TOPIC_ALL || topic.slice('zmes/alarm/m:'.length).split(',').map(Number).includes(monitor);
      assert.equal(verdicts[0], named, `${topic} names monitor ${monitor} exactly when its members get it`);
    }
  }
});

test('the memo answers again only when the session replaced one of its objects', () => {
  const memo = new TopicMemo<object>();
  const key = {};
  const f = filter('1,2');
  const visibility = some(1, 2, 3);
  assert.equal(memo.topicOf(key, input(visibility, f)), 'zmes/alarm/m:1,2');
  assert.equal(memo.topicOf(key, input(visibility, f)), 'zmes/alarm/m:1,2');
  assert.equal(memo.topicOf(key, input(some(2), f)), 'zmes/alarm/m:2', 'narrowed permissions');
  assert.equal(memo.topicOf(key, input(some(2), filter('2', '10'))), undefined, 'a new filter with an interval');
  assert.equal(memo.topicOf(key, input(some(2), f, true)), undefined, 'a push registration');
  assert.equal(memo.topicOf({}, input(VISIBLE_ALL)), TOPIC_ALL, 'per key');
});

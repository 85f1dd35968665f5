import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../../src/notify/recipients.js';
import { parseMonitorFilter } from '../../../src/domain/monitor-filter.js';
import { VISIBLE_ALL, VISIBLE_NONE } from '../../../src/zm/auth/permissions.js';

const filter = (monlist: string, intlist: string) => parseMonitorFilter(monlist, intlist).filter;
const NOW = 1_800_000_000_000;

test('a user never gets events of a monitor ZoneMinder hides from them, whatever the filter', () => {
  assert.equal(decide({ visibility: VISIBLE_NONE, filter: filter('', ''), lastSentAt: undefined }, 1, 'start', NOW), 'not-permitted');
  const some = { kind: 'some', ids: new Set([2]) } as const;
  assert.equal(decide({ visibility: some, filter: filter('1,2', ''), lastSentAt: undefined }, 1, 'start', NOW), 'not-permitted');
  assert.equal(decide({ visibility: some, filter: filter('1,2', ''), lastSentAt: undefined }, 2, 'start', NOW), 'send');
});

test('an empty monlist means every monitor and no throttling', () => {
  const view = { visibility: VISIBLE_ALL, filter: filter('', '60'), lastSentAt: NOW - 1000 };
  assert.equal(decide(view, 7, 'start', NOW), 'send');
});

test('a monitor outside the monlist is filtered, for start and end alike', () => {
  const view = { visibility: VISIBLE_ALL, filter: filter('1,2', '0,0'), lastSentAt: undefined };
  assert.equal(decide(view, 3, 'start', NOW), 'filtered');
  assert.equal(decide(view, 3, 'end', NOW), 'filtered');
});

test('a start inside the interval is throttled, one after it is sent; a missing interval is 0', () => {
  const view = (lastSentAt: number | undefined) => ({ visibility: VISIBLE_ALL, filter: filter('1,2', '60'), lastSentAt });
  assert.equal(decide(view(NOW - 59_999), 1, 'start', NOW), 'throttled');
  assert.equal(decide(view(NOW - 60_000), 1, 'start', NOW), 'send');
  assert.equal(decide(view(undefined), 1, 'start', NOW), 'send');
  assert.equal(decide(view(NOW - 1), 2, 'start', NOW), 'send');
});

test('end notifications ignore intervals', () => {
  const view = { visibility: VISIBLE_ALL, filter: filter('1', '600'), lastSentAt: NOW - 1000 };
  assert.equal(decide(view, 1, 'end', NOW), 'send');
});

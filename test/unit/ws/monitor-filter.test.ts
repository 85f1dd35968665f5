import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMonitorFilter, filterIncludes, filterInterval, type MonitorFilter } from '../../../src/domain/monitor-filter.js';

function intervals(filter: MonitorFilter): Array<[number, number]> {
  assert.equal(filter.kind, 'some');
  return filter.kind === 'some' ? [...filter.intervals] : [];
}

test('an empty, missing or "-1" monlist means every monitor without throttling', () => {
  for (const monlist of [undefined, '', '  ', '-1', ' -1 ']) {
    const { filter, warnings } = parseMonitorFilter(monlist, '60,60');
    assert.deepEqual(filter, { kind: 'all' }, String(monlist));
    assert.deepEqual(warnings, []);
    assert.equal(filterIncludes(filter, 12345), true);
    assert.equal(filterInterval(filter, 12345), 0);
  }
});

test('monitors are paired with intervals by position', () => {
  const { filter, warnings } = parseMonitorFilter('1,3,7', '60,0,15');
  assert.deepEqual(intervals(filter), [[1, 60], [3, 0], [7, 15]]);
  assert.deepEqual(warnings, []);
  assert.equal(filterIncludes(filter, 3), true);
  assert.equal(filterIncludes(filter, 2), false);
  assert.equal(filterInterval(filter, 7), 15);
  assert.equal(filterInterval(filter, 2), undefined);
});

test('a missing interval counts as 0', () => {
  assert.deepEqual(intervals(parseMonitorFilter('1,2,3', '30').filter), [[1, 30], [2, 0], [3, 0]]);
  assert.deepEqual(intervals(parseMonitorFilter('1,2', undefined).filter), [[1, 0], [2, 0]]);
  assert.deepEqual(intervals(parseMonitorFilter('1,2', '').filter), [[1, 0], [2, 0]]);
  assert.deepEqual(intervals(parseMonitorFilter('1,2', '5,').filter), [[1, 5], [2, 0]]);
});

test('spaces around entries are tolerated', () => {
  assert.deepEqual(intervals(parseMonitorFilter(' 1 , 2 ', ' 10 , 20 ').filter), [[1, 10], [2, 20]]);
});

test('an invalid monitor entry is skipped with a warning and its interval stays paired with it', () => {
  const { filter, warnings } = parseMonitorFilter('1,abc,3,-1,0,2.5', '10,20,30,40,50,60');
  assert.deepEqual(intervals(filter), [[1, 10], [3, 30]]);
  assert.equal(warnings.length, 4);
  assert.match(warnings[0] ?? '', /monlist entry 2 "abc"/);
});

test('empty monitor entries are skipped silently but keep their position', () => {
  const { filter, warnings } = parseMonitorFilter('1,,3,', '10,20,30');
  assert.deepEqual(intervals(filter), [[1, 10], [3, 30]]);
  assert.deepEqual(warnings, []);
});

test('an invalid interval becomes 0 with a warning', () => {
  const { filter, warnings } = parseMonitorFilter('1,2,3', '10,soon,-5');
  assert.deepEqual(intervals(filter), [[1, 10], [2, 0], [3, 0]]);
  assert.equal(warnings.length, 2);
});

test('a monitor listed twice keeps its first interval and is reported', () => {
  const { filter, warnings } = parseMonitorFilter('4,4', '10,20');
  assert.deepEqual(intervals(filter), [[4, 10]]);
  assert.equal(warnings.length, 1);
});

test('extra intervals are reported and ignored', () => {
  const { filter, warnings } = parseMonitorFilter('1', '10,20');
  assert.deepEqual(intervals(filter), [[1, 10]]);
  assert.equal(warnings.length, 1);
});

test('a list with no valid monitor selects no monitor rather than all of them', () => {
  const { filter, warnings } = parseMonitorFilter('abc', '');
  assert.deepEqual(intervals(filter), []);
  assert.equal(filterIncludes(filter, 1), false);
  assert.equal(warnings.length, 1);
});

test('warnings show hostile entries only as short printable text', () => {
  const { warnings } = parseMonitorFilter('\u0000\u001b[31m' + 'x'.repeat(500), '');
  assert.equal(warnings.length, 1);
  assert.ok((warnings[0] ?? '').length < 120);
  assert.doesNotMatch(warnings[0] ?? '', /[\u0000-\u001f]/);
});

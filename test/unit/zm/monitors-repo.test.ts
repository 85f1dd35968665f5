import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMonitorList, diffMonitors, monitorNotifies } from '../../../src/zm/monitors-repo.js';
import type { MonitorActivity, MonitorFunction, MonitorRow } from '../../../src/zm/rows.js';

function monitor(id: number, activity: MonitorActivity, patch: Partial<MonitorRow> = {}): MonitorRow {
  return { id, name: `M${id}`, activity, enabled: true, deleted: false, serverId: null, eventPrefix: 'Event-', ...patch };
}

const fn = (f: MonitorFunction): MonitorActivity => ({ model: 'function', function: f });

test('1.36: Modect, Mocord and Nodect notify when enabled; None, Monitor and Record never', () => {
  const notifies = (['None', 'Monitor', 'Modect', 'Record', 'Mocord', 'Nodect'] as const).map((f) => [f, monitorNotifies(monitor(1, fn(f)))]);
  assert.deepEqual(Object.fromEntries(notifies), { None: false, Monitor: false, Modect: true, Record: false, Mocord: true, Nodect: true });
  assert.equal(monitorNotifies(monitor(1, fn('Modect'), { enabled: false })), false);
});

test('1.37+: the Function rule carried over to Capturing/Analysing/Recording; Enabled is not consulted; deleted never', () => {
  const cap = (capturing: 'None' | 'Ondemand' | 'Always', analysing: 'None' | 'Always', recording: 'None' | 'OnMotion' | 'Always'): MonitorActivity => ({
    model: 'capturing',
    capturing,
    analysing,
    recording,
  });
  assert.equal(monitorNotifies(monitor(1, cap('Always', 'Always', 'OnMotion'))), true, 'Modect');
  assert.equal(monitorNotifies(monitor(1, cap('Always', 'Always', 'Always'))), true, 'Mocord');
  assert.equal(monitorNotifies(monitor(1, cap('Ondemand', 'None', 'OnMotion'))), true, 'Nodect');
  assert.equal(monitorNotifies(monitor(1, cap('Always', 'None', 'Always'))), false, 'Record');
  assert.equal(monitorNotifies(monitor(1, cap('Always', 'None', 'None'))), false, 'Monitor');
  assert.equal(monitorNotifies(monitor(1, cap('None', 'Always', 'OnMotion'))), false, 'not capturing');
  assert.equal(monitorNotifies(monitor(1, cap('Always', 'Always', 'OnMotion'), { enabled: false })), true);
  assert.equal(monitorNotifies(monitor(1, cap('Always', 'Always', 'OnMotion'), { deleted: true })), false);
});

test('the list is in id order, honours skip_monitors, and keeps deleted monitors out but known', () => {
  const { monitors, hidden } = buildMonitorList(
    [monitor(3, fn('Modect')), monitor(1, fn('Modect')), monitor(2, fn('Modect'), { deleted: true })],
    new Set([3]),
  );
  assert.deepEqual(monitors, [
    { id: 1, name: 'M1', notify: true },
    { id: 3, name: 'M3', notify: false },
  ]);
  assert.deepEqual([...hidden], [2]);
});

test('diffMonitors names additions, removals, renames and notify changes in id order', () => {
  const before = [
    { id: 1, name: 'Front', notify: true },
    { id: 2, name: 'Back', notify: true },
    { id: 3, name: 'Side', notify: true },
  ];
  const after = [
    { id: 1, name: 'Front Door', notify: true },
    { id: 3, name: 'Side', notify: false },
    { id: 4, name: 'Garden', notify: true },
  ];
  assert.deepEqual(
    diffMonitors(before, after).map((c) => `${c.kind} ${c.monitor.id}`),
    ['renamed 1', 'removed 2', 'notify 3', 'added 4'],
  );
  assert.deepEqual(diffMonitors(after, after), []);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventSelectList, monitorSelectList, parseEventRow, parseMonitorRow } from '../../../src/zm/rows.js';
import { describeSchema, type ColumnMap } from '../../../src/zm/schema.js';

const rawEvent = {
  Id: 9007199254740993n,
  MonitorId: 3,
  Name: 'Event-9007199254740993',
  Cause: 'Motion',
  Notes: 'Motion: Left Half, zone1',
  StartUnix: 1795592936n,
  EndUnix: 1795592945n,
  Length: '9.90',
  Frames: 100,
  AlarmFrames: 68,
  TotScore: 1836,
  AvgScore: 27,
  MaxScore: 27,
  StorageId: 1,
  DefaultVideo: '9007199254740993-video.mp4',
};

function columns(tables: Record<string, string[]>): ColumnMap {
  return new Map(Object.entries(tables).map(([t, cols]) => [t, new Map(cols.map((c) => [c, c === 'Cause' ? 'varchar' : 'int']))]));
}

const schema136 = describeSchema(
  columns({
    Events: ['Id', 'MonitorId', 'Name', 'Cause', 'Notes', 'StartDateTime', 'EndDateTime'],
    Monitors: ['Id', 'Function'],
    Users: ['Id', 'MonitorIds'],
  }),
);

test('an event row becomes a typed record with a bigint id that keeps every digit', () => {
  const parsed = parseEventRow(rawEvent);
  assert.ok(parsed.ok, !parsed.ok ? parsed.detail : '');
  assert.deepEqual(parsed.value, {
    id: 9007199254740993n,
    monitorId: 3,
    name: 'Event-9007199254740993',
    cause: 'Motion',
    notes: 'Motion: Left Half, zone1',
    startTime: 1795592936,
    endTime: 1795592945,
    length: 9.9,
    frames: 100,
    alarmFrames: 68,
    totScore: 1836,
    avgScore: 27,
    maxScore: 27,
    storageId: 1,
    defaultVideo: '9007199254740993-video.mp4',
  });
});

test('an open event has null end, frame counts and notes where the columns are NULL', () => {
  const parsed = parseEventRow({ ...rawEvent, Name: 'New Event', EndUnix: null, Frames: null, AlarmFrames: null, Notes: null });
  assert.ok(parsed.ok);
  assert.equal(parsed.value.endTime, null);
  assert.equal(parsed.value.frames, null);
  assert.equal(parsed.value.alarmFrames, null);
  assert.equal(parsed.value.notes, null);
});

test('an INT event id from a pre-1.35.11 schema is accepted and widened to bigint', () => {
  const parsed = parseEventRow({ ...rawEvent, Id: 42 });
  assert.ok(parsed.ok);
  assert.equal(parsed.value.id, 42n);
});

test('malformed event rows become typed errors that name the row and the column', () => {
  const cases: [unknown, RegExp][] = [
    [null, /not an object/],
    [[1, 2], /not an object/],
    [{ ...rawEvent, Id: 'abc' }, /Events row abc: Id is not a positive id/],
    [{ ...rawEvent, Id: 0n }, /Id is not a positive id/],
    [{ ...rawEvent, MonitorId: 2n ** 60n }, /MonitorId is out of range/],
    [{ ...rawEvent, Notes: 7 }, /Notes is not text/],
    [{ ...rawEvent, Length: 'long' }, /Length is not a number/],
    [(({ Cause: _omit, ...rest }) => rest)(rawEvent), /column Cause missing/],
  ];
  for (const [row, pattern] of cases) {
    const parsed = parseEventRow(row);
    assert.equal(parsed.ok, false, `accepted ${pattern}`);
    assert.ok(!parsed.ok && parsed.code === 'ZMES_DB_ROW_INVALID');
    assert.match(!parsed.ok ? parsed.detail : '', pattern);
  }
});

test('a 1.36 monitor row carries its Function; Deleted defaults to false', () => {
  const parsed = parseMonitorRow({ Id: 1, Name: 'Garage', Function: 'Modect', Enabled: 1, Deleted: 0, ServerId: null, EventPrefix: 'Event-' });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, {
    id: 1,
    name: 'Garage',
    activity: { model: 'function', function: 'Modect' },
    enabled: true,
    deleted: false,
    serverId: null,
    eventPrefix: 'Event-',
  });
});

test('a 1.37+ monitor row carries Capturing, Analysing and Recording', () => {
  const parsed = parseMonitorRow({
    Id: 2, Name: 'Door', Capturing: 'Always', Analysing: 'None', Recording: 'OnMotion', Enabled: 0, Deleted: 1, ServerId: 4, EventPrefix: 'Door-',
  });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value.activity, { model: 'capturing', capturing: 'Always', analysing: 'None', recording: 'OnMotion' });
  assert.equal(parsed.value.enabled, false);
  assert.equal(parsed.value.deleted, true);
  assert.equal(parsed.value.serverId, 4);
});

test('a monitor row with an unknown Function or a non-boolean Enabled is rejected', () => {
  const base = { Id: 1, Name: 'x', Function: 'Modect', Enabled: 1, Deleted: 0, ServerId: null, EventPrefix: 'Event-' };
  const badFunction = parseMonitorRow({ ...base, Function: 'Sometimes' });
  assert.match(!badFunction.ok ? badFunction.detail : 'accepted', /Function is not one of/);
  const badEnabled = parseMonitorRow({ ...base, Enabled: 7 });
  assert.match(!badEnabled.ok ? badEnabled.detail : 'accepted', /Enabled is not a boolean/);
});

test('the select lists follow the detected column names', () => {
  const old = describeSchema(
    columns({ Events: ['Id', 'MonitorId', 'Name', 'Cause', 'Notes', 'StartTime', 'EndTime'], Monitors: ['Id', 'Function'], Users: ['Id'] }),
  );
  assert.match(eventSelectList(old, 'e'), /UNIX_TIMESTAMP\(e\.StartTime\) AS StartUnix, UNIX_TIMESTAMP\(e\.EndTime\) AS EndUnix/);
  assert.match(eventSelectList(schema136), /UNIX_TIMESTAMP\(StartDateTime\) AS StartUnix/);
  assert.match(monitorSelectList(schema136), /Function\b.*0 AS Deleted/);
  const newer = describeSchema(
    columns({
      Events: ['Id', 'MonitorId', 'Name', 'Cause', 'Notes', 'StartDateTime', 'EndDateTime'],
      Monitors: ['Id', 'Function', 'Capturing', 'Analysing', 'Recording', 'Deleted'],
      Users: ['Id'],
    }),
  );
  const list = monitorSelectList(newer, 'm');
  assert.match(list, /m\.Capturing AS Capturing, m\.Analysing AS Analysing, m\.Recording AS Recording/);
  assert.match(list, /m\.Deleted AS Deleted/);
  assert.doesNotMatch(list, /Function/);
});

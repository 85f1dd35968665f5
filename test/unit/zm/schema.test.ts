import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isZmesError } from '../../../src/errors.js';
import { describeSchema, type ColumnMap } from '../../../src/zm/schema.js';

function columns(tables: Record<string, Record<string, string> | string[]>): ColumnMap {
  return new Map(
    Object.entries(tables).map(([table, cols]) => [
      table,
      new Map(Array.isArray(cols) ? cols.map((c) => [c, 'int'] as const) : Object.entries(cols)),
    ]),
  );
}

const events136 = { Id: 'bigint', MonitorId: 'int', Name: 'varchar', Cause: 'varchar', Notes: 'text', StartDateTime: 'datetime', EndDateTime: 'datetime' };

test('StartTime/EndTime columns mean a schema from before 1.35.13', () => {
  const schema = describeSchema(
    columns({
      Events: { Id: 'int', MonitorId: 'int', Name: 'varchar', Cause: 'varchar', Notes: 'text', StartTime: 'datetime', EndTime: 'datetime' },
      Monitors: ['Id', 'Function'],
      Users: ['Id', 'MonitorIds'],
    }),
  );
  assert.equal(schema.label, 'pre-1.35.13');
  assert.equal(schema.events.startColumn, 'StartTime');
  assert.equal(schema.events.endColumn, 'EndTime');
});

test('Capturing/Analysing/Recording on Monitors mean 1.37+, whatever else is there', () => {
  const schema = describeSchema(
    columns({ Events: { ...events136, Cause: 'text' }, Monitors: ['Id', 'Function', 'Capturing', 'Analysing', 'Recording'], Users: ['Id', 'MonitorIds'] }),
  );
  assert.equal(schema.label, '1.37+');
  assert.equal(schema.monitors.activity, 'capturing');
  assert.equal(schema.monitors.hasFunction, true);
  assert.equal(schema.monitors.hasDeleted, false);
  assert.equal(schema.events.causeIsText, true);
  assert.equal(schema.users.hasMonitorIds, true);
});

test('missing ZoneMinder tables are a ZMES_DB_SCHEMA error that lists them and hints at the database name', () => {
  assert.throws(
    () => describeSchema(columns({ Events: events136 }), 'zmx'),
    (err: unknown) =>
      isZmesError(err, 'ZMES_DB_SCHEMA') && /database zmx has no ZoneMinder Monitors, Users tables/.test(err.message) && /database name/.test(err.message),
  );
});

test('an Events table without start/end columns is not taken for ZoneMinder', () => {
  assert.throws(
    () => describeSchema(columns({ Events: ['Id', 'MonitorId', 'Name', 'Cause', 'Notes'], Monitors: ['Id', 'Function'], Users: ['Id'] })),
    (err: unknown) => isZmesError(err, 'ZMES_DB_SCHEMA') && /StartDateTime/.test(err.message),
  );
});

test('a Monitors table with neither Function nor Capturing is rejected', () => {
  assert.throws(
    () => describeSchema(columns({ Events: events136, Monitors: ['Id', 'Name'], Users: ['Id'] })),
    (err: unknown) => isZmesError(err, 'ZMES_DB_SCHEMA') && /Function/.test(err.message),
  );
});

/**
 * The detection state machine, against an in-memory Events table that answers the detector's
 * plan the way the real keyset query does (`Id > cursor OR Id IN (…) ORDER BY Id LIMIT n`).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MonitorInfo, ZmEventChange } from '../../../src/domain/zm-event.js';
import {
  EventDetector,
  isContinuousCause,
  type ApplyOutcome,
  type DetectorOptions,
  type MonitorSnapshot,
} from '../../../src/zm/event-detector.js';
import type { EventRow } from '../../../src/zm/rows.js';

const T0 = 1_800_000_000; // unix seconds: the database clock at the start of each test

function row(id: number | bigint, patch: Partial<EventRow> = {}): EventRow {
  return {
    id: BigInt(id),
    monitorId: 1,
    name: 'New Event',
    cause: 'Motion',
    notes: 'Motion: zone1',
    startTime: T0 - 1,
    endTime: null,
    length: 0,
    frames: null,
    alarmFrames: null,
    totScore: 0,
    avgScore: 0,
    maxScore: 0,
    storageId: 1,
    defaultVideo: '',
    ...patch,
  };
}

function monitors(list: MonitorInfo[], loadedAt = 0, hidden: number[] = []): MonitorSnapshot {
  return { byId: new Map(list.map((m) => [m.id, m])), hidden: new Set(hidden), loadedAt };
}

const FRONT: MonitorInfo = { id: 1, name: 'Front Door', notify: true };
const BACK: MonitorInfo = { id: 2, name: 'Back', notify: true };
const QUIET: MonitorInfo = { id: 3, name: 'Garage', notify: false };
const ALL = monitors([FRONT, BACK, QUIET]);

/** An Events table with a database clock; poll() runs one detector cycle against it. */
class FakeEvents {
  readonly rows = new Map<bigint, EventRow>();
  dbNow = T0;
  now = 1_000_000; // the caller's clock, ms

  put(...rows: EventRow[]): void {
    for (const r of rows) this.rows.set(r.id, r);
  }

  patch(id: number, patch: Partial<EventRow>): void {
    const current = this.rows.get(BigInt(id));
    assert.ok(current, `no row ${id}`);
    this.rows.set(current.id, { ...current, ...patch });
  }

  delete(id: number): void {
    this.rows.delete(BigInt(id));
  }

  poll(detector: EventDetector, list: MonitorSnapshot = ALL, invalidIds: bigint[] = []): ApplyOutcome {
    const plan = detector.plan();
    const wanted = new Set(plan.recheck);
    const ids = [...this.rows.keys(), ...invalidIds]
      .filter((id) => id > plan.after || wanted.has(id))
      .sort((a, b) => (a < b ? -1 : 1))
      .slice(0, plan.limit + plan.recheck.length);
    const invalid = new Set(invalidIds);
    const rows = ids.filter((id) => !invalid.has(id)).map((id) => this.rows.get(id)!);
    return detector.apply({ plan, rows, invalidIds: ids.filter((id) => invalid.has(id)), dbNow: rows.length > 0 ? this.dbNow : null }, list, this.now);
  }

  /** Moves both clocks. */
  advance(seconds: number): void {
    this.dbNow += seconds;
    this.now += seconds * 1000;
  }
}

const OPTIONS: DetectorOptions = { maxEventAgeSec: 600 };

function kinds(changes: readonly ZmEventChange[]): string[] {
  return changes.map((c) => `${c.kind}${c.kind === 'end' ? `:${c.how}` : ''} ${c.event.eventId}`);
}

describe('start, cause and end', () => {
  test('a new event is started once with the row as ZmEvent, its Notes change is a cause, its end an end', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 10n);
    db.put(row(11, { maxScore: 8, alarmFrames: 1 }));

    const first = db.poll(detector);
    assert.deepEqual(first.changes, [
      {
        kind: 'start',
        event: {
          eventId: 11n,
          monitorId: 1,
          monitorName: 'Front Door',
          cause: 'Motion',
          notes: 'Motion: zone1',
          startTime: T0 - 1,
          endTime: null,
          alarmFrames: 1,
          maxScore: 8,
        },
      },
    ]);
    assert.equal(first.dirty, true);
    assert.equal(detector.lastEventId, 11n);

    db.patch(11, { alarmFrames: 20, maxScore: 27, length: 3.9 });
    const running = db.poll(detector);
    assert.deepEqual(running.changes, [], 'counters moving is not a change');
    assert.equal(running.dirty, false);

    db.patch(11, { notes: 'Motion: Left Half, zone1' });
    const cause = db.poll(detector);
    assert.deepEqual(kinds(cause.changes), ['cause 11']);
    assert.equal(cause.changes[0]?.event.notes, 'Motion: Left Half, zone1');
    assert.deepEqual(db.poll(detector).changes, [], 'the same Notes again is no change');

    db.patch(11, { name: 'Event-11', endTime: T0 + 9, alarmFrames: 68 });
    const end = db.poll(detector);
    assert.deepEqual(end.changes, [
      {
        kind: 'end',
        how: 'ended',
        event: {
          eventId: 11n,
          monitorId: 1,
          monitorName: 'Front Door',
          cause: 'Motion',
          notes: 'Motion: Left Half, zone1',
          startTime: T0 - 1,
          endTime: T0 + 9,
          alarmFrames: 68,
          maxScore: 27,
        },
      },
    ]);
    assert.equal(detector.trackedCount, 0);
    assert.deepEqual(db.poll(detector).changes, []);
  });

  test('an event already ended when first seen gives a start and an end in one cycle', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(5, { endTime: T0, name: 'Event-5' }));
    assert.deepEqual(kinds(db.poll(detector).changes), ['start 5', 'end:ended 5']);
    assert.equal(detector.trackedCount, 0);
  });

  test('events at or below the starting cursor are history and never notified', () => {
    const db = new FakeEvents();
    db.put(row(9), row(10));
    const detector = new EventDetector(OPTIONS, 10n);
    assert.deepEqual(db.poll(detector).changes, []);
    db.put(row(11));
    assert.deepEqual(kinds(db.poll(detector).changes), ['start 11']);
  });

  test('an event deleted while open ends as deleted with what was last read', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1, { monitorId: 2, notes: 'Motion: yard' }));
    db.poll(detector);
    db.delete(1);
    const out = db.poll(detector);
    assert.deepEqual(kinds(out.changes), ['end:deleted 1']);
    assert.equal(out.changes[0]?.event.monitorName, 'Back');
    assert.equal(out.changes[0]?.event.notes, 'Motion: yard');
    assert.equal(detector.trackedCount, 0);
  });

  test('an event whose row cannot be read is not taken for deleted, and the cursor moves past unreadable new rows', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1));
    db.poll(detector);
    assert.deepEqual(db.poll(detector, ALL, [1n]).changes.length, 0);
    db.rows.delete(1n);
    assert.deepEqual(db.poll(detector, ALL, [1n, 2n]).changes, []);
    assert.equal(detector.lastEventId, 2n);
    assert.equal(detector.trackedCount, 1);
  });
});

describe('Id order', () => {
  test('gaps in the Ids are fine and produce nothing', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 10n);
    db.put(row(11), row(14), row(20, { monitorId: 2 }));
    assert.deepEqual(kinds(db.poll(detector).changes), ['start 11', 'start 14', 'start 20']);
    assert.equal(detector.gapCount, 7, '12, 13, 15–19 are re-checked for a while');
    for (let i = 0; i < 3; i++) {
      db.advance(5);
      assert.deepEqual(db.poll(detector).changes, []);
    }
    assert.equal(detector.gapCount, 0, 'gaps are given up after their time and a few checks');
  });

  test('a row committed after a higher Id became visible is started once, and the higher one is not repeated', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 10n);
    db.put(row(12, { monitorId: 2 })); // 11 is still an open transaction on monitor 1
    assert.deepEqual(kinds(db.poll(detector).changes), ['start 12']);
    assert.equal(detector.lastEventId, 12n);
    db.put(row(11));
    const late = db.poll(detector);
    assert.deepEqual(kinds(late.changes), ['start 11']);
    assert.deepEqual(late.notices, [{ kind: 'late-commit', eventId: 11n }]);
    for (let i = 0; i < 4; i++) assert.deepEqual(db.poll(detector).changes, []);
    db.patch(11, { endTime: T0 + 5 });
    db.patch(12, { endTime: T0 + 6 });
    assert.deepEqual(kinds(db.poll(detector).changes), ['end:ended 11', 'end:ended 12']);
  });

  test('a gap is still re-checked after an outage, however long, until it was checked a few times', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(2));
    db.poll(detector);
    db.advance(300); // no polls meanwhile
    db.poll(detector);
    db.put(row(1, { startTime: db.dbNow - 2 }));
    assert.deepEqual(kinds(db.poll(detector).changes), ['start 1']);
  });

  test('only holes near the top are re-checked, and never more than a bounded number', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(100_000));
    db.poll(detector);
    assert.equal(detector.gapCount, 256);
  });

  test('a full batch says there is more, and the next cycles continue where it stopped', () => {
    const db = new FakeEvents();
    const detector = new EventDetector({ ...OPTIONS, batchSize: 2 }, 0n);
    db.put(...[1, 2, 3, 4, 5].map((id) => row(id, { endTime: T0 })));
    const first = db.poll(detector);
    assert.equal(first.more, true);
    assert.deepEqual(kinds(first.changes), ['start 1', 'end:ended 1', 'start 2', 'end:ended 2']);
    assert.equal(db.poll(detector).more, true);
    const last = db.poll(detector);
    assert.equal(last.more, false);
    assert.deepEqual(kinds(last.changes), ['start 5', 'end:ended 5']);
  });
});

describe('monitors', () => {
  test('events of monitors that are not notified are ignored, start and end', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1, { monitorId: 3 }));
    const out = db.poll(detector);
    assert.deepEqual(out.changes, []);
    assert.equal(out.notices[0]?.kind, 'ignored');
    db.patch(1, { endTime: T0 });
    assert.deepEqual(db.poll(detector).changes, []);
    assert.equal(detector.trackedCount, 0);
  });

  test('events of soft-deleted monitors are ignored without asking for a reload', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1, { monitorId: 9 }));
    const out = db.poll(detector, monitors([FRONT], 0, [9]));
    assert.deepEqual(out.changes, []);
    assert.deepEqual(out.unknownMonitors, []);
  });

  test('an event on an unknown monitor waits for a reload and starts with the name it brings', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1, { monitorId: 7 }));
    const waiting = db.poll(detector, monitors([FRONT], 0));
    assert.deepEqual(waiting.changes, []);
    assert.deepEqual(waiting.unknownMonitors, [7]);
    const stillWaiting = db.poll(detector, monitors([FRONT], 0));
    assert.deepEqual(stillWaiting.unknownMonitors, [7], 'asks again while no newer list came');
    db.now += 100;
    const reloaded = monitors([FRONT, { id: 7, name: 'Garden', notify: true }], db.now - 50);
    const out = db.poll(detector, reloaded);
    assert.deepEqual(kinds(out.changes), ['start 1']);
    assert.equal(out.changes[0]?.event.monitorName, 'Garden');
  });

  test('an event whose monitor is still missing after a newer reload is dropped with a notice', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1, { monitorId: 7 }));
    db.poll(detector, monitors([FRONT], 0));
    db.now += 100;
    const out = db.poll(detector, monitors([FRONT], db.now - 50));
    assert.deepEqual(out.changes, []);
    assert.deepEqual(out.notices, [{ kind: 'unknown-monitor', eventId: 1n, monitorId: 7 }]);
    assert.equal(detector.trackedCount, 0);
  });

  test('the end carries the monitor name of the list at that time (a rename meanwhile)', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1));
    db.poll(detector);
    db.patch(1, { endTime: T0 });
    const out = db.poll(detector, monitors([{ ...FRONT, name: 'Porch' }]));
    assert.equal(out.changes[0]?.event.monitorName, 'Porch');
  });
});

describe('age limits and memory', () => {
  test('an event first seen longer than max_event_age after its start is reported, not notified, and its end neither', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1, { startTime: T0 - 700 }));
    const out = db.poll(detector);
    assert.deepEqual(out.changes, []);
    assert.deepEqual(out.notices, [{ kind: 'too-old', eventId: 1n, monitorId: 1, monitorName: 'Front Door', ageSec: 700 }]);
    assert.equal(detector.lastEventId, 1n);
    db.patch(1, { endTime: T0 });
    assert.deepEqual(db.poll(detector).changes, []);
  });

  test('an event that never ends is abandoned once open longer than the limit', () => {
    const db = new FakeEvents();
    const detector = new EventDetector({ ...OPTIONS, abandonAfterSec: 60 }, 0n);
    db.put(row(1));
    db.poll(detector);
    db.advance(30);
    assert.deepEqual(db.poll(detector).changes, []);
    db.advance(31);
    const out = db.poll(detector);
    assert.deepEqual(kinds(out.changes), ['end:abandoned 1']);
    assert.equal(out.changes[0]?.event.endTime, null);
    assert.equal(detector.trackedCount, 0);
    db.advance(3600);
    assert.deepEqual(db.poll(detector).changes, [], 'nothing more about it, ever');
  });

  test('at most maxTracked open events are followed; the oldest are given up', () => {
    const db = new FakeEvents();
    const detector = new EventDetector({ ...OPTIONS, maxTracked: 3 }, 0n);
    db.put(...[1, 2, 3, 4, 5].map((id) => row(id)));
    const out = db.poll(detector);
    assert.deepEqual(kinds(out.changes), ['start 1', 'start 2', 'start 3', 'start 4', 'start 5', 'end:abandoned 1', 'end:abandoned 2']);
    assert.equal(detector.trackedCount, 3);
    assert.equal(out.notices.filter((n) => n.kind === 'over-capacity').length, 2);
  });

  test('a thousand never-ending events leave nothing behind once abandoned', () => {
    const db = new FakeEvents();
    const detector = new EventDetector({ ...OPTIONS, abandonAfterSec: 10 }, 0n);
    for (let id = 1; id <= 1000; id++) db.put(row(id));
    db.poll(detector);
    assert.equal(detector.trackedCount, 500, 'the first batch');
    db.poll(detector);
    assert.equal(detector.trackedCount, 1000);
    db.advance(20);
    const out = db.poll(detector);
    assert.equal(out.changes.filter((c) => c.kind === 'end' && c.how === 'abandoned').length, 1000);
    assert.equal(detector.trackedCount, 0);
    assert.equal(detector.snapshot().open.length, 0);
  });
});

describe('Continuous events (Record/Mocord)', () => {
  test('are notified only once they have alarm frames, once', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1, { cause: 'Continuous', notes: '', alarmFrames: 0 }));
    assert.deepEqual(db.poll(detector).changes, []);
    assert.equal(detector.trackedCount, 1);
    db.patch(1, { alarmFrames: 3, maxScore: 40, notes: 'Motion: zone1' });
    const out = db.poll(detector);
    assert.deepEqual(kinds(out.changes), ['start 1']);
    assert.equal(out.changes[0]?.event.cause, 'Continuous');
    assert.equal(out.changes[0]?.event.notes, 'Motion: zone1');
    db.patch(1, { alarmFrames: 9 });
    assert.deepEqual(db.poll(detector).changes, []);
    db.patch(1, { endTime: T0 + 600 });
    assert.deepEqual(kinds(db.poll(detector).changes), ['end:ended 1']);
  });

  test('one that ends without alarm frames is never notified', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1, { cause: 'Continuous', notes: '', alarmFrames: 0 }));
    db.poll(detector);
    db.patch(1, { endTime: T0 + 600 });
    assert.deepEqual(db.poll(detector).changes, []);
    assert.equal(detector.trackedCount, 0);
  });

  test('an old section first seen after a restart is notified only for alarm frames that come after', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1, { cause: 'Continuous', notes: 'Motion: zone1', alarmFrames: 5, startTime: T0 - 900 }));
    assert.deepEqual(db.poll(detector).changes, []);
    assert.deepEqual(db.poll(detector).changes, []);
    db.patch(1, { alarmFrames: 6 });
    assert.deepEqual(kinds(db.poll(detector).changes), ['start 1']);
  });

  test('the cause test accepts Continuous with detail and rejects mixed causes', () => {
    assert.equal(isContinuousCause('Continuous'), true);
    assert.equal(isContinuousCause('Continuous:zone1'), true);
    assert.equal(isContinuousCause('Motion'), false);
    assert.equal(isContinuousCause('Continuous, Motion'), false);
  });
});

describe('restart', () => {
  test('a restored detector ends a notified event without starting it again, and judges unnotified ones afresh', () => {
    const db = new FakeEvents();
    const before = new EventDetector(OPTIONS, 0n);
    db.put(row(1), row(2, { cause: 'Continuous', notes: '', alarmFrames: 0 }));
    db.poll(before);
    const snapshot = before.snapshot();
    assert.deepEqual(snapshot, {
      cursor: 2n,
      open: [
        { id: 1n, monitorId: 1, started: true },
        { id: 2n, monitorId: 1, started: false },
      ],
      gaps: [],
    });

    const after = EventDetector.restore(OPTIONS, snapshot, db.now);
    db.patch(1, { notes: 'Motion: other' }); // changed while we were away: the new baseline, no cause
    assert.deepEqual(db.poll(after).changes, []);
    db.patch(1, { endTime: T0 + 5 });
    db.patch(2, { alarmFrames: 2 });
    assert.deepEqual(kinds(db.poll(after).changes), ['end:ended 1', 'start 2']);
  });

  test('a restored notified event that vanished meanwhile ends as deleted with its monitor', () => {
    const db = new FakeEvents();
    const detector = EventDetector.restore(OPTIONS, { cursor: 5n, open: [{ id: 4n, monitorId: 2, started: true }], gaps: [] }, db.now);
    const out = db.poll(detector);
    assert.deepEqual(kinds(out.changes), ['end:deleted 4']);
    assert.equal(out.changes[0]?.event.monitorName, 'Back');
  });

  test('a restored gap is re-checked', () => {
    const db = new FakeEvents();
    const detector = EventDetector.restore(OPTIONS, { cursor: 5n, open: [], gaps: [4n] }, db.now);
    db.put(row(4), row(5));
    assert.deepEqual(kinds(db.poll(detector).changes), ['start 4']);
  });

  test('resetCursor forgets what was followed', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    db.put(row(1), row(3));
    db.poll(detector);
    detector.resetCursor(0n);
    assert.deepEqual(detector.snapshot(), { cursor: 0n, open: [], gaps: [] });
  });

  test('an idle cycle changes nothing to persist', () => {
    const db = new FakeEvents();
    const detector = new EventDetector(OPTIONS, 0n);
    assert.equal(db.poll(detector).dirty, false);
    db.put(row(1));
    assert.equal(db.poll(detector).dirty, true);
    assert.equal(db.poll(detector).dirty, false);
  });
});

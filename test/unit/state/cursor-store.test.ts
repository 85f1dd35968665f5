import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../../src/clock.js';
import { CursorStore, cursorFilePath, decodeCursor, encodeCursor, type CursorState } from '../../../src/state/cursor-store.js';
import { memoryLogger } from '../../helpers/memory-log.js';

const BIG = 18_446_744_073_709_551_615n; // BIGINT UNSIGNED max: beyond 2^53, must survive exactly

const STATE: CursorState = {
  cursor: BIG - 1n,
  open: [{ id: BIG - 3n, monitorId: 4, started: true }],
  gaps: [BIG - 2n],
};

function withDir(run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-cursor-'));
  try {
    run(dir);
  } finally {
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the file lives in <base_data_path>/events/last-event.json', () => {
  assert.equal(cursorFilePath('/data'), '/data/events/last-event.json');
});

test('ids are written as strings and read back exactly, even above 2^53', () => {
  const text = encodeCursor(STATE, new Date('2026-11-25T07:49:06.069Z'));
  const json = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(json, {
    format: 1,
    lastEventId: '18446744073709551614',
    savedAt: '2026-11-25T07:49:06.069Z',
    openEvents: [{ id: '18446744073709551612', monitorId: 4, notified: true }],
    gaps: ['18446744073709551613'],
  });
  assert.deepEqual(decodeCursor(text), { ...STATE, savedAt: '2026-11-25T07:49:06.069Z' });
});

test('a file from an older writer without open events or gaps is accepted', () => {
  assert.deepEqual(decodeCursor('{"format":1,"lastEventId":"42"}'), { cursor: 42n, open: [], gaps: [], savedAt: null });
});

test('malformed content is rejected with a reason', () => {
  for (const [text, reason] of [
    ['', /JSON/],
    ['[]', /not a JSON object/],
    ['{"format":2,"lastEventId":"1"}', /unknown format 2/],
    ['{"format":1,"lastEventId":12}', /lastEventId is not an event id string/],
    ['{"format":1,"lastEventId":"-1"}', /lastEventId/],
    ['{"format":1,"lastEventId":"99999999999999999999"}', /out of range/],
    ['{"format":1,"lastEventId":"1","openEvents":[{"id":"0","monitorId":1,"notified":true}]}', /openEvents\[0\]\.id is 0/],
    ['{"format":1,"lastEventId":"1","openEvents":[{"id":"2","monitorId":"x","notified":true}]}', /monitorId/],
    ['{"format":1,"lastEventId":"1","gaps":"1"}', /gaps is not a list/],
  ] as const) {
    assert.throws(() => decodeCursor(text), reason, text);
  }
});

test('no file means a first start', () => {
  withDir((dir) => {
    const mem = memoryLogger();
    assert.equal(new CursorStore(cursorFilePath(dir), mem.log, systemClock).load(), null);
    assert.deepEqual(mem.lines, []);
  });
});

test('save then load round-trips, and an unchanged state is not written again', () => {
  withDir((dir) => {
    const mem = memoryLogger();
    const path = cursorFilePath(dir);
    let now = Date.parse('2026-11-25T07:00:00Z');
    const store = new CursorStore(path, mem.log, { ...systemClock, now: () => now });
    store.save(STATE);
    const first = readFileSync(path, 'utf8');
    now += 60_000;
    store.save({ ...STATE, open: [...STATE.open] });
    assert.equal(readFileSync(path, 'utf8'), first, 'same content: no write (the time would differ)');
    assert.deepEqual(new CursorStore(path, mem.log, systemClock).load(), { ...STATE, savedAt: '2026-11-25T07:00:00.000Z' });
    store.save({ ...STATE, cursor: STATE.cursor + 1n });
    assert.match(readFileSync(path, 'utf8'), /"lastEventId": "18446744073709551615"/);
    assert.equal(statSync(path).mode & 0o777, 0o644);
  });
});

test('a corrupt file is set aside with a warning and treated as a first start', () => {
  withDir((dir) => {
    const mem = memoryLogger();
    const path = cursorFilePath(dir);
    mkdirSync(join(dir, 'events'));
    writeFileSync(path, '{"format":1,"lastEv');
    const store = new CursorStore(path, mem.log, { ...systemClock, now: () => Date.parse('2026-11-25T10:00:00Z') });
    assert.equal(store.load(), null);
    assert.deepEqual(readdirSync(join(dir, 'events')), ['last-event.json.corrupt-2026-11-25T10-00-00-000Z']);
    const warnings = mem.lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /last-event\.json is corrupt \(.+\); kept as .*corrupt-2026.*; starting as if for the first time/);
  });
});

test('a failing write (a directory where the file should be) is logged once and never thrown', () => {
  withDir((dir) => {
    const mem = memoryLogger();
    mkdirSync(join(dir, 'events', 'last-event.json'), { recursive: true });
    writeFileSync(join(dir, 'events', 'last-event.json', 'x'), '');
    const store = new CursorStore(cursorFilePath(dir), mem.log, systemClock);
    store.save(STATE);
    store.save({ ...STATE, cursor: 1n });
    assert.equal(mem.lines.filter((l) => l.level === 'error').length, 1, mem.lines.map((l) => l.message).join('\n'));
  });
});

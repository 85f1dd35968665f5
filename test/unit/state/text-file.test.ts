import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTextIfExists, withoutBom } from '../../../src/state/text-file.js';

test('a missing file reads as null; a folder in its place is an error, not "missing"', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-text-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(readTextIfExists(join(dir, 'nope.json')), null);
  writeFileSync(join(dir, 'there.json'), '\uFEFF{"a":1}');
  assert.equal(readTextIfExists(join(dir, 'there.json')), '\uFEFF{"a":1}');
  assert.throws(() => readTextIfExists(dir), /EISDIR/);
});

test('only a leading byte-order mark is removed', () => {
  assert.equal(withoutBom('\uFEFF{"a":1}'), '{"a":1}');
  assert.equal(withoutBom('{"a":"\uFEFF"}'), '{"a":"\uFEFF"}');
  assert.equal(withoutBom(''), '');
});

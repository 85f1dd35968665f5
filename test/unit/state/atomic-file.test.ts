import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setAside, writeFileAtomic } from '../../../src/state/atomic-file.js';

test('writeFileAtomic replaces the content and leaves no temporary file behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-atomic-'));
  try {
    const path = join(dir, 'sub', 'state.json');
    writeFileAtomic(path, '{"a":1}');
    writeFileAtomic(path, '{"a":2}');
    assert.equal(readFileSync(path, 'utf8'), '{"a":2}');
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['state.json']);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('setAside moves a corrupt file out of the way under a dated name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-atomic-'));
  try {
    const path = join(dir, 'tokens.txt');
    writeFileSync(path, 'garbage');
    const kept = setAside(path, new Date('2026-11-25T10:00:00Z'));
    assert.equal(existsSync(path), false);
    assert.equal(kept, `${path}.corrupt-2026-11-25T10-00-00-000Z`);
    assert.equal(readFileSync(kept, 'utf8'), 'garbage');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

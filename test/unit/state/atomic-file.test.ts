import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setAside, writeFileAtomic } from '../../../src/state/atomic-file.js';

const crashChild = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'helpers', 'crash-point-writer.ts');

/** Numbered lines, so that any mix of two contents or a cut shows. */
const lines = (word: string, bytes: number) => {
  let text = '';
  for (let i = 0; text.length < bytes; i++) text += `${word} ${String(i).padStart(8, '0')}\n`;
  return Buffer.from(text);
};
const OLD = lines('old', 100 * 1024);
// Larger than the old content and more than two of the child's 64 KiB writes, so that there are
// crash points in the middle of the data.
const NEW = lines('new', 150 * 1024);

/** Runs the child writer and SIGKILLs it before its N-th file-system call; null when it finished first. */
function runUntilCrashPoint(writer: 'atomic' | 'in-place', target: string, contentFile: string, n: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', crashChild, writer, target, contentFile, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let paused: string | null = null;
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`crash-point child (${writer}, ${n}) neither paused nor finished within 30 s: ${out}${err}`));
    }, 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /^paused (\w+)$/m.exec(out);
      if (match && paused === null) {
        paused = match[1] ?? '';
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (paused !== null && signal === 'SIGKILL') resolve(paused);
      else if (paused === null && code === 0 && /^done$/m.test(out)) resolve(null);
      else reject(new Error(`crash-point child (${writer}, ${n}) ended with ${signal ?? code}: ${out}${err}`));
    });
  });
}

interface CrashReport {
  /** The call before which each crash happened, in order. */
  readonly points: string[];
  /** Crash points after which the target was neither the old content nor the new one, whole. */
  readonly damaged: string[];
  /** After the crash just before the rename (atomic writer): the target, and the temporary files left. */
  readonly beforeRename?: { target: Buffer; temps: Buffer[] };
}

/**
 * Replaces OLD by NEW with `writer`, once per crash point: SIGKILL before the first file-system
 * call, then before the second, and so on until the writer finishes without being stopped.
 * Every time, the file must be OLD or NEW in full, never empty, cut short or mixed.
 */
async function crashAtEveryPoint(writer: 'atomic' | 'in-place', root: string): Promise<CrashReport> {
  const contentFile = join(root, 'new-content');
  writeFileSync(contentFile, NEW);
  const points: string[] = [];
  const damaged: string[] = [];
  let beforeRename: CrashReport['beforeRename'];
  for (let n = 0; ; n++) {
    assert.ok(n < 100, 'the writer never finished');
    const dir = join(root, `${writer}-${n}`);
    mkdirSync(dir);
    const target = join(dir, 'state.json');
    writeFileSync(target, OLD);
    const paused = await runUntilCrashPoint(writer, target, contentFile, n);
    const after = readFileSync(target);
    if (paused === null) {
      assert.ok(after.equals(NEW), `${writer}: finished, but the file is not the new content`);
      return { points, damaged, ...(beforeRename ? { beforeRename } : {}) };
    }
    points.push(paused);
    if (!after.equals(OLD) && !after.equals(NEW)) damaged.push(`killed before ${paused} (#${n}): ${after.length} bytes, starting ${JSON.stringify(after.subarray(0, 12).toString())}`);
    if (paused === 'renameSync' && beforeRename === undefined) {
      const temps = readdirSync(dir).filter((name) => name !== 'state.json').map((name) => readFileSync(join(dir, name)));
      beforeRename = { target: after, temps };
    }
  }
}

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

test('a SIGKILL at any point of writeFileAtomic leaves the old file whole or the new one whole', { timeout: 120_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'zmes-atomic-crash-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const report = await crashAtEveryPoint('atomic', root);
  // The crash points were really injected into the module under test: in the middle of the data and just before the rename.
  assert.ok(report.points.filter((p) => p === 'writeSync').length >= 3, `too few crash points in the data: ${report.points.join(', ')}`);
  assert.ok(report.points.includes('renameSync'), `no crash point before the rename: ${report.points.join(', ')}`);
  assert.deepEqual(report.damaged, []);
  // Killed after the temporary file was written in full but before the rename: the old file is untouched.
  assert.ok(report.beforeRename, 'no crash before the rename');
  assert.ok(report.beforeRename.target.equals(OLD), 'old file damaged by a crash before the rename');
  assert.ok(report.beforeRename.temps.some((temp) => temp.equals(NEW)), 'the temporary file did not hold the new content before the rename');
});

test('the crash-point check catches a writer that writes in place (it would fail for a non-atomic writeFileAtomic)', { timeout: 120_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'zmes-atomic-crash-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const report = await crashAtEveryPoint('in-place', root);
  assert.ok(report.damaged.length >= 3, `expected an empty and partly written files: ${report.damaged.join('; ')}`);
  assert.ok(report.damaged.some((d) => d.includes(' 0 bytes')), `no empty file after a crash right after the truncating open: ${report.damaged.join('; ')}`);
});

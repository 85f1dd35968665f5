// Child process of test/unit/state/atomic-file.test.ts: replaces a file with one writer and
// stops dead before its N-th file-system call, so that the parent can SIGKILL it exactly there.
//
//   node --import tsx crash-point-writer.ts <atomic|in-place> <target> <new-content-file> <N>
//
// Prints `paused <call>` and blocks before call N (0-based; every open, write, fsync, close,
// rename, truncate, mkdir and remove counts), or `done` when the writer finished first. Each
// write is cut to at most CHUNK bytes (a short write, which the writers must handle), so a large
// content gives crash points in the middle of the data.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const CHUNK = 64 * 1024;
const [writer = '', target = '', contentFile = '', crashAtText = ''] = process.argv.slice(2);
const crashAt = Number(crashAtText);
const content = fs.readFileSync(contentFile);

const original = { ...fs };
let armed = false;
let calls = 0;

function step(name: string): void {
  if (!armed) return;
  if (calls++ !== crashAt) return;
  original.writeSync(1, `paused ${name}\n`);
  // Block this thread: the parent kills the process here. Should the parent be gone, give up
  // after a while rather than stay behind for ever.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  process.exit(70);
}

type AnyFn = (...args: unknown[]) => unknown;
const patched = fs as unknown as Record<string, AnyFn>;
for (const name of ['openSync', 'fsyncSync', 'fdatasyncSync', 'closeSync', 'renameSync', 'ftruncateSync', 'truncateSync', 'mkdirSync', 'rmSync', 'unlinkSync', 'copyFileSync'] as const) {
  const real = (original as unknown as Record<string, AnyFn>)[name];
  if (real === undefined) continue;
  patched[name] = (...args: unknown[]) => {
    step(name);
    return real(...args);
  };
}
patched['writeSync'] = (fd: unknown, buffer: unknown, offset?: unknown, length?: unknown, position?: unknown) => {
  step('writeSync');
  if (ArrayBuffer.isView(buffer) && typeof offset === 'number') {
    const rest = (typeof length === 'number' ? length : buffer.byteLength - offset);
    return original.writeSync(fd as number, buffer as Uint8Array, offset, Math.min(rest, CHUNK), position as number | null | undefined);
  }
  return (original.writeSync as AnyFn)(fd, buffer, offset, length, position);
};
// `import { writeSync } from 'node:fs'` in the module under test sees the patched functions.
syncBuiltinESMExports();

/** What an atomic writer must not do: truncate the file in place, then write into it. */
function writeInPlace(path: string, data: Buffer): void {
  const fd = fs.openSync(path, 'w', 0o600);
  try {
    let offset = 0;
    while (offset < data.length) offset += fs.writeSync(fd, data, offset, data.length - offset);
  } finally {
    fs.closeSync(fd);
  }
}

const write =
  writer === 'atomic'
    ? (await import('../../src/state/atomic-file.js')).writeFileAtomic
    : writer === 'in-place'
      ? writeInPlace
      : null;
if (write === null) throw new Error(`unknown writer ${writer}`);

armed = true;
write(target, content);
armed = false;
original.writeSync(1, 'done\n');

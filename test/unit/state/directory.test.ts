import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSystemError, ensureWritableDirectory, makeDirectory } from '../../../src/state/directory.js';
import { writeFileAtomic } from '../../../src/state/atomic-file.js';
import { checkDataDirectories, dataDirectories } from '../../../src/state/data-directories.js';
import { loadConfig } from '../../../src/config/load.js';

function withDir(run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-dir-'));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fsError(fn: () => void, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FileSystemError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

test('makeDirectory creates missing parents and accepts an existing directory', () => {
  withDir((dir) => {
    const deep = join(dir, 'a', 'b', 'c');
    makeDirectory(deep);
    makeDirectory(deep);
    assert.ok(existsSync(deep));
  });
});

test('a file in the way is ENOTDIR, said in words', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'file'), '');
    fsError(() => makeDirectory(join(dir, 'file')), 'ENOTDIR', /file exists and is not a directory/);
    fsError(() => makeDirectory(join(dir, 'file', 'sub')), 'ENOTDIR', /is not a directory/);
  });
});

// Node 20's recursive mkdir never returns here: /proc answers ENOENT with the parent present.
test('a directory under /proc fails at once instead of hanging', { skip: !existsSync('/proc/self') }, () => {
  fsError(() => makeDirectory('/proc/zmes-test/push'), 'ENOENT', /^cannot create \/proc\/zmes-test: \/proc does not accept new files or directories/);
  fsError(() => writeFileAtomic('/proc/zmes-test/push/tokens.txt', '{}'), 'ENOENT', /\/proc does not accept new files/);
});

test('ensureWritableDirectory leaves no probe file behind', () => {
  withDir((dir) => {
    ensureWritableDirectory(join(dir, 'events'));
    assert.deepEqual(readdirSync(join(dir, 'events')), []);
  });
});

test('an unwritable directory is "permission denied" (mode bits for a user, the immutable flag for root)', (t) => {
  withDir((dir) => {
    const locked = join(dir, 'locked');
    makeDirectory(locked);
    const root = process.getuid?.() === 0;
    if (root) {
      // Root ignores mode bits; the immutable attribute stops root too (not on every file system).
      if (spawnSync('chattr', ['+i', locked]).status !== 0) return t.skip('chattr +i is not available here');
    } else chmodSync(locked, 0o555);
    try {
      const code = root ? 'EPERM' : 'EACCES';
      fsError(() => ensureWritableDirectory(locked), code, /^permission denied writing in .*locked/);
      fsError(() => writeFileAtomic(join(locked, 'sub', 'x.json'), '{}'), code, /^cannot create .*locked\/sub: permission denied writing in .*locked/);
      fsError(() => writeFileAtomic(join(locked, 'x.json'), '{}'), code, /^permission denied writing in .*locked/);
    } finally {
      if (root) spawnSync('chattr', ['-i', locked]);
      else chmodSync(locked, 0o755);
    }
  });
});

// Node's recursive mkdir called this ENOENT. A read-only tmpfs in a private mount namespace,
// so nothing stays mounted on this machine; root only.
test('on a read-only file system writeFileAtomic says read-only (EROFS), not ENOENT', (t) => {
  withDir((dir) => {
    const unshare = ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"', dir];
    if (spawnSync('unshare', [...unshare, 'true']).status !== 0) return t.skip('needs unshare and mount (root)');
    const atomicFile = fileURLToPath(new URL('../../../src/state/atomic-file.ts', import.meta.url));
    const script = `import { writeFileAtomic } from ${JSON.stringify(atomicFile)};
      for (const p of [${JSON.stringify(join(dir, 'events', 'last-event.json'))}, ${JSON.stringify(join(dir, 'x.json'))}]) {
        try { writeFileAtomic(p, '{}'); console.log('written'); } catch (err) { console.log(err.code + ' ' + err.message); }
      }`;
    const result = spawnSync('unshare', [...unshare, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), [
      `EROFS cannot create ${dir}/events: ${dir} is read-only (read-only file system) (EROFS)`,
      `EROFS ${dir} is read-only (read-only file system) (EROFS)`,
    ]);
  });
});

test('the data directories follow the enabled features', () => {
  const { config } = loadConfig({ env: {}, overrides: { 'general.base_data_path': '/data', 'fcm.enable': false } });
  assert.deepEqual(dataDirectories(config).map((d) => [d.option, d.dir]), [['general.base_data_path', '/data/events']]);
  const both = loadConfig({ env: {}, overrides: { 'general.base_data_path': '/data', 'fcm.enable': true, 'general.use_escontrol_interface': true } }).config;
  assert.deepEqual(dataDirectories(both).map((d) => [d.option, d.dir]), [
    ['general.base_data_path', '/data/events'],
    ['fcm.token_file', '/data/push'],
    ['general.escontrol_interface_file', '/data/misc'],
  ]);
});

test('checkDataDirectories names the option and says what to do', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'not-a-dir'), '');
    const { config } = loadConfig({
      env: {},
      overrides: { 'general.base_data_path': dir, 'fcm.enable': true, 'fcm.token_file': join(dir, 'not-a-dir', 'tokens.txt') },
    });
    assert.throws(() => checkDataDirectories(config), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ZMES_STATE_FILE');
      assert.match(err.message, /^fcm\.token_file \(.*not-a-dir\/tokens\.txt\): .*not a directory.*; zmes keeps the registered push tokens there/);
      return true;
    });
    assert.ok(existsSync(join(dir, 'events')), 'the directories before it were created');
  });
});

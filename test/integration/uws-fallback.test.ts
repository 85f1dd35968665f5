// The uWebSockets.js package silently swaps in a JavaScript stub when its native binary cannot
// load; zmes must refuse to serve with it rather than half-work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('with the JavaScript fallback of uWebSockets.js active, zmes refuses to start with a clear message', () => {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ZMES_')) env[name] = value;
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    // UWS_USE_FALLBACK is the package's own switch to the stub, the same path a wrong Node ABI takes.
    env: { ...env, UWS_USE_FALLBACK: '1', ZMES_SSL_ENABLE: 'no', ZMES_NETWORK_PORT: '0', ZMES_DATABASE_ZM_CONF: '', ZMES_DATABASE_PORT: '1' },
  });
  const output = result.stdout + result.stderr;
  assert.equal(result.status, 1, output);
  assert.match(output, /uWebSockets\.js native binary not loaded \(JavaScript fallback active\)/);
  assert.doesNotMatch(output, /listening for/);
});

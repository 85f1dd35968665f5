// Log forging end to end: the real CLI against a throwaway ZoneMinder database whose monitor
// names and event notes hold newlines, NUL and Unicode line separators, and a client whose close
// reason does too. Every byte the process writes to stdout must still be one log line per call.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { ZmSimulator } from '../../dev/sim/zm-simulator.js';
import { createZmTestDatabase, type ZmTestDatabase } from '../helpers/zm-db.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (ERROR|WARN |INFO |DEBUG)( \[[a-z]+\])? /;
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

const FORGED_MONITOR = 'cam\nERROR [auth] forged';
const NUL_MONITOR = 'door\u0000\u2028WARN  [ws] forged\u001b[2J';
// Events.Cause is a varchar(32).
const FORGED_CAUSE = 'M\r\nERROR [db] forged\u2029';
const FORGED_REASON = 'bye\nERROR [auth] forged close\u0000';

let db: ZmTestDatabase;
let dir: string;

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  dir = mkdtempSync(join(tmpdir(), 'zmes-forge-'));
});

after(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('names, notes and client strings with control characters never add or break a log line', async () => {
  const sim = await ZmSimulator.create(db.pool);
  const cam = await sim.createMonitor({ name: FORGED_MONITOR });
  await sim.createMonitor({ name: NUL_MONITOR });
  const app = db.appSettings!;
  const config = join(dir, 'zmes.yml');
  writeFileSync(
    config,
    [
      'general:',
      `  base_data_path: "${join(dir, 'data')}"`,
      'network:',
      '  address: 127.0.0.1',
      '  port: 0',
      'ssl:',
      '  enable: "no"',
      'customize:',
      '  event_check_interval: 1',
      'database:',
      `  host: "${app.host}"`,
      `  port: ${app.port}`,
      `  name: "${app.database}"`,
      `  user: "${app.user}"`,
      `  password: "${app.password}"`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ZMES_')) env[name] = value;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', config, '--debug'], {
    cwd: ROOT,
    env: { ...env, ZMES_DATABASE_ZM_CONF: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const logged = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(stdout);
        if (match) {
          waiters.delete(check);
          resolve(match);
        }
      };
      waiters.add(check);
      void exited.then(() => reject(new Error(`zmes exited before logging ${pattern}:\n${stdout}\n${stderr}`)));
      check();
    });

  try {
    const [, port] = await logged(/listening for ws:\/\/ connections on 127\.0\.0\.1:(\d+)/);
    await logged(/2 monitors loaded/);
    await logged(/ zmes 0\.\d+\.\d+ ready\n/);

    const eventId = await sim.startEvent(cam, { cause: FORGED_CAUSE });
    await logged(new RegExp(`event ${eventId} started on monitor `));

    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const [, connection] = await logged(/connection #(\d+) from 127\.0\.0\.1/);
    ws.close(4000, FORGED_REASON);
    await logged(new RegExp(`connection #${connection} from 127\\.0\\.0\\.1 closed \\(4000 `));

    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    clearTimeout(guard);
    child.kill('SIGKILL');
  }

  assert.ok(stdout.endsWith('\n'));
  const lines = stdout.slice(0, -1).split('\n');
  for (const line of lines) {
    assert.match(line, LINE, `not a log line: ${JSON.stringify(line)}`);
    assert.doesNotMatch(line, RAW_CONTROL, `raw control character in ${JSON.stringify(line)}`);
  }
  const stray = lines.filter((l) => /forged/.test(l) && !/^\S+ (INFO |DEBUG) /.test(l));
  assert.deepEqual(stray, [], 'a forged line got a level of its own');
  // The names and notes arrive, escaped, on the line that mentions them.
  assert.ok(stdout.includes(String.raw`cam\nERROR [auth] forged (1)`), stdout);
  assert.ok(stdout.includes(String.raw`door\x00\u2028WARN  [ws] forged\x1b[2J (2)`), stdout);
  assert.match(stdout, /event \d+ started on monitor cam\\nERROR \[auth\] forged \(1\): M\\r\\nERROR \[db\] forged\\u2029/);
  assert.ok(stdout.includes(String.raw`closed (4000 bye\nERROR [auth] forged close\x00)`), stdout);
});

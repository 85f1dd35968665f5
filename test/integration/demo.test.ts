import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectClient } from '../helpers/ws-client.js';
import { fetchStatus } from '../helpers/status-client.js';

const DEMO = fileURLToPath(new URL('../../dev/demo/main.ts', import.meta.url));
const CLIENT = fileURLToPath(new URL('../../dev/demo/client.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** README's connect command, with no terminal: resolves with its exit code and output. */
function runClient(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

function runDemo(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', DEMO], {
    env: { ...process.env, ...env, ZMES_DEMO_PORT: '0', ZMES_DEMO_STATUS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a failed test can end the demo and the MariaDB it started together.
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not get ready:\n${output}`)), 60_000);
    const check = () => {
      const match = /Connect zmNinja or zmNinjaNg to (ws:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', check);
    void exited.then(() => reject(new Error(`demo exited early:\n${output}`)));
  });
  return { child, url, exited, output: () => output };
}

test(
  'without a reachable MariaDB the demo starts its own, serves simulated alarms, and cleans up on Ctrl-C',
  { timeout: 120_000 },
  async (t) => {
    // Nothing listens on port 1, so the demo must fall back to a throwaway server of its own.
    const demo = runDemo({ ZMES_TEST_DB_PORT: '1' });
    // On every path, a failed start or assertion included, the demo and its MariaDB go away.
    t.after(() => {
      if (demo.child.exitCode === null && demo.child.pid !== undefined) process.kill(-demo.child.pid, 'SIGKILL');
    });
    const url = await demo.url;
    assert.match(demo.output(), /starting a throwaway one/);
    // Only this machine: the demo password is public.
    assert.match(demo.output(), /listening for ws:\/\/ connections on 127\.0\.0\.1:\d+/);
    assert.match(url, /^ws:\/\/127\.0\.0\.1:/);
    // The connect command README gives: no prompt, no terminal, alarms printed.
    const watched = await runClient([url, '--count', '1']);
    assert.equal(watched.code, 0, watched.output);
    assert.match(watched.output, /logged in to ws:\/\/127\.0\.0\.1:\d+ as demo/);
    assert.match(watched.output, /alarm: (Front Door|Driveway|Backyard) \(monitor \d+\) event \d+: /);
    const refused = await runClient([url, '--password', 'wrong']);
    assert.equal(refused.code, 1);
    assert.match(refused.output, /login as demo refused/);
    // The status page the demo prints.
    const statusPort = Number(/Status page: http:\/\/127\.0\.0\.1:(\d+)\//.exec(demo.output())?.[1]);
    const status = await fetchStatus(statusPort);
    assert.equal(status.database.state, 'up');
    assert.equal(status.monitors.length, 3);
    const client = await connectClient(url);
    client.send({ event: 'auth', data: { user: 'demo', password: 'demo' } });
    assert.equal((await client.next())['status'], 'Success');
    const alarm = await client.next((f) => f['event'] === 'alarm', 30_000);
    const element = (alarm['events'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(typeof element['EventId'], 'number');
    assert.match(String(element['Name']), /^(Front Door|Driveway|Backyard)$/);
    demo.child.kill('SIGINT');
    assert.equal(await demo.exited, 0, demo.output());
    assert.match(demo.output(), /zmes stopped/);
    await client.closed;
  },
);

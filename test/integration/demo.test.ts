import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectClient } from '../helpers/ws-client.js';

const DEMO = fileURLToPath(new URL('../../dev/demo/main.ts', import.meta.url));

function runDemo(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', DEMO], {
    env: { ...process.env, ...env, ZMES_DEMO_PORT: '0' },
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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTokenFile } from '../../../src/tokens/token-file.js';
import { burstToken } from '../../helpers/token-burst.js';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'helpers', 'token-burst.ts');
const LANES = 5;
const RUNS_PER_LANE = 6; // 30 kills in all

/** Starts a burst child, kills it with SIGKILL after a random time, resolves when it is gone. */
function burstAndKill(path: string, killAfterMs: number): Promise<{ startedWith: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, path, String(1 + Math.floor(Math.random() * 3))], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let startedWith = -1;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = /ready (\d+)/.exec(out);
      if (m && startedWith < 0) {
        startedWith = Number(m[1]);
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`burst child ended by itself (${signal ?? _code}): ${err}`));
      else resolve({ startedWith });
    });
  });
}

/** The file parses, and holds exactly burst-000000 … burst-(n-1): no gap, no damage. Returns n. */
function checkPrefix(path: string, context: string): number {
  if (!existsSync(path)) return 0;
  const parsed = parseTokenFile(readFileSync(path, 'utf8'), 0);
  assert.equal(parsed.kind, 'json', `${context}: file is not valid JSON (${parsed.error ?? ''})`);
  assert.deepEqual(parsed.warnings, [], `${context}: entries needed repair`);
  parsed.records.forEach((r, i) => assert.equal(r.token, burstToken(i), `${context}: token ${i} out of order`));
  for (const r of parsed.records) assert.equal(r.monlist, '1,2,3', `${context}: entry ${r.token} damaged`);
  return parsed.records.length;
}

test('SIGKILL at random moments during registration bursts never leaves a damaged or non-prefix token file', { timeout: 180_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'zmes-crash-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const lanes = Array.from({ length: LANES }, async (_, lane) => {
    const path = join(root, `lane-${lane}`, 'push', 'tokens.txt');
    let persisted = 0;
    let kills = 0;
    for (let run = 0; run < RUNS_PER_LANE; run++) {
      const { startedWith } = await burstAndKill(path, 20 + Math.floor(Math.random() * 250));
      kills++;
      const context = `lane ${lane} run ${run}`;
      assert.equal(startedWith, persisted, `${context}: the child did not load what the last run persisted`);
      const count = checkPrefix(path, context);
      assert.ok(count >= persisted, `${context}: tokens were lost (${count} < ${persisted})`);
      persisted = count;
    }
    return { persisted, kills };
  });
  const results = await Promise.all(lanes);
  t.diagnostic(`persisted per lane: ${results.map((r) => r.persisted).join(", ")}`);
  const kills = results.reduce((n, r) => n + r.kills, 0);
  assert.equal(kills, LANES * RUNS_PER_LANE);
  // The bursts really wrote something (else the test would prove nothing).
  assert.ok(results.every((r) => r.persisted > 0), `persisted per lane: ${results.map((r) => r.persisted).join(', ')}`);
  // Leftover temporary files from killed writes are removed by the next load; at most the
  // last run's may remain.
  for (let lane = 0; lane < LANES; lane++) {
    const leftovers = readdirSync(join(root, `lane-${lane}`, 'push')).filter((n) => n.endsWith('.tmp'));
    assert.ok(leftovers.length <= 1, `lane ${lane}: ${leftovers.length} temporary files left`);
  }
});

#!/usr/bin/env node
// Runs every test file under test/ with node's test runner and tsx.
// Files are listed explicitly: on Node 20, `node --test` with no arguments finds no .ts
// files and exits 0, and a quoted glob is not expanded (a silent "ran no test").
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = findTests('test').sort();
if (filter.length > 0) files = files.filter((f) => filter.some((part) => f.includes(part)));
if (files.length === 0) {
  console.error('run-tests: no test files found' + (filter.length ? ` matching ${filter.join(' ')}` : ''));
  process.exit(1);
}
const concurrency = process.env.ZMES_TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  // A deadline per test and a forced exit at the end, so no hung test or leaked handle can hang the suite.
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${process.env.ZMES_TEST_TIMEOUT_MS ?? '180000'}`, '--test-force-exit', ...files],
  { stdio: 'inherit', env: { ...process.env, ZMES_TEST: '1' } },
);
process.exit(result.status ?? 1);

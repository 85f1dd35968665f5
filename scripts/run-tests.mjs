#!/usr/bin/env node
// Runs every test file under test/ with node's test runner and tsx, then prints the line coverage
// of src/ and addon/.
// Files are listed explicitly: on Node 20, `node --test` with no arguments finds no .ts
// files and exits 0, and a quoted glob is not expanded (a silent "ran no test").
//
// Environment: ZMES_TEST_CONCURRENCY (files at once, 2), ZMES_TEST_TIMEOUT_MS (per test, 180 s),
// ZMES_TEST_FILE_TIMEOUT_MS (per file, 600 s), ZMES_TEST_COVERAGE=0 (no coverage),
// ZMES_TEST_COVERAGE_DETAILS=1 (also the coverage of each file, lowest first).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The code whose line coverage is reported. */
const COVERED_DIRS = ['src', 'addon'];
const BASE64 = new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]));

function findFiles(dir, suffix) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findFiles(path, suffix));
    else if (name.endsWith(suffix)) out.push(path);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = findFiles('test', '.test.ts').sort();
if (filter.length > 0) files = files.filter((f) => filter.some((part) => f.includes(part)));
if (files.length === 0) {
  console.error('run-tests: no test files found' + (filter.length ? ` matching ${filter.join(' ')}` : ''));
  process.exit(1);
}
const concurrency = process.env.ZMES_TEST_CONCURRENCY ?? '2';
const fileTimeoutMs = Number(process.env.ZMES_TEST_FILE_TIMEOUT_MS ?? '600000');

// A deadline per test FILE, which node 20's runner lacks (--test-timeout is per test, and does not
// cover a file that hangs outside its tests). Every test file's process loads this first (the
// runner hands its --import flags to them) and ends itself when the deadline passes; the runner
// then reports that file as failed. An unref'd timer: it never keeps a finished file alive.
const fileDeadline = `
if (process.argv[1]?.endsWith('.test.ts') && !process.execArgv.includes('--test')) {
  setTimeout(() => {
    process.stderr.write('run-tests: ' + process.argv[1] + ' still running after ${fileTimeoutMs / 1000} s, the deadline per test file (ZMES_TEST_FILE_TIMEOUT_MS); stopped\\n');
    process.exit(1);
  }, ${fileTimeoutMs}).unref();
}`;

// V8 writes the coverage of every node process started below (test files, and the servers and
// children they spawn with the inherited environment) into this directory when it exits. The
// files are read while the tests run, and removed once read, so they never pile up.
const coverage = process.env.ZMES_TEST_COVERAGE !== '0';
const coverageDir = coverage ? mkdtempSync(join(tmpdir(), 'zmes-coverage-')) : null;
const collector = coverageDir ? coverageCollector(coverageDir) : null;

const child = spawn(
  process.execPath,
  [
    '--import', 'tsx',
    '--import', `data:text/javascript,${encodeURIComponent(fileDeadline)}`,
    '--test',
    `--test-concurrency=${concurrency}`,
    // A deadline per test and a forced exit at the end, so no hung test or leaked handle can hang the suite.
    `--test-timeout=${process.env.ZMES_TEST_TIMEOUT_MS ?? '180000'}`,
    '--test-force-exit',
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, ZMES_TEST: '1', ...(coverageDir ? { NODE_V8_COVERAGE: coverageDir } : {}) } },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
const reading = collector ? setInterval(() => collector.collect(false), 2000) : null;
const status = await new Promise((resolve) => {
  child.on('error', (err) => {
    console.error(`run-tests: ${err.message}`);
    resolve(1);
  });
  child.on('exit', (code) => resolve(code ?? 1));
});
if (reading) clearInterval(reading);

// After the runner's own closing lines (`# pass N`, `# fail N`), one line; the exit code stays the tests'.
if (collector && coverageDir) {
  try {
    collector.collect(true);
    const report = await collector.report();
    const pct = report.total === 0 ? 0 : (100 * report.covered) / report.total;
    if (process.env.ZMES_TEST_COVERAGE_DETAILS === '1') {
      for (const f of report.files.sort((a, b) => a.covered / a.total - b.covered / b.total)) {
        console.log(`  ${((100 * f.covered) / f.total).toFixed(1).padStart(5)}%  ${String(f.total - f.covered).padStart(4)} lines not run  ${f.path}`);
      }
    }
    const never = report.neverLoaded > 0 ? `, ${report.neverLoaded} of them never loaded` : '';
    const scope = filter.length > 0 ? `; only ${files.length} test file(s) run` : '';
    console.log(
      `line coverage: ${pct.toFixed(1)}% (${COVERED_DIRS.map((d) => `${d}/`).join(' and ')}: ${report.covered} of ${report.total} lines in ${report.files.length} files${never}${scope})`,
    );
  } catch (err) {
    console.log(`line coverage: not measured (${err instanceof Error ? err.message : String(err)})`);
  } finally {
    rmSync(coverageDir, { recursive: true, force: true });
  }
}
process.exit(status);

/**
 * Line coverage from V8's block coverage, mapped to the TypeScript sources through the source
 * maps tsx gives every module (node records them next to the coverage). A line counts when code
 * was generated from it; it is covered when any of that code ran in any process. Files under
 * COVERED_DIRS that no process loaded count with all their lines not run (their lines found by
 * transforming them the way tsx does).
 */
function coverageCollector(dir) {
  const prefixes = COVERED_DIRS.map((d) => pathToFileURL(join(ROOT, d)).href + '/');
  const wanted = (url) => url.endsWith('.ts') && !url.endsWith('.d.ts') && prefixes.some((p) => url.startsWith(p));
  /** file URL → per line (1-based): undefined no code, 1 not run, 2 run. */
  const lines = new Map();
  const mark = (url, line, ran) => {
    let perLine = lines.get(url);
    if (perLine === undefined) lines.set(url, (perLine = []));
    if (ran) perLine[line] = 2;
    else perLine[line] ??= 1;
  };
  /** Sizes seen at the previous look: a file is read once its size stayed the same (V8 has written it). */
  const seen = new Map();

  function add(data) {
    const maps = data['source-map-cache'] ?? {};
    for (const script of data.result ?? []) {
      const cached = maps[script.url];
      const map = cached?.data;
      if (!map?.mappings || !Array.isArray(cached.lineLengths)) continue;
      const sources = (map.sources ?? []).map((s) => new URL(s, new URL(map.sourceRoot || '', script.url)).href);
      if (!sources.some(wanted)) continue;
      const counts = countsByOffset(script.functions, cached.lineLengths);
      const lineStarts = [0];
      for (const length of cached.lineLengths) lineStarts.push(lineStarts[lineStarts.length - 1] + length + 1);
      for (const [genLine, genColumn, source, line] of decodeMappings(map.mappings)) {
        const url = sources[source];
        if (url === undefined || !wanted(url)) continue;
        mark(url, line + 1, counts[(lineStarts[genLine] ?? 0) + genColumn] > 0);
      }
    }
  }

  return {
    /** Reads the coverage files written so far; `final` when every process has ended. */
    collect(final) {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        const { size } = statSync(path);
        if (!final && seen.get(name) !== size) {
          seen.set(name, size);
          continue;
        }
        const text = readFileSync(path, 'utf8');
        let data = null;
        if (prefixes.some((p) => text.includes(p))) {
          try {
            data = JSON.parse(text);
          } catch {
            if (!final) continue; // not complete after all: next time
          }
        }
        if (data) add(data);
        rmSync(path, { force: true });
        seen.delete(name);
      }
    },

    async report() {
      let neverLoaded = 0;
      let esbuild = null;
      for (const path of COVERED_DIRS.flatMap((d) => findFiles(join(ROOT, d), '.ts'))) {
        const url = pathToFileURL(path).href;
        if (!wanted(url) || lines.has(url)) continue;
        esbuild ??= await import('esbuild');
        const { map } = esbuild.transformSync(readFileSync(path, 'utf8'), {
          loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'external', sourcesContent: false, minifyWhitespace: true, keepNames: true, sourcefile: path,
        });
        let any = false;
        for (const [, , , line] of decodeMappings(JSON.parse(map).mappings)) {
          mark(url, line + 1, false);
          any = true;
        }
        if (any) neverLoaded++;
      }

      const files = [];
      for (const [url, perLine] of lines) {
        let total = 0;
        let covered = 0;
        for (const state of perLine) {
          if (state === undefined) continue;
          total++;
          if (state === 2) covered++;
        }
        if (total > 0) files.push({ path: relative(ROOT, fileURLToPath(url)), total, covered });
      }
      return {
        files,
        total: files.reduce((n, f) => n + f.total, 0),
        covered: files.reduce((n, f) => n + f.covered, 0),
        neverLoaded,
      };
    },
  };
}

/** The execution count at every offset of a generated script: the innermost V8 range decides. */
function countsByOffset(functions, lineLengths) {
  const size = lineLengths.reduce((n, length) => n + length + 1, 0);
  const counts = new Int32Array(size);
  const ranges = functions.flatMap((f) => f.ranges).sort((a, b) => b.endOffset - b.startOffset - (a.endOffset - a.startOffset));
  for (const { startOffset, endOffset, count } of ranges) counts.fill(count, startOffset, Math.min(endOffset, size));
  return counts;
}

/** The segments of a source map's `mappings`: [generated line, generated column, source index, original line] (0-based). */
function* decodeMappings(mappings) {
  let source = 0;
  let line = 0;
  let column = 0;
  let genLine = 0;
  let i = 0;
  const vlq = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const digit = BASE64.get(mappings[i++]);
      if (digit === undefined) throw new Error('bad source map');
      value += (digit & 31) << shift;
      if ((digit & 32) === 0) break;
      shift += 5;
    }
    return value & 1 ? -(value >>> 1) : value >>> 1;
  };
  while (i < mappings.length) {
    let genColumn = 0;
    while (i < mappings.length && mappings[i] !== ';') {
      if (mappings[i] === ',') {
        i++;
        continue;
      }
      genColumn += vlq();
      if (i < mappings.length && mappings[i] !== ',' && mappings[i] !== ';') {
        source += vlq();
        line += vlq();
        column += vlq();
        if (i < mappings.length && mappings[i] !== ',' && mappings[i] !== ';') vlq(); // name
        yield [genLine, genColumn, source, line];
      }
    }
    i++;
    genLine++;
  }
}

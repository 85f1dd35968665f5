// Mutation testing of the access-control and delivery modules (`npm run test:mutation`).
//
// StrykerJS 9 (10 needs Node 22) with its tap runner: node:test prints TAP, so each unit test
// file below runs in a node process of its own with `--test-reporter=tap`, and the tap
// runner's hook records which test file reaches which mutant; only the files that reach a
// mutant run for it. Stryker copies the project to a sandbox and instruments the files in
// `mutate` there; the build command then compiles the sandbox to JavaScript (into its dist/,
// without type checking: that is `npm run typecheck`'s job), because loading tsx in every test
// process cost 2–3 times the test itself. Integration tests (MariaDB, sockets) never run here.
//
// `node stryker.config.mjs` (run by the npm script after Stryker) prints the score of each
// mutated file and a last line `mutation score: N%` from Stryker's JSON report, and exits 1
// when N is below BREAK.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const REPORT_DIR = 'reports/mutation';
const JSON_REPORT = `${REPORT_DIR}/mutation.json`;
/** The lowest acceptable score, in percent. */
const BREAK = 80;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  packageManager: 'npm',
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: [
    'src/zm/auth/authenticator.ts',
    'src/zm/auth/password.ts',
    'src/zm/auth/api-token.ts',
    'src/zm/auth/permissions.ts',
    'src/zm/auth/login-limiter.ts',
    'src/zm/auth/access-review.ts',
    'src/zm/auth/access-recheck.ts',
    'src/notify/channels/push-devices.ts',
    'src/notify/recipients.ts',
    'src/notify/throttle.ts',
    'src/tokens/token-store.ts',
    'src/push/fcm-payload.ts',
  ],
  buildCommand: 'tsc -p tsconfig.json --noCheck --sourceMap false',
  tap: {
    // The unit tests of these modules, and nothing that needs MariaDB, Mosquitto or sockets.
    testFiles: [
      'test/unit/zm/auth/*.test.ts',
      'test/unit/notify/recipients.test.ts',
      'test/unit/notify/intervals.test.ts',
      'test/unit/notify/ws-replay.test.ts',
      'test/unit/tokens/token-store.test.ts',
      'test/unit/push/fcm-payload.test.ts',
      'test/unit/push/fcm-sender.test.ts',
      'test/unit/mutation-guards/*.test.ts',
    ],
    // Each runs from its compiled copy in dist/, while Stryker knows it by its source file
    // (so incremental runs notice when a test file changed).
    nodeArgs: ['--test-reporter=tap', '-r', '{{hookFile}}', '--input-type=module', '-e', 'await import("./dist/{{testFile}}".replace(/[.]ts$/, ".js"))'],
    forceBail: true,
  },
  // Stryker rewrites the tsconfig it is pointed at through the `typescript` package's JS API,
  // which TypeScript 7 no longer has (`ts.parseConfigFileTextToJson is not a function`).
  // tsconfig.json has no `extends` or `references` to rewrite, so point Stryker at no file: the
  // sandbox keeps tsconfig.json as it is, whichever TypeScript the `typescript` name installs.
  tsconfigFile: 'no-tsconfig-rewrite.json',
  coverageAnalysis: 'perTest',
  // The machine is shared: two test processes at a time.
  concurrency: 2,
  // Reruns only mutants whose code or covering tests changed since the last run.
  incremental: true,
  incrementalFile: `${REPORT_DIR}/stryker-incremental.json`,
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: JSON_REPORT },
  htmlReporter: { fileName: `${REPORT_DIR}/mutation.html` },
  clearTextReporter: { allowEmojis: false, logTests: false, reportScoreTable: true },
  // The break is enforced by `node stryker.config.mjs`, after the score line is printed.
  thresholds: { high: 90, low: BREAK, break: null },
  // Nothing the unit tests read; keeps the sandbox copy small.
  ignorePatterns: ['.cache', 'dist', 'reports', 'bench', 'dev', 'docs', 'rootfs', 'translations', '*.png'],
};

export default config;

/** Stryker's mutation score: detected (killed, timed out) over valid mutants (not ignored, not erroring). */
function score(mutants) {
  let detected = 0;
  let valid = 0;
  for (const { status } of mutants) {
    if (status === 'Killed' || status === 'Timeout') detected++;
    if (status === 'Killed' || status === 'Timeout' || status === 'Survived' || status === 'NoCoverage') valid++;
  }
  return { detected, valid, percent: valid === 0 ? 100 : (100 * detected) / valid };
}

function printScore() {
  const report = JSON.parse(readFileSync(resolve(JSON_REPORT), 'utf8'));
  const all = [];
  for (const [file, { mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
    const s = score(mutants);
    all.push(...mutants);
    console.log(`${s.percent.toFixed(2).padStart(7)}%  ${String(s.detected).padStart(4)}/${String(s.valid).padEnd(4)} ${file}`);
  }
  const total = score(all);
  // Rounded down, so the line never claims more than Stryker's own figure.
  const percent = Math.floor(total.percent);
  console.log(`mutation score: ${percent}%`);
  if (percent < BREAK) process.exitCode = 1;
}

if (process.argv[1] !== undefined && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) printScore();

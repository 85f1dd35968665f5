// `npm run build`: the shipped server as a few bundled ES modules, dist/src/main.js (the server
// and its CLI) and dist/addon/main.js (the Home Assistant adapter), with the chunks they share
// under dist/src/chunks/ and the optional parts (MQTT, direct FCM, hooks, rules, escontrol, the
// status page, the migration CLI, the cluster) still in chunks of their own, loaded on demand.
//
// Why a bundle rather than tsc's one file per module: a Node process keeps the source text of
// every module it loads, and hundreds of small files from zmes and its dependencies cost about
// 7 MB of resident memory more than the same code bundled and minified (bench/memory.ts,
// bench/RESULTS.md). The type check stays with tsc (npm run typecheck, part of npm test).
//
// Left outside the bundle, loaded from node_modules as usual: native add-ons (uWebSockets.js,
// @node-rs/bcrypt, ws's optional bufferutil and utf-8-validate), firebase-admin (large, and
// only in direct FCM mode), and iconv-lite (the MariaDB driver loads only the encodings it
// needs from it, while a bundle would carry all its tables).
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
// Another folder as the first argument (the benchmarks build into .cache/bench-dist).
const outdir = process.argv[2] ?? `${root}dist`;

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts', 'addon/main.ts'],
  outbase: '.',
  outdir,
  chunkNames: 'src/chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Minified names save another 1.3 MB; log lines carry error messages, not stacks, and the
  // source maps beside the chunks give readable stacks with `node --enable-source-maps`.
  minify: true,
  sourcemap: 'linked',
  external: ['uWebSockets.js', '@node-rs/bcrypt', 'bufferutil', 'utf-8-validate', 'firebase-admin', 'iconv-lite'],
  // Bundled CommonJS dependencies call require() for Node's built-ins: give ES modules one.
  banner: { js: "import { createRequire as __zmesCreateRequire } from 'node:module'; const require = __zmesCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

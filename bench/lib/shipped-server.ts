// The server as it ships, for benchmarks that measure a real zmes process: the bundle that
// `npm run build` makes (scripts/build.mjs; no TypeScript loader in the process), started with
// settings given as command-line options.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { cleanEnvironment, startProcess, type ZmesProcess } from '../../test/helpers/zmes-process.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OUT = join(ROOT, '.cache', 'bench-dist');

export type Settings = Record<string, string | number | boolean>;

/** Builds the server into .cache/bench-dist as `npm run build` does; returns the path of its main.js. */
export function buildShippedServer(): string {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), OUT], { stdio: 'inherit' });
  return join(OUT, 'src', 'main.js');
}

/** How to run node: this process's own by default, or e.g. `chroot <image root> /usr/local/bin/node`. */
export interface Runtime {
  readonly command: string;
  readonly args: readonly string[];
}

const THIS_NODE: Runtime = { command: process.execPath, args: [] };

/** Starts the built server: `node <nodeArgs> main.js --section.key=value…`, with secrets in env. */
export function startShippedServer(
  main: string,
  settings: Settings,
  env: NodeJS.ProcessEnv,
  nodeArgs: readonly string[] = [],
  runtime: Runtime = THIS_NODE,
): ZmesProcess {
  const args = Object.entries(settings).map(([key, value]) => `--${key}=${String(value)}`);
  return startProcess(runtime.command, [...runtime.args, ...nodeArgs, main, ...args], { env: cleanEnvironment(env) });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';

/** Sends `signal` and resolves once the process has exited (rejects after `timeoutMs`). */
export function signalAndWait(proc: ChildProcess, signal: NodeJS.Signals, name: string, timeoutMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not exit within ${timeoutMs} ms of ${signal}`)), timeoutMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill(signal);
  });
}

/** The last lines of a server's log file, on one line, for an error message. */
export async function logTail(file: string, lines = 5): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '(no log)');
  return text.trim().split('\n').slice(-lines).join(' | ');
}

/** A long-running server process of the demo or the tests, restartable on the same folder. */
export interface SupervisedProcess {
  readonly running: boolean;
  /** Spawns the process (if not running) and waits until `ready` resolves. */
  start(): Promise<void>;
  /** SIGTERM; waits until the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash; waits until the process has exited. */
  kill(): Promise<void>;
  /** Stops the process and removes its folder; idempotent. */
  destroy(): Promise<void>;
}

export interface SupervisedProcessOptions {
  /** For error messages ("mariadbd did not exit …"). */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The process's private folder, removed by destroy(). */
  readonly baseDir: string;
  /** Resolves once the process serves; a rejection kills it and fails start(). */
  readonly ready: (proc: ChildProcess) => Promise<void>;
  readonly stopTimeoutMs: number;
  /**
   * Sent to a process that failed its readiness check or is still running when the test process
   * exits (default SIGKILL). A server whose workers are separate processes (Apache) needs SIGTERM:
   * killed outright, its parent leaves the workers behind, still serving.
   */
  readonly exitSignal?: NodeJS.Signals;
  /**
   * Starts the process in its own process group (and session). Apache needs it: when it stops,
   * it signals its whole process group, which would otherwise include the test process.
   */
  readonly ownProcessGroup?: boolean;
}

const live = new Map<ChildProcess, NodeJS.Signals>();
let exitHookInstalled = false;

export function superviseProcess(options: SupervisedProcessOptions): SupervisedProcess {
  const { name, stopTimeoutMs } = options;
  let child: ChildProcess | null = null;
  let destroyed: Promise<void> | null = null;
  const signal = (sig: NodeJS.Signals) => (child === null ? Promise.resolve() : signalAndWait(child, sig, name, stopTimeoutMs));
  return {
    get running() {
      return child !== null;
    },
    async start() {
      if (child !== null) return;
      installExitHook();
      const proc = spawn(options.command, [...options.args], { stdio: 'ignore', detached: options.ownProcessGroup === true });
      child = proc;
      live.set(proc, options.exitSignal ?? 'SIGKILL');
      proc.once('exit', () => {
        live.delete(proc);
        if (child === proc) child = null;
      });
      try {
        await options.ready(proc);
      } catch (err) {
        const first = options.exitSignal ?? 'SIGKILL';
        await signalAndWait(proc, first, name, stopTimeoutMs).catch(() => signalAndWait(proc, 'SIGKILL', name, stopTimeoutMs));
        throw err;
      }
    },
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    destroy() {
      destroyed ??= (async () => {
        await signal('SIGTERM').catch(() => signal('SIGKILL'));
        await rm(options.baseDir, { recursive: true, force: true });
      })();
      return destroyed;
    },
  };
}

/** A process that dies without cleaning up must not leave servers running. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [proc, signal] of live) proc.kill(signal);
  });
}

/** A port that is free on 127.0.0.1 right now. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

import { spawn, type SpawnOptions } from 'node:child_process';

/** A running zmes process: everything it wrote, a way to wait for a line, and a bounded stop. */
export interface ZmesProcess {
  readonly pid: number | undefined;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM (SIGKILL after 20 s); resolves with how it ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL at once: a crash, nothing cleaned up. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment without ZMES_* variables, so the developer's own settings never leak in. */
export function cleanEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ZMES_')) clean[name] = value;
  return { ...clean, ...extra };
}

/** Starts `command args` (stdout and stderr merged into output()). */
export function startProcess(command: string, args: readonly string[], options: Omit<SpawnOptions, 'stdio'> = {}): ZmesProcess {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const wake of waiters) wake();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const wake of waiters) wake();
  });
  return {
    pid: child.pid,
    output: () => text,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((found, failed) => {
        const check = () => {
          const match = pattern.exec(text);
          if (match) return done(() => found(match));
          if (gone) return done(() => failed(new Error(`the process exited before ${pattern}:\n${text}`)));
        };
        const timer = setTimeout(() => done(() => failed(new Error(`no ${pattern} within ${timeoutMs} ms:\n${text}`))), timeoutMs);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    async kill() {
      if (!gone) child.kill('SIGKILL');
      return exited;
    },
    async stop() {
      if (!gone) child.kill('SIGTERM');
      const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
      try {
        return await exited;
      } finally {
        clearTimeout(guard);
      }
    },
  };
}

/**
 * Runs one hook process: no shell (argv array), its own process group, a time limit that ends the
 * whole group (TERM, then KILL after a grace period), and bounded output.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Clock } from '../../clock.js';
import type { ProcessEnd } from './hook-output.js';

export interface RunLimits {
  /** Time limit in ms; 0 = none. */
  readonly timeoutMs: number;
  /** Between TERM and KILL (Ng ES: 2 s). */
  readonly killGraceMs: number;
  /** Bytes of stdout kept; more is read and thrown away, so the hook never blocks on a full pipe. */
  readonly maxStdoutBytes: number;
  /** Bytes of stderr kept (for log lines). */
  readonly maxStderrBytes: number;
  /**
   * After the hook exits, how long to wait for its stdout to close. A background child it left
   * running may hold the pipe open for ever; its output after that is not the hook's result.
   */
  readonly closeGraceMs: number;
}

export const DEFAULT_LIMITS: RunLimits = {
  timeoutMs: 0,
  killGraceMs: 2000,
  maxStdoutBytes: 1024 * 1024,
  maxStderrBytes: 16 * 1024,
  closeGraceMs: 1000,
};

export interface HookRun extends ProcessEnd {
  readonly stdout: string;
  readonly stderr: string;
  /** stdout was longer than maxStdoutBytes and was cut. */
  readonly truncated: boolean;
  readonly durationMs: number;
}

/** A number for a signal name (`SIGTERM` → 15), for exit codes. */
export function signalNumber(name: string): number | undefined {
  return (constants.signals as Record<string, number | undefined>)[name];
}

/**
 * Whether any process of the group is still running. Zombies do not count: the hook's orphaned
 * children are reaped by PID 1, sometimes late, and a signal probe (kill -pgid 0) would still see
 * them. Reads /proc (Linux); elsewhere falls back to the probe.
 */
export function processGroupAlive(pgid: number): boolean {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp …": comm may contain anything, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

/** Collects at most `limit` bytes of a stream. */
class Capped {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  add(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept !== chunk) this.truncated = true;
    this.chunks.push(kept);
    this.size += kept.length;
  }
  text(): string {
    // Decoded once at the end, so a character split across chunks survives (one cut at the limit may not).
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Runs `argv[0]` with `argv[1..]` and `args`, each passed literally. Never rejects: a program
 * that cannot be started comes back with `spawnError`. `signal` (server stopping) ends the
 * process group like a timeout.
 */
export function runHook(argv: readonly string[], args: readonly string[], limits: RunLimits, clock: Clock, signal?: AbortSignal): Promise<HookRun> {
  const started = clock.now();
  return new Promise((resolve) => {
    const stdout = new Capped(limits.maxStdoutBytes);
    const stderr = new Capped(limits.maxStderrBytes);
    let timedOut = false;
    let exit: { code: number | null; signal: string | null } | null = null;
    let spawnError: string | null = null;
    let settled = false;
    // Plain (ref'd) timers, not the Clock's unref'd ones: the kill sequence and the report of a
    // timed-out hook must happen even when nothing else keeps the process alive.
    const timers: Array<ReturnType<typeof setTimeout>> = [];
    const later = (fn: () => void, ms: number) => timers.push(setTimeout(fn, ms));

    const child = spawn(argv[0]!, [...argv.slice(1), ...args], {
      shell: false,
      // A new process group (setsid), so the whole tree can be signalled through -pid.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: hookEnvironment(process.env),
    });
    const pid = child.pid;

    const killGroup = (sig: NodeJS.Signals): boolean => {
      if (pid === undefined) return false;
      try {
        process.kill(-pid, sig);
        return true;
      } catch {
        return false; // ESRCH: nobody left in the group
      }
    };

    const finish = () => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      signal?.removeEventListener('abort', onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        timedOut,
        spawnError,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated,
        durationMs: clock.now() - started,
      });
    };

    /**
     * TERM to the group now, KILL to whatever is left of it after the grace period. Settles once
     * the group is empty (checked every 100 ms) or KILL went out.
     */
    let killing: Promise<void> | null = null;
    const terminate = (): Promise<void> => {
      killing ??= new Promise<void>((done) => {
        if (!killGroup('SIGTERM')) return done();
        const poll = setInterval(() => {
          if (pid !== undefined && processGroupAlive(pid)) return;
          clearInterval(poll);
          clearTimeout(kill);
          done();
        }, 100);
        const kill = setTimeout(() => {
          clearInterval(poll);
          killGroup('SIGKILL');
          done();
        }, limits.killGraceMs);
        // Not in `timers`: reporting the result must not cancel the KILL still due to the group.
      });
      return killing;
    };

    const onAbort = () => {
      // A hook that already exited keeps its result; only what it left running is ended.
      if (exit === null) timedOut = true;
      void terminate();
    };

    child.stdout?.on('data', (chunk: Buffer) => stdout.add(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.add(chunk));
    child.stdout?.on('error', () => undefined);
    child.stderr?.on('error', () => undefined);

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Only spawn failures arrive here before 'exit'; a kill failure is handled in killGroup.
      if (exit !== null) return;
      spawnError = err.code ?? 'ESPAWN';
      finish();
    });

    child.on('exit', (code, sig) => {
      exit = { code, signal: sig };
      if (timedOut) {
        // The leader is gone, but the group may live on: report only once KILL went out (or nobody was left).
        void terminate().then(finish);
        return;
      }
      later(finish, limits.closeGraceMs);
    });

    child.on('close', () => {
      if (exit === null) return;
      if (!timedOut) finish();
    });

    if (limits.timeoutMs > 0) {
      later(() => {
        if (exit !== null) return;
        timedOut = true;
        void terminate();
      }, limits.timeoutMs);
    }
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The server's environment without what a user script has no business reading: zmes's own
 * ZMES_* settings (they may carry the database password) and the Supervisor's API token.
 */
export function hookEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('ZMES_') || name === 'SUPERVISOR_TOKEN' || name === 'HASSIO_TOKEN') continue;
    clean[name] = value;
  }
  return clean;
}

import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';

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

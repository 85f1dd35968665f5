/**
 * A private MariaDB server for tests that stop, restart or kill the database (outage tests), so
 * they never disturb the shared server other tests use. Its own temporary data directory,
 * loopback port, socket and pid file; runs as the `mysql` user when the tests run as root.
 *
 *   const server = await startPrivateMariadb();
 *   t.after(() => server.destroy());
 *   await server.stop(); await server.start(); await server.kill();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mariadb';
import type { DbServer } from './zm-database.js';
import { logTail, signalAndWait } from './child-process.js';

export interface PrivateMariadb extends DbServer {
  host: '127.0.0.1';
  /** The temporary folder holding data/, run/ and the error log. */
  baseDir: string;
  readonly running: boolean;
  /** Starts the server again on the same data directory and port; waits until it answers. */
  start(): Promise<void>;
  /** Graceful shutdown (SIGTERM); waits until the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash or power loss; waits until the process has exited. */
  kill(): Promise<void>;
  /** Stops the server and removes its folder; idempotent. */
  destroy(): Promise<void>;
}

const MARIADBD = '/usr/sbin/mariadbd';
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startPrivateMariadb(): Promise<PrivateMariadb> {
  const baseDir = await mkdtemp(join(tmpdir(), 'zmes-mariadb-'));
  const dataDir = join(baseDir, 'data');
  const runDir = join(baseDir, 'run');
  const socket = join(runDir, 'mysqld.sock');
  const errorLog = join(runDir, 'error.log');
  await mkdir(dataDir);
  await mkdir(runDir);
  const owner = process.getuid?.() === 0 ? mysqlUser() : null;
  if (owner) for (const dir of [baseDir, dataDir, runDir]) await chown(dir, owner.uid, owner.gid);

  let child: ChildProcess | null = null;
  let destroyed: Promise<void> | null = null;
  try {
    await runToEnd('mariadb-install-db', [
      '--no-defaults',
      ...(owner ? ['--user=mysql'] : []),
      `--datadir=${dataDir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ]);
  } catch (err) {
    await rm(baseDir, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort();

  const args = [
    '--no-defaults',
    ...(owner ? ['--user=mysql'] : []),
    `--datadir=${dataDir}`,
    `--socket=${socket}`,
    `--pid-file=${join(runDir, 'mysqld.pid')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    `--log-error=${errorLog}`,
    // Small and quick: a test server needs little memory and no durability tuning.
    '--innodb-buffer-pool-size=32M',
    '--innodb-log-file-size=16M',
    '--skip-log-bin',
  ];

  const server: PrivateMariadb = {
    host: '127.0.0.1',
    port,
    socket: null,
    user: 'root',
    password: '',
    baseDir,
    get running() {
      return child !== null;
    },
    async start() {
      if (child !== null) return;
      installExitHook();
      const proc = spawn(MARIADBD, args, { stdio: 'ignore' });
      child = proc;
      live.add(proc);
      proc.once('exit', () => {
        live.delete(proc);
        if (child === proc) child = null;
      });
      try {
        await waitUntilAnswering(port, proc, errorLog);
      } catch (err) {
        await signalAndWait(proc, 'SIGKILL', 'mariadbd', 60_000);
        throw err;
      }
    },
    async stop() {
      if (child !== null) await signalAndWait(child, 'SIGTERM', 'mariadbd', 60_000);
    },
    async kill() {
      if (child !== null) await signalAndWait(child, 'SIGKILL', 'mariadbd', 60_000);
    },
    destroy() {
      destroyed ??= (async () => {
        if (child !== null) await signalAndWait(child, 'SIGTERM', 'mariadbd', 20_000).catch(() => signalAndWait(child!, 'SIGKILL', 'mariadbd', 60_000));
        await rm(baseDir, { recursive: true, force: true });
      })();
      return destroyed;
    },
  };
  try {
    await server.start();
  } catch (err) {
    await server.destroy();
    throw err;
  }
  return server;
}

function mysqlUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('mysql:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root but there is no "mysql" user to run mariadbd as; install mariadb-server');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

function freePort(): Promise<number> {
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

function runToEnd(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    proc.on('error', (err) => reject(new Error(`cannot run ${command} (${err.message}); install mariadb-server`)));
    proc.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} exited with ${code}: ${output.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

async function waitUntilAnswering(port: number, proc: ChildProcess, errorLog: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`private mariadbd exited during start-up: ${await logTail(errorLog)}`);
    }
    try {
      const conn = await createConnection({ host: '127.0.0.1', port, user: 'root', password: '', connectTimeout: 1000 });
      await conn.end();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`private mariadbd did not answer on port ${port} (${String(err)}): ${await logTail(errorLog)}`);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}


/** A test process that dies without cleaning up must not leave servers running. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const proc of live) proc.kill('SIGKILL');
  });
}

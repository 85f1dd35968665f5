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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mariadb';
import type { DbServer } from './zm-database.js';
import { freeLoopbackPort, logTail, superviseProcess, type SupervisedProcess } from './child-process.js';

/** start() restarts on the same data directory and port; stop() is SIGTERM, kill() SIGKILL. */
export interface PrivateMariadb extends DbServer, SupervisedProcess {
  host: '127.0.0.1';
  /** The temporary folder holding data/, run/ and the error log. */
  baseDir: string;
}

const MARIADBD = '/usr/sbin/mariadbd';

export interface PrivateMariadbOptions {
  /** Extra addresses to listen on besides 127.0.0.1 (e.g. a bridge that network namespaces reach). */
  readonly extraAddresses?: readonly string[];
}

export async function startPrivateMariadb(options: PrivateMariadbOptions = {}): Promise<PrivateMariadb> {
  const baseDir = await mkdtemp(join(tmpdir(), 'zmes-mariadb-'));
  const dataDir = join(baseDir, 'data');
  const runDir = join(baseDir, 'run');
  const socket = join(runDir, 'mysqld.sock');
  const errorLog = join(runDir, 'error.log');
  await mkdir(dataDir);
  await mkdir(runDir);
  const owner = process.getuid?.() === 0 ? mysqlUser() : null;
  if (owner) for (const dir of [baseDir, dataDir, runDir]) await chown(dir, owner.uid, owner.gid);

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
  const port = await freeLoopbackPort();

  const args = [
    '--no-defaults',
    ...(owner ? ['--user=mysql'] : []),
    `--datadir=${dataDir}`,
    `--socket=${socket}`,
    `--pid-file=${join(runDir, 'mysqld.pid')}`,
    `--port=${port}`,
    `--bind-address=${['127.0.0.1', ...(options.extraAddresses ?? [])].join(',')}`,
    '--skip-name-resolve',
    `--log-error=${errorLog}`,
    // Small and quick: a test server needs little memory and no durability tuning.
    '--innodb-buffer-pool-size=32M',
    '--innodb-log-file-size=16M',
    '--skip-log-bin',
  ];

  const mariadbd = superviseProcess({
    name: 'mariadbd',
    command: MARIADBD,
    args,
    baseDir,
    ready: (proc) => waitUntilAnswering(port, proc, errorLog),
    stopTimeoutMs: 60_000,
  });
  const server: PrivateMariadb = {
    host: '127.0.0.1',
    port,
    socket: null,
    user: 'root',
    password: '',
    baseDir,
    get running() {
      return mariadbd.running;
    },
    start: () => mariadbd.start(),
    stop: () => mariadbd.stop(),
    kill: () => mariadbd.kill(),
    destroy: () => mariadbd.destroy(),
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



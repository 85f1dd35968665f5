/**
 * A private Mosquitto broker for tests that stop or restart the broker or need a password or
 * TLS, so they never disturb the shared broker on 127.0.0.1:1883. Generated config, its own
 * temporary folder and free loopback ports, no persistence (a restart loses retained messages,
 * as a broker without a persistence file would).
 *
 *   const broker = await startPrivateMosquitto({ auth: { username: 'zmes', password: 's3cret' } });
 *   t.after(() => broker.destroy());
 *   broker.port       anonymous listener
 *   broker.authPort   listener that requires the user (password_file made with mosquitto_passwd)
 *   await broker.stop(); await broker.start();   same ports again
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logTail, signalAndWait } from '../../src/demo/child-process.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';

export interface PrivateMosquittoOptions {
  /** Adds a listener that accepts only this user. */
  auth?: { username: string; password: string };
  /** Adds a TLS listener with this server certificate (e.g. from test/helpers/certs.ts). */
  tls?: { certPath: string; keyPath: string };
}

export interface PrivateMosquitto {
  readonly host: '127.0.0.1';
  /** Anonymous plain listener. */
  readonly port: number;
  /** Password listener, when `auth` was given. */
  readonly authPort: number | null;
  /** Anonymous TLS listener, when `tls` was given. */
  readonly tlsPort: number | null;
  readonly baseDir: string;
  readonly running: boolean;
  /** Starts the broker again on the same ports; waits until every listener accepts connections. */
  start(): Promise<void>;
  /** SIGTERM; waits until the process has exited. */
  stop(): Promise<void>;
  /** Stops the broker and removes its folder; idempotent. */
  destroy(): Promise<void>;
}

export function mosquittoAvailable(): boolean {
  return existsSync(MOSQUITTO);
}

export function mosquittoPasswdAvailable(): boolean {
  return existsSync(MOSQUITTO_PASSWD);
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startPrivateMosquitto(options: PrivateMosquittoOptions = {}): Promise<PrivateMosquitto> {
  const baseDir = await mkdtemp(join(tmpdir(), 'zmes-mosquitto-'));
  const logFile = join(baseDir, 'mosquitto.log');
  const port = await freePort();
  const authPort = options.auth ? await freePort() : null;
  const tlsPort = options.tls ? await freePort() : null;

  const lines = [
    // Each listener has its own anonymous/password settings.
    'per_listener_settings true',
    'persistence false',
    `log_dest file ${logFile}`,
    'log_type error',
    'log_type warning',
    'log_type notice',
    // When started as root, stay root: the files live in a private (0700) temporary folder.
    'user root',
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
  ];
  if (options.auth && authPort !== null) {
    if (!mosquittoPasswdAvailable()) throw new Error(`${MOSQUITTO_PASSWD} is missing; install mosquitto (Debian package "mosquitto")`);
    const passwordFile = join(baseDir, 'passwd');
    execFileSync(MOSQUITTO_PASSWD, ['-b', '-c', passwordFile, options.auth.username, options.auth.password], { stdio: 'ignore' });
    lines.push(`listener ${authPort} 127.0.0.1`, 'allow_anonymous false', `password_file ${passwordFile}`);
  }
  if (options.tls && tlsPort !== null) {
    lines.push(`listener ${tlsPort} 127.0.0.1`, 'allow_anonymous true', `certfile ${options.tls.certPath}`, `keyfile ${options.tls.keyPath}`);
  }
  const configFile = join(baseDir, 'mosquitto.conf');
  await writeFile(configFile, lines.join('\n') + '\n');
  const ports = [port, authPort, tlsPort].filter((p): p is number => p !== null);

  let child: ChildProcess | null = null;
  let destroyed: Promise<void> | null = null;
  const broker: PrivateMosquitto = {
    host: '127.0.0.1',
    port,
    authPort,
    tlsPort,
    baseDir,
    get running() {
      return child !== null;
    },
    async start() {
      if (child !== null) return;
      installExitHook();
      const proc = spawn(MOSQUITTO, ['-c', configFile], { stdio: 'ignore' });
      child = proc;
      live.add(proc);
      proc.once('exit', () => {
        live.delete(proc);
        if (child === proc) child = null;
      });
      try {
        for (const p of ports) await waitUntilListening(p, proc, logFile);
      } catch (err) {
        await signalAndWait(proc, 'SIGKILL', 'mosquitto', 15_000);
        throw err;
      }
    },
    async stop() {
      if (child !== null) await signalAndWait(child, 'SIGTERM', 'mosquitto', 15_000);
    },
    destroy() {
      destroyed ??= (async () => {
        if (child !== null) await signalAndWait(child, 'SIGTERM', 'mosquitto', 15_000).catch(() => signalAndWait(child!, 'SIGKILL', 'mosquitto', 15_000));
        await rm(baseDir, { recursive: true, force: true });
      })();
      return destroyed;
    },
  };
  try {
    await broker.start();
  } catch (err) {
    await broker.destroy();
    throw err;
  }
  return broker;
}

/** A test run that dies must not leave brokers behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const proc of live) proc.kill('SIGKILL');
  });
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

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntilListening(port: number, proc: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`private mosquitto exited during start-up: ${await logTail(logFile)}`);
    }
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`private mosquitto did not listen on port ${port}: ${await logTail(logFile)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}


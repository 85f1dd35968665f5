/**
 * A private Mosquitto broker for tests that stop or restart the broker or need a password or
 * TLS, so they never disturb the shared broker on 127.0.0.1:1883. Generated config, its own
 * temporary folder and free loopback ports, no persistence unless asked for (a restart loses
 * retained messages, as a broker without a persistence file would).
 *
 *   const broker = await startPrivateMosquitto({ auth: { username: 'zmes', password: 's3cret' } });
 *   t.after(() => broker.destroy());
 *   broker.port       anonymous listener
 *   broker.authPort   listener that requires the user (password_file made with mosquitto_passwd)
 *   await broker.stop(); await broker.start();   same ports again
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, logTail, superviseProcess } from '../../dev/demo/child-process.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';

export interface PrivateMosquittoOptions {
  /** Adds a listener that accepts only this user. */
  auth?: { username: string; password: string };
  /** Adds a TLS listener with this server certificate (e.g. from test/helpers/certs.ts). */
  tls?: { certPath: string; keyPath: string };
  /**
   * Keeps retained messages and persistent sessions across stop()/start(), and queues every
   * message (QoS 0 too, without a count limit) for a persistent subscriber while it is away:
   * a test subscriber then receives what zmes sends right after a restart, whichever of the two
   * reconnects first.
   */
  persistence?: boolean;
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
  /** start() restarts on the same ports and waits until every listener accepts connections. */
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export function mosquittoAvailable(): boolean {
  return existsSync(MOSQUITTO);
}

export function mosquittoPasswdAvailable(): boolean {
  return existsSync(MOSQUITTO_PASSWD);
}


export async function startPrivateMosquitto(options: PrivateMosquittoOptions = {}): Promise<PrivateMosquitto> {
  const baseDir = await mkdtemp(join(tmpdir(), 'zmes-mosquitto-'));
  const logFile = join(baseDir, 'mosquitto.log');
  const port = await freeLoopbackPort();
  const authPort = options.auth ? await freeLoopbackPort() : null;
  const tlsPort = options.tls ? await freeLoopbackPort() : null;

  const lines = [
    // Each listener has its own anonymous/password settings.
    'per_listener_settings true',
    ...(options.persistence
      ? ['persistence true', `persistence_location ${baseDir}/`, 'queue_qos0_messages true', 'max_queued_messages 0']
      : ['persistence false']),
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

  const mosquitto = superviseProcess({
    name: 'mosquitto',
    command: MOSQUITTO,
    args: ['-c', configFile],
    baseDir,
    ready: async (proc) => {
      for (const p of ports) await waitUntilListening(p, proc, logFile);
    },
    stopTimeoutMs: 15_000,
  });
  const broker: PrivateMosquitto = {
    host: '127.0.0.1',
    port,
    authPort,
    tlsPort,
    baseDir,
    get running() {
      return mosquitto.running;
    },
    start: () => mosquitto.start(),
    stop: () => mosquitto.stop(),
    destroy: () => mosquitto.destroy(),
  };
  try {
    await broker.start();
  } catch (err) {
    await broker.destroy();
    throw err;
  }
  return broker;
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


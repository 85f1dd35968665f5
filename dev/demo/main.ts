#!/usr/bin/env node
/**
 * `npm run demo`: zmes on a machine without ZoneMinder. A throwaway ZoneMinder database (the
 * real schema from Debian's package) in the local MariaDB, or in a MariaDB of its own when none
 * runs; a demo user; zmes on 127.0.0.1:9000 and its status page on 127.0.0.1:8099; the simulator
 * writing events every few seconds the way ZoneMinder does. Ctrl-C removes everything it created.
 *
 * Environment: ZMES_DEMO_PORT (9000; 0 picks a free port), ZMES_DEMO_ADDRESS (127.0.0.1; e.g.
 * 0.0.0.0 to let a phone on the network connect), ZMES_DEMO_STATUS_PORT (8099; 0 picks one).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '@node-rs/bcrypt';
import { createConnection } from 'mariadb';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { errorMessage } from '../../src/errors.js';
import { createLogger, type LogLevel } from '../../src/log/logger.js';
import { ZmSimulator } from '../sim/zm-simulator.js';
import { startPrivateMariadb, type PrivateMariadb } from './throwaway-mariadb.js';
import { createZmTestDatabase, testDbServer, type DbServer, type ZmTestDatabase } from './zm-database.js';

const DEMO_USER = 'demo';
const DEMO_PASSWORD = 'demo';
const MONITORS = ['Front Door', 'Driveway', 'Backyard'];
/** The demo user's password is public: only this machine, unless asked otherwise. */
const ADDRESS = process.env['ZMES_DEMO_ADDRESS'] ?? '127.0.0.1';

async function reachable(server: DbServer): Promise<boolean> {
  try {
    const conn = await createConnection({ host: server.host, port: server.port, user: server.user, password: server.password, connectTimeout: 2000 });
    await conn.end();
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (err) {
        console.error(`cleanup: ${errorMessage(err)}`);
      }
    }
  };
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the demo and removing what it created…`);
    void cleanup().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  try {
    let server = testDbServer();
    if (!(await reachable(server))) {
      if (!existsSync('/usr/sbin/mariadbd')) {
        throw new Error(
          `no MariaDB answers at ${server.host}:${server.port} and no MariaDB server is installed.\n` +
            'Install one with `sudo apt-get install mariadb-server mariadb-client`, or point ZMES_TEST_DB_HOST/PORT/USER/PASSWORD at a server.',
        );
      }
      console.log(`no MariaDB at ${server.host}:${server.port}: starting a throwaway one…`);
      const own: PrivateMariadb = await startPrivateMariadb();
      cleanups.push(() => own.destroy());
      server = own;
    }

    console.log('creating a throwaway ZoneMinder database (real schema from Debian’s zoneminder package)…');
    const zm: ZmTestDatabase = await createZmTestDatabase({ server, appUser: true });
    cleanups.push(() => zm.drop());
    await zm.execute(
      'INSERT INTO Users (Username, Password, Enabled, Stream, Events, Control, Monitors, `Groups`, Devices, System, APIEnabled) ' +
        "VALUES (?, ?, 1, 'View', 'View', 'None', 'View', 'None', 'None', 'None', 1)",
      [DEMO_USER, `$2y$${(await hash(DEMO_PASSWORD, 10)).slice(4)}`],
    );
    const simulator = await ZmSimulator.create(zm.pool);
    const monitorIds: number[] = [];
    for (const name of MONITORS) monitorIds.push(await simulator.createMonitor({ name, function: 'Modect' }));

    const dataDir = mkdtempSync(join(tmpdir(), 'zmes-demo-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const db = zm.appSettings!;
    const { config, warnings } = loadConfig({
      overrides: {
        'general.base_data_path': dataDir,
        'network.address': ADDRESS,
        'network.port': Number(process.env['ZMES_DEMO_PORT'] ?? 9000),
        'status.enable': true,
        'status.port': Number(process.env['ZMES_DEMO_STATUS_PORT'] ?? 8099),
        'ssl.enable': false,
        'fcm.enable': false,
        'customize.send_event_end_notification': true,
        'customize.read_alarm_cause': true,
        'database.host': db.host,
        'database.port': db.port,
        'database.name': db.database,
        'database.user': db.user,
        'database.password': db.password,
        'database.zm_conf': null,
      },
    });
    const log = createLogger({ level: (process.env['ZMES_GENERAL_LOG_LEVEL'] as LogLevel | undefined) ?? config.general.log_level });
    for (const warning of warnings) log.warn(warning);
    const app: RunningApp = await startApp(config, log);
    cleanups.push(() => app.stop());

    const abort = new AbortController();
    const running = simulator.run({ ratePerSecond: 0.3, monitorIds, eventDurationMs: 4000, updateIntervalMs: 1000, signal: abort.signal });
    cleanups.push(async () => {
      abort.abort();
      await running.catch(() => undefined);
    });

    // Every interface: this machine reaches it on loopback.
    const host = ['0.0.0.0', '[::]', '::'].includes(ADDRESS) ? '127.0.0.1' : ADDRESS;
    const url = `ws://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${app.port}`;
    console.log(`
zmes demo is running: ZoneMinder database ${zm.name}, monitors ${MONITORS.map((n, i) => `${n} (${monitorIds[i]})`).join(', ')}.
A simulated event starts about every 3 seconds and ends 4 seconds later.

Connect zmNinja or zmNinjaNg to ${url} with user "${DEMO_USER}", password "${DEMO_PASSWORD}",
or watch the alarms from another terminal:

  node --import tsx dev/demo/client.ts ${url}

Status page: http://127.0.0.1:${app.statusPort}/ (JSON: http://127.0.0.1:${app.statusPort}/api/status)

Ctrl-C stops the demo and removes everything it created.
`);
  } catch (err) {
    console.error(`demo failed: ${errorMessage(err)}`);
    await cleanup();
    process.exit(1);
  }
}

void main();

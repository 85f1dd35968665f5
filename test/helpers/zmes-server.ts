import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bcryptHash } from './bcrypt.js';
import { startApp, type AppDependencies, type RunningApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { mysql41Hash } from '../../src/zm/auth/password.js';
import type { DbSettings, SqlValue } from '../../src/zm/db.js';
import { memoryLogger, type MemoryLogger } from './memory-log.js';
import type { LogLevel } from '../../src/log/logger.js';

export interface TestServer {
  app: RunningApp;
  config: Config;
  url: string;
  logs: MemoryLogger;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * A real zmes (uWS listener, MariaDB access) on a free loopback port, configured through the
 * real config loader. `overrides` are `section.key` values on top of the test defaults.
 * Every line down to debug is kept for the test to read, unless `logLevel` says otherwise
 * (benchmarks: a production logger at warn level formats nothing below it).
 */
export async function startTestServer(
  db: DbSettings,
  overrides: Record<string, unknown> = {},
  deps: AppDependencies = {},
  logLevel: LogLevel = 'debug',
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'zmes-data-'));
  const { config } = loadConfig({
    env: {},
    overrides: {
      'general.base_data_path': dataDir,
      'network.address': '127.0.0.1',
      'network.port': 0,
      'ssl.enable': false,
      'database.host': db.host,
      'database.port': db.port,
      'database.name': db.database,
      'database.user': db.user,
      'database.password': db.password,
      'database.zm_conf': join(dataDir, 'no-zm.conf'),
      ...overrides,
    },
  });
  const logs = memoryLogger(logLevel);
  const app = await startApp(config, logs.log, deps);
  const scheme = config.ssl.enable ? 'wss' : 'ws';
  return {
    app,
    config,
    url: `${scheme}://127.0.0.1:${app.port}`,
    logs,
    dataDir,
    async stop() {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type HashKind = 'bcrypt-2a' | 'bcrypt-2b' | 'bcrypt-2y' | 'mysql41' | 'zm-bcrypt' | 'plain';

/** The stored Users.Password for `password` in the given ZoneMinder format. */
export async function zmPasswordHash(password: string, kind: HashKind, cost = 4): Promise<string> {
  switch (kind) {
    case 'bcrypt-2a':
      return bcryptHash(password, cost, '2a');
    case 'bcrypt-2b':
      return bcryptHash(password, cost, '2b');
    case 'bcrypt-2y':
      return bcryptHash(password, cost, '2y');
    case 'mysql41':
      return mysql41Hash(password);
    case 'zm-bcrypt':
      return `-ZM-${await bcryptHash(mysql41Hash(password), cost, '2a')}`;
    case 'plain':
      return password;
  }
}

export interface ZmUserSpec {
  username: string;
  passwordHash: string;
  enabled?: boolean;
  events?: 'None' | 'View' | 'Edit';
  monitorIds?: string | null;
  tokenMinExpiry?: number;
}

/** Inserts a ZoneMinder user row the way ZoneMinder's web UI would. */
export async function insertZmUser(
  execute: (sql: string, params: readonly SqlValue[]) => Promise<unknown>,
  user: ZmUserSpec,
): Promise<void> {
  await execute(
    'INSERT INTO Users (Username, Password, Enabled, Stream, Events, Control, Monitors, `Groups`, Devices, System, MonitorIds, TokenMinExpiry, APIEnabled) ' +
      "VALUES (?, ?, ?, 'View', ?, 'None', 'View', 'None', 'None', 'None', ?, ?, 1)",
    [user.username, user.passwordHash, user.enabled === false ? 0 : 1, user.events ?? 'View', user.monitorIds ?? null, user.tokenMinExpiry ?? 0],
  );
}

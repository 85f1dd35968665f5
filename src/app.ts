/**
 * The composition root: builds every module from the configuration, starts them in
 * dependency order and stops them in reverse. Nothing else constructs long-lived objects.
 */
import type { Config } from './config/load.js';
import { systemClock, type Clock } from './clock.js';
import { ServiceRunner } from './lifecycle.js';
import { ZmesError } from './errors.js';
import type { Logger } from './log/logger.js';
import { ZMES_VERSION } from './version.js';
import { ZmDatabase, type DbSettings } from './zm/db.js';
import { detectSchema, type ZmSchema } from './zm/schema.js';
import { AuthCache } from './zm/auth/auth-cache.js';
import { Authenticator } from './zm/auth/authenticator.js';
import { LoginLimiter } from './zm/auth/login-limiter.js';
import { ZmUserDirectory } from './zm/auth/users-repo.js';
import { loadUws } from './ws/uws.js';
import { WsServer } from './ws/server.js';
import { SessionHandler } from './ws/session-handler.js';
import type { Session } from './ws/session.js';

export interface RunningApp {
  /** The WebSocket port actually bound (differs from the config when it asks for 0). */
  readonly port: number;
  readonly db: ZmDatabase;
  readonly sessions: SessionHandler;
  readonly server: WsServer<Session>;
  stop(): Promise<void>;
}

export interface AppDependencies {
  clock?: Clock;
}

export function dbSettingsFrom(config: Config): DbSettings {
  const db = config.database;
  return { host: db.host, port: db.port, socket: db.socket, database: db.name, user: db.user, password: db.password ?? '' };
}

/**
 * Detects ZoneMinder's schema on first use and remembers it; a failure (database down) is
 * not remembered, so the next caller tries again.
 */
export function lazySchema(db: ZmDatabase, log: Logger): () => Promise<ZmSchema> {
  let detected: Promise<ZmSchema> | undefined;
  return () => {
    detected ??= detectSchema(db).then(
      (schema) => {
        log.info(`ZoneMinder schema ${schema.label} detected`);
        return schema;
      },
      (err: unknown) => {
        detected = undefined;
        throw err;
      },
    );
    return detected;
  };
}

export async function startApp(config: Config, log: Logger, deps: AppDependencies = {}): Promise<RunningApp> {
  const clock = deps.clock ?? systemClock;
  log.info(`zmes ${ZMES_VERSION} starting (Node ${process.version})`);
  loadUws();

  const db = new ZmDatabase(dbSettingsFrom(config), log.child('db'), { clock });
  const schema = lazySchema(db, log.child('db'));
  const users = new ZmUserDirectory(db, schema, clock);
  const authenticator = new Authenticator(
    users,
    new AuthCache({ maxEntries: 10_000, ttlMs: 15 * 60_000, clock }),
    log.child('auth'),
    () => clock.now(),
  );
  const limiter = new LoginLimiter(
    { maxFailures: config.auth.max_failures, windowMs: config.auth.failure_window * 1000 },
    clock,
  );
  const sessions = new SessionHandler(
    {
      authEnabled: config.auth.enable,
      authTimeoutSec: config.auth.timeout,
      pushEnabled: config.fcm.enable,
      escontrolEnabled: config.general.use_escontrol_interface,
      maxFrameBytes: config.network.max_frame_size,
    },
    authenticator,
    limiter,
    clock,
    log.child('ws'),
  );
  const server = new WsServer<Session>(
    {
      address: config.network.address,
      port: config.network.port,
      tls: config.ssl.enable ? tlsFiles(config) : null,
      maxPayloadLength: config.network.max_frame_size,
      maxConnections: config.network.max_connections,
      maxBackpressure: config.network.max_backpressure,
      idleTimeout: config.network.idle_timeout,
    },
    sessions,
    log.child('ws'),
  );
  if (!config.auth.enable) log.warn('auth.enable is off: any credentials are accepted');

  const runner = new ServiceRunner(log);
  try {
    await runner.start([db, server]);
  } catch (err) {
    await runner.stop();
    throw err;
  }
  // Detect the schema now when the database is up, so a wrong database shows in the log at once.
  if (db.isAvailable) await schema().catch((err: unknown) => log.error(`cannot read ZoneMinder's schema: ${String(err)}`));
  log.info(`zmes ${ZMES_VERSION} ready`);
  return {
    port: server.port,
    db,
    sessions,
    server,
    stop: async () => {
      log.info('zmes stopping');
      await runner.stop();
      log.info('zmes stopped');
    },
  };
}

function tlsFiles(config: Config): { cert: string; key: string } {
  const { cert, key } = config.ssl;
  if (!cert || !key) {
    // The config schema cannot express "required when enable is on"; say it here, clearly.
    throw new ZmesError('ZMES_CONFIG_INVALID', 'ssl.enable is on but ssl.cert and ssl.key are not both set (set them, or set ssl.enable: no)');
  }
  return { cert, key };
}

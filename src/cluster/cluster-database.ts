/**
 * Creates the cluster database (cluster.database) on ZoneMinder's MariaDB server if it is
 * missing and brings its schema up to date with the numbered migrations, before any node
 * service uses it. Nodes starting at the same time may all do this: every step is idempotent.
 */
import { createConnection, type Connection, type ConnectionConfig } from 'mariadb';
import { ZmesError, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { resolveDbLocation } from '../zm/db-location.js';
import type { DbSettings } from '../zm/db.js';
import { rootCode } from '../zm/db.js';
import { MIGRATIONS, pendingMigrations, type Migration } from './migrations.js';

/** A plain identifier, so the name can be put in DDL without quoting games. */
const DATABASE_NAME = /^[A-Za-z0-9_]{1,64}$/;

export function checkClusterDatabaseName(name: string): void {
  if (!DATABASE_NAME.test(name)) {
    throw new ZmesError('ZMES_CONFIG_INVALID', `cluster.database ${JSON.stringify(name)} is not a database name (letters, digits and _ only, at most 64)`);
  }
}

export interface PreparedClusterDatabase {
  /** Versions applied by this call (empty when the schema was current). */
  readonly applied: readonly number[];
  readonly version: number;
}

/** Connects without a default database, creates `name` and applies what is missing. */
export async function prepareClusterDatabase(
  server: DbSettings,
  name: string,
  nodeId: string,
  log: Logger,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<PreparedClusterDatabase> {
  checkClusterDatabaseName(name);
  const { location } = resolveDbLocation(server);
  const config: ConnectionConfig = {
    user: server.user,
    password: server.password,
    connectTimeout: 10_000,
    ...(location.kind === 'socket' ? { socketPath: location.path } : { host: location.host, port: location.port }),
  };
  let connection: Connection;
  try {
    connection = await createConnection(config);
  } catch (err) {
    throw new ZmesError('ZMES_DB_UNAVAILABLE', `cluster database: cannot connect to MariaDB as ${server.user} (${errorMessage(err)})`, { cause: err });
  }
  try {
    await connection.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4`);
    await connection.query(`USE \`${name}\``);
    await connection.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
        version INT UNSIGNED NOT NULL PRIMARY KEY,
        name VARCHAR(200) NOT NULL,
        applied_by VARCHAR(255) NOT NULL,
        applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    );
    const rows = (await connection.query('SELECT version FROM schema_migrations')) as Array<{ version: number }>;
    const applied = new Set(rows.map((row) => Number(row.version)));
    const newest = Math.max(0, ...migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => v > newest);
    if (unknown.length > 0) {
      throw new ZmesError(
        'ZMES_CONFIG_INVALID',
        `cluster database ${name} has schema version ${Math.max(...unknown)}, newer than this zmes knows (${newest}): upgrade this node to the version the other nodes run`,
      );
    }
    const done: number[] = [];
    for (const migration of pendingMigrations(applied, migrations)) {
      for (const statement of migration.statements) await connection.query(statement);
      const result = (await connection.query('INSERT IGNORE INTO schema_migrations (version, name, applied_by) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        nodeId,
      ])) as { affectedRows: number };
      if (result.affectedRows === 1) {
        done.push(migration.version);
        log.info(`cluster database ${name}: migration ${migration.version} (${migration.name}) applied`);
      }
    }
    return { applied: done, version: newest };
  } catch (err) {
    if (err instanceof ZmesError) throw err;
    const code = rootCode(err);
    const advice = code?.startsWith('ER_DBACCESS_DENIED') || code?.startsWith('ER_TABLEACCESS_DENIED') || code === 'ER_ACCESS_DENIED_ERROR'
      ? `; grant it with: GRANT ALL ON \`${name}\`.* TO '${server.user}'@'<host>'`
      : '';
    throw new ZmesError('ZMES_DB_UNAVAILABLE', `cluster database ${name}: ${errorMessage(err)}${advice}`, { cause: err });
  } finally {
    await connection.end().catch(() => undefined);
  }
}

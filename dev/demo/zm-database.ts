/**
 * Throwaway ZoneMinder databases for integration tests: real schema from Debian's package
 * (see zm-schema.ts), loaded with the `mariadb` client into a uniquely named database on the
 * shared test server (or on a private one), optionally reshaped into an older or newer
 * ZoneMinder generation, optionally with a least-privilege user for zmes.
 *
 *   const zm = await createZmTestDatabase({ generation: '1.38', appUser: true });
 *   t.after(() => zm.drop());
 *   const db = new ZmDatabase(zm.appSettings ?? zm.settings, log);
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, createPool, type Pool } from 'mariadb';
import type { DbSettings, SqlValue } from '../../src/zm/db.js';
import { localCreateSql, zmSchemaFiles } from './zm-schema-source.js';

export type ZmGeneration = '1.34' | '1.36' | '1.38';

/** Where a MariaDB server listens and how to log in as an administrator. */
export interface DbServer {
  host: string;
  port: number;
  socket?: string | null;
  user: string;
  password: string;
}

export interface ZmTestDatabaseOptions {
  /** Schema generation to produce; default '1.36' (the Debian package as is). */
  generation?: ZmGeneration;
  /** Server to use; default from ZMES_TEST_DB_* (127.0.0.1:3306 root, empty password). */
  server?: DbServer;
  /** Create the database without any ZoneMinder tables. */
  empty?: boolean;
  /** Also create a dedicated user with only SELECT and UPDATE on the database (least privilege). */
  appUser?: boolean;
}

export interface ZmTestDatabase {
  name: string;
  generation: ZmGeneration;
  /** Administrator credentials on this database. */
  settings: DbSettings;
  /** The least-privilege user's credentials, when `appUser` was asked for. */
  appSettings: DbSettings | null;
  /** A small administrator pool on this database (dates as strings, BIGINT as bigint). */
  pool: Pool;
  /** Shorthand for a SELECT on `pool`, rows as plain records. */
  query(sql: string, params?: readonly SqlValue[]): Promise<Record<string, unknown>[]>;
  /** Shorthand for any other statement on `pool`. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<{ affectedRows: number; insertId: bigint }>;
  /**
   * Creates another user with the given privileges on this database (or on one `table` of it);
   * dropped with the database.
   */
  createUser(privileges: readonly string[], table?: string): Promise<DbSettings>;
  /** Drops the database and its users; idempotent, never throws. */
  drop(): Promise<void>;
}

/** The shared test server from the environment. */
export function testDbServer(): DbServer {
  const env = process.env;
  return {
    host: env['ZMES_TEST_DB_HOST'] || '127.0.0.1',
    port: Number(env['ZMES_TEST_DB_PORT'] || 3306),
    user: env['ZMES_TEST_DB_USER'] || 'root',
    password: env['ZMES_TEST_DB_PASSWORD'] ?? '',
  };
}

/** Throws at once, saying how to start a server, when none answers. */
export async function assertServerReachable(server: DbServer = testDbServer()): Promise<void> {
  try {
    const conn = await createConnection({ ...connectionOf(server), connectTimeout: 2000 });
    await conn.end();
  } catch (err) {
    const where = server.socket ?? `${server.host}:${server.port}`;
    throw new Error(
      `MariaDB for tests is not reachable at ${where} as ${server.user} (${err instanceof Error ? err.message : String(err)}).\n` +
        'Start one with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` ' +
        '(or `apt-get install mariadb-server` first), or point ZMES_TEST_DB_HOST, ZMES_TEST_DB_PORT, ' +
        'ZMES_TEST_DB_USER and ZMES_TEST_DB_PASSWORD at another server.',
    );
  }
}

export async function createZmTestDatabase(options: ZmTestDatabaseOptions = {}): Promise<ZmTestDatabase> {
  const server = options.server ?? testDbServer();
  const generation = options.generation ?? '1.36';
  await assertServerReachable(server);
  // Loading the schema file is the slow part; fetch it before creating anything to clean up.
  const createSql = options.empty ? null : await localCreateSql(await zmSchemaFiles());

  sweeping ??= dropLeftovers(server);
  await sweeping;

  const name = `zmes_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const users: string[] = [];
  const admin = await createConnection(connectionOf(server));
  let pool: Pool | null = null;
  let dropped: Promise<void> | null = null;

  const drop = (): Promise<void> => {
    dropped ??= (async () => {
      await pool?.end().catch(() => undefined);
      const conn = await createConnection({ ...connectionOf(server), connectTimeout: 2000 }).catch(() => null);
      if (conn === null) return; // server gone (e.g. a destroyed private server): nothing left to drop
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
        for (const user of users) await conn.query(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => undefined);
      } finally {
        await conn.end().catch(() => undefined);
      }
    })();
    return dropped;
  };

  try {
    await admin.query(`CREATE DATABASE \`${name}\``);
    await admin.end();
    if (createSql !== null) await runMariadbClient(server, name, createSql);
    pool = createPool({
      ...connectionOf(server),
      database: name,
      connectionLimit: 4,
      dateStrings: true,
      // Quiet reconnection behaviour for tests that stop the server under this pool.
      acquireTimeout: 5000,
    });
    const livePool = pool;
    if (createSql !== null) await reshape(livePool, generation);

    const settings: DbSettings = { ...settingsOf(server), database: name };
    const createUser = async (privileges: readonly string[], table?: string): Promise<DbSettings> => {
      const user = `zmes_${randomBytes(5).toString('hex')}`;
      const password = randomBytes(12).toString('hex');
      users.push(user);
      await livePool.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
      await livePool.query(`GRANT ${privileges.join(', ')} ON \`${name}\`.${table ? `\`${table}\`` : '*'} TO '${user}'@'%'`);
      return { ...settings, user, password };
    };
    const appSettings = options.appUser ? await createUser(['SELECT', 'UPDATE']) : null;

    return {
      name,
      generation,
      settings,
      appSettings,
      pool: livePool,
      query: async (sql, params = []) => {
        const rows: unknown = await livePool.query(sql, params);
        if (!Array.isArray(rows)) throw new Error(`not a result set: ${sql}`);
        return rows as Record<string, unknown>[];
      },
      execute: async (sql, params = []) => {
        const result = (await livePool.query(sql, params)) as { affectedRows?: unknown; insertId?: unknown };
        return {
          affectedRows: Number(result.affectedRows ?? 0),
          insertId: typeof result.insertId === 'bigint' ? result.insertId : BigInt(Number(result.insertId ?? 0)),
        };
      },
      createUser,
      drop,
    };
  } catch (err) {
    await admin.end().catch(() => undefined);
    await drop();
    throw err;
  }
}

let sweeping: Promise<void> | undefined;

/**
 * Drops test databases (and their users) left by test processes that died before their cleanup
 * ran: the name carries the creator's pid. Only on a loopback server, where those pids are ours
 * to check; a database whose creator still runs is never touched.
 */
async function dropLeftovers(server: DbServer): Promise<void> {
  if (!server.socket && !['127.0.0.1', 'localhost', '::1'].includes(server.host)) return;
  const conn = await createConnection(connectionOf(server)).catch(() => null);
  if (conn === null) return;
  try {
    const rows: unknown = await conn.query("SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'zmes\\_test\\_%'");
    for (const row of Array.isArray(rows) ? (rows as { name: string }[]) : []) {
      const pid = Number(/^zmes_test_(\d+)_[0-9a-f]+$/.exec(row.name)?.[1]);
      if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
      const users: unknown = await conn.query("SELECT DISTINCT User AS user FROM mysql.db WHERE Db = ? AND User LIKE 'zmes\\_%'", [row.name]);
      for (const { user } of Array.isArray(users) ? (users as { user: string }[]) : []) {
        await conn.query(`DROP USER IF EXISTS '${user}'@'%'`);
      }
      await conn.query(`DROP DATABASE IF EXISTS \`${row.name}\``);
    }
  } catch {
    // Best effort: a server where we may not list or drop is left as it is.
  } finally {
    await conn.end().catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

function connectionOf(server: DbServer) {
  return server.socket
    ? { socketPath: server.socket, user: server.user, password: server.password }
    : { host: server.host, port: server.port, user: server.user, password: server.password };
}

function settingsOf(server: DbServer): Omit<DbSettings, 'database'> {
  return { host: server.host, port: server.port, socket: server.socket ?? null, user: server.user, password: server.password };
}

/**
 * Feeds SQL to the `mariadb` command-line client: zm_create.sql relies on its `source` command
 * and triggers.sql on `delimiter`, which the Node connector does not understand.
 */
function runMariadbClient(server: DbServer, database: string, sql: string): Promise<void> {
  const args = ['--no-defaults', `--user=${server.user}`, '--batch'];
  if (server.socket) args.push(`--socket=${server.socket}`);
  else args.push('--protocol=TCP', `--host=${server.host}`, `--port=${server.port}`);
  args.push(database);
  return new Promise((resolve, reject) => {
    // The password goes through the environment, not the command line.
    const child = spawn('mariadb', args, { env: { ...process.env, MYSQL_PWD: server.password }, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (err) => reject(new Error(`cannot run the mariadb client (${err.message}); install mariadb-client`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`mariadb client exited with ${code} while loading the ZoneMinder schema: ${stderr.trim()}`));
    });
    child.stdin.on('error', () => undefined); // reported through the exit code
    child.stdin.end(sql);
  });
}

/**
 * Turns the 1.36 schema into another generation with the differences of zoneminder.md §11,
 * written from those facts: enough for column/table detection and for the event lifecycle.
 */
async function reshape(pool: Pool, generation: ZmGeneration): Promise<void> {
  for (const statement of GENERATION_STEPS[generation]) await pool.query(statement);
}

const EVENT_SUMMARY_TABLES = ['Events_Hour', 'Events_Day', 'Events_Week', 'Events_Month'] as const;

const GENERATION_STEPS: Record<ZmGeneration, readonly string[]> = {
  '1.36': [],
  // Before 1.35.13 the event times were StartTime/EndTime, also in the per-period tables. The
  // insert trigger names the column, so it is replaced by one with the old name.
  '1.34': [
    'DROP TRIGGER IF EXISTS event_insert_trigger',
    'ALTER TABLE Events RENAME COLUMN StartDateTime TO StartTime, RENAME COLUMN EndDateTime TO EndTime',
    ...EVENT_SUMMARY_TABLES.map((t) => `ALTER TABLE ${t} RENAME COLUMN StartDateTime TO StartTime`),
    `CREATE TRIGGER event_insert_trigger AFTER INSERT ON Events FOR EACH ROW BEGIN
       ${EVENT_SUMMARY_TABLES.map((t) => `INSERT INTO ${t} (EventId, MonitorId, StartTime, DiskSpace) VALUES (NEW.Id, NEW.MonitorId, NEW.StartTime, 0);`).join('\n       ')}
       INSERT INTO Event_Summaries (MonitorId, HourEvents, DayEvents, WeekEvents, MonthEvents, TotalEvents)
         VALUES (NEW.MonitorId, 1, 1, 1, 1, 1)
         ON DUPLICATE KEY UPDATE HourEvents = COALESCE(HourEvents, 0) + 1, DayEvents = COALESCE(DayEvents, 0) + 1,
           WeekEvents = COALESCE(WeekEvents, 0) + 1, MonthEvents = COALESCE(MonthEvents, 0) + 1,
           TotalEvents = COALESCE(TotalEvents, 0) + 1;
     END`,
  ],
  '1.38': [
    // 1.38 does the per-period inserts in C++; only the update and delete triggers remain.
    'DROP TRIGGER IF EXISTS event_insert_trigger',
    'ALTER TABLE Events MODIFY Cause TEXT, ADD COLUMN MaxScoreFrameId BIGINT UNSIGNED NULL, ' +
      'ADD COLUMN Latitude DECIMAL(10,8) NULL, ADD COLUMN Longitude DECIMAL(11,8) NULL',
    "ALTER TABLE Monitors ADD COLUMN Capturing ENUM('None','Ondemand','Always') NOT NULL DEFAULT 'Always', " +
      "ADD COLUMN Analysing ENUM('None','Always') NOT NULL DEFAULT 'Always', " +
      "ADD COLUMN Recording ENUM('None','OnMotion','Always') NOT NULL DEFAULT 'OnMotion', " +
      'ADD COLUMN Deleted BOOLEAN NOT NULL DEFAULT FALSE',
    // The migration from Function (zoneminder.md §6).
    `UPDATE Monitors SET
       Capturing = IF(Function = 'None', 'None', 'Always'),
       Analysing = IF(Function IN ('Modect', 'Mocord'), 'Always', 'None'),
       Recording = CASE Function WHEN 'Record' THEN 'Always' WHEN 'Mocord' THEN 'Always'
                                 WHEN 'Modect' THEN 'OnMotion' WHEN 'Nodect' THEN 'OnMotion' ELSE 'None' END`,
    'ALTER TABLE Monitor_Status ADD COLUMN UpdatedOn TIMESTAMP NULL',
    `CREATE TABLE User_Roles (
       Id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       Name VARCHAR(64) NOT NULL DEFAULT '', Description TEXT,
       Stream ENUM('None','View') NOT NULL DEFAULT 'None',
       Events ENUM('None','View','Edit') NOT NULL DEFAULT 'None',
       Control ENUM('None','View','Edit') NOT NULL DEFAULT 'None',
       Monitors ENUM('None','View','Edit','Create') NOT NULL DEFAULT 'None',
       \`Groups\` ENUM('None','View','Edit') NOT NULL DEFAULT 'None',
       Devices ENUM('None','View','Edit') NOT NULL DEFAULT 'None',
       Snapshots ENUM('None','View','Edit') NOT NULL DEFAULT 'None',
       \`System\` ENUM('None','View','Edit') NOT NULL DEFAULT 'None'
     ) ENGINE=InnoDB`,
    'ALTER TABLE Users MODIFY Username VARCHAR(64) CHARACTER SET latin1 COLLATE latin1_bin NOT NULL DEFAULT \'\', ' +
      "ADD COLUMN Name VARCHAR(64) NOT NULL DEFAULT '', ADD COLUMN Email VARCHAR(64) NOT NULL DEFAULT '', " +
      "ADD COLUMN Phone VARCHAR(64) NOT NULL DEFAULT '', ADD COLUMN RoleId INT UNSIGNED NULL, " +
      "MODIFY Monitors ENUM('None','View','Edit','Create') NOT NULL DEFAULT 'None', " +
      'ADD CONSTRAINT Users_RoleId_fk FOREIGN KEY (RoleId) REFERENCES User_Roles (Id) ON DELETE SET NULL',
    `CREATE TABLE Monitors_Permissions (
       Id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       MonitorId INT UNSIGNED NOT NULL, UserId INT UNSIGNED NOT NULL,
       Permission ENUM('Inherit','None','View','Edit') NOT NULL DEFAULT 'Inherit',
       UNIQUE KEY Monitors_Permissions_MonitorId_UserId (MonitorId, UserId),
       FOREIGN KEY (MonitorId) REFERENCES Monitors (Id) ON DELETE CASCADE,
       FOREIGN KEY (UserId) REFERENCES Users (Id) ON DELETE CASCADE
     ) ENGINE=InnoDB`,
    `CREATE TABLE Groups_Permissions (
       Id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       GroupId INT UNSIGNED NOT NULL, UserId INT UNSIGNED NOT NULL,
       Permission ENUM('Inherit','None','View','Edit') NOT NULL DEFAULT 'Inherit',
       UNIQUE KEY Groups_Permissions_GroupId_UserId (GroupId, UserId),
       FOREIGN KEY (GroupId) REFERENCES \`Groups\` (Id) ON DELETE CASCADE,
       FOREIGN KEY (UserId) REFERENCES Users (Id) ON DELETE CASCADE
     ) ENGINE=InnoDB`,
    `CREATE TABLE Role_Monitors_Permissions (
       Id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       RoleId INT UNSIGNED NOT NULL, MonitorId INT UNSIGNED NOT NULL,
       Permission ENUM('Inherit','None','View','Edit') NOT NULL DEFAULT 'Inherit'
     ) ENGINE=InnoDB`,
    `CREATE TABLE Role_Groups_Permissions (
       Id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       RoleId INT UNSIGNED NOT NULL, GroupId INT UNSIGNED NOT NULL,
       Permission ENUM('Inherit','None','View','Edit') NOT NULL DEFAULT 'Inherit'
     ) ENGINE=InnoDB`,
    `CREATE TABLE Tags (
       Id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
       Name VARCHAR(64) NOT NULL DEFAULT '', CreateDate DATETIME NULL,
       CreatedBy INT UNSIGNED NULL, LastAssignedDate DATETIME NULL
     ) ENGINE=InnoDB`,
    `CREATE TABLE Events_Tags (
       TagId BIGINT UNSIGNED NOT NULL, EventId BIGINT UNSIGNED NOT NULL, AssignedBy INT UNSIGNED NULL,
       PRIMARY KEY (TagId, EventId)
     ) ENGINE=InnoDB`,
    // Per-user monitor lists move into Monitors_Permissions; the column goes away (1.37.76).
    `INSERT INTO Monitors_Permissions (MonitorId, UserId, Permission)
       SELECT m.Id, u.Id, 'View' FROM Users u JOIN Monitors m ON FIND_IN_SET(m.Id, u.MonitorIds)
       WHERE u.MonitorIds IS NOT NULL AND u.MonitorIds != ''`,
    'ALTER TABLE Users DROP COLUMN MonitorIds',
  ],
};

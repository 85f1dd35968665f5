/**
 * The cluster database's schema, as numbered migrations applied in order and recorded in
 * `schema_migrations`. Never edit a released migration: add the next number. Every statement is
 * safe to run twice (IF NOT EXISTS, INSERT IGNORE), so nodes starting together may race through
 * the same migration without harm.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'devices, escontrol document, lease, push ledger, imports',
    statements: [
      // token_hash (SHA-256 of the token) is the key: FCM tokens are up to 4 KiB, too long for an index.
      `CREATE TABLE IF NOT EXISTS devices (
        token_hash BINARY(32) NOT NULL PRIMARY KEY,
        token TEXT NOT NULL,
        platform VARCHAR(32) NOT NULL,
        monlist TEXT NOT NULL,
        intlist TEXT NOT NULL,
        pushstate ENUM('enabled','disabled') NOT NULL,
        appversion VARCHAR(64) NOT NULL,
        profile VARCHAR(128) NULL,
        client_kind VARCHAR(32) NOT NULL,
        zm_user VARCHAR(128) NULL,
        registered_at BIGINT NULL,
        badge INT UNSIGNED NOT NULL DEFAULT 0,
        invocations_count INT UNSIGNED NOT NULL DEFAULT 0,
        invocations_month TINYINT UNSIGNED NOT NULL DEFAULT 0,
        last_sent TEXT NOT NULL,
        removed_at TIMESTAMP(6) NULL,
        updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
        KEY devices_updated (updated_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS documents (
        name VARCHAR(64) NOT NULL PRIMARY KEY,
        body MEDIUMTEXT NOT NULL,
        version BIGINT UNSIGNED NOT NULL,
        updated_by VARCHAR(255) NOT NULL,
        updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS leases (
        name VARCHAR(64) NOT NULL PRIMARY KEY,
        holder VARCHAR(255) NULL,
        epoch BIGINT UNSIGNED NOT NULL DEFAULT 0,
        expires_at TIMESTAMP(6) NULL,
        acquired_at TIMESTAMP(6) NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `INSERT IGNORE INTO leases (name) VALUES ('leader')`,
      `CREATE TABLE IF NOT EXISTS push_ledger (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        event_id BIGINT UNSIGNED NOT NULL,
        phase ENUM('start','end') NOT NULL,
        token_hash BINARY(32) NOT NULL,
        status ENUM('claimed','sent','failed','skipped','invalid') NOT NULL,
        node VARCHAR(255) NOT NULL,
        epoch BIGINT UNSIGNED NOT NULL,
        attempts INT UNSIGNED NOT NULL DEFAULT 1,
        created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
        UNIQUE KEY push_ledger_once (event_id, phase, token_hash),
        KEY push_ledger_updated (updated_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS imports (
        source VARCHAR(512) NOT NULL PRIMARY KEY,
        items INT UNSIGNED NOT NULL,
        imported_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
];

/** The migrations still to apply, in order, given the versions already recorded. */
export function pendingMigrations(applied: ReadonlySet<number>, all: readonly Migration[] = MIGRATIONS): Migration[] {
  return [...all].sort((a, b) => a.version - b.version).filter((m) => !applied.has(m.version));
}

/**
 * ZoneMinder's `Notifications` table (master, 1.39.2+) for tests.
 *
 * Why written here: ZoneMinder's master schema (db/zm_create.sql.in) cannot be fetched from this
 * test environment (no internet beyond npm and Debian packages), and Debian packages ZoneMinder
 * 1.36, which has no such table. So the table is created from the documented column list
 * (docs/zoneminder-notifications.md, shared/reference/zoneminder.md §5), not copied from
 * ZoneMinder. Types chosen:
 *   Id int unsigned AUTO_INCREMENT primary key; UserId int unsigned NULL, FK Users(Id) ON DELETE
 *   CASCADE (Users.Id is int unsigned; both tables InnoDB); Token varchar(512) UNIQUE;
 *   Platform enum('android','ios','web'); MonitorList text; `Interval` int (signed, so the tests
 *   can store the negative value a hand-edited row might hold; ZoneMinder declares it unsigned);
 *   PushState enum('enabled','disabled') default 'enabled'; AppVersion varchar(32);
 *   Profile varchar(128); BadgeCount int default 0; LastNotifiedAt datetime NULL;
 *   CreatedOn datetime; UpdatedOn timestamp auto-updated on every change, as documented for
 *   master, so that the tests see that zmes's bookkeeping leaves it alone.
 */
import type { SqlValue } from '../../src/zm/db.js';

type Execute = (sql: string, params?: readonly SqlValue[]) => Promise<{ affectedRows: number; insertId: bigint }>;

export const CREATE_NOTIFICATIONS_TABLE = `CREATE TABLE Notifications (
  Id int unsigned NOT NULL AUTO_INCREMENT,
  UserId int unsigned NULL,
  Token varchar(512) NOT NULL,
  Platform enum('android','ios','web') NOT NULL,
  MonitorList text NULL,
  \`Interval\` int NOT NULL DEFAULT 0,
  PushState enum('enabled','disabled') NOT NULL DEFAULT 'enabled',
  AppVersion varchar(32) NULL,
  Profile varchar(128) NULL,
  BadgeCount int NOT NULL DEFAULT 0,
  LastNotifiedAt datetime NULL,
  CreatedOn datetime NULL,
  UpdatedOn timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (Id),
  UNIQUE KEY Notifications_Token_idx (Token),
  KEY Notifications_UserId_idx (UserId),
  CONSTRAINT Notifications_UserId_fk FOREIGN KEY (UserId) REFERENCES Users (Id) ON DELETE CASCADE
) ENGINE=InnoDB`;

export function createNotificationsTable(execute: Execute): Promise<unknown> {
  return execute(CREATE_NOTIFICATIONS_TABLE);
}

export interface NotificationSpec {
  userId: number | null;
  token: string;
  platform?: string;
  monitorList?: string | null;
  interval?: number;
  pushState?: 'enabled' | 'disabled';
  profile?: string | null;
  badgeCount?: number;
  /** SQL expression for UpdatedOn (default NOW()), e.g. 'NOW() - INTERVAL 1 DAY'. */
  updatedOn?: string;
}

/** Inserts a row the way ZoneMinder's API would for zmNinjaNg's POST /notifications.json; returns its Id. */
export async function insertNotification(execute: Execute, spec: NotificationSpec): Promise<number> {
  const result = await execute(
    'INSERT INTO Notifications (UserId, Token, Platform, MonitorList, `Interval`, PushState, AppVersion, Profile, BadgeCount, CreatedOn, UpdatedOn) ' +
      `VALUES (?, ?, ?, ?, ?, ?, '1.0.0', ?, ?, NOW(), ${spec.updatedOn ?? 'NOW()'})`,
    [spec.userId, spec.token, spec.platform ?? 'android', spec.monitorList ?? null, spec.interval ?? 0, spec.pushState ?? 'enabled', spec.profile ?? null, spec.badgeCount ?? 0],
  );
  return Number(result.insertId);
}

/**
 * ZoneMinder's `Notifications` table as a push registry (docs/zoneminder-notifications.md):
 * zmNinjaNg's "direct" mode registers phones there through ZoneMinder's API, and zmes, which
 * watches the database anyway, is their sender.
 *
 * The table exists from ZoneMinder 1.39.2 on. It is found by looking for it (never by version),
 * looked for again every `recheckMs` while absent, so an upgrade is picked up without a restart,
 * and a table that disappears is simply absent again. Every push reads the rows afresh (a small
 * table; the app may have changed a row a second ago); the periodic check re-reads them too, so
 * the users in use for the access re-check stay current without any push.
 *
 * Bookkeeping the way ZoneMinder keeps it: after a delivered push, BadgeCount + 1 (the push
 * carried that badge) and, for start notifications, LastNotifiedAt = NOW() (the device's interval
 * throttle; end notifications never start an interval, as for the token file). A token FCM
 * reports dead is deleted, as ZoneMinder's API would. Times come from the DB server's clock.
 */
import type { Clock, Timer } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Service } from '../lifecycle.js';
import { maskToken, type Logger } from '../log/logger.js';
import type { ClientKind } from '../domain/device.js';
import type { Phase } from '../domain/notification.js';
import { sanitiseEcho } from '../domain/json.js';
import type { PushDevice, PushRegistry } from '../push/push-registry.js';
import { reasonOf, rootCode, type SqlReader, type SqlValue, type WriteResult } from './db.js';
import { NOTIFICATIONS_SELECT, notificationDevice, parseNotificationRow, type NotificationDeviceFields, type NotificationRow } from './notification-rows.js';
import type { Parsed } from './rows.js';

/** The statements the registry runs (ZmDatabase implements them; tests may use a double). */
export interface NotificationsDatabase extends SqlReader {
  execute(sql: string, params: readonly SqlValue[], options?: { idempotent?: boolean }): Promise<WriteResult>;
}

export interface ZmNotificationsOptions {
  /** zmes's auth.enable: rows without a ZoneMinder user are skipped while it is on. */
  readonly authEnabled: boolean;
  /** How often the table is looked for while absent, and its rows re-read while present. */
  readonly recheckMs?: number;
  /** Rows read at most; a larger table is cut there (with one warning). */
  readonly maxRows?: number;
}

export type TableState = 'unknown' | 'absent' | 'present';

/** Only zmNinjaNg registers in ZoneMinder's table, so its Android channel applies. */
const CLIENT_KIND: ClientKind = 'zmninjang';
const DEFAULT_RECHECK_MS = 60_000;
const DEFAULT_MAX_ROWS = 10_000;
const TABLE = 'Notifications';

/** The statements that need more than SELECT, and the GRANT each needs. */
type Privilege = 'SELECT' | 'UPDATE' | 'DELETE';
const DENIED_CODES = new Set(['ER_TABLEACCESS_DENIED_ERROR', 'ER_COLUMNACCESS_DENIED_ERROR', 'ER_SPECIFIC_ACCESS_DENIED_ERROR']);
const CONSEQUENCE: Readonly<Record<Privilege, string>> = {
  SELECT: 'its devices get no pushes',
  UPDATE: 'pushes go out, but their interval, badge and last-notified time are not recorded',
  DELETE: 'tokens FCM reports as dead stay in the table',
};

/** What a device of this registry carries beyond PushDevice, kept beside it (never cast). */
interface RowState {
  readonly rowId: number;
  readonly badgeCount: number;
}

export class ZmNotificationsRegistry implements PushRegistry, Service {
  readonly name = "ZoneMinder's Notifications table";
  private tableState: TableState = 'unknown';
  private timer: Timer | undefined;
  private checking: Promise<void> | undefined;
  private readonly rows = new WeakMap<PushDevice, RowState>();
  /** User names of the last read, for the access re-check. */
  private users: readonly string[] = [];
  /** Row Id → the problems last logged for it: a row is reported once, again only if it changes. */
  private readonly reported = new Map<number, string>();
  private truncationReported = false;
  /** The "found" line was written since the table was last absent. */
  private announced = false;
  /** Privileges reported missing; cleared when a statement needing one succeeds again. */
  private readonly denied = new Set<Privilege>();
  private grantee: string | undefined;
  private readonly recheckMs: number;
  private readonly maxRows: number;

  constructor(
    private readonly db: NotificationsDatabase,
    private readonly options: ZmNotificationsOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
    this.maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  }

  /** Whether the table was found (for the status page and tests). */
  get state(): TableState {
    return this.tableState;
  }

  /** The ZoneMinder users owning the devices of the last read (may repeat nothing; no I/O). */
  usersInUse(): readonly string[] {
    return this.users;
  }

  /** Looks for the table now and then at every interval; never fails the start. */
  start(): Promise<void> {
    this.timer ??= this.clock.setInterval(() => void this.checkNow(), this.recheckMs);
    void this.checkNow();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.checking;
  }

  /** One look at the table (found, gone, rows re-read); concurrent callers share it. Never rejects. */
  checkNow(): Promise<void> {
    this.checking ??= this.check()
      .catch((err: unknown) => this.log.debug(() => `${this.name}: check failed (${errorMessage(err)})`))
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }

  async devices(): Promise<readonly PushDevice[]> {
    if (this.tableState === 'unknown') await this.checkNow();
    // Absent: the periodic check looks again; one query per event to find nothing is not worth it.
    if (this.tableState !== 'present') return [];
    return this.read();
  }

  /** The badge the push carries: what the app last saw plus this one. Nothing is written yet. */
  prepare(device: PushDevice, _now: number): Promise<number | undefined> {
    const row = this.rows.get(device);
    return Promise.resolve(row === undefined ? undefined : row.badgeCount + 1);
  }

  // The interval is per device here (one LastNotifiedAt), so the monitor does not matter; NOW()
  // rather than `now`: ZoneMinder's other readers of the row compare with the DB server's clock.
  async delivered(device: PushDevice, _monitorId: number, phase: Phase, _now: number): Promise<void> {
    const row = this.rows.get(device);
    if (row === undefined) return;
    // UpdatedOn = UpdatedOn: the column may auto-update, and it tells which registry holds the
    // app's latest word (mergeDevices); zmes's bookkeeping is not the app's word.
    await this.write(
      'UPDATE',
      `UPDATE ${TABLE} SET BadgeCount = BadgeCount + 1, LastNotifiedAt = IF(?, NOW(), LastNotifiedAt), UpdatedOn = UpdatedOn WHERE Id = ? AND Token = ?`,
      [phase === 'start' ? 1 : 0, row.rowId, device.token],
    );
  }

  async forget(device: PushDevice, reason: string): Promise<void> {
    const row = this.rows.get(device);
    if (row === undefined) return;
    // Id and Token: the app may have put a fresh token on the same row meanwhile.
    const result = await this.write('DELETE', `DELETE FROM ${TABLE} WHERE Id = ? AND Token = ?`, [row.rowId, device.token]);
    if (result !== undefined && result.affectedRows > 0) this.log.info(`${this.name}: row ${row.rowId} (${maskToken(device.token)}) deleted: ${reason}`);
  }

  private async check(): Promise<void> {
    const exists = await this.tableExists();
    const before = this.tableState;
    if (!exists) {
      this.gone();
      if (before === 'unknown') this.log.debug(() => `${this.name} does not exist (ZoneMinder before 1.39.2); looking again every ${Math.round(this.recheckMs / 1000)} s`);
      return;
    }
    // The rights are asked once per discovery. Marked present only after that went through, so a
    // check cut short by an outage is repeated in full.
    if (before !== 'present') await this.checkPrivileges();
    this.tableState = 'present';
    await this.read();
  }

  private async tableExists(): Promise<boolean> {
    // information_schema lists only tables this user has some privilege on: a user with none
    // on Notifications cannot use it anyway.
    const counts = await this.db.query(
      'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [TABLE],
      (row) => Number((row as { n?: unknown }).n ?? 0),
    );
    return (counts[0] ?? 0) > 0;
  }

  /**
   * Asks the server for UPDATE and DELETE on the table with statements that touch no row (the
   * privilege is checked before the WHERE), so a missing GRANT shows at once, not at the first
   * push or dead token.
   */
  private async checkPrivileges(): Promise<void> {
    await this.write('UPDATE', `UPDATE ${TABLE} SET BadgeCount = BadgeCount WHERE 1 = 0`, []);
    await this.write('DELETE', `DELETE FROM ${TABLE} WHERE 1 = 0`, []);
  }

  /** Reads every row; a missing table or a refused SELECT gives no devices, with one log line. */
  private async read(): Promise<PushDevice[]> {
    let parsed: Parsed<NotificationRow>[];
    try {
      parsed = await this.db.query(NOTIFICATIONS_SELECT, [this.maxRows + 1], parseNotificationRow);
    } catch (err) {
      const code = rootCode(err);
      if (code === 'ER_NO_SUCH_TABLE') {
        this.gone();
        return [];
      }
      if (code !== undefined && DENIED_CODES.has(code)) {
        await this.reportDenied('SELECT', err);
        return [];
      }
      throw err;
    }
    this.denied.delete('SELECT');
    if (parsed.length > this.maxRows && !this.truncationReported) {
      this.truncationReported = true;
      this.log.warn(`${this.name} has more than ${this.maxRows} rows; only the first ${this.maxRows} get pushes`);
    }
    const devices: PushDevice[] = [];
    const users = new Set<string>();
    const seen = new Set<number>();
    for (const result of parsed.slice(0, this.maxRows)) {
      if (!result.ok) {
        this.log.debug(() => `${this.name}: unreadable row skipped (${result.detail})`);
        continue;
      }
      const row = result.value;
      seen.add(row.id);
      const verdict = notificationDevice(row, { authEnabled: this.options.authEnabled });
      this.report(row.id, verdict.problems);
      if (verdict.device === undefined) continue;
      const device = this.toDevice(verdict.device);
      devices.push(device);
      if (device.zmUser !== undefined) users.add(device.zmUser);
    }
    // Rows gone or mended are forgotten, so the map never outgrows the table.
    for (const id of this.reported.keys()) if (!seen.has(id)) this.reported.delete(id);
    this.users = [...users];
    if (!this.announced) {
      this.announced = true;
      const enabled = devices.filter((d) => d.pushstate === 'enabled').length;
      this.log.info(`${this.name} found: ${devices.length} device(s), ${enabled} with pushes enabled; zmes sends their pushes`);
    }
    return devices;
  }

  private gone(): void {
    if (this.tableState === 'present') this.log.warn(`${this.name} is gone; its devices get no pushes until it is back`);
    this.tableState = 'absent';
    this.announced = false;
    this.users = [];
  }

  private toDevice(fields: NotificationDeviceFields): PushDevice {
    const { lastNotifiedAt } = fields;
    const device: PushDevice = {
      token: fields.token,
      platform: fields.platform,
      clientKind: CLIENT_KIND,
      profile: fields.profile,
      pushstate: fields.pushstate,
      zmUser: fields.zmUser,
      filter: fields.filter,
      // ZoneMinder keeps one time per device: the interval holds for all its monitors together.
      lastSentAt: () => lastNotifiedAt,
      updatedAt: fields.updatedAt,
      registry: this,
    };
    this.rows.set(device, { rowId: fields.rowId, badgeCount: fields.badgeCount });
    return device;
  }

  /** One warning per row Id and set of problems, not one per event. */
  private report(id: number, problems: readonly string[]): void {
    if (problems.length === 0) {
      this.reported.delete(id);
      return;
    }
    const text = problems.join('; ');
    if (this.reported.get(id) === text) return;
    this.reported.set(id, text);
    this.log.warn(`${this.name}: row ${id}: ${text}`);
  }

  /** A statement needing `privilege`; a refusal is reported once and answers undefined. */
  private async write(privilege: Privilege, sql: string, params: readonly SqlValue[]): Promise<WriteResult | undefined> {
    try {
      const result = await this.db.execute(sql, params, { idempotent: privilege === 'DELETE' });
      this.denied.delete(privilege);
      return result;
    } catch (err) {
      const code = rootCode(err);
      if (code === undefined || !DENIED_CODES.has(code)) throw err;
      await this.reportDenied(privilege, err);
      return undefined;
    }
  }

  /** The one clear line: who lacks what, the GRANT that mends it, and what happens meanwhile. */
  private async reportDenied(privilege: Privilege, err: unknown): Promise<void> {
    if (this.denied.has(privilege)) return;
    this.denied.add(privilege);
    const grantee = await this.currentUser();
    this.log.error(
      `the database user ${grantee} may not ${privilege} ${this.name} (${reasonOf(err)}): ${CONSEQUENCE[privilege]}. ` +
        `As a MariaDB administrator run: GRANT SELECT, UPDATE, DELETE ON ${await this.tableName()} TO ${grantee};`,
    );
  }

  /** CURRENT_USER() as the server matched it, quoted for a GRANT ('zmuser'@'localhost'). */
  private async currentUser(): Promise<string> {
    if (this.grantee !== undefined) return this.grantee;
    try {
      const rows = await this.db.query('SELECT CURRENT_USER() AS who', [], (row) => String((row as { who?: unknown }).who ?? ''));
      const who = rows[0] ?? '';
      const at = who.lastIndexOf('@');
      this.grantee = at < 0 ? `'${sqlText(who)}'` : `'${sqlText(who.slice(0, at))}'@'${sqlText(who.slice(at + 1))}'`;
    } catch {
      return "'<zmes database user>'@'<host>'";
    }
    return this.grantee;
  }

  private async tableName(): Promise<string> {
    try {
      const rows = await this.db.query('SELECT DATABASE() AS name', [], (row) => String((row as { name?: unknown }).name ?? ''));
      return `\`${sanitiseEcho(rows[0] ?? '', 64).replace(/`/g, '``')}\`.${TABLE}`;
    } catch {
      return `<ZoneMinder database>.${TABLE}`;
    }
  }
}

/** Text from the server for a quoted SQL literal in a log line: printable, quotes doubled. */
function sqlText(value: string): string {
  return sanitiseEcho(value, 80).replace(/'/g, "''");
}

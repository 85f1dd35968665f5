import type { Clock } from '../../clock.js';
import { ZmesError } from '../../errors.js';
import type { SqlReader, SqlValue } from '../db.js';
import { parseRow, type RowReader } from '../rows.js';
import type { ZmSchema } from '../schema.js';
import type { StoredUser, UserDirectory } from './authenticator.js';
import {
  monitorVisibility,
  type GroupPermissionRow,
  type GroupTree,
  type MonitorPermissionRow,
  type MonitorVisibility,
  type PermissionGrants,
  type PermissionModel,
  type RolePermissions,
  type ZmAccess,
  type ZmPermission,
} from './permissions.js';

const ACCESS: readonly ZmAccess[] = ['None', 'View', 'Edit', 'Create'];
const PERMISSION: readonly ZmPermission[] = ['Inherit', 'None', 'View', 'Edit'];

/** ZoneMinder settings read from its Config table, cached briefly (they change rarely). */
interface AuthConfig {
  secret: string | null;
  caseInsensitiveUsernames: boolean;
}

/**
 * ZoneMinder's Users table and permission tables, read for authentication. Columns differ by
 * schema generation (MonitorIds until 1.37.75, Monitors_Permissions and roles from 1.37.27/1.38),
 * so the queries are built from the detected schema.
 */
export class ZmUserDirectory implements UserDirectory {
  private config: { value: AuthConfig; expiresAt: number } | undefined;

  constructor(
    private readonly db: SqlReader,
    /** Resolved lazily: the database may be down when zmes starts. */
    private readonly schema: () => Promise<ZmSchema>,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly configTtlMs = 60_000,
    /**
     * How long a user row read for one login also answers others. A reconnect storm (every
     * phone at once after a restart) then costs one query per user instead of one per socket;
     * a user disabled in ZoneMinder is refused at most this much later.
     */
    private readonly userTtlMs = 5_000,
  ) {}

  private readonly recentUsers = new Map<string, { row: Promise<StoredUser | null>; expiresAt: number }>();

  findUser(username: string): Promise<StoredUser | null> {
    const now = this.clock.now();
    const recent = this.recentUsers.get(username);
    if (recent && recent.expiresAt > now) return recent.row;
    const row = this.readUser(username);
    this.recentUsers.set(username, { row, expiresAt: now + this.userTtlMs });
    // Failures are not remembered, and the map never outgrows the users actually logging in.
    row.catch(() => this.recentUsers.delete(username));
    if (this.recentUsers.size > 1000) {
      for (const [name, entry] of this.recentUsers) if (entry.expiresAt <= now) this.recentUsers.delete(name);
    }
    return row;
  }

  private async userColumns(): Promise<string> {
    const schema = await this.schema();
    const columns = ['Id', 'Username', 'Password', 'Enabled', 'Events', 'Monitors', 'TokenMinExpiry'];
    if (schema.users.hasMonitorIds) columns.push('MonitorIds');
    if (schema.users.hasRoleId) columns.push('RoleId');
    if (schema.users.hasApiEnabled) columns.push('APIEnabled');
    return columns.join(', ');
  }

  private async readUser(username: string): Promise<StoredUser | null> {
    const { caseInsensitiveUsernames } = await this.authConfig();
    const columns = await this.userColumns();
    // Usernames are latin1_bin (case-sensitive) unless ZoneMinder is told otherwise.
    const where = caseInsensitiveUsernames ? 'LOWER(Username) = LOWER(?)' : 'Username = ?';
    const rows = await this.db.query(`SELECT ${columns} FROM Users WHERE ${where} LIMIT 2`, [username], (row) =>
      parseRow(row, 'Users', readUser),
    );
    if (rows.length > 1) throw new ZmesError('ZMES_DB_SCHEMA', `several ZoneMinder users match "${username}" case-insensitively`);
    const parsed = rows[0];
    if (!parsed) return null;
    if (!parsed.ok) throw new ZmesError('ZMES_DB_SCHEMA', parsed.detail);
    return parsed.value;
  }

  /**
   * Many users in one round trip per chunk, bypassing the short login cache: the access
   * re-check must see ZoneMinder as it is now. Keyed by the name as asked for; a name that
   * matches no row is absent. A malformed row fails the whole batch (fail closed).
   */
  async findUsers(usernames: readonly string[]): Promise<Map<string, StoredUser>> {
    const found = new Map<string, StoredUser>();
    if (usernames.length === 0) return found;
    const { caseInsensitiveUsernames } = await this.authConfig();
    const columns = await this.userColumns();
    const fold = (name: string) => (caseInsensitiveUsernames ? name.toLowerCase() : name);
    const wanted = new Map<string, string[]>();
    for (const name of usernames) {
      const key = fold(name);
      const list = wanted.get(key);
      if (list) list.push(name);
      else wanted.set(key, [name]);
    }
    const keys = [...wanted.keys()];
    for (let i = 0; i < keys.length; i += BATCH) {
      const chunk = keys.slice(i, i + BATCH);
      const placeholders = chunk.map(() => '?').join(', ');
      const where = caseInsensitiveUsernames ? `LOWER(Username) IN (${placeholders})` : `Username IN (${placeholders})`;
      const rows = await this.db.query(`SELECT ${columns} FROM Users WHERE ${where}`, chunk, (row) => required(parseRow(row, 'Users', readUser)));
      const seen = new Set<string>();
      for (const user of rows) {
        const key = fold(user.username);
        if (seen.has(key)) throw new ZmesError('ZMES_DB_SCHEMA', `several ZoneMinder users match "${user.username}" case-insensitively`);
        seen.add(key);
        for (const name of wanted.get(key) ?? []) found.set(name, user);
      }
    }
    // Logins read through the short cache; what was just read is fresher, so a user disabled a
    // moment ago cannot log in again on a row cached before.
    const expiresAt = this.clock.now() + this.userTtlMs;
    for (const name of usernames) if (this.recentUsers.has(name)) this.recentUsers.set(name, { row: Promise.resolve(found.get(name) ?? null), expiresAt });
    return found;
  }

  /**
   * The monitor visibility of many users at once: on the permission-table schema a fixed number
   * of queries for all of them (grants by `UserId IN`, roles by `Id IN`), never one per user.
   */
  async visibilities(users: readonly StoredUser[]): Promise<Map<number, MonitorVisibility>> {
    const result = new Map<number, MonitorVisibility>();
    if (users.length === 0) return result;
    if (!(await this.schema()).tables.monitorsPermissions) {
      for (const user of users) result.set(user.id, monitorVisibility(user, { schema: 'legacy' }, []));
      return result;
    }
    const userIds = [...new Set(users.map((u) => u.id))];
    const roleIds = [...new Set(users.map((u) => u.roleId).filter((id): id is number => id !== null))];
    const [monitorIds, userGrants, roles, tree] = await Promise.all([
      this.ids('SELECT Id FROM Monitors', []),
      this.grantsOf('Monitors_Permissions', 'Groups_Permissions', 'UserId', userIds),
      this.rolesOf(roleIds),
      this.groupTree(),
    ]);
    for (const user of users) {
      const model: PermissionModel = {
        schema: 'permissions',
        user: userGrants.get(user.id) ?? NO_GRANTS,
        role: user.roleId === null ? null : (roles.get(user.roleId) ?? null),
        tree,
      };
      result.set(user.id, monitorVisibility(user, model, monitorIds));
    }
    return result;
  }

  private async grantsOf(monitorTable: string, groupTable: string, keyColumn: string, keys: readonly number[]): Promise<Map<number, PermissionGrants>> {
    const byKey = new Map<number, { monitorPermissions: MonitorPermissionRow[]; groupPermissions: GroupPermissionRow[] }>();
    const entry = (key: number) => {
      let grants = byKey.get(key);
      if (!grants) byKey.set(key, (grants = { monitorPermissions: [], groupPermissions: [] }));
      return grants;
    };
    const hasGroups = await this.tableExists(groupTable);
    for (let i = 0; i < keys.length; i += BATCH) {
      const chunk = keys.slice(i, i + BATCH);
      const placeholders = chunk.map(() => '?').join(', ');
      const monitorRows = await this.db.query(
        `SELECT ${keyColumn} AS K, MonitorId, Permission FROM ${monitorTable} WHERE ${keyColumn} IN (${placeholders})`,
        chunk,
        (row) => required(parseRow(row, monitorTable, (r) => ({ key: r.int('K'), row: readMonitorPermission(r) }))),
      );
      for (const { key, row } of monitorRows) entry(key).monitorPermissions.push(row);
      if (!hasGroups) continue;
      const groupRows = await this.db.query(
        `SELECT ${keyColumn} AS K, GroupId, Permission FROM ${groupTable} WHERE ${keyColumn} IN (${placeholders})`,
        chunk,
        (row) => required(parseRow(row, groupTable, (r) => ({ key: r.int('K'), row: readGroupPermission(r) }))),
      );
      for (const { key, row } of groupRows) entry(key).groupPermissions.push(row);
    }
    return byKey;
  }

  private async rolesOf(roleIds: readonly number[]): Promise<Map<number, RolePermissions>> {
    const result = new Map<number, RolePermissions>();
    if (roleIds.length === 0 || !(await this.tableExists('User_Roles'))) return result;
    const monitorsByRole = new Map<number, ZmAccess>();
    for (let i = 0; i < roleIds.length; i += BATCH) {
      const chunk = roleIds.slice(i, i + BATCH);
      const rows = await this.db.query(`SELECT Id, Monitors FROM User_Roles WHERE Id IN (${chunk.map(() => '?').join(', ')})`, chunk, (row) =>
        required(parseRow(row, 'User_Roles', (r) => ({ id: r.int('Id'), monitors: r.oneOf('Monitors', ACCESS) }))),
      );
      for (const row of rows) monitorsByRole.set(row.id, row.monitors);
    }
    const grants = (await this.tableExists('Role_Monitors_Permissions'))
      ? await this.grantsOf('Role_Monitors_Permissions', 'Role_Groups_Permissions', 'RoleId', [...monitorsByRole.keys()])
      : new Map<number, PermissionGrants>();
    for (const [id, monitors] of monitorsByRole) result.set(id, { monitors, ...(grants.get(id) ?? NO_GRANTS) });
    return result;
  }

  async authHashSecret(): Promise<string | null> {
    return (await this.authConfig()).secret;
  }

  async visibility(user: StoredUser): Promise<MonitorVisibility> {
    if (!(await this.schema()).tables.monitorsPermissions) return monitorVisibility(user, { schema: 'legacy' }, []);
    const [monitorIds, grants, role, tree] = await Promise.all([
      this.ids('SELECT Id FROM Monitors', []),
      this.grants('Monitors_Permissions', 'Groups_Permissions', 'UserId', user.id),
      this.role(user.roleId),
      this.groupTree(),
    ]);
    const model: PermissionModel = { schema: 'permissions', user: grants, role, tree };
    return monitorVisibility(user, model, monitorIds);
  }

  private async authConfig(): Promise<AuthConfig> {
    const now = this.clock.now();
    if (this.config && this.config.expiresAt > now) return this.config.value;
    const rows = await this.db.query(
      "SELECT Name, Value FROM Config WHERE Name IN ('ZM_AUTH_HASH_SECRET', 'ZM_CASE_INSENSITIVE_USERNAMES')",
      [],
      (row) => parseRow(row, 'Config', (r) => ({ name: r.text('Name'), value: r.nullable('Value', () => r.text('Value')) })),
    );
    const values = new Map<string, string | null>();
    for (const row of rows) if (row.ok) values.set(row.value.name, row.value.value);
    const value: AuthConfig = {
      secret: values.get('ZM_AUTH_HASH_SECRET') || null,
      caseInsensitiveUsernames: values.get('ZM_CASE_INSENSITIVE_USERNAMES') === '1',
    };
    this.config = { value, expiresAt: now + this.configTtlMs };
    return value;
  }

  private async grants(monitorTable: string, groupTable: string, keyColumn: string, key: number): Promise<PermissionGrants> {
    const monitorPermissions = await this.db.query(
      `SELECT MonitorId, Permission FROM ${monitorTable} WHERE ${keyColumn} = ?`,
      [key],
      (row) => required(parseRow(row, monitorTable, readMonitorPermission)),
    );
    const groupPermissions = (await this.tableExists(groupTable))
      ? await this.db.query(`SELECT GroupId, Permission FROM ${groupTable} WHERE ${keyColumn} = ?`, [key], (row) =>
          required(parseRow(row, groupTable, readGroupPermission)),
        )
      : [];
    return { monitorPermissions, groupPermissions };
  }

  private async role(roleId: number | null): Promise<RolePermissions | null> {
    if (roleId === null || !(await this.tableExists('User_Roles'))) return null;
    const roles = await this.db.query('SELECT Monitors FROM User_Roles WHERE Id = ?', [roleId], (row) =>
      required(parseRow(row, 'User_Roles', (r) => r.oneOf('Monitors', ACCESS))),
    );
    const monitors = roles[0];
    if (monitors === undefined) return null;
    const hasRoleGrants = await this.tableExists('Role_Monitors_Permissions');
    const grants = hasRoleGrants
      ? await this.grants('Role_Monitors_Permissions', 'Role_Groups_Permissions', 'RoleId', roleId)
      : { monitorPermissions: [], groupPermissions: [] };
    return { monitors, ...grants };
  }

  private async groupTree(): Promise<GroupTree> {
    if (!(await this.tableExists('Groups'))) return { groups: [], groupMonitors: [] };
    const groups = await this.db.query('SELECT Id, ParentId FROM `Groups`', [], (row) =>
      required(parseRow(row, 'Groups', (r) => ({ id: r.int('Id'), parentId: r.nullable('ParentId', () => r.int('ParentId')) }))),
    );
    const groupMonitors = await this.db.query('SELECT GroupId, MonitorId FROM Groups_Monitors', [], (row) =>
      required(parseRow(row, 'Groups_Monitors', (r) => ({ groupId: r.int('GroupId'), monitorId: r.int('MonitorId') }))),
    );
    return { groups, groupMonitors };
  }

  private async ids(sql: string, params: readonly SqlValue[]): Promise<number[]> {
    return this.db.query(sql, params, (row) => required(parseRow(row, 'Monitors', (r) => r.int('Id'))));
  }

  private readonly knownTables = new Map<string, boolean>();

  private async tableExists(table: string): Promise<boolean> {
    const known = this.knownTables.get(table);
    if (known !== undefined) return known;
    const rows = await this.db.query(
      'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
      (row) => required(parseRow(row, 'information_schema', (r) => r.int('n'))),
    );
    const exists = (rows[0] ?? 0) > 0;
    this.knownTables.set(table, exists);
    return exists;
  }
}

/** Rows per `IN (…)` list: far below max_allowed_packet and MariaDB's placeholder limit. */
const BATCH = 500;
const NO_GRANTS: PermissionGrants = Object.freeze({ monitorPermissions: [], groupPermissions: [] });

function readUser(r: RowReader): StoredUser {
  return {
    id: r.int('Id'),
    username: r.text('Username'),
    passwordHash: r.nullable('Password', () => r.text('Password')) ?? '',
    enabled: r.bool('Enabled'),
    events: r.oneOf('Events', ACCESS),
    monitors: r.oneOf('Monitors', ACCESS),
    monitorIds: r.has('MonitorIds') ? r.nullable('MonitorIds', () => r.text('MonitorIds')) : null,
    roleId: r.has('RoleId') ? r.nullable('RoleId', () => r.int('RoleId')) : null,
    tokenMinExpiry: r.nullable('TokenMinExpiry', () => r.int('TokenMinExpiry')),
    // Before 1.32 there was no API switch: the API was open to every enabled user.
    apiEnabled: r.has('APIEnabled') ? r.bool('APIEnabled') : true,
  };
}

function readMonitorPermission(r: RowReader): MonitorPermissionRow {
  return { monitorId: r.int('MonitorId'), permission: r.oneOf('Permission', PERMISSION) };
}

function readGroupPermission(r: RowReader): GroupPermissionRow {
  return { groupId: r.int('GroupId'), permission: r.oneOf('Permission', PERMISSION) };
}

/** A malformed permission row must not silently widen what a user sees: fail the login instead. */
function required<T>(parsed: { ok: true; value: T } | { ok: false; detail: string }): T {
  if (!parsed.ok) throw new ZmesError('ZMES_DB_SCHEMA', parsed.detail);
  return parsed.value;
}

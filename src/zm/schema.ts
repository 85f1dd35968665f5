/**
 * Which ZoneMinder schema generation the configured database holds, detected from its columns
 * and tables (information_schema of the current database), never from version numbers: the
 * Config table's ZM_DYN_DB_VERSION can lag behind, and 1.37.x development builds mix features.
 */
import { ZmesError } from '../errors.js';
import type { SqlReader } from './db.js';

export type SchemaLabel = 'pre-1.35.13' | '1.36' | '1.37+';

export interface ZmSchema {
  label: SchemaLabel;
  events: {
    /** `StartDateTime` since 1.35.13, `StartTime` before. */
    startColumn: 'StartDateTime' | 'StartTime';
    endColumn: 'EndDateTime' | 'EndTime';
    /** Cause became TEXT (with zone names) in 1.37.7. */
    causeIsText: boolean;
  };
  monitors: {
    /** `function`: Monitors.Function decides (≤ 1.36); `capturing`: Capturing/Analysing/Recording (1.37.12+). */
    activity: 'function' | 'capturing';
    hasFunction: boolean;
    /** Soft delete, 1.37.39+. */
    hasDeleted: boolean;
  };
  users: {
    /** Comma list of visible monitors (≤ 1.37.75). */
    hasMonitorIds: boolean;
    /** User roles, 1.38. */
    hasRoleId: boolean;
    /** `APIEnabled` (1.32+): API tokens of a user with 0 are refused. */
    hasApiEnabled: boolean;
  };
  tables: {
    monitorsPermissions: boolean;
    groupsPermissions: boolean;
    /** ZoneMinder's own push-token registry (1.39.2+). */
    notifications: boolean;
  };
}

const REQUIRED_TABLES = ['Events', 'Monitors', 'Users'] as const;
const OPTIONAL_TABLES = ['Monitors_Permissions', 'Groups_Permissions', 'Notifications'] as const;

/** Column name → lower-case DATA_TYPE, per table. */
export type ColumnMap = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Reads the current database's tables and columns and describes the schema. */
export async function detectSchema(db: SqlReader): Promise<ZmSchema> {
  const names = [...REQUIRED_TABLES, ...OPTIONAL_TABLES];
  const placeholders = names.map(() => '?').join(', ');
  const rows = await db.query(
    `SELECT t.TABLE_NAME AS tableName, c.COLUMN_NAME AS columnName, c.DATA_TYPE AS dataType
       FROM information_schema.TABLES t
       LEFT JOIN information_schema.COLUMNS c
         ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
      WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME IN (${placeholders})`,
    names,
    toColumnRow,
  );
  const nameRows = await db.query('SELECT DATABASE() AS name', [], (row) => String(field(row, 'name') ?? '(none)'));
  const columns = new Map<string, Map<string, string>>();
  for (const row of rows) {
    let table = columns.get(row.tableName);
    if (!table) columns.set(row.tableName, (table = new Map()));
    if (row.columnName !== null) table.set(row.columnName, row.dataType);
  }
  return describeSchema(columns, nameRows[0] ?? '(none)');
}

/** The pure half of detectSchema: decide from the table/column map. */
export function describeSchema(columns: ColumnMap, databaseName = 'the configured database'): ZmSchema {
  const missing = REQUIRED_TABLES.filter((t) => !columns.has(t));
  if (missing.length > 0) {
    throw new ZmesError(
      'ZMES_DB_SCHEMA',
      `database ${databaseName} has no ZoneMinder ${missing.join(', ')} table${missing.length > 1 ? 's' : ''}: ` +
        'is the database name right (ZoneMinder uses "zm" by default) and may this user read it?',
    );
  }
  const events = columns.get('Events')!;
  const monitors = columns.get('Monitors')!;
  const users = columns.get('Users')!;

  let startColumn: ZmSchema['events']['startColumn'];
  let endColumn: ZmSchema['events']['endColumn'];
  if (events.has('StartDateTime') && events.has('EndDateTime')) {
    startColumn = 'StartDateTime';
    endColumn = 'EndDateTime';
  } else if (events.has('StartTime') && events.has('EndTime')) {
    startColumn = 'StartTime';
    endColumn = 'EndTime';
  } else {
    throw new ZmesError('ZMES_DB_SCHEMA', 'Events has neither StartDateTime/EndDateTime nor StartTime/EndTime columns');
  }
  for (const column of ['Id', 'MonitorId', 'Name', 'Cause', 'Notes']) {
    if (!events.has(column)) throw new ZmesError('ZMES_DB_SCHEMA', `Events has no ${column} column`);
  }

  const hasCapturing = monitors.has('Capturing') && monitors.has('Analysing') && monitors.has('Recording');
  const hasFunction = monitors.has('Function');
  if (!hasCapturing && !hasFunction) {
    throw new ZmesError('ZMES_DB_SCHEMA', 'Monitors has neither a Function column nor Capturing/Analysing/Recording');
  }

  const activity = hasCapturing ? 'capturing' : 'function';
  const label: SchemaLabel = startColumn === 'StartTime' ? 'pre-1.35.13' : activity === 'capturing' ? '1.37+' : '1.36';
  const cause = events.get('Cause') ?? '';
  return {
    label,
    events: { startColumn, endColumn, causeIsText: /text$/.test(cause) },
    monitors: { activity, hasFunction, hasDeleted: monitors.has('Deleted') },
    users: { hasMonitorIds: users.has('MonitorIds'), hasRoleId: users.has('RoleId'), hasApiEnabled: users.has('APIEnabled') },
    tables: {
      monitorsPermissions: columns.has('Monitors_Permissions'),
      groupsPermissions: columns.has('Groups_Permissions'),
      notifications: columns.has('Notifications'),
    },
  };
}

interface ColumnRow {
  tableName: string;
  columnName: string | null;
  dataType: string;
}

function toColumnRow(row: unknown): ColumnRow {
  const columnName = field(row, 'columnName');
  return {
    tableName: text(row, 'tableName'),
    columnName: columnName === null || columnName === undefined ? null : String(columnName),
    dataType: String(field(row, 'dataType') ?? '').toLowerCase(),
  };
}

function field(row: unknown, key: string): unknown {
  return typeof row === 'object' && row !== null ? (row as Record<string, unknown>)[key] : undefined;
}

function text(row: unknown, key: string): string {
  const value = field(row, key);
  if (typeof value !== 'string') throw new ZmesError('ZMES_DB_SCHEMA', `information_schema returned no ${key}`);
  return value;
}

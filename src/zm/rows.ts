/**
 * Raw Events and Monitors rows → typed records. Pure: a malformed row becomes a typed error
 * result that the caller logs and skips; nothing here throws on bad data.
 *
 * Each parser pairs with a select-list builder, so the aliases the parser expects and the SQL
 * that produces them live side by side, and column names follow the detected schema generation.
 */
import type { ZmSchema } from './schema.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; code: 'ZMES_DB_ROW_INVALID'; detail: string };

export interface EventRow {
  /** Events.Id is BIGINT UNSIGNED: kept as bigint so ids above 2^53 stay exact. */
  id: bigint;
  monitorId: number;
  /** 'New Event' while open (1.36), EventPrefix + Id once ended, or whatever a user renamed it to. */
  name: string;
  cause: string;
  notes: string | null;
  /** Unix seconds of the start (first pre-event frame), computed by the server in its own zone. */
  startTime: number | null;
  /** Unix seconds of the end; null while the event is open (the "has ended" signal in every version). */
  endTime: number | null;
  /** Seconds. */
  length: number;
  frames: number | null;
  alarmFrames: number | null;
  totScore: number;
  avgScore: number;
  maxScore: number;
  storageId: number;
  defaultVideo: string;
}

export type MonitorFunction = 'None' | 'Monitor' | 'Modect' | 'Record' | 'Mocord' | 'Nodect';
export type Capturing = 'None' | 'Ondemand' | 'Always';
export type Analysing = 'None' | 'Always';
export type Recording = 'None' | 'OnMotion' | 'Always';

export type MonitorActivity =
  | { model: 'function'; function: MonitorFunction }
  | { model: 'capturing'; capturing: Capturing; analysing: Analysing; recording: Recording };

export interface MonitorRow {
  id: number;
  name: string;
  activity: MonitorActivity;
  enabled: boolean;
  /** Soft-deleted (1.37.39+); always false on schemas without the column. */
  deleted: boolean;
  serverId: number | null;
  eventPrefix: string;
}

/** SELECT list (no leading SELECT) whose aliases parseEventRow reads. `alias` qualifies the columns. */
export function eventSelectList(schema: ZmSchema, alias = ''): string {
  const c = (name: string) => (alias ? `${alias}.${name}` : name);
  return [
    `${c('Id')} AS Id`,
    `${c('MonitorId')} AS MonitorId`,
    `${c('Name')} AS Name`,
    `${c('Cause')} AS Cause`,
    `${c('Notes')} AS Notes`,
    // DATETIMEs are local time without zone; the server converts with the zone ZoneMinder wrote them in.
    `UNIX_TIMESTAMP(${c(schema.events.startColumn)}) AS StartUnix`,
    `UNIX_TIMESTAMP(${c(schema.events.endColumn)}) AS EndUnix`,
    `${c('Length')} AS Length`,
    `${c('Frames')} AS Frames`,
    `${c('AlarmFrames')} AS AlarmFrames`,
    `${c('TotScore')} AS TotScore`,
    `${c('AvgScore')} AS AvgScore`,
    `${c('MaxScore')} AS MaxScore`,
    `${c('StorageId')} AS StorageId`,
    `${c('DefaultVideo')} AS DefaultVideo`,
  ].join(', ');
}

/** SELECT list whose aliases parseMonitorRow reads, following the schema's activity model. */
export function monitorSelectList(schema: ZmSchema, alias = ''): string {
  const c = (name: string) => (alias ? `${alias}.${name}` : name);
  const activity =
    schema.monitors.activity === 'capturing'
      ? [`${c('Capturing')} AS Capturing`, `${c('Analysing')} AS Analysing`, `${c('Recording')} AS Recording`]
      : [`${c('Function')} AS \`Function\``];
  return [
    `${c('Id')} AS Id`,
    `${c('Name')} AS Name`,
    ...activity,
    `${c('Enabled')} AS Enabled`,
    schema.monitors.hasDeleted ? `${c('Deleted')} AS Deleted` : '0 AS Deleted',
    `${c('ServerId')} AS ServerId`,
    `${c('EventPrefix')} AS EventPrefix`,
  ].join(', ');
}

export function parseEventRow(row: unknown): Parsed<EventRow> {
  return parseRow(row, 'Events', (r) => {
    return {
      id: r.id('Id'),
      monitorId: r.int('MonitorId'),
      name: r.text('Name'),
      cause: r.text('Cause'),
      notes: r.nullable('Notes', () => r.text('Notes')),
      startTime: r.unixTime('StartUnix'),
      endTime: r.unixTime('EndUnix'),
      length: r.decimal('Length'),
      frames: r.nullable('Frames', () => r.int('Frames')),
      alarmFrames: r.nullable('AlarmFrames', () => r.int('AlarmFrames')),
      totScore: r.int('TotScore'),
      avgScore: r.nullable('AvgScore', () => r.int('AvgScore')) ?? 0,
      maxScore: r.nullable('MaxScore', () => r.int('MaxScore')) ?? 0,
      storageId: r.nullable('StorageId', () => r.int('StorageId')) ?? 0,
      defaultVideo: r.text('DefaultVideo'),
    };
  });
}

export function parseMonitorRow(row: unknown): Parsed<MonitorRow> {
  return parseRow(row, 'Monitors', (r) => {
    const activity: MonitorActivity = r.has('Capturing')
      ? {
          model: 'capturing',
          capturing: r.oneOf('Capturing', ['None', 'Ondemand', 'Always'] as const),
          analysing: r.oneOf('Analysing', ['None', 'Always'] as const),
          recording: r.oneOf('Recording', ['None', 'OnMotion', 'Always'] as const),
        }
      : { model: 'function', function: r.oneOf('Function', ['None', 'Monitor', 'Modect', 'Record', 'Mocord', 'Nodect'] as const) };
    return {
      id: r.int('Id'),
      name: r.text('Name'),
      activity,
      enabled: r.bool('Enabled'),
      deleted: r.has('Deleted') ? r.bool('Deleted') : false,
      serverId: r.nullable('ServerId', () => r.int('ServerId')),
      eventPrefix: r.text('EventPrefix'),
    };
  });
}

/** Thrown only inside parseRow() and turned into a result there. */
class RowError extends Error {}

/** Field readers over one row, for use inside parseRow; each throws on a bad value. */
export class RowReader {
  constructor(private readonly row: Record<string, unknown>) {}

  has(key: string): boolean {
    return key in this.row;
  }

  private get(key: string): unknown {
    if (!(key in this.row)) throw new RowError(`column ${key} missing`);
    return this.row[key];
  }

  nullable<T>(key: string, read: () => T): T | null {
    const value = this.get(key);
    return value === null ? null : read();
  }

  text(key: string): string {
    const value = this.get(key);
    if (typeof value === 'string') return value;
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    throw new RowError(`${key} is not text (${describe(value)})`);
  }

  /** An integer that fits a JS number exactly (INT columns, small BIGINTs). */
  int(key: string): number {
    const value = this.get(key);
    if (typeof value === 'bigint' && (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))) {
      throw new RowError(`${key} is out of range (${describe(value)})`);
    }
    const n = typeof value === 'bigint' ? Number(value) : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new RowError(`${key} is not an integer (${describe(value)})`);
    return n;
  }

  /** A BIGINT UNSIGNED id; accepts a number too (Events.Id was INT before 1.35.11). */
  id(key: string): bigint {
    const value = this.get(key);
    if (typeof value === 'bigint' && value > 0n) return value;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return BigInt(value);
    if (typeof value === 'string' && /^[1-9]\d*$/.test(value)) return BigInt(value);
    throw new RowError(`${key} is not a positive id (${describe(value)})`);
  }

  /** DECIMAL as text ('9.90') or number. */
  decimal(key: string): number {
    const value = this.get(key);
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new RowError(`${key} is not a number (${describe(value)})`);
    return n;
  }

  /** UNIX_TIMESTAMP() result; NULL, and the 0 of a zero/invalid DATETIME, mean "no time". */
  unixTime(key: string): number | null {
    const value = this.get(key);
    if (value === null) return null;
    const n = typeof value === 'bigint' ? Number(value) : typeof value === 'string' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new RowError(`${key} is not a timestamp (${describe(value)})`);
    return n > 0 ? n : null;
  }

  bool(key: string): boolean {
    const value = this.get(key);
    if (typeof value === 'boolean') return value;
    if (value === 0 || value === 0n || value === '0') return false;
    if (value === 1 || value === 1n || value === '1') return true;
    throw new RowError(`${key} is not a boolean (${describe(value)})`);
  }

  oneOf<const T extends string>(key: string, allowed: readonly T[]): T {
    const value = this.get(key);
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    throw new RowError(`${key} is not one of ${allowed.join('/')} (${describe(value)})`);
  }
}

/**
 * Runs `read` over one raw row of `table`; a bad value found by the RowReader becomes a typed
 * error result naming the table, the row's Id (when there is one) and the column.
 */
export function parseRow<T>(row: unknown, table: string, read: (r: RowReader) => T): Parsed<T> {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    return { ok: false, code: 'ZMES_DB_ROW_INVALID', detail: `${table} row is not an object (${describe(row)})` };
  }
  const record = row as Record<string, unknown>;
  try {
    return { ok: true, value: read(new RowReader(record)) };
  } catch (err) {
    if (!(err instanceof RowError)) throw err; // our bug, not bad data
    const id = record['Id'];
    const which = typeof id === 'bigint' || typeof id === 'number' || typeof id === 'string' ? ` ${String(id)}` : '';
    return { ok: false, code: 'ZMES_DB_ROW_INVALID', detail: `${table} row${which}: ${err.message}` };
  }
}

function describe(value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Buffer.isBuffer(value)) return `${value.length}-byte buffer`;
  if (typeof value === 'object') return 'object';
  return String(value);
}

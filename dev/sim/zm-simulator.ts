/**
 * Writes Events rows the way ZoneMinder's capture processes do (observed on 1.36.33, see
 * zoneminder.md §2–§3), so tests, benchmarks and the demo can drive zmes without cameras:
 *
 *   INSERT   Name 'New Event', Cause, Notes 'Motion: zone1', StartDateTime = alarm − pre-event,
 *            EndDateTime/Frames/AlarmFrames NULL, scores 0, StateId, StorageId, size, Scheme…
 *   UPDATE   a few ms later: Videoed=1, DefaultVideo '<Id>-video.mp4' (monitors writing video)
 *   UPDATE…  running Length/Frames/AlarmFrames/TotScore/AvgScore/MaxScore; Notes when it grows
 *   UPDATE   end, one statement: Name = EventPrefix + Id (only while still 'New Event'),
 *            EndDateTime and the final counters
 *
 * Column names follow the detected schema (StartTime/EndTime before 1.35.13; Capturing/Analysing/
 * Recording alongside Function on 1.37+), so the same calls work on every generation.
 */
import type { Pool } from 'mariadb';
import { sleep, systemClock, type Clock } from '../../src/clock.js';
import { errorMessage } from '../../src/errors.js';
import type { RowMapper, SqlReader, SqlValue } from '../../src/zm/db.js';
import type { MonitorFunction } from '../../src/zm/rows.js';
import { detectSchema, type ZmSchema } from '../../src/zm/schema.js';

/** What the simulator needs from a pool or a single connection. */
interface Queryable {
  query(sql: string, values?: readonly SqlValue[]): Promise<unknown>;
}

export interface SimulatorOptions {
  /** Detected from the database when omitted. */
  schema?: ZmSchema;
  clock?: Clock;
  /** Delay of the DefaultVideo UPDATE after the INSERT (ZoneMinder: a few ms). */
  videoDelayMs?: number;
  /** Frame rate used to turn frame counts into Length. */
  fps?: number;
}

export interface MonitorSpec {
  name: string;
  function?: MonitorFunction;
  enabled?: boolean;
  eventPrefix?: string;
  /** 0 = JPEGs only (DefaultVideo stays ''); 1 or 2 = writes `<Id>-video.mp4`. */
  videoWriter?: 0 | 1 | 2;
  storageId?: number;
  serverId?: number | null;
  width?: number;
  height?: number;
}

export interface MonitorPatch {
  name?: string;
  function?: MonitorFunction;
  enabled?: boolean;
  /** Soft delete (1.37.39+ schemas only). */
  deleted?: boolean;
}

export interface StartEventOptions {
  cause?: string;
  zones?: readonly string[];
  /** Insert with this Id instead of the next auto-increment value. */
  id?: bigint;
  /** Seconds of pre-event frames: StartDateTime lies this far before the alarm. */
  preEventSeconds?: number;
}

export interface UpdateEventOptions {
  /** Frames captured since the last update. */
  frames?: number;
  /** How many of those had a score (default: all of them). */
  alarmFrames?: number;
  /** Score of each alarmed frame. */
  score?: number;
  /** Adds a Notes group or zone, e.g. `{ cause: 'Motion', zones: ['Left Half'] }` or `{ cause: 'Forced Web', zones: [] }`. */
  notes?: { cause: string; zones: readonly string[] };
}

export interface EndEventOptions {
  /** Post-event frames after the last alarm (no score). */
  frames?: number;
}

export interface HiddenEvent {
  id: bigint;
  /** Makes the row visible. */
  commit(): Promise<void>;
  /** Throws the row away (its Id stays used, as after a failed insert). */
  rollback(): Promise<void>;
}

export interface RunOptions {
  ratePerSecond: number;
  monitorIds: readonly number[];
  /** Mean time an event stays open; each event varies by ±30 %. */
  eventDurationMs: number;
  /** Share of events whose capture process "crashes": the row stays 'New Event', EndDateTime NULL. */
  neverCloseRatio?: number;
  updateIntervalMs?: number;
  signal: AbortSignal;
  random?: () => number;
  causes?: readonly string[];
  /** End the events still open when the signal aborts, as a graceful ZoneMinder stop does. Default true. */
  closeOnStop?: boolean;
  onEvent?: (event: SimulatorNotice) => void;
}

export interface SimulatorNotice {
  kind: 'start' | 'update' | 'end' | 'abandon';
  id: bigint;
  monitorId: number;
  /** Clock time (ms) right after the statement completed. */
  at: number;
}

export interface RunStats {
  started: number;
  updates: number;
  ended: number;
  neverClosed: number;
  /** Ticks where every monitor already had an open event (one event per monitor at a time, as in ZoneMinder). */
  skippedBusy: number;
  errors: number;
  lastError: string | null;
}

interface MonitorInfo {
  storageId: number;
  width: number;
  height: number;
  orientation: string;
  saveJpegs: number;
  videoWriter: number;
  eventPrefix: string;
  scheme: string;
}

interface OpenEvent {
  id: bigint;
  monitorId: number;
  startMs: number;
  frames: number;
  alarmFrames: number;
  totScore: number;
  maxScore: number;
  notes: Map<string, Set<string>>;
  /** The pending DefaultVideo UPDATE, awaited before later writes to keep ZoneMinder's order. */
  video: Promise<void> | null;
}

const DEFAULTS = { cause: 'Motion', zones: ['zone1'], preEventSeconds: 1, frames: 10, score: 20, postFrames: 10 };

/** ZoneMinder's Notes text: `<cause>: <item>, <item>` per cause, keys and items sorted, groups joined without separator. */
export function formatNotes(notes: ReadonlyMap<string, ReadonlySet<string>>): string {
  return [...notes.keys()]
    .sort()
    .map((cause) => `${cause}: ${[...(notes.get(cause) ?? [])].sort().join(', ')}`)
    .join('');
}

/** 1.37+ puts the zones into Cause too (`Motion:zone1,Left Half`); earlier versions only the cause. */
export function causeText(schema: ZmSchema, cause: string, zones: readonly string[]): string {
  return schema.events.causeIsText && zones.length > 0 ? `${cause}:${zones.join(',')}` : cause;
}

/** Capturing/Analysing/Recording equivalent of a 1.36 Function (zoneminder.md §6). */
export function activityOf(fn: MonitorFunction): { capturing: string; analysing: string; recording: string } {
  return {
    capturing: fn === 'None' ? 'None' : 'Always',
    analysing: fn === 'Modect' || fn === 'Mocord' ? 'Always' : 'None',
    recording: fn === 'Record' || fn === 'Mocord' ? 'Always' : fn === 'Modect' || fn === 'Nodect' ? 'OnMotion' : 'None',
  };
}

export class ZmSimulator {
  private readonly clock: Clock;
  private readonly fps: number;
  private readonly videoDelayMs: number;
  private readonly monitors = new Map<number, MonitorInfo>();
  private readonly open = new Map<bigint, OpenEvent>();
  private readonly background = new Set<Promise<void>>();
  private backgroundError: unknown = null;

  private constructor(
    private readonly pool: Pool,
    readonly schema: ZmSchema,
    options: SimulatorOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.fps = options.fps ?? 10;
    this.videoDelayMs = options.videoDelayMs ?? 5;
  }

  static async create(pool: Pool, options: SimulatorOptions = {}): Promise<ZmSimulator> {
    const schema = options.schema ?? (await detectSchema(readerOf(pool)));
    return new ZmSimulator(pool, schema, options);
  }

  private get startCol(): string {
    return this.schema.events.startColumn;
  }

  private get endCol(): string {
    return this.schema.events.endColumn;
  }

  async createMonitor(spec: MonitorSpec): Promise<number> {
    const fn = spec.function ?? 'Modect';
    const columns: Record<string, SqlValue> = {
      Name: spec.name,
      Type: 'Ffmpeg',
      Function: fn,
      Enabled: spec.enabled === false ? 0 : 1,
      EventPrefix: spec.eventPrefix ?? 'Event-',
      VideoWriter: spec.videoWriter ?? 1,
      StorageId: spec.storageId ?? 1,
      ServerId: spec.serverId ?? null,
      Width: spec.width ?? 1280,
      Height: spec.height ?? 720,
    };
    if (this.schema.monitors.activity === 'capturing') {
      const a = activityOf(fn);
      Object.assign(columns, { Capturing: a.capturing, Analysing: a.analysing, Recording: a.recording });
    }
    if (!this.schema.monitors.hasFunction) delete columns['Function'];
    if (this.schema.monitors.hasDeleted) columns['Deleted'] = 0;
    const names = Object.keys(columns);
    const result = await this.pool.query(
      `INSERT INTO Monitors (${names.map((n) => `\`${n}\``).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`,
      names.map((n) => columns[n] ?? null),
    );
    const id = Number(insertIdOf(result));
    await this.pool.query(
      "INSERT INTO Monitor_Status (MonitorId, Status) VALUES (?, 'Connected') ON DUPLICATE KEY UPDATE Status = 'Connected'",
      [id],
    );
    return id;
  }

  async updateMonitor(id: number, patch: MonitorPatch): Promise<void> {
    const sets: string[] = [];
    const values: SqlValue[] = [];
    const set = (column: string, value: SqlValue) => {
      sets.push(`\`${column}\` = ?`);
      values.push(value);
    };
    if (patch.name !== undefined) set('Name', patch.name);
    if (patch.enabled !== undefined) set('Enabled', patch.enabled ? 1 : 0);
    if (patch.function !== undefined) {
      if (this.schema.monitors.hasFunction) set('Function', patch.function);
      if (this.schema.monitors.activity === 'capturing') {
        const a = activityOf(patch.function);
        set('Capturing', a.capturing);
        set('Analysing', a.analysing);
        set('Recording', a.recording);
      }
    }
    if (patch.deleted !== undefined) {
      if (!this.schema.monitors.hasDeleted) throw new Error(`Monitors.Deleted does not exist in a ${this.schema.label} schema`);
      set('Deleted', patch.deleted ? 1 : 0);
    }
    if (sets.length === 0) return;
    await this.pool.query(`UPDATE Monitors SET ${sets.join(', ')} WHERE Id = ?`, [...values, id]);
    this.monitors.delete(id);
  }

  renameMonitor(id: number, name: string): Promise<void> {
    return this.updateMonitor(id, { name });
  }

  /** Inserts a new event row and returns its Id; the DefaultVideo UPDATE follows in the background. */
  async startEvent(monitorId: number, options: StartEventOptions = {}): Promise<bigint> {
    const prepared = await this.prepareStart(monitorId, options);
    const id = insertIdOf(await this.pool.query(prepared.sql, prepared.values));
    this.track(prepared.event(id));
    return id;
  }

  /**
   * Inserts an event in a transaction left open on its own connection: the Id is taken but the
   * row stays invisible until commit(). Inserting another event (on another monitor) meanwhile
   * reproduces ZoneMinder's out-of-order visibility, where Id N+1 is seen before Id N.
   * Use another monitor for the second insert: on 1.36 the insert trigger's Event_Summaries row
   * of this monitor stays locked until commit, so an insert on the same monitor would wait.
   */
  async beginHiddenEvent(monitorId: number, options: StartEventOptions = {}): Promise<HiddenEvent> {
    const prepared = await this.prepareStart(monitorId, options);
    const conn = await this.pool.getConnection();
    let id: bigint;
    try {
      await conn.beginTransaction();
      id = insertIdOf(await conn.query(prepared.sql, prepared.values));
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      await conn.release();
      throw err;
    }
    let settled = false;
    const finish = async (action: () => Promise<void>) => {
      if (settled) return;
      settled = true;
      try {
        await action();
      } finally {
        await conn.release();
      }
    };
    return {
      id,
      commit: () =>
        finish(async () => {
          await conn.commit();
          this.track(prepared.event(id));
        }),
      rollback: () => finish(() => conn.rollback()),
    };
  }

  /** A running UPDATE: more frames and scores, and a separate Notes UPDATE when Notes grows. */
  async updateEvent(id: bigint, options: UpdateEventOptions = {}): Promise<void> {
    const event = await this.openEvent(id);
    const frames = options.frames ?? DEFAULTS.frames;
    const alarmFrames = Math.min(frames, options.alarmFrames ?? frames);
    const score = options.score ?? DEFAULTS.score;
    event.frames += frames;
    event.alarmFrames += alarmFrames;
    event.totScore += alarmFrames * score;
    if (alarmFrames > 0) event.maxScore = Math.max(event.maxScore, score);
    await this.pool.query(
      'UPDATE Events SET Length = ?, Frames = ?, AlarmFrames = ?, TotScore = ?, AvgScore = ?, MaxScore = ? WHERE Id = ?',
      [this.lengthOf(event), event.frames, event.alarmFrames, event.totScore, avgScore(event), event.maxScore, id],
    );
    if (options.notes && addNotes(event.notes, options.notes.cause, options.notes.zones)) {
      await this.pool.query('UPDATE Events SET Notes = ? WHERE Id = ?', [formatNotes(event.notes), id]);
    }
  }

  /**
   * The end UPDATE: one statement, `WHERE Id=? AND Name='New Event'` so a user's rename is kept;
   * when the name was changed meanwhile, the end values are written without touching it.
   */
  async endEvent(id: bigint, options: EndEventOptions = {}): Promise<void> {
    const event = await this.openEvent(id);
    event.frames += options.frames ?? DEFAULTS.postFrames;
    const length = this.lengthOf(event);
    const endSeconds = Math.floor(event.startMs / 1000 + length);
    const prefix = (await this.monitor(event.monitorId)).eventPrefix;
    const counters: SqlValue[] = [endSeconds, length, event.frames, event.alarmFrames, event.totScore, avgScore(event), event.maxScore];
    const assignments = `${this.endCol} = FROM_UNIXTIME(?), Length = ?, Frames = ?, AlarmFrames = ?, TotScore = ?, AvgScore = ?, MaxScore = ?`;
    const first = await this.pool.query(`UPDATE Events SET Name = ?, ${assignments} WHERE Id = ? AND Name = 'New Event'`, [
      `${prefix}${id}`,
      ...counters,
      id,
    ]);
    if (affectedRowsOf(first) === 0) await this.pool.query(`UPDATE Events SET ${assignments} WHERE Id = ?`, [...counters, id]);
    this.open.delete(id);
  }

  /** A forced alarm from the web UI or API: Cause 'Forced Web', Notes 'Forced Web: ', MaxScore 255. */
  async forceAlarm(monitorId: number): Promise<bigint> {
    const id = await this.startEvent(monitorId, { cause: 'Forced Web', zones: [] });
    await this.updateEvent(id, { frames: 1, alarmFrames: 1, score: 255 });
    return id;
  }

  /** A user renaming the event in the web UI. */
  async renameEvent(id: bigint, name: string): Promise<void> {
    await this.pool.query('UPDATE Events SET Name = ? WHERE Id = ?', [name, id]);
  }

  async deleteEvent(id: bigint): Promise<void> {
    const event = this.open.get(id);
    if (event?.video) await event.video;
    this.open.delete(id);
    await this.pool.query('DELETE FROM Events WHERE Id = ?', [id]);
  }

  /** Forgets an open event without ending it, as when a capture process is killed. */
  abandonEvent(id: bigint): void {
    this.open.delete(id);
  }

  /** Waits for background writes (DefaultVideo UPDATEs); rethrows the first one that failed. */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
    const err = this.backgroundError;
    this.backgroundError = null;
    if (err !== null) throw err;
  }

  /**
   * Produces events until `signal` aborts: one start every 1/rate s on a monitor without an open
   * event, running updates every `updateIntervalMs`, an end after about `eventDurationMs` (or
   * never, for `neverCloseRatio` of them). Database errors are counted, not thrown, so a run
   * survives an outage. Resolves with the counts once every event task has finished.
   */
  async run(options: RunOptions): Promise<RunStats> {
    const random = options.random ?? Math.random;
    const stats: RunStats = { started: 0, updates: 0, ended: 0, neverClosed: 0, skippedBusy: 0, errors: 0, lastError: null };
    const busy = new Set<number>();
    const tasks = new Set<Promise<void>>();
    const interval = 1000 / Math.max(options.ratePerSecond, 0.001);
    const causes = options.causes ?? [DEFAULTS.cause];
    const notify = (kind: SimulatorNotice['kind'], id: bigint, monitorId: number) =>
      options.onEvent?.({ kind, id, monitorId, at: this.clock.now() });
    const failed = (err: unknown) => {
      stats.errors++;
      stats.lastError = errorMessage(err);
    };

    const lifecycle = async (monitorId: number) => {
      let id: bigint | null = null;
      try {
        const cause = causes[Math.floor(random() * causes.length)] ?? DEFAULTS.cause;
        id = await this.startEvent(monitorId, { cause });
        stats.started++;
        notify('start', id, monitorId);
        const duration = options.eventDurationMs * (0.7 + 0.6 * random());
        const neverClose = random() < (options.neverCloseRatio ?? 0);
        const step = options.updateIntervalMs ?? 1000;
        const until = this.clock.now() + duration;
        while (!options.signal.aborted && this.clock.now() < until) {
          await sleep(Math.min(step, Math.max(0, until - this.clock.now())), options.signal).catch(() => undefined);
          if (options.signal.aborted) break;
          const frames = Math.max(1, Math.round((this.fps * step) / 1000));
          await this.updateEvent(id, {
            frames,
            alarmFrames: Math.round(frames * random()),
            score: 5 + Math.floor(random() * 60),
            ...(random() < 0.2 ? { notes: { cause, zones: [random() < 0.5 ? 'zone1' : 'Left Half'] } } : {}),
          });
          stats.updates++;
          notify('update', id, monitorId);
        }
        if (neverClose) {
          this.abandonEvent(id);
          stats.neverClosed++;
          notify('abandon', id, monitorId);
        } else if (!options.signal.aborted || options.closeOnStop !== false) {
          await this.endEvent(id);
          stats.ended++;
          notify('end', id, monitorId);
        }
      } catch (err) {
        failed(err);
        if (id !== null) this.abandonEvent(id);
      } finally {
        busy.delete(monitorId);
      }
    };

    while (!options.signal.aborted) {
      const free = options.monitorIds.filter((m) => !busy.has(m));
      const monitorId = free[Math.floor(random() * free.length)];
      if (monitorId === undefined) {
        stats.skippedBusy++;
      } else {
        busy.add(monitorId);
        const task = lifecycle(monitorId);
        tasks.add(task);
        void task.finally(() => tasks.delete(task));
      }
      await sleep(interval, options.signal).catch(() => undefined);
    }
    while (tasks.size > 0) await Promise.all([...tasks]);
    await this.idle().catch(failed);
    return stats;
  }

  private async prepareStart(monitorId: number, options: StartEventOptions) {
    const monitor = await this.monitor(monitorId);
    const cause = options.cause ?? DEFAULTS.cause;
    const zones = options.zones ?? DEFAULTS.zones;
    const notes = new Map<string, Set<string>>();
    addNotes(notes, cause, zones);
    const startMs = this.clock.now() - (options.preEventSeconds ?? DEFAULTS.preEventSeconds) * 1000;
    const columns: [string, string, SqlValue][] = [
      ['MonitorId', '?', monitorId],
      ['StorageId', '?', monitor.storageId],
      ['Name', '?', 'New Event'],
      ['Cause', '?', causeText(this.schema, cause, zones)],
      [this.startCol, 'FROM_UNIXTIME(?)', Math.floor(startMs / 1000)],
      ['Width', '?', monitor.width],
      ['Height', '?', monitor.height],
      ['Notes', '?', formatNotes(notes)],
      ['StateId', "COALESCE((SELECT Id FROM States WHERE IsActive = 1 ORDER BY Id LIMIT 1), 0)", null],
      ['Orientation', '?', monitor.orientation],
      ['Videoed', '?', 0],
      ['DefaultVideo', '?', ''],
      ['SaveJPEGs', '?', monitor.saveJpegs],
      ['Scheme', '?', monitor.scheme],
    ];
    if (options.id !== undefined) columns.unshift(['Id', '?', options.id]);
    const sql = `INSERT INTO Events (${columns.map(([c]) => c).join(', ')}) VALUES (${columns.map(([, v]) => v).join(', ')})`;
    const values = columns.filter(([, v]) => v.includes('?')).map(([, , value]) => value);
    const event = (id: bigint): OpenEvent => ({
      id,
      monitorId,
      startMs,
      frames: 0,
      alarmFrames: 0,
      totScore: 0,
      maxScore: 0,
      notes,
      video: monitor.videoWriter !== 0 ? this.later(() => this.writeVideo(id)) : null,
    });
    return { sql, values, event };
  }

  private async writeVideo(id: bigint): Promise<void> {
    await this.pool.query('UPDATE Events SET Videoed = 1, DefaultVideo = ? WHERE Id = ?', [`${id}-video.mp4`, id]);
  }

  private track(event: OpenEvent): void {
    this.open.set(event.id, event);
  }

  /** Runs `work` after videoDelayMs in the background, remembered by idle(). */
  private later(work: () => Promise<void>): Promise<void> {
    const task = sleep(this.videoDelayMs)
      .then(work)
      .catch((err: unknown) => {
        this.backgroundError ??= err;
      });
    this.background.add(task);
    void task.finally(() => this.background.delete(task));
    return task;
  }

  /** The in-memory state of an event, rebuilt from its row when another simulator started it. */
  private async openEvent(id: bigint): Promise<OpenEvent> {
    const known = this.open.get(id);
    if (known) {
      if (known.video) await known.video;
      return known;
    }
    const rows = await this.pool.query(
      `SELECT MonitorId, UNIX_TIMESTAMP(${this.startCol}) AS StartUnix, Frames, AlarmFrames, TotScore, MaxScore, Notes
         FROM Events WHERE Id = ?`,
      [id],
    );
    const row = Array.isArray(rows) ? (rows[0] as Record<string, unknown> | undefined) : undefined;
    if (!row) throw new Error(`event ${id} does not exist`);
    const event: OpenEvent = {
      id,
      monitorId: Number(row['MonitorId']),
      startMs: Number(row['StartUnix'] ?? 0) * 1000,
      frames: Number(row['Frames'] ?? 0),
      alarmFrames: Number(row['AlarmFrames'] ?? 0),
      totScore: Number(row['TotScore'] ?? 0),
      maxScore: Number(row['MaxScore'] ?? 0),
      notes: parseNotes(typeof row['Notes'] === 'string' ? row['Notes'] : ''),
      video: null,
    };
    this.open.set(id, event);
    return event;
  }

  private async monitor(id: number): Promise<MonitorInfo> {
    const cached = this.monitors.get(id);
    if (cached) return cached;
    const rows = await this.pool.query(
      `SELECT m.StorageId, m.Width, m.Height, m.Orientation, m.SaveJPEGs, m.VideoWriter, m.EventPrefix,
              COALESCE(s.Scheme, 'Medium') AS Scheme
         FROM Monitors m LEFT JOIN Storage s ON s.Id = m.StorageId WHERE m.Id = ?`,
      [id],
    );
    const row = Array.isArray(rows) ? (rows[0] as Record<string, unknown> | undefined) : undefined;
    if (!row) throw new Error(`monitor ${id} does not exist`);
    const info: MonitorInfo = {
      storageId: Number(row['StorageId'] ?? 0),
      width: Number(row['Width']),
      height: Number(row['Height']),
      orientation: String(row['Orientation']),
      saveJpegs: Number(row['SaveJPEGs']),
      videoWriter: Number(row['VideoWriter']),
      eventPrefix: String(row['EventPrefix']),
      scheme: String(row['Scheme']),
    };
    this.monitors.set(id, info);
    return info;
  }

  private lengthOf(event: OpenEvent): number {
    return Math.round((event.frames / this.fps) * 100) / 100;
  }
}

function addNotes(notes: Map<string, Set<string>>, cause: string, zones: readonly string[]): boolean {
  let items = notes.get(cause);
  let changed = false;
  if (!items) {
    notes.set(cause, (items = new Set()));
    changed = true;
  }
  for (const zone of zones) {
    if (!items.has(zone)) {
      items.add(zone);
      changed = true;
    }
  }
  return changed;
}

/**
 * Reads back a Notes text written by formatNotes (for events another simulator started). Best
 * effort: the format has no escaping, so zone names containing ':' or ', ' cannot round-trip.
 */
export function parseNotes(text: string): Map<string, Set<string>> {
  const notes = new Map<string, Set<string>>();
  for (const match of text.matchAll(/([^:,]+?): ([^:]*?)(?=[^:,]+?: |$)/g)) {
    const [, cause = '', items = ''] = match;
    notes.set(cause, new Set(items.split(', ').filter(Boolean)));
  }
  return notes;
}

function avgScore(event: OpenEvent): number {
  return event.alarmFrames > 0 ? Math.floor(event.totScore / event.alarmFrames) : 0;
}

function insertIdOf(result: unknown): bigint {
  const id = (result as { insertId?: unknown } | null)?.insertId;
  if (typeof id === 'bigint') return id;
  if (typeof id === 'number') return BigInt(id);
  throw new Error('INSERT returned no insertId');
}

function affectedRowsOf(result: unknown): number {
  const n = (result as { affectedRows?: unknown } | null)?.affectedRows;
  return typeof n === 'number' ? n : Number(n ?? 0);
}

function readerOf(pool: Queryable): SqlReader {
  return {
    async query<T>(sql: string, params: readonly SqlValue[], mapRow: RowMapper<T>): Promise<T[]> {
      const rows = await pool.query(sql, params);
      if (!Array.isArray(rows)) throw new Error(`not a result set: ${sql}`);
      return rows.map((row: unknown) => mapRow(row));
    },
  };
}

/**
 * The I/O half of event detection: the keyset queries on Events (zoneminder.md §4) and the loop
 * that runs one poll cycle after another.
 *
 * One poll is one statement, a range scan on the primary key (checked with EXPLAIN on 1.36:
 * `range` on PRIMARY, no filesort, whatever the table size):
 *
 *   SELECT … , UNIX_TIMESTAMP() AS DbNow FROM Events
 *    WHERE Id > :cursor OR Id IN (:tracked open events and recent gaps)
 *    ORDER BY Id LIMIT :batch + :rechecked
 *
 * The loop never overlaps polls; a slow poll pushes the next one back. While the database is
 * unreachable it does not poll at all: it waits in ZmDatabase.waitUntilAvailable, which probes
 * at the outage backoff pace, and resumes from the cursor, so nothing that happened meanwhile
 * is lost.
 */
import type { Clock } from '../clock.js';
import { errorMessage, isZmesError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { SqlReader } from './db.js';
import type { PollPlan, PollResult } from './event-detector.js';
import { eventSelectList, parseEventRow, type EventRow, type Parsed } from './rows.js';
import type { ZmSchema } from './schema.js';

/** What the loop needs of the database client (ZmDatabase has it). */
export interface AvailabilityWaiter {
  waitUntilAvailable(signal?: AbortSignal): Promise<void>;
}

export interface IdRange {
  /** MAX(Events.Id); 0 for an empty table. */
  maxId: bigint;
  /** The next Id InnoDB will hand out (AUTO_INCREMENT), when the server tells; Ids at or above it were never used. */
  nextId: bigint | null;
}

interface RawEvent {
  parsed: Parsed<EventRow>;
  /** The row's Id when readable even though the row is not (to move the cursor past it). */
  id: bigint | null;
  dbNow: number | null;
}

/** Reads Events for the detector, with the column names of the detected schema. */
export class EventsReader {
  private readonly selectList: string;
  /** Ids of malformed rows already reported, so each is logged once. */
  private readonly reported = new Set<bigint>();

  constructor(
    private readonly db: SqlReader,
    schema: ZmSchema,
    private readonly log: Logger,
  ) {
    this.selectList = eventSelectList(schema);
  }

  /** One poll: new rows above the cursor plus the re-checked Ids. */
  async read(plan: PollPlan): Promise<PollResult> {
    const { sql, params } = pollStatement(this.selectList, plan);
    // Prepared: the same few statements (one per number of re-checked Ids) run ten times a second.
    const raw = await this.db.query(sql, params, toRawEvent, { prepared: true });
    const rows: EventRow[] = [];
    const invalidIds: bigint[] = [];
    let dbNow: number | null = null;
    for (const r of raw) {
      dbNow ??= r.dbNow;
      if (r.parsed.ok) {
        rows.push(r.parsed.value);
        continue;
      }
      if (r.id !== null) invalidIds.push(r.id);
      const key = r.id ?? 0n;
      if (!this.reported.has(key)) {
        if (this.reported.size >= 1000) this.reported.clear();
        this.reported.add(key);
        this.log.warn(`skipping an Events row that cannot be read: ${r.parsed.detail}`);
      }
    }
    return { plan, rows, invalidIds, dbNow };
  }

  /** MAX(Id) and the next auto-increment value, to tell a restored or recreated database. */
  async idRange(): Promise<IdRange> {
    const [range] = await this.db.query(
      `SELECT MAX(Id) AS MaxId,
              (SELECT AUTO_INCREMENT FROM information_schema.TABLES
                WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'Events') AS NextId
         FROM Events`,
      [],
      (row) => ({ maxId: bigintOf(field(row, 'MaxId')) ?? 0n, nextId: bigintOf(field(row, 'NextId')) }),
    );
    return range ?? { maxId: 0n, nextId: null };
  }
}

/** The poll statement for a plan. Pure. */
export function pollStatement(selectList: string, plan: PollPlan): { sql: string; params: (bigint | number)[] } {
  const recheck = plan.recheck;
  const where = recheck.length > 0 ? `Id > ? OR Id IN (${recheck.map(() => '?').join(', ')})` : 'Id > ?';
  return {
    sql: `SELECT ${selectList}, UNIX_TIMESTAMP() AS DbNow FROM Events WHERE ${where} ORDER BY Id LIMIT ?`,
    params: [plan.after, ...recheck, plan.limit + recheck.length],
  };
}

/**
 * Whether a stored cursor points past anything this database ever had (it was restored from a
 * backup or recreated): at or above the next auto-increment value, or, when the server does not
 * say, above MAX(Id). A cursor above MAX(Id) but below AUTO_INCREMENT only means the newest
 * events were deleted; new Ids will still be higher. Pure.
 */
export function cursorIsAhead(cursor: bigint, range: IdRange): boolean {
  return range.nextId !== null ? cursor >= range.nextId : cursor > range.maxId;
}

function toRawEvent(row: unknown): RawEvent {
  const parsed = parseEventRow(row);
  const dbNowValue = field(row, 'DbNow');
  const dbNow = typeof dbNowValue === 'bigint' || typeof dbNowValue === 'number' ? Number(dbNowValue) : null;
  let id: bigint | null = null;
  if (!parsed.ok) {
    try {
      id = bigintOf(field(row, 'Id'));
    } catch {
      id = null;
    }
  }
  return { parsed, id, dbNow };
}

function field(row: unknown, key: string): unknown {
  return typeof row === 'object' && row !== null ? (row as Record<string, unknown>)[key] : undefined;
}

function bigintOf(value: unknown): bigint | null {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  return null;
}

export interface PollLoopOptions {
  /** Time from the start of one poll to the start of the next (`customize.event_check_interval`). */
  intervalMs: number;
  db: AvailabilityWaiter;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  /** One poll cycle; resolves true when more rows are waiting (poll again at once). */
  cycle(): Promise<boolean>;
  /** Called after an outage, once the database answers again. */
  onRecovered?(): void;
}

/** Longest pause after a failing cycle that was not an outage (a query error, a bug). */
const MAX_ERROR_BACKOFF_MS = 30_000;

/**
 * Runs cycles until `signal` aborts. Polls start `intervalMs` apart; one that overran starts the
 * next after a quarter interval, so a struggling server is not hit back to back.
 */
export async function runPollLoop(options: PollLoopOptions): Promise<void> {
  const { intervalMs, clock, log, signal } = options;
  let errorStreak = 0;
  let outageStreak = 0;
  let lastError: string | null = null;
  while (!signal.aborted) {
    const startedAt = clock.now();
    let waitMs: number;
    try {
      const more = await unlessAborted(options.cycle(), signal);
      if (more === ABORTED) break;
      if (errorStreak > 0) log.info('event polling works again');
      errorStreak = 0;
      outageStreak = 0;
      lastError = null;
      waitMs = more ? 0 : Math.max(intervalMs - (clock.now() - startedAt), intervalMs / 4);
    } catch (err) {
      if (signal.aborted) break;
      if (isZmesError(err, 'ZMES_DB_UNAVAILABLE')) {
        // Logged once per outage by the database client; wait for it without polling.
        const recovered = await options.db.waitUntilAvailable(signal).then(
          () => true,
          () => false,
        );
        if (signal.aborted) break;
        if (recovered) options.onRecovered?.();
        // Straight back after a real recovery; a client that keeps failing without an outage
        // being recorded (stopped, not started) is retried at the normal pace, never in a spin.
        outageStreak++;
        waitMs = recovered && outageStreak === 1 ? 0 : intervalMs;
      } else {
        errorStreak++;
        const message = errorMessage(err);
        waitMs = Math.min(intervalMs * 2 ** errorStreak, MAX_ERROR_BACKOFF_MS);
        if (message !== lastError) log.error(`event polling failed: ${message}; retrying in ${Math.round(waitMs)} ms`);
        else log.debug(() => `event polling failed again: ${message}`);
        lastError = message;
      }
    }
    if (waitMs > 0) await pause(clock, waitMs, signal);
  }
}

const ABORTED = Symbol('aborted');

/**
 * Settles like `work`, or with ABORTED as soon as `signal` aborts: stopping must not wait for a
 * query stuck on a dead network (the cycle drops a late result itself; its failure is moot).
 */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.resolve(ABORTED);
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<typeof ABORTED>((resolve) => {
    onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** Resolves after `ms` or as soon as `signal` aborts (never rejects). */
export function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      timer.cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

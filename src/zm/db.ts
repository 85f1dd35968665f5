/**
 * Access to ZoneMinder's MariaDB database: a small connection pool, typed queries, and outage
 * handling that keeps the rest of the server calm while the database is away.
 *
 * Value representation (pool options below):
 * - BIGINT columns (Events.Id, Frames.Id, DiskSpace, UNIX_TIMESTAMP() results) come back as JS
 *   `bigint`, the driver's default, and `insertId` too. Event ids stay `bigint` everywhere in zmes
 *   because ZoneMinder's Events.Id is BIGINT UNSIGNED and a `number` would silently round ids
 *   above 2^53. Mappers turn small BIGINTs such as timestamps into numbers after a range check.
 * - DATETIME/TIMESTAMP come back as the stored text (`dateStrings`): ZoneMinder writes local time
 *   without a zone, and the driver would otherwise read it in the container's zone. Queries that
 *   need instants select `UNIX_TIMESTAMP(col)`, computed by the server in its own default zone;
 *   the session time zone is left untouched (`timezone` stays 'local', which sends no SET).
 * - DECIMAL comes back as text (e.g. Events.Length '9.90'); mappers parse it.
 */
import type { EventEmitter } from 'node:events';
import { createConnection, createPool, type Pool, type PoolConfig } from 'mariadb';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { ZmesError, errorMessage, isZmesError } from '../errors.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import { accessDeniedAdvice, describeLocation, resolveDbLocation, type DbLocation } from './db-location.js';
import { DEFAULT_BACKOFF, OutageGate, type BackoffPolicy, type OutageTransition, type Ticket } from '../backoff.js';
import { deferred } from '../deferred.js';

export interface DbSettings {
  host: string;
  port: number;
  /** Unix socket path; when set, host and port are ignored. */
  socket?: string | null;
  database: string;
  user: string;
  password: string;
}

/** Values that may be bound to a `?` placeholder. */
export type SqlValue = string | number | bigint | boolean | null | Buffer;

/** Maps one raw row (an object keyed by column name or alias) to a typed value. */
export type RowMapper<T> = (row: unknown) => T;

export interface QueryOptions {
  /**
   * Run as a server-side prepared statement (binary protocol), kept by the driver per
   * connection: for statements repeated many times a second, such as the event poll, the
   * server parses them once. Values come back as with the text protocol.
   */
  readonly prepared?: boolean;
}

/** Anything that can run a typed SELECT; ZmDatabase is one, a test double can be another. */
export interface SqlReader {
  query<T>(sql: string, params: readonly SqlValue[], mapRow: RowMapper<T>, options?: QueryOptions): Promise<T[]>;
}

export interface WriteResult {
  affectedRows: number;
  insertId: bigint;
}

export interface ZmDatabaseOptions {
  clock?: Clock;
  backoff?: Partial<BackoffPolicy>;
  /** Source of jitter; tests may make it deterministic. */
  random?: () => number;
  /** How log lines and errors name this database (default "ZoneMinder database"). */
  label?: string;
  /** Pool size. ZoneMinder's database is shared with ZoneMinder itself: stay small. */
  connectionLimit?: number;
  /** Time allowed to open one connection. */
  connectTimeoutMs?: number;
  /** Time a query may wait for a pooled connection; bounds how long a dead server goes unnoticed. */
  acquireTimeoutMs?: number;
  /** Client-side limit for one query, so a silent network partition cannot hang a poller forever. */
  queryTimeoutMs?: number;
  /** The driver skips validating a connection borrowed again within this many ms (driver default 500). */
  minDelayValidationMs?: number;
  /** Where `localhost` looks for the server's socket (tests point it at a private server). */
  socketCandidates?: readonly string[];
  isSocket?: (path: string) => boolean;
}

export interface DbStats {
  /** Queries asked of this client. */
  queries: number;
  /** Queries refused without touching the pool because an outage is in its backoff window. */
  failedFast: number;
  /** Queries that went out as the single probe of an ongoing outage. */
  probes: number;
  /** Queries repeated once after failing on a dead connection. */
  retries: number;
  /** Outages seen (each logged once). */
  outages: number;
}

type Phase = 'new' | 'started' | 'stopped';

/** MariaDB and driver error codes meaning "the server could not be reached or hung up on us". */
const UNREACHABLE_CODES = new Set([
  'ER_GET_CONNECTION_TIMEOUT',
  'ER_CONNECTION_TIMEOUT',
  'ER_SOCKET_UNEXPECTED_CLOSE',
  'ER_SOCKET_TIMEOUT',
  'ER_CONNECTION_KILLED',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_POOL_NO_CONNECTION',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ZMES_QUERY_TIMEOUT',
]);

/** Errors at connect time that waiting will not fix: wrong credentials or database name. */
const CONFIG_CODES = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_HOST_NOT_PRIVILEGED',
  'ER_NOT_SUPPORTED_AUTH_MODE',
]);

export class ZmDatabase implements Service, SqlReader {
  readonly name = 'zm-db';
  readonly stats: DbStats = { queries: 0, failedFast: 0, probes: 0, retries: 0, outages: 0 };

  private phase: Phase = 'new';
  private pool: Pool | null = null;
  private stopping: Promise<void> | null = null;
  private readonly gate: OutageGate;
  private readonly clock: Clock;
  private readonly listeners = new Set<(available: boolean) => void>();
  /** Resolved whenever a probe settles, so waiters re-check instead of polling. */
  private settled: { promise: Promise<void>; resolve: () => void } = deferred();

  constructor(
    private readonly settings: DbSettings,
    private readonly log: Logger,
    private readonly options: ZmDatabaseOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.gate = new OutageGate({ ...DEFAULT_BACKOFF, ...options.backoff }, options.random);
  }

  /** Decided at start: `localhost` means the unix socket, as for every MySQL client. */
  private location: DbLocation | undefined;

  private get label(): string {
    return this.options.label ?? 'ZoneMinder database';
  }

  /** `user@host:port/database` or `user@/path/to.sock/database`, for log lines (never the password). */
  get target(): string {
    const s = this.settings;
    const where = this.location ? describeLocation(this.location) : s.socket ? s.socket : `${s.host}:${s.port}`;
    return `${s.user}@${where}/${s.database}`;
  }

  /** True once started and not in an outage. */
  get isAvailable(): boolean {
    return this.phase === 'started' && !this.gate.isDown;
  }

  /**
   * Creates the pool and checks the connection once. An unreachable server is not fatal (the
   * outage is logged and recovery continues in the background, e.g. while ZoneMinder's host
   * boots); wrong credentials or an unknown database are, since waiting will not fix them.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.phase !== 'new') throw new ZmesError('ZMES_INTERNAL', `${this.name} can only be started once`);
    signal.throwIfAborted();
    this.phase = 'started';
    const resolved = resolveDbLocation(this.settings, this.options.isSocket, this.options.socketCandidates);
    this.location = resolved.location;
    if (resolved.note) this.log.warn(resolved.note);
    this.pool = createPool(this.poolConfig(resolved.location));
    (this.pool as unknown as EventEmitter).on('error', (err: unknown) => {
      // The pool reports failed background connection attempts here; queries report outages.
      this.log.debug(() => `pool: ${reasonOf(err)}`);
    });
    // The first check uses a connection of its own: the pool would retry until acquireTimeout and
    // hide wrong credentials behind a timeout, while they should stop the start at once.
    const sql = 'SELECT VERSION() AS version';
    const admission = this.gate.admit(this.clock.now());
    if (admission.kind === 'reject') return; // cannot happen on a fresh gate
    try {
      const version = await this.timed(this.serverVersion(sql));
      this.settle(this.gate.succeed(admission.ticket, this.clock.now()), admission.ticket);
      this.log.info(`connected to ${this.label} ${this.target} (server ${version})`);
    } catch (err) {
      const code = rootCode(err);
      if (code !== undefined && CONFIG_CODES.has(code)) {
        await this.stop();
        const reason = reasonOf(err);
        const advice = code.startsWith('ER_ACCESS_DENIED')
          ? accessDeniedAdvice(reason, resolved.location)
          : 'check the database name, user and password';
        throw new ZmesError('ZMES_DB_UNAVAILABLE', `${this.label} ${this.target} refused the connection (${reason}): ${advice}`, { cause: err });
      }
      try {
        this.failed(err, admission.ticket, sql);
      } catch (failure) {
        // Unreachable: logged once by the outage bookkeeping; recovery goes on in the background.
        if (isZmesError(failure, 'ZMES_DB_UNAVAILABLE')) return;
        await this.stop();
        throw failure;
      }
    }
  }

  /** Idempotent; safe after a failed start. In-flight queries fail with ZMES_DB_UNAVAILABLE. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** Runs a SELECT and maps every row at the edge. */
  async query<T>(sql: string, params: readonly SqlValue[], mapRow: RowMapper<T>, options: QueryOptions = {}): Promise<T[]> {
    const result = await this.run(sql, params, true, options.prepared ?? false);
    if (!Array.isArray(result)) throw new ZmesError('ZMES_DB_QUERY', `statement returned no result set: ${brief(sql)}`);
    return result.map((row: unknown) => mapRow(row));
  }

  /**
   * Runs an INSERT/UPDATE/DELETE. Not retried after a dead connection unless `idempotent`: the
   * server may have applied the statement before the connection died (e.g. `Notes=CONCAT(?, Notes)`).
   */
  async execute(sql: string, params: readonly SqlValue[], options: { idempotent?: boolean } = {}): Promise<WriteResult> {
    const result = await this.run(sql, params, options.idempotent ?? false);
    return toWriteResult(result, sql);
  }

  /** A cheap round trip through the same outage bookkeeping as every query. */
  async ping(): Promise<void> {
    await this.run('SELECT 1', [], true);
  }

  /** Calls `listener(false)` when an outage starts and `listener(true)` when it ends. Returns a disposer. */
  onAvailabilityChange(listener: (available: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once the database answers; during an outage it probes at the backoff pace itself,
   * so it also makes progress when nothing else is querying. Rejects when `signal` aborts or the
   * client stops.
   */
  async waitUntilAvailable(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.phase !== 'started') throw new ZmesError('ZMES_DB_UNAVAILABLE', `${this.name} is not running`);
      const wait = this.gate.msUntilProbe(this.clock.now());
      if (!this.gate.isDown) return;
      if (wait === null || wait > 0) {
        // Another caller's probe is in flight, or the backoff window is still open.
        await this.until(this.settled.promise, wait ?? undefined, signal);
        continue;
      }
      try {
        await this.ping();
        return;
      } catch (err) {
        if (!isZmesError(err, 'ZMES_DB_UNAVAILABLE')) return; // the server answered, with an error
      }
    }
  }

  private async serverVersion(sql: string): Promise<string> {
    const conn = await createConnection(this.poolConfig(this.location ?? resolveDbLocation(this.settings).location));
    // Without a listener, an error on a lone connection would be an uncaught exception.
    conn.on('error', (err: unknown) => this.log.debug(() => `start-up connection: ${reasonOf(err)}`));
    try {
      const rows: unknown = await conn.query(sql);
      return Array.isArray(rows) ? fieldText(rows[0], 'version') : 'unknown';
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  private poolConfig(location: DbLocation): PoolConfig {
    const s = this.settings;
    const o = this.options;
    const config: PoolConfig = {
      ...(location.kind === 'socket' ? { socketPath: location.path } : { host: location.host, port: location.port }),
      user: s.user,
      password: s.password,
      database: s.database,
      connectionLimit: o.connectionLimit ?? 3,
      connectTimeout: o.connectTimeoutMs ?? 3000,
      acquireTimeout: o.acquireTimeoutMs ?? 4000,
      // Detects a peer that vanished without closing the socket (remote ZoneMinder host).
      keepAliveDelay: 10_000,
      dateStrings: true,
      bigIntAsNumber: false,
      insertIdAsNumber: false,
      decimalAsNumber: false,
    };
    if (o.minDelayValidationMs !== undefined) config.minDelayValidation = o.minDelayValidationMs;
    return config;
  }

  private async run(sql: string, params: readonly SqlValue[], retryable: boolean, prepared = false): Promise<unknown> {
    const pool = this.pool;
    if (this.phase !== 'started' || pool === null) {
      throw new ZmesError('ZMES_DB_UNAVAILABLE', `${this.name} is ${this.phase === 'new' ? 'not started' : 'stopped'}`);
    }
    this.stats.queries++;
    const admission = this.gate.admit(this.clock.now());
    if (admission.kind === 'reject') {
      this.stats.failedFast++;
      const next = admission.retryInMs > 0 ? `next attempt in ${formatDuration(admission.retryInMs)}` : 'a reconnection attempt is in progress';
      throw new ZmesError('ZMES_DB_UNAVAILABLE', `${this.label} unreachable (${admission.reason}); ${next}`);
    }
    const { ticket } = admission;
    if (ticket.probe) {
      this.stats.probes++;
      this.log.debug(`probing the ${this.label}`);
    }
    try {
      const result = await this.withRetry(pool, sql, params, retryable, prepared);
      this.settle(this.gate.succeed(ticket, this.clock.now()), ticket);
      return result;
    } catch (err) {
      return this.failed(err, ticket, sql);
    }
  }

  private failed(err: unknown, ticket: Ticket, sql: string): never {
    if (this.phase !== 'started') {
      this.gate.release(ticket);
      this.settle({ kind: 'none' }, ticket);
      throw new ZmesError('ZMES_DB_UNAVAILABLE', `${this.name} stopped`, { cause: err });
    }
    const reason = reasonOf(err);
    if (isUnreachable(err)) {
      this.settle(this.gate.fail(ticket, this.clock.now(), reason), ticket);
      throw new ZmesError('ZMES_DB_UNAVAILABLE', `${this.label} unreachable (${reason})`, { cause: err });
    }
    // The server answered, so it is reachable; the statement itself failed.
    this.settle(this.gate.succeed(ticket, this.clock.now()), ticket);
    throw new ZmesError('ZMES_DB_QUERY', `${reason} [${brief(sql)}]`, { cause: err });
  }

  /**
   * A query running on a connection that dies (killed server-side, server restarted) fails with a
   * fatal error; the pool drops that connection, so one more attempt gets a live one.
   */
  private async withRetry(pool: Pool, sql: string, params: readonly SqlValue[], retryable: boolean, prepared: boolean): Promise<unknown> {
    const send = () => this.timed(prepared ? pool.execute<unknown>(sql, params) : pool.query<unknown>(sql, params));
    try {
      return await send();
    } catch (err) {
      if (!retryable || !isFatal(err) || this.phase !== 'started') throw err;
      this.stats.retries++;
      this.log.debug(() => `query failed on a dead connection (${reasonOf(err)}); retrying once`);
      return await send();
    }
  }

  private timed<T>(work: Promise<T>): Promise<T> {
    const ms = this.options.queryTimeoutMs ?? 15_000;
    if (!(ms > 0)) return work;
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        const err = new Error(`no answer within ${formatDuration(ms)}`) as Error & { code: string };
        err.code = 'ZMES_QUERY_TIMEOUT';
        reject(err);
      }, ms);
      // A late result or error of a timed-out query lands here and is dropped.
      work.then(
        (value) => {
          timer.cancel();
          resolve(value);
        },
        (err: unknown) => {
          timer.cancel();
          reject(err);
        },
      );
    });
  }

  private settle(transition: OutageTransition, ticket: Ticket): void {
    switch (transition.kind) {
      case 'outage-started':
        this.stats.outages++;
        this.log.warn(`${this.label} unreachable (${transition.reason}); retrying with backoff`);
        this.emit(false);
        break;
      case 'probe-failed':
        this.log.debug(() => `${this.label} still unreachable (${transition.reason}); next attempt in ${formatDuration(transition.nextProbeInMs)}`);
        break;
      case 'restored':
        this.log.info(`${this.label} connection restored after ${formatDuration(transition.downForMs)}`);
        this.emit(true);
        break;
      case 'none':
        break;
    }
    if (ticket.probe || transition.kind !== 'none') {
      const { resolve } = this.settled;
      this.settled = deferred();
      resolve();
    }
  }

  private emit(available: boolean): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(available);
      } catch (err) {
        this.log.error(`availability listener failed: ${errorMessage(err)}`);
      }
    }
  }

  /** Waits for `event`, at most `ms` (when given), rejecting on abort. */
  private until(event: Promise<void>, ms: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = ms === undefined ? undefined : this.clock.setTimeout(done, ms);
      const onAbort = () => finish(() => reject(signal?.reason));
      function finish(action: () => void) {
        timer?.cancel();
        signal?.removeEventListener('abort', onAbort);
        action();
      }
      function done() {
        finish(resolve);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      void event.then(done);
    });
  }

  private async shutdown(): Promise<void> {
    this.phase = 'stopped';
    const pool = this.pool;
    this.pool = null;
    const { resolve } = this.settled;
    resolve(); // wake waiters so they see the stopped phase
    if (pool === null) return;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    // end() waits for borrowed connections; do not let a hung query hold up shutdown.
    const timeout = new Promise<void>((done) => {
      timer = this.clock.setTimeout(done, 3000);
    });
    try {
      await Promise.race([pool.end(), timeout]);
    } catch (err) {
      this.log.debug(() => `closing the pool: ${reasonOf(err)}`);
    } finally {
      timer?.cancel();
    }
  }
}


/** The server could not be reached, hung up, or refuses our credentials (e.g. after a password change). */
function isUnreachable(err: unknown): boolean {
  const code = rootCode(err);
  return isFatal(err) || (code !== undefined && (UNREACHABLE_CODES.has(code) || CONFIG_CODES.has(code)));
}

function isFatal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { fatal?: unknown }).fatal === true;
}

/** The most specific error code in the `cause` chain (the pool wraps the real reason). */
export function rootCode(err: unknown): string | undefined {
  let found: string | undefined;
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') found = code;
    current = (current as { cause?: unknown }).cause;
  }
  return found;
}

/** A short reason for a log line: the innermost message, without the driver's connection prefix. */
export function reasonOf(err: unknown): string {
  let current: unknown = err;
  let innermost: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    innermost = current;
    current = (current as { cause?: unknown }).cause;
  }
  const sqlMessage = (innermost as { sqlMessage?: unknown } | null)?.sqlMessage;
  const text = typeof sqlMessage === 'string' && sqlMessage !== '' ? sqlMessage : errorMessage(innermost);
  return text.replace(/^\(conn:[^)]*\)\s*/, '').split('\n')[0] ?? text;
}

function toWriteResult(result: unknown, sql: string): WriteResult {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    throw new ZmesError('ZMES_DB_QUERY', `statement did not return a write result: ${brief(sql)}`);
  }
  const { affectedRows, insertId } = result as { affectedRows?: unknown; insertId?: unknown };
  return {
    affectedRows: typeof affectedRows === 'number' ? affectedRows : 0,
    insertId: typeof insertId === 'bigint' ? insertId : typeof insertId === 'number' ? BigInt(insertId) : 0n,
  };
}

function fieldText(row: unknown, key: string): string {
  const value = typeof row === 'object' && row !== null ? (row as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : String(value);
}

function brief(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

/** `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const totalSeconds = Math.round(seconds);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)} min ${String(totalSeconds % 60).padStart(2, '0')} s`;
  const minutes = Math.round(totalSeconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/**
 * The token registry of a cluster: the same TokenStore every module uses (quotas, badges,
 * intervals, one-alert rule), kept in the cluster database instead of a file, so that a phone
 * registered on one node is known to all. Memory stays the fast path for every decision; each
 * change is written in the part it touched (the node with the phone's socket writes the
 * registration, the lease holder writes badges and deliveries, so neither overwrites the
 * other), and every node pulls what the others wrote once a second (the lease holder also
 * just before each push).
 *
 * The node's token file is imported once (recorded in `imports` under node id + path), then no
 * longer used.
 */
import { createHash } from 'node:crypto';
import type { Timer } from '../clock.js';
import { errorMessage } from '../errors.js';
import { maskToken } from '../log/logger.js';
import { TokenStore, type TokenChange, type TokenRecord, type TokenStoreOptions } from '../tokens/token-store.js';
import type { ClientKind } from '../domain/device.js';
import { isClientKind } from '../domain/device.js';
import type { LeaseDatabase } from './leader-lease.js';

export interface ClusterTokenStoreOptions extends TokenStoreOptions {
  readonly db: LeaseDatabase;
  readonly nodeId: string;
  /** How often to read what other nodes changed. */
  readonly pullIntervalMs?: number;
}

/** Rows changed this long before the last one seen are read again: commits may land out of order. */
const PULL_OVERLAP_SECONDS = 5;
const INSERT_BATCH = 200;

export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

const COLUMNS =
  'token, platform, monlist, intlist, pushstate, appversion, profile, client_kind, zm_user, registered_at, badge, invocations_count, invocations_month, last_sent';

interface DeviceRow {
  readonly record: TokenRecord | undefined;
  readonly token: string;
  readonly removed: boolean;
  readonly seen: number;
}

/** One `devices` row as a TokenRecord; undefined (with the reason) for a row that cannot be one. */
export function recordFromRow(row: Record<string, unknown>): { record?: TokenRecord; problem?: string } {
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined);
  const token = text(row['token']);
  if (token === undefined || token === '') return { problem: 'empty token' };
  let lastSent: Record<string, number> = {};
  try {
    const parsed: unknown = JSON.parse(text(row['last_sent']) ?? '{}');
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      lastSent = Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1])));
    }
  } catch {
    return { problem: 'last_sent is not JSON' };
  }
  const kindText = text(row['client_kind']) ?? 'unknown';
  const clientKind: ClientKind = isClientKind(kindText) ? kindText : 'unknown';
  const registeredAt = row['registered_at'] === null || row['registered_at'] === undefined ? undefined : Number(row['registered_at']);
  return {
    record: {
      token,
      platform: text(row['platform']) ?? 'unknown',
      monlist: text(row['monlist']) ?? '',
      intlist: text(row['intlist']) ?? '',
      pushstate: text(row['pushstate']) === 'disabled' ? 'disabled' : 'enabled',
      appversion: text(row['appversion']) ?? 'unknown',
      invocations: { count: Number(row['invocations_count'] ?? 0), at: Number(row['invocations_month'] ?? 0) },
      profile: text(row['profile']) ?? undefined,
      clientKind,
      badge: Number(row['badge'] ?? 0),
      lastSent,
      zmUser: text(row['zm_user']) ?? undefined,
      ...(registeredAt !== undefined && Number.isFinite(registeredAt) ? { registeredAt } : {}),
    },
  };
}

function rowValues(record: TokenRecord): (string | number | null | Buffer)[] {
  return [
    tokenHash(record.token),
    record.token,
    record.platform,
    record.monlist,
    record.intlist,
    record.pushstate,
    record.appversion,
    record.profile ?? null,
    record.clientKind,
    record.zmUser ?? null,
    record.registeredAt ?? null,
    record.badge,
    record.invocations.count,
    record.invocations.at,
    JSON.stringify(record.lastSent),
  ];
}

const sameRecord = (a: TokenRecord | undefined, b: TokenRecord): boolean => a !== undefined && JSON.stringify(a) === JSON.stringify(b);

export class ClusterTokenStore extends TokenStore {
  override readonly name = 'cluster token registry';
  private readonly db: LeaseDatabase;
  private readonly nodeId: string;
  private readonly pullIntervalMs: number;
  /** Changes not yet written, per token. */
  private readonly pending = new Map<string, Set<TokenChange>>();
  /** Tokens whose write is under way: a pull must not undo them with the older row. */
  private readonly writingTokens = new Set<string>();
  private writing: Promise<void> = Promise.resolve();
  private pullTimer: Timer | undefined;
  private retryTimer: Timer | undefined;
  private lastSeen: number | undefined;
  private pulling: Promise<void> | undefined;
  private failing: string | undefined;

  constructor(options: ClusterTokenStoreOptions) {
    super({ ...options, writeDelayMs: options.writeDelayMs ?? 20 });
    this.db = options.db;
    this.nodeId = options.nodeId;
    this.pullIntervalMs = options.pullIntervalMs ?? 1000;
  }

  override async start(_signal: AbortSignal): Promise<void> {
    this.stopped = false;
    await this.importFileOnce();
    await this.pull();
    this.schedulePull();
  }

  override async stop(): Promise<void> {
    this.stopped = true;
    this.pullTimer?.cancel();
    this.retryTimer?.cancel();
    this.flush();
    await this.writing;
    await this.pulling;
  }

  /** Reads what other nodes changed, after this node's own writes landed (the lease holder calls it before pushing). */
  async refresh(): Promise<void> {
    await this.writing;
    await this.pull();
  }

  /** Starts writing the pending changes (in the order they were made); never throws. */
  override flush(): void {
    if (this.pending.size === 0) return;
    const batch = new Map(this.pending);
    this.pending.clear();
    for (const token of batch.keys()) this.writingTokens.add(token);
    this.writing = this.writing.then(() => this.write(batch));
  }

  protected override noteChange(token: string, kind: TokenChange): void {
    const kinds = this.pending.get(token);
    if (kinds) kinds.add(kind);
    else this.pending.set(token, new Set([kind]));
  }

  private async write(batch: Map<string, Set<TokenChange>>): Promise<void> {
    const failed = new Map<string, Set<TokenChange>>();
    let firstError: string | undefined;
    for (const [token, kinds] of batch) {
      try {
        await this.writeOne(token, kinds);
      } catch (err) {
        failed.set(token, kinds);
        firstError ??= errorMessage(err);
      }
    }
    for (const token of batch.keys()) this.writingTokens.delete(token);
    if (failed.size === 0) {
      if (this.failing !== undefined) this.log.info('cluster registry: changes are written again');
      this.failing = undefined;
      return;
    }
    // Put them back in front of newer changes, and retry.
    for (const [token, kinds] of failed) {
      const newer = this.pending.get(token);
      this.pending.set(token, new Set([...kinds, ...(newer ?? [])]));
    }
    if (this.failing === undefined) this.log.error(`cluster registry: cannot write ${failed.size} device change(s) (${firstError ?? 'unknown error'}); retrying`);
    this.failing = firstError;
    if (!this.stopped) {
      this.retryTimer?.cancel();
      this.retryTimer = this.clock.setTimeout(() => this.flush(), 1000);
    }
  }

  private async writeOne(token: string, kinds: ReadonlySet<TokenChange>): Promise<void> {
    const record = this.records.get(token);
    const hash = tokenHash(token);
    if (record === undefined) {
      if (kinds.has('removed')) await this.db.execute('UPDATE devices SET removed_at = NOW(6) WHERE token_hash = ? AND removed_at IS NULL', [hash], { idempotent: true });
      return;
    }
    if (kinds.has('registration') || kinds.has('removed')) {
      // A token registered again after its removal starts afresh: no badge, counters or intervals.
      await this.db.execute(
        `INSERT INTO devices (token_hash, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE platform = VALUES(platform), monlist = VALUES(monlist), intlist = VALUES(intlist),
           pushstate = VALUES(pushstate), appversion = VALUES(appversion), profile = VALUES(profile),
           client_kind = VALUES(client_kind), zm_user = VALUES(zm_user), registered_at = VALUES(registered_at),
           badge = IF(removed_at IS NULL, badge, VALUES(badge)),
           invocations_count = IF(removed_at IS NULL, invocations_count, VALUES(invocations_count)),
           invocations_month = IF(removed_at IS NULL, invocations_month, VALUES(invocations_month)),
           last_sent = IF(removed_at IS NULL, last_sent, VALUES(last_sent)),
           removed_at = NULL`,
        rowValues(record),
        { idempotent: true },
      );
    }
    if (kinds.has('badge')) await this.db.execute('UPDATE devices SET badge = ? WHERE token_hash = ? AND removed_at IS NULL', [record.badge, hash], { idempotent: true });
    if (kinds.has('delivery')) {
      await this.db.execute(
        'UPDATE devices SET invocations_count = ?, invocations_month = ?, last_sent = ? WHERE token_hash = ? AND removed_at IS NULL',
        [record.invocations.count, record.invocations.at, JSON.stringify(record.lastSent), hash],
        { idempotent: true },
      );
    }
  }

  private schedulePull(): void {
    if (this.stopped) return;
    this.pullTimer = this.clock.setTimeout(() => {
      void this.pull().finally(() => this.schedulePull());
    }, this.pullIntervalMs);
  }

  /** Applies rows other nodes changed since the last pull (all live rows the first time). */
  private pull(): Promise<void> {
    this.pulling ??= this.readChanges().finally(() => (this.pulling = undefined));
    return this.pulling;
  }

  private async readChanges(): Promise<void> {
    const since = this.lastSeen;
    let rows: DeviceRow[];
    try {
      rows = await this.db.query(
        `SELECT ${COLUMNS}, removed_at IS NOT NULL AS removed, UNIX_TIMESTAMP(updated_at) AS seen FROM devices ` +
          (since === undefined ? 'WHERE removed_at IS NULL' : 'WHERE updated_at >= FROM_UNIXTIME(?)'),
        since === undefined ? [] : [Math.max(0, since - PULL_OVERLAP_SECONDS)],
        (raw) => {
          const row = raw as Record<string, unknown>;
          const { record } = recordFromRow(row);
          return { record, token: String(row['token'] ?? ''), removed: Number(row['removed']) === 1, seen: Number(row['seen']) };
        },
      );
    } catch (err) {
      if (since === undefined) throw err;
      this.log.debug(() => `cluster registry: pull failed (${errorMessage(err)})`);
      return;
    }
    for (const row of rows) {
      if (Number.isFinite(row.seen)) this.lastSeen = Math.max(this.lastSeen ?? 0, row.seen);
      // This node's own newer change wins until it is written; the next pull brings the result.
      if (this.pending.has(row.token) || this.writingTokens.has(row.token)) continue;
      if (row.removed) {
        if (this.drop(row.token)) this.log.debug(() => `cluster registry: push token ${maskToken(row.token)} removed on another node`);
        continue;
      }
      if (row.record === undefined) continue;
      if (!sameRecord(this.records.get(row.token), row.record)) this.put(row.record);
    }
    this.lastSeen ??= 0;
  }

  /** The node's token file, once: its devices join the cluster registry unless already there. */
  private async importFileOnce(): Promise<void> {
    const source = `${this.nodeId}:${this.path}`;
    const done = await this.db.query('SELECT items FROM imports WHERE source = ?', [source], (r) => Number((r as { items: unknown }).items));
    if (done.length > 0) return;
    const summary = this.load();
    const records = this.all();
    for (let i = 0; i < records.length; i += INSERT_BATCH) {
      const chunk = records.slice(i, i + INSERT_BATCH);
      await this.db.execute(
        `INSERT IGNORE INTO devices (token_hash, ${COLUMNS}) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap(rowValues),
        { idempotent: true },
      );
    }
    await this.db.execute('INSERT IGNORE INTO imports (source, items) VALUES (?, ?)', [source, records.length], { idempotent: true });
    for (const record of records) this.drop(record.token);
    if (summary.source !== 'missing') {
      this.log.info(`cluster registry: imported ${records.length} push token(s) from ${this.path} (once; the file is no longer used in cluster mode)`);
    }
  }
}

/**
 * The other half of "a phone is alerted once" across nodes: the lease holder pushes, but the
 * phone's open socket may be on another node, which held its alarm frame back (push-devices.ts).
 * Every node reads the outcomes other nodes recorded in the push ledger and, for the sockets it
 * owns, sends the supplementary copy after a push that went out, or the normal alarm when it
 * could not be sent.
 */
import { LRUCache } from 'lru-cache';
import type { Clock, Timer } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { Notification, Phase } from '../domain/notification.js';
import type { LeaseDatabase } from './leader-lease.js';
import { tokenHash } from './cluster-token-store.js';

export interface OutcomeTarget {
  /** Tokens whose owner socket is on this node. */
  ownedTokens(): Iterable<string>;
  afterPush(token: string, notification: Notification, pushed: boolean): void;
}

const OVERLAP_SECONDS = 5;

export class PushOutcomes implements Service {
  readonly name = 'cluster push outcomes';
  private timer: Timer | undefined;
  private running = false;
  private lastSeen: number | undefined;
  private readonly applied = new LRUCache<string, true>({ max: 50_000 });
  private failing = false;

  constructor(
    private readonly db: LeaseDatabase,
    private readonly nodeId: string,
    private readonly target: OutcomeTarget,
    private readonly notification: (eventId: bigint, phase: Phase) => Notification | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly intervalMs = 250,
  ) {}

  async start(): Promise<void> {
    this.running = true;
    const [now] = await this.db.query('SELECT UNIX_TIMESTAMP(NOW(6)) AS now', [], (r) => Number((r as { now: unknown }).now));
    this.lastSeen = now;
    this.schedule();
  }

  stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    return Promise.resolve();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => void this.poll().finally(() => this.schedule()), this.intervalMs);
  }

  async poll(): Promise<void> {
    const owned = new Map<string, string>();
    for (const token of this.target.ownedTokens()) owned.set(tokenHash(token).toString('hex'), token);
    try {
      const rows = await this.db.query(
        "SELECT event_id, phase, HEX(token_hash) AS hash, status, UNIX_TIMESTAMP(updated_at) AS seen FROM push_ledger WHERE node <> ? AND status <> 'claimed' AND updated_at >= FROM_UNIXTIME(?)",
        [this.nodeId, Math.max(0, (this.lastSeen ?? 0) - OVERLAP_SECONDS)],
        (raw) => {
          const row = raw as Record<string, unknown>;
          return {
            eventId: BigInt(String(row['event_id'])),
            phase: (row['phase'] === 'end' ? 'end' : 'start') as Phase,
            hash: String(row['hash']).toLowerCase(),
            status: String(row['status']),
            seen: Number(row['seen']),
          };
        },
      );
      if (this.failing) this.log.info('cluster push outcomes are read again');
      this.failing = false;
      for (const row of rows) {
        if (Number.isFinite(row.seen)) this.lastSeen = Math.max(this.lastSeen ?? 0, row.seen);
        const token = owned.get(row.hash);
        if (token === undefined) continue;
        const key = `${row.eventId}:${row.phase}:${row.hash}`;
        if (this.applied.has(key)) continue;
        const notification = this.notification(row.eventId, row.phase);
        if (notification === undefined) continue;
        this.applied.set(key, true);
        this.target.afterPush(token, notification, row.status === 'sent');
      }
    } catch (err) {
      if (!this.failing) this.log.warn(`cannot read push outcomes from the cluster database (${errorMessage(err)}); retrying`);
      this.failing = true;
    }
  }
}

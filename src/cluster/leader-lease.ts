/**
 * The lease for once-only work: a row in the cluster database (`leases`, name 'leader') with a
 * holder, an epoch and an expiry on the database server's clock. One node holds it; it renews
 * every third of the lease; the others try to take it once it has expired. A lease row rather
 * than GET_LOCK, because Galera (where MariaDB itself must survive a box) does not replicate
 * named locks, and because an expiry also ends the lease of a node that is cut off but alive.
 *
 * The holder counts its own deadline from the moment it sent the last successful renewal, so
 * it stops acting before the database can hand the lease to another node (both clocks run at
 * the same rate; neither needs to agree with the other on the time).
 */
import { systemClock, type Clock, type Timer } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { SqlReader, SqlValue, WriteResult } from '../zm/db.js';

export interface LeaseDatabase extends SqlReader {
  execute(sql: string, params: readonly SqlValue[], options?: { idempotent?: boolean }): Promise<WriteResult>;
}

export interface LeaderLeaseOptions {
  readonly nodeId: string;
  /** cluster.lease_seconds */
  readonly leaseSeconds: number;
  readonly clock?: Clock;
}

export type LeadershipListener = (leader: boolean, epoch: number) => void;

/** Stop acting this long before the lease could expire on the server. */
const SAFETY_MARGIN_MS = 1000;

export class LeaderLease implements Service {
  readonly name = 'cluster lease';
  private readonly clock: Clock;
  private readonly listeners = new Set<LeadershipListener>();
  private timer: Timer | undefined;
  private deadlineTimer: Timer | undefined;
  private heldEpoch: number | undefined;
  /** Local time until which this node may act as the holder. */
  private actUntil = 0;
  private running = false;
  private ticking: Promise<void> | undefined;
  private lastError: string | undefined;

  constructor(
    private readonly db: LeaseDatabase,
    private readonly options: LeaderLeaseOptions,
    private readonly log: Logger,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Whether this node holds the lease now (and may do once-only work). */
  get isLeader(): boolean {
    return this.heldEpoch !== undefined && this.clock.now() < this.actUntil;
  }

  /** The epoch of the lease this node holds (grows with every hand-over); undefined when not holding it. */
  get epoch(): number | undefined {
    return this.isLeader ? this.heldEpoch : undefined;
  }

  onChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    this.running = true;
    await this.tick();
  }

  /** Hands the lease back at once (a clean stop needs no expiry to pass). */
  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    await this.ticking;
    const epoch = this.heldEpoch;
    if (epoch === undefined) return;
    this.lose('stopping');
    try {
      await this.db.execute("UPDATE leases SET holder = NULL, expires_at = NULL WHERE name = 'leader' AND holder = ? AND epoch = ?", [
        this.options.nodeId,
        epoch,
      ]);
      this.log.info(`released the cluster lease (epoch ${epoch})`);
    } catch (err) {
      this.log.warn(`could not release the cluster lease (${errorMessage(err)}); another node takes it when it expires`);
    }
  }

  private get periodMs(): number {
    return Math.max(500, Math.floor((this.options.leaseSeconds * 1000) / 3));
  }

  private tick(): Promise<void> {
    this.ticking = this.renewOrAcquire().finally(() => {
      this.ticking = undefined;
      if (this.running) this.timer = this.clock.setTimeout(() => void this.tick(), this.periodMs);
    });
    return this.ticking;
  }

  private async renewOrAcquire(): Promise<void> {
    const sentAt = this.clock.now();
    const { nodeId, leaseSeconds } = this.options;
    try {
      if (this.heldEpoch !== undefined) {
        const renewed = await this.db.execute(
          "UPDATE leases SET expires_at = NOW(6) + INTERVAL ? SECOND WHERE name = 'leader' AND holder = ? AND epoch = ?",
          [leaseSeconds, nodeId, this.heldEpoch],
          { idempotent: true },
        );
        if (renewed.affectedRows === 1) this.extend(sentAt);
        else this.lose('another node holds it now');
      } else {
        const taken = await this.db.execute(
          "UPDATE leases SET holder = ?, epoch = epoch + 1, expires_at = NOW(6) + INTERVAL ? SECOND, acquired_at = NOW(6) WHERE name = 'leader' AND (holder IS NULL OR expires_at IS NULL OR expires_at < NOW(6))",
          [nodeId, leaseSeconds],
        );
        if (taken.affectedRows === 1) {
          const [row] = await this.db.query("SELECT epoch FROM leases WHERE name = 'leader' AND holder = ?", [nodeId], (r) => Number((r as { epoch: unknown }).epoch));
          if (row === undefined) return;
          this.heldEpoch = row;
          this.extend(sentAt);
          this.log.info(`this node (${nodeId}) now holds the cluster lease (epoch ${row}): it sends pushes, MQTT and hooks`);
          this.emit(true, row);
        }
      }
      if (this.lastError !== undefined) this.log.info('cluster lease: the cluster database answers again');
      this.lastError = undefined;
    } catch (err) {
      const message = errorMessage(err);
      if (this.lastError === undefined) this.log.warn(`cluster lease: ${message}; ${this.heldEpoch !== undefined ? 'holding on until the lease runs out' : 'retrying'}`);
      this.lastError = message;
    }
  }

  private extend(sentAt: number): void {
    this.actUntil = sentAt + this.options.leaseSeconds * 1000 - SAFETY_MARGIN_MS;
    this.deadlineTimer?.cancel();
    // Steps down on time even when renewals hang (database cut off).
    this.deadlineTimer = this.clock.setTimeout(() => {
      if (this.heldEpoch !== undefined && this.clock.now() >= this.actUntil) this.lose('it could not be renewed in time');
    }, Math.max(0, this.actUntil - this.clock.now()));
  }

  private lose(why: string): void {
    const epoch = this.heldEpoch;
    if (epoch === undefined) return;
    this.heldEpoch = undefined;
    this.actUntil = 0;
    this.deadlineTimer?.cancel();
    this.deadlineTimer = undefined;
    if (why !== 'stopping') this.log.warn(`this node gave up the cluster lease (epoch ${epoch}): ${why}`);
    this.emit(false, epoch);
  }

  private emit(leader: boolean, epoch: number): void {
    for (const listener of this.listeners) {
      try {
        listener(leader, epoch);
      } catch (err) {
        this.log.error(`cluster lease listener failed: ${errorMessage(err)}`);
      }
    }
  }
}

/**
 * Exactly-once pushes across a change of lease holder: before a push the holder claims the row
 * (event, phase, device) in `push_ledger`, after it records the outcome. A row that exists
 * already means another holder dealt with that push: finished (sent, failed, skipped, invalid)
 * is never repeated; a claim a previous holder left unfinished — it died between claim and
 * answer — is taken over and pushed again, since nobody can know whether FCM got it.
 */
import { LRUCache } from 'lru-cache';
import type { Phase } from '../domain/notification.js';
import type { PushDevice } from '../push/push-registry.js';
import type { LeaseDatabase } from './leader-lease.js';
import { tokenHash } from './cluster-token-store.js';

export type LedgerStatus = 'sent' | 'failed' | 'skipped' | 'invalid';

export interface LedgerClaims {
  /** Devices this holder must push to now. */
  readonly mine: readonly PushDevice[];
  /** Of those, claims a previous holder had left unfinished. */
  readonly resumed: number;
  /** Devices another holder already dealt with. */
  readonly done: number;
}

interface LedgerRow {
  readonly hash: string;
  readonly status: string;
  readonly node: string;
  readonly epoch: number;
}

const BATCH = 500;

export class PushLedger {
  /** Keys claimed in this process, so a replay racing the live delivery cannot push twice. */
  private readonly claimedHere = new LRUCache<string, true>({ max: 100_000 });

  constructor(
    private readonly db: LeaseDatabase,
    private readonly nodeId: string,
  ) {}

  /** Claims each device's push for this holder's epoch. */
  async claim(eventId: bigint, phase: Phase, devices: readonly PushDevice[], epoch: number): Promise<LedgerClaims> {
    const fresh = devices.filter((device) => {
      const key = `${eventId}:${phase}:${device.token}`;
      if (this.claimedHere.has(key)) return false;
      this.claimedHere.set(key, true);
      return true;
    });
    const mine: PushDevice[] = [];
    let resumed = 0;
    let done = devices.length - fresh.length;
    for (let i = 0; i < fresh.length; i += BATCH) {
      const chunk = fresh.slice(i, i + BATCH);
      const hashes = chunk.map((device) => tokenHash(device.token));
      await this.db.execute(
        `INSERT IGNORE INTO push_ledger (event_id, phase, token_hash, status, node, epoch) VALUES ${chunk.map(() => "(?, ?, ?, 'claimed', ?, ?)").join(', ')}`,
        chunk.flatMap((_, j) => [eventId, phase, hashes[j]!, this.nodeId, epoch]),
      );
      const rows = await this.db.query(
        `SELECT HEX(token_hash) AS hash, status, node, epoch FROM push_ledger WHERE event_id = ? AND phase = ? AND token_hash IN (${chunk.map(() => '?').join(', ')})`,
        [eventId, phase, ...hashes],
        (raw): LedgerRow => {
          const row = raw as Record<string, unknown>;
          return { hash: String(row['hash']).toLowerCase(), status: String(row['status']), node: String(row['node']), epoch: Number(row['epoch']) };
        },
      );
      const byHash = new Map(rows.map((row) => [row.hash, row]));
      for (const [j, device] of chunk.entries()) {
        const row = byHash.get(hashes[j]!.toString('hex'));
        if (row === undefined) continue; // cannot happen after the insert; skip rather than risk a repeat
        if (row.status === 'claimed' && row.node === this.nodeId && row.epoch === epoch) {
          mine.push(device);
        } else if (row.status === 'claimed' && row.epoch < epoch) {
          const taken = await this.db.execute(
            "UPDATE push_ledger SET node = ?, epoch = ?, attempts = attempts + 1 WHERE event_id = ? AND phase = ? AND token_hash = ? AND status = 'claimed' AND epoch < ?",
            [this.nodeId, epoch, eventId, phase, hashes[j]!, epoch],
          );
          if (taken.affectedRows === 1) {
            mine.push(device);
            resumed++;
          } else done++;
        } else {
          done++;
        }
      }
    }
    return { mine, resumed, done };
  }

  /** Records the outcomes; other nodes read them to alert the phone's socket (push-outcomes.ts). */
  async settle(eventId: bigint, phase: Phase, outcomes: ReadonlyMap<string, LedgerStatus>): Promise<void> {
    const byStatus = new Map<LedgerStatus, Buffer[]>();
    for (const [token, status] of outcomes) {
      const list = byStatus.get(status);
      if (list) list.push(tokenHash(token));
      else byStatus.set(status, [tokenHash(token)]);
    }
    for (const [status, hashes] of byStatus) {
      for (let i = 0; i < hashes.length; i += BATCH) {
        const chunk = hashes.slice(i, i + BATCH);
        await this.db.execute(
          `UPDATE push_ledger SET status = ? WHERE event_id = ? AND phase = ? AND token_hash IN (${chunk.map(() => '?').join(', ')})`,
          [status, eventId, phase, ...chunk],
          { idempotent: true },
        );
      }
    }
  }

  /** Forgets in-process claims (on losing the lease) and drops ledger rows older than a day. */
  reset(): void {
    this.claimedHere.clear();
  }

  async prune(): Promise<number> {
    const result = await this.db.execute('DELETE FROM push_ledger WHERE updated_at < NOW(6) - INTERVAL 1 DAY LIMIT 10000', [], { idempotent: true });
    return result.affectedRows;
  }
}

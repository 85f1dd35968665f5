/**
 * When each recipient last got a notification per monitor: the state behind intervals.
 * Recorded only when something was really sent (classic defect #7). Keys are the push token
 * for devices with one, else a per-connection key that dies with the connection.
 */
import { LRUCache } from 'lru-cache';

export interface LastSentStore {
  get(key: string, monitorId: number): number | undefined;
  set(key: string, monitorId: number, at: number): void;
  forget(key: string): void;
}

/** In-memory store, bounded so that churn of connections cannot grow it without end. */
export class MemoryLastSent implements LastSentStore {
  private readonly entries: LRUCache<string, Map<number, number>>;

  constructor(maxKeys = 100_000) {
    this.entries = new LRUCache({ max: maxKeys });
  }

  get(key: string, monitorId: number): number | undefined {
    return this.entries.get(key)?.get(monitorId);
  }

  set(key: string, monitorId: number, at: number): void {
    let perMonitor = this.entries.get(key);
    if (!perMonitor) {
      perMonitor = new Map();
      this.entries.set(key, perMonitor);
    }
    perMonitor.set(monitorId, at);
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

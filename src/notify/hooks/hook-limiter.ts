/**
 * `max_parallel_hooks` as a bounded queue (classic defect #16: the classic server silently
 * skipped the events over the limit). At most `maxRunning` hooks run; up to `maxQueued` more
 * wait in arrival order; beyond that the caller is refused at once and must say so.
 */

/** Given back by acquire; call once when the hook finished. */
export type Release = () => void;

export interface LimiterStats {
  readonly running: number;
  readonly queued: number;
  /** Highest number of hooks seen running at once. */
  readonly peakRunning: number;
  /** Acquisitions refused because the queue was full. */
  readonly refused: number;
}

export class HookLimiter {
  private running = 0;
  private peak = 0;
  private refusedCount = 0;
  private readonly waiting: Array<{ grant: (release: Release) => void; fail: (err: Error) => void }> = [];

  /** `maxRunning` 0 = unlimited (nothing ever waits). */
  constructor(
    private readonly maxRunning: number,
    private readonly maxQueued: number,
  ) {}

  get stats(): LimiterStats {
    return { running: this.running, queued: this.waiting.length, peakRunning: this.peak, refused: this.refusedCount };
  }

  /** A slot (now or when one frees up), or null when the queue is full. Rejects when closed while waiting. */
  acquire(): Promise<Release> | null {
    if (this.maxRunning <= 0 || this.running < this.maxRunning) return Promise.resolve(this.take());
    if (this.waiting.length >= this.maxQueued) {
      this.refusedCount++;
      return null;
    }
    return new Promise((grant, fail) => this.waiting.push({ grant, fail }));
  }

  /** Fails every waiter (server stopping); running hooks are ended by their owner. */
  close(reason: Error): void {
    for (const waiter of this.waiting.splice(0)) waiter.fail(reason);
  }

  private take(): Release {
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const next = this.waiting.shift();
      if (next) next.grant(this.take());
    };
  }
}

import type { Clock } from '../../clock.js';

export interface LoginLimiterOptions {
  /** Failed logins allowed per address within the window; the next attempt is refused. */
  maxFailures: number;
  windowMs: number;
  /** Bound on tracked addresses, so a spray from many addresses cannot grow memory without end. */
  maxTrackedAddresses?: number;
}

export type LimiterVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Brute-force protection: counts failed logins per remote address in a sliding window.
 * Pure bookkeeping with an injected clock; the caller decides what a refusal looks like.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly options: LoginLimiterOptions,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  check(address: string): LimiterVerdict {
    const recent = this.recent(address);
    if (recent.length < this.options.maxFailures) return { allowed: true };
    const oldest = recent[0]!;
    return { allowed: false, retryAfterMs: Math.max(0, oldest + this.options.windowMs - this.clock.now()) };
  }

  /** Returns how many failures the address has in the window, this one included. */
  recordFailure(address: string): number {
    const recent = this.recent(address);
    recent.push(this.clock.now());
    this.failures.delete(address);
    this.failures.set(address, recent);
    this.evictOverflow();
    return recent.length;
  }

  /** A success clears the address: a user who mistyped and then got it right starts fresh. */
  recordSuccess(address: string): void {
    this.failures.delete(address);
  }

  get trackedAddresses(): number {
    return this.failures.size;
  }

  private recent(address: string): number[] {
    const cutoff = this.clock.now() - this.options.windowMs;
    const list = (this.failures.get(address) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(address);
    return list;
  }

  private evictOverflow(): void {
    const limit = this.options.maxTrackedAddresses ?? 10_000;
    // Map iteration is insertion order and recordFailure re-inserts, so the first key is the stalest.
    while (this.failures.size > limit) {
      const stalest = this.failures.keys().next().value;
      if (stalest === undefined) break;
      this.failures.delete(stalest);
    }
  }
}

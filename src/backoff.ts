/**
 * Outage bookkeeping for the ZoneMinder database: decides, without doing any I/O, whether a
 * query may go to the pool, must fail fast, or is the one probe allowed after a backoff delay.
 *
 * Kept in-house rather than using cockatiel: its current major (4.x) requires Node 22, and the
 * 3.x circuit breaker makes concurrent callers wait for a half-open probe instead of failing
 * fast, fires its break event on every failed probe, and reads Date.now() directly. We would have
 * wrapped it with this same state anyway to log one line per outage.
 */

export interface BackoffPolicy {
  /** Delay before the first probe after an outage starts. */
  initialMs: number;
  /** Upper bound of the delay. */
  maxMs: number;
  /** Growth per failed probe. */
  factor: number;
  /** Fraction of the delay randomised both ways (0.2 → ±20 %), so many clients do not probe in step. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Delay before probe number `attempt` (0-based): exponential, capped, with jitter; never negative. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt));
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(Math.min(policy.maxMs, base + spread)));
}

/** What a caller may do now. A `probe` or `pass` ticket must be settled with succeed()/fail(). */
export type Admission =
  | { kind: 'pass'; ticket: Ticket }
  | { kind: 'probe'; ticket: Ticket }
  | { kind: 'reject'; retryInMs: number; reason: string };

export interface Ticket {
  readonly probe: boolean;
}

export type OutageTransition =
  | { kind: 'none' }
  | { kind: 'outage-started'; reason: string }
  | { kind: 'probe-failed'; reason: string; nextProbeInMs: number }
  | { kind: 'restored'; downForMs: number };

interface Down {
  since: number;
  reason: string;
  attempt: number;
  nextProbeAt: number;
  probe: Ticket | null;
}

export class OutageGate {
  private down: Down | null = null;

  constructor(
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  get isDown(): boolean {
    return this.down !== null;
  }

  get downSince(): number | null {
    return this.down?.since ?? null;
  }

  /** While up, everything passes. While down, only one probe at a time, and only once the delay is over. */
  admit(now: number): Admission {
    const down = this.down;
    if (down === null) return { kind: 'pass', ticket: { probe: false } };
    if (down.probe !== null) return { kind: 'reject', retryInMs: 0, reason: down.reason };
    if (now < down.nextProbeAt) return { kind: 'reject', retryInMs: down.nextProbeAt - now, reason: down.reason };
    const ticket: Ticket = { probe: true };
    down.probe = ticket;
    return { kind: 'probe', ticket };
  }

  /** Milliseconds until a probe may be admitted; 0 when up or due; null while a probe is in flight. */
  msUntilProbe(now: number): number | null {
    const down = this.down;
    if (down === null) return 0;
    if (down.probe !== null) return null;
    return Math.max(0, down.nextProbeAt - now);
  }

  /** The server answered (also with an SQL error): a probe's success ends the outage. */
  succeed(ticket: Ticket, now: number): OutageTransition {
    const down = this.down;
    // A query admitted before the outage began proves nothing about the server now.
    if (down === null || down.probe !== ticket) return { kind: 'none' };
    this.down = null;
    return { kind: 'restored', downForMs: now - down.since };
  }

  /** The server could not be reached. Starts an outage, or schedules the next probe after a failed one. */
  fail(ticket: Ticket, now: number, reason: string): OutageTransition {
    const down = this.down;
    if (down === null) {
      this.down = { since: now, reason, attempt: 0, nextProbeAt: now + this.delay(0), probe: null };
      return { kind: 'outage-started', reason };
    }
    if (down.probe !== ticket) return { kind: 'none' }; // a straggler from before the outage
    down.attempt++;
    down.reason = reason;
    down.probe = null;
    const delay = this.delay(down.attempt);
    down.nextProbeAt = now + delay;
    return { kind: 'probe-failed', reason, nextProbeInMs: delay };
  }

  /** A probe that ended without an answer either way (e.g. the client stopped): allow the next one. */
  release(ticket: Ticket): void {
    if (this.down?.probe === ticket) this.down.probe = null;
  }

  private delay(attempt: number): number {
    return backoffDelay(attempt, this.policy, this.random);
  }
}

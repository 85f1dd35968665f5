/**
 * Brute-force protection for logins, in three sliding-window counts of failures:
 *
 * - per (address, user): the limit a guesser meets first. Only a success of that same user from
 *   that same address clears it, so logging in as another (low-privilege) account between guesses
 *   buys nothing, and one stale phone does not lock anybody else out of a shared NAT address.
 * - per user, over all addresses: a guesser rotating addresses (botnet, IPv6 prefix). An address
 *   where the user logged in before ("known good") is exempt, so hammering a user from elsewhere
 *   cannot lock the real user out at home.
 * - per address, over all users: one address trying many user names.
 *
 * Pure bookkeeping with an injected clock; the caller decides what a refusal looks like. Every
 * table is an LRU of bounded size, so a spray of addresses or names cannot grow memory without end.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../../clock.js';

export type LoginLimit = 'user-address' | 'user' | 'address';

export interface LoginLimiterOptions {
  /** Failures of one user from one address within the window before that pair is refused; 0 disables every limit. */
  maxFailures: number;
  /** Failures of one user from all addresses before it is refused (except at known-good addresses); 0 disables. */
  maxFailuresPerUser: number;
  /** Failures from one address for all users before that address is refused; 0 disables. */
  maxFailuresPerAddress: number;
  windowMs: number;
  /** Most keys tracked per count (pairs, users, addresses); the least recently active goes first. */
  maxTrackedKeys?: number;
  /** Most users whose known-good addresses are remembered for the per-user exemption. */
  maxKnownGoodUsers?: number;
  /** Most known-good addresses remembered per user; the least recently successful goes first. */
  knownGoodPerUser?: number;
}

export type LimiterVerdict =
  | { allowed: true }
  | {
      allowed: false;
      retryAfterMs: number;
      limit: LoginLimit;
      /** For the log: the limit in words and the setting behind it. */
      detail: string;
    };

/** Failures in the window after recording one, per count (0 for a disabled count). */
export interface FailureCounts {
  pair: number;
  user: number;
  address: number;
}

export interface LimiterSize {
  pairs: number;
  users: number;
  addresses: number;
  knownGood: number;
}

const DEFAULT_MAX_TRACKED = 10_000;
const DEFAULT_MAX_KNOWN_GOOD_USERS = 10_000;
const DEFAULT_KNOWN_GOOD_PER_USER = 16;
/**
 * ZoneMinder's Users.Username is varchar(32): a longer name is nobody, so cutting it only merges
 * names that all fail anyway, and keeps a spray of huge names from costing memory.
 */
const MAX_USER_KEY_LENGTH = 128;

export class LoginLimiter {
  private readonly pairs: SlidingCount | undefined;
  private readonly users: SlidingCount | undefined;
  private readonly addresses: SlidingCount | undefined;
  /**
   * Per user, so that an attacker with a valid account logging in from many addresses only
   * churns that account's own list, never pushes out another user's home address.
   */
  private readonly knownGood: LRUCache<string, string[]>;
  private readonly knownGoodPerUser: number;

  constructor(
    private readonly options: LoginLimiterOptions,
    clock: Pick<Clock, 'now'>,
  ) {
    for (const key of ['maxFailures', 'maxFailuresPerUser', 'maxFailuresPerAddress'] as const) {
      if (!Number.isSafeInteger(options[key]) || options[key] < 0) throw new RangeError(`${key} must be a non-negative integer, got ${options[key]}`);
    }
    if (!(options.windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${options.windowMs}`);
    const maxKeys = options.maxTrackedKeys ?? DEFAULT_MAX_TRACKED;
    const enabled = options.maxFailures > 0;
    const count = (limit: number) => (enabled && limit > 0 ? new SlidingCount(limit, options.windowMs, maxKeys, clock) : undefined);
    this.pairs = count(options.maxFailures);
    this.users = count(options.maxFailuresPerUser);
    this.addresses = count(options.maxFailuresPerAddress);
    this.knownGood = new LRUCache<string, string[]>({ max: options.maxKnownGoodUsers ?? DEFAULT_MAX_KNOWN_GOOD_USERS });
    this.knownGoodPerUser = options.knownGoodPerUser ?? DEFAULT_KNOWN_GOOD_PER_USER;
  }

  /** Whether a login of `user` from `address` may be checked at all; call before any password check. */
  check(address: string, user: string | undefined): LimiterVerdict {
    const name = userKey(user);
    const pair = pairKey(address, name);
    const window = `${Math.round(this.options.windowMs / 1000)} s`;
    let verdict: LimiterVerdict = { allowed: true };
    const consider = (count: SlidingCount | undefined, key: string, limit: LoginLimit, detail: string) => {
      const wait = count?.retryAfterMs(key) ?? 0;
      if (wait > 0 && (verdict.allowed || wait > verdict.retryAfterMs)) verdict = { allowed: false, retryAfterMs: wait, limit, detail };
    };
    consider(this.pairs, pair, 'user-address', `${this.options.maxFailures} failures for this user from this address in ${window}, auth.max_failures`);
    consider(this.addresses, address, 'address', `${this.options.maxFailuresPerAddress} failures from this address in ${window}, auth.max_failures_per_address`);
    if (!this.knownGood.peek(name)?.includes(address)) {
      consider(this.users, name, 'user', `${this.options.maxFailuresPerUser} failures for this user from all addresses in ${window}, auth.max_failures_per_user`);
    }
    return verdict;
  }

  recordFailure(address: string, user: string | undefined): FailureCounts {
    const name = userKey(user);
    return {
      pair: this.pairs?.record(pairKey(address, name)) ?? 0,
      user: this.users?.record(name) ?? 0,
      address: this.addresses?.record(address) ?? 0,
    };
  }

  /**
   * Clears only this pair: the per-user and per-address counts keep an attacker's failures even
   * when the attacker also holds a valid (low-privilege) account.
   */
  recordSuccess(address: string, user: string | undefined): void {
    if (this.pairs === undefined) return;
    const name = userKey(user);
    this.pairs.clear(pairKey(address, name));
    const addresses = (this.knownGood.get(name) ?? []).filter((known) => known !== address);
    addresses.push(address);
    if (addresses.length > this.knownGoodPerUser) addresses.splice(0, addresses.length - this.knownGoodPerUser);
    this.knownGood.set(name, addresses);
  }

  get size(): LimiterSize {
    return {
      pairs: this.pairs?.size ?? 0,
      users: this.users?.size ?? 0,
      addresses: this.addresses?.size ?? 0,
      knownGood: [...this.knownGood.values()].reduce((sum, addresses) => sum + addresses.length, 0),
    };
  }
}

/** The name as ZoneMinder compares it: MariaDB ignores trailing spaces, and clients send stray ones. */
function userKey(user: string | undefined): string {
  return (user ?? '').trim().slice(0, MAX_USER_KEY_LENGTH);
}

/** An address never contains NUL, so no (address, user) pair can spell another. */
function pairKey(address: string, user: string): string {
  return `${address}\u0000${user}`;
}

/** Timestamps of recent failures per key; at most `limit` kept, as older ones cannot change a verdict. */
class SlidingCount {
  private readonly failures: LRUCache<string, number[]>;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    maxKeys: number,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.failures = new LRUCache<string, number[]>({ max: maxKeys });
  }

  get size(): number {
    return this.failures.size;
  }

  record(key: string): number {
    const recent = this.recent(key);
    recent.push(this.clock.now());
    if (recent.length > this.limit) recent.splice(0, recent.length - this.limit);
    this.failures.set(key, recent);
    return recent.length;
  }

  /** 0 while below the limit, else how long until the oldest counted failure leaves the window. */
  retryAfterMs(key: string): number {
    const recent = this.recent(key);
    if (recent.length < this.limit) return 0;
    return Math.max(1, recent[recent.length - this.limit]! + this.windowMs - this.clock.now());
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string): number[] {
    const stored = this.failures.get(key);
    if (stored === undefined) return [];
    const cutoff = this.clock.now() - this.windowMs;
    const recent = stored.filter((t) => t > cutoff);
    if (recent.length === 0) this.failures.delete(key);
    else if (recent.length !== stored.length) this.failures.set(key, recent);
    return recent;
  }
}

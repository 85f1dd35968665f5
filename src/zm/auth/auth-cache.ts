/**
 * Remembers successful password verifications so a reconnect storm (every zmNinja phone
 * reconnecting after a server restart, each with a cost-10+ bcrypt) does not saturate the
 * threadpool. It never holds a password: an entry is found by an HMAC, under a per-process
 * random key, of username + stored hash + password. Because the stored hash is part of the
 * key, an entry stops matching the moment ZoneMinder's hash changes (password changed, or
 * rehashed by a web login). The caller still loads the user row on every login (Enabled,
 * hash); the cache only replaces the hash comparison.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../../clock.js';
import { verifyZmPassword, type PasswordCheck } from './password.js';

export type PasswordVerifier = (password: string, storedHash: string) => Promise<PasswordCheck>;

export interface AuthCacheOptions {
  /** Most entries kept; the least recently used goes first. */
  readonly maxEntries: number;
  /** How long a verification is trusted, counted from when it was made (not refreshed by hits). */
  readonly ttlMs: number;
  readonly clock: Pick<Clock, 'now'>;
  /** HMAC key; a fresh random key per process when omitted. */
  readonly key?: Uint8Array;
}

export interface CachedCheck extends PasswordCheck {
  /** True when answered from the cache (or by joining a verification already running). */
  readonly cached: boolean;
}

interface Entry {
  readonly username: string;
  readonly check: PasswordCheck;
}

export class AuthCache {
  private readonly entries: LRUCache<string, Entry>;
  /** Verifications running now, so simultaneous identical logins share one bcrypt. */
  private readonly inflight = new Map<string, Promise<PasswordCheck>>();
  private readonly key: Uint8Array;

  constructor(
    options: AuthCacheOptions,
    private readonly verifier: PasswordVerifier = verifyZmPassword,
  ) {
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
    if (!(options.ttlMs > 0)) throw new RangeError(`ttlMs must be positive, got ${options.ttlMs}`);
    this.key = options.key ?? randomBytes(32);
    // ttlResolution 0: read the clock on every lookup, so an entry expires exactly on time.
    this.entries = new LRUCache({ max: options.maxEntries, ttl: options.ttlMs, ttlResolution: 0, perf: options.clock });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Verifies `password` against `storedHash` for `username`, from the cache when possible. */
  async verify(username: string, password: string, storedHash: string): Promise<CachedCheck> {
    const id = this.entryId(username, storedHash, password);
    const hit = this.lookup(id);
    if (hit !== undefined) return { ...hit, cached: true };

    const running = this.inflight.get(id);
    if (running !== undefined) return { ...(await running), cached: true };

    const pending = this.verifier(password, storedHash);
    this.inflight.set(id, pending);
    try {
      const check = await pending;
      // Only successes are kept: a failed login closes the socket anyway, and caching
      // failures would let a wrong guess occupy the cache.
      if (check.ok) this.remember(id, username, check);
      return { ...check, cached: false };
    } finally {
      this.inflight.delete(id);
    }
  }

  /** Drops every entry of a user, e.g. when the users reload sees the user disabled or deleted. */
  invalidateUser(username: string): number {
    const ids = [...this.entries.entries()].filter(([, entry]) => entry.username === username).map(([id]) => id);
    for (const id of ids) this.entries.delete(id);
    return ids.length;
  }

  clear(): void {
    this.entries.clear();
  }

  private entryId(username: string, storedHash: string, password: string): string {
    // Length prefixes keep ("ab","c") and ("a","bc") apart.
    return createHmac('sha256', this.key)
      .update(`${username.length}:${username}|${storedHash.length}:${storedHash}|`, 'utf8')
      .update(password, 'utf8')
      .digest('base64url');
  }

  private lookup(id: string): PasswordCheck | undefined {
    return this.entries.get(id)?.check;
  }

  private remember(id: string, username: string, check: PasswordCheck): void {
    // The time to live counts from the verification; hits do not extend it.
    this.entries.set(id, { username, check });
  }
}

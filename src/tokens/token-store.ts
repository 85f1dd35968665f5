/**
 * The persistent registry of push tokens under `fcm.token_file` (classic-config.md §6): which
 * devices get FCM pushes, for which monitors, how often, with which badge. Kept in memory and
 * written as a whole file, atomically, at most once per `writeDelayMs` (a burst of registrations,
 * badge and counter updates costs one write), and at once on stop.
 *
 * Only `register()` creates an entry. Counters, badges and last-sent times of an unknown or
 * removed token are ignored, so a removal is final until the device registers again (classic
 * defect #19: a counter flush brought deleted tokens back as "all monitors, enabled").
 */
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Service } from '../lifecycle.js';
import { maskToken, type Logger } from '../log/logger.js';
import { setAside, writeFileAtomic } from '../state/atomic-file.js';
import { parseMonitorFilter, type MonitorFilter } from '../domain/monitor-filter.js';
import { type ClientKind } from '../domain/device.js';
import { parseTokenFile, serializeTokenFile, type PushState, type TokenRecord } from './token-file.js';
import { readTextIfExists } from '../state/text-file.js';

export type { PushState, TokenRecord, Invocations } from './token-file.js';

/** Hard-coded in the classic server: pushes per token per calendar month. */
export const MONTHLY_PUSH_LIMIT = 8000;
/** FCM tokens are about 150–200 characters; anything far longer is not a token. */
export const MAX_TOKEN_LENGTH = 4096;
/** zmNinjaNg truncates profile names to this length itself. */
export const MAX_PROFILE_LENGTH = 128;
/** Default cap on stored registrations, so a misbehaving client cannot grow the file without bound. */
export const DEFAULT_MAX_TOKENS = 10_000;
/** Default of `fcm.max_devices_per_user`. */
export const DEFAULT_MAX_DEVICES_PER_USER = 20;
/** Last-sent times older than this are dropped at load (no interval is that long). */
const LAST_SENT_KEEP_MS = 30 * 86_400_000;

export interface TokenStoreOptions {
  /** The resolved `fcm.token_file`. */
  readonly path: string;
  readonly log: Logger;
  readonly clock?: Clock;
  /** Coalescing window for writes; 0 writes on the next timer tick. */
  readonly writeDelayMs?: number;
  readonly monthlyLimit?: number;
  /**
   * New tokens beyond this many are refused; existing ones can always re-register. Nothing is
   * ever evicted to make room: a full store must not let one user push out another's devices.
   */
  readonly maxTokens?: number;
  /**
   * Devices one ZoneMinder user may hold (`fcm.max_devices_per_user`), so that filling the
   * store takes many ZoneMinder accounts. Tokens without a user share one bucket with the same
   * limit (see `userBucket`).
   */
  readonly maxDevicesPerUser?: number;
  /** Retry delay after a failed write (disk full, permissions). */
  readonly retryDelayMs?: number;
}

/** A `push`/`token` registration as the session layer hands it over. */
export interface Registration {
  readonly token: string;
  readonly platform: string;
  /** `""`/undefined → enabled (classic). */
  readonly state?: PushState | '' | undefined;
  /** undefined or "-1" keep the stored list; any other value (also "" = all monitors) replaces it. */
  readonly monlist?: string | undefined;
  readonly intlist?: string | undefined;
  /** undefined keeps the stored profile; "" clears it. */
  readonly profile?: string | undefined;
  /** From the connection's auth frame; undefined keeps the stored one. */
  readonly appversion?: string | undefined;
  /** `unknown`/undefined keep a kind learned earlier. */
  readonly clientKind?: ClientKind | undefined;
  /** The ZoneMinder user of the registering connection; undefined keeps the stored one. */
  readonly zmUser?: string | undefined;
}

/** The part of a record a change touched (see TokenStore.noteChange). */
export type TokenChange = 'registration' | 'badge' | 'delivery' | 'removed';

/** Why `tryRegister` refused: bad token text, the user's quota, or the whole store is full. */
export type RegisterRefusal = 'invalid' | 'quota' | 'full';

export type RegisterResult =
  | { readonly ok: true; readonly record: TokenRecord; readonly created: boolean }
  /** `detail` is a log-ready sentence with the token masked. */
  | { readonly ok: false; readonly reason: RegisterRefusal; readonly detail: string };

export interface LoadSummary {
  readonly count: number;
  /** Entries left out because their user was over `maxDevicesPerUser`. */
  readonly droppedOverQuota?: number;
  readonly source: 'missing' | 'empty' | 'json' | 'migrated' | 'corrupt' | 'unreadable';
  /** Where a corrupt file was moved to. */
  readonly setAsideAs?: string;
}

/** The filter a stored token asks for (its monlist/intlist). */
export function tokenFilter(record: Pick<TokenRecord, 'monlist' | 'intlist'>): MonitorFilter {
  return parseMonitorFilter(record.monlist, record.intlist).filter;
}

const keepList = (value: string | undefined): boolean => value === undefined || value.trim() === '-1';

/**
 * The quota bucket of a record. Tokens without a ZoneMinder user (classic token files, and every
 * registration while auth is off) share one bucket: with auth on no new registration can land
 * there, so it only shrinks as those phones reconnect and re-register under their user; with
 * auth off there is no identity to tell clients apart, and any name a client claims would let
 * it open as many buckets as it likes.
 */
export function userBucket(zmUser: string | undefined): string | undefined {
  return zmUser;
}

/**
 * Keeps at most `limit` records per user bucket: the newest by `registeredAt`, and among
 * records without one (older than any with one) the later in the file. File order is kept.
 */
export function trimToQuota(records: readonly TokenRecord[], limit: number): { kept: TokenRecord[]; dropped: number; users: number } {
  const byBucket = new Map<string | undefined, number[]>();
  records.forEach((record, index) => {
    const bucket = userBucket(record.zmUser);
    const list = byBucket.get(bucket);
    if (list) list.push(index);
    else byBucket.set(bucket, [index]);
  });
  const drop = new Set<number>();
  let users = 0;
  for (const indices of byBucket.values()) {
    if (indices.length <= limit) continue;
    users++;
    const newestFirst = [...indices].sort((a, b) => {
      const ta = records[a]!.registeredAt ?? -Infinity;
      const tb = records[b]!.registeredAt ?? -Infinity;
      return ta === tb ? b - a : tb - ta;
    });
    for (const index of newestFirst.slice(limit)) drop.add(index);
  }
  return { kept: records.filter((_, index) => !drop.has(index)), dropped: drop.size, users };
}

function pruneLastSent(record: TokenRecord, oldest: number): TokenRecord {
  const entries = Object.entries(record.lastSent);
  const kept = entries.filter(([, at]) => at >= oldest);
  return kept.length === entries.length ? record : { ...record, lastSent: Object.fromEntries(kept) };
}

export class TokenStore implements Service {
  readonly name: string = 'token-store';
  readonly path: string;
  protected readonly log: Logger;
  protected readonly clock: Clock;
  private readonly writeDelayMs: number;
  private readonly retryDelayMs: number;
  private readonly monthlyLimit: number;
  private readonly maxTokens: number;
  private readonly maxDevicesPerUser: number;
  /** Records per user bucket, kept in step with `records`. */
  private readonly perUser = new Map<string | undefined, number>();
  /** Tokens already warned about the monthly cap (until they may send again). */
  private readonly capWarned = new Set<string>();
  protected readonly records = new Map<string, TokenRecord>();
  private dirty = false;
  private timer: Timer | undefined;
  protected stopped = false;
  /** Set when the file could not be read or set aside: never overwrite what we could not inspect. */
  private writesDisabled = false;
  private writeFailing = false;

  constructor(options: TokenStoreOptions) {
    this.path = options.path;
    this.log = options.log;
    this.clock = options.clock ?? systemClock;
    this.writeDelayMs = options.writeDelayMs ?? 200;
    this.retryDelayMs = options.retryDelayMs ?? 5000;
    this.monthlyLimit = options.monthlyLimit ?? MONTHLY_PUSH_LIMIT;
    this.maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
    this.maxDevicesPerUser = options.maxDevicesPerUser ?? DEFAULT_MAX_DEVICES_PER_USER;
  }

  async start(_signal: AbortSignal): Promise<void> {
    this.stopped = false;
    this.load();
  }

  /** Writes pending changes now; further changes are written immediately. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.flush();
  }

  /** Reads the file (synchronously: it is small and this runs once at start). Replaces the memory state. */
  load(): LoadSummary {
    this.records.clear();
    this.perUser.clear();
    this.writesDisabled = false;
    this.removeStaleTempFiles();
    let text: string | null;
    try {
      text = readTextIfExists(this.path);
    } catch (err) {
      this.writesDisabled = true;
      this.log.error(
        `cannot read token file ${this.path} (${errorMessage(err)}); push registrations are kept in memory only and the file is left untouched`,
      );
      return { count: 0, source: 'unreadable' };
    }
    if (text === null) {
      this.log.info(`token file ${this.path} does not exist yet; it is created at the first registration`);
      return { count: 0, source: 'missing' };
    }

    const parsed = parseTokenFile(text, this.month());
    const shown = parsed.warnings.slice(0, 20);
    for (const warning of shown) this.log.warn(`token file ${this.path}: ${warning}`);
    if (parsed.warnings.length > shown.length) {
      this.log.warn(`token file ${this.path}: ${parsed.warnings.length - shown.length} more entries repaired or skipped`);
    }

    if (parsed.kind === 'corrupt') {
      let target: string | undefined;
      try {
        target = setAside(this.path, new Date(this.clock.now()));
      } catch (err) {
        this.writesDisabled = true;
        this.log.error(
          `token file ${this.path} is unreadable (${parsed.error}) and could not be moved aside (${errorMessage(err)}); ` +
            'starting with no registered devices and NOT writing the file',
        );
        return { count: 0, source: 'corrupt' };
      }
      this.log.error(
        `token file ${this.path} is unreadable (${parsed.error}); kept as ${target} for inspection. ` +
          'Starting with no registered devices: phones register again when they next connect',
      );
      return { count: 0, source: 'corrupt', setAsideAs: target };
    }

    const oldest = this.clock.now() - LAST_SENT_KEEP_MS;
    const { kept, dropped, users } = trimToQuota(parsed.records, this.maxDevicesPerUser);
    for (const record of kept) this.put(pruneLastSent(record, oldest));
    if (dropped > 0) {
      this.log.warn(
        `token file ${this.path}: ${dropped} push tokens dropped, ${users === 1 ? 'one user was' : `${users} users were`} over ` +
          `fcm.max_devices_per_user (${this.maxDevicesPerUser}); each user keeps the newest registrations`,
      );
    }
    const trimmed = dropped > 0 ? { droppedOverQuota: dropped } : {};

    if (parsed.kind === 'lines') {
      try {
        writeFileAtomic(`${this.path}.migrated`, text);
        writeFileAtomic(this.path, serializeTokenFile(this.records.values()));
        this.log.info(`token file ${this.path}: migrated ${this.records.size} tokens from the old line format; old file kept as ${this.path}.migrated`);
      } catch (err) {
        // Memory holds the tokens; the next write retries the conversion.
        this.dirty = true;
        this.log.error(`token file ${this.path}: migration could not be written (${errorMessage(err)})`);
      }
      return { count: this.records.size, source: 'migrated', ...trimmed };
    }
    // The dropped entries must not come back at the next start.
    if (dropped > 0) this.changed();
    this.log.info(`loaded ${this.records.size} push tokens from ${this.path}`);
    return { count: this.records.size, source: parsed.kind === 'empty' ? 'empty' : 'json', ...trimmed };
  }

  get size(): number {
    return this.records.size;
  }

  get(token: string): TokenRecord | undefined {
    return this.records.get(token);
  }

  /** Every record, in registration order (the objects are immutable snapshots). */
  all(): TokenRecord[] {
    return [...this.records.values()];
  }

  /** How many devices a user bucket holds (undefined = tokens without a ZoneMinder user). */
  devicesOf(zmUser: string | undefined): number {
    return this.perUser.get(userBucket(zmUser)) ?? 0;
  }

  /**
   * Creates or updates a registration (protocol.md §3.6, §8). Returns the stored record, or
   * undefined when refused (logged): see `tryRegister`.
   */
  register(reg: Registration): TokenRecord | undefined {
    const result = this.tryRegister(reg);
    if (result.ok) return result.record;
    this.log.warn(result.detail);
    return undefined;
  }

  /**
   * Like `register`, but a refusal is returned with its reason instead of logged, so the caller
   * can answer the client and log once with its own context. Refused: an empty or oversized
   * token; a token new to its user while that user holds `maxDevicesPerUser` devices (a token
   * the same user re-registers never is); a new token while the store holds `maxTokens`.
   */
  tryRegister(reg: Registration): RegisterResult {
    const token = reg.token;
    if (token.trim() === '' || token.length > MAX_TOKEN_LENGTH) {
      return { ok: false, reason: 'invalid', detail: `push token registration refused: ${token.trim() === '' ? 'empty token' : `token of ${token.length} characters`}` };
    }
    const old = this.records.get(token);
    const zmUser = reg.zmUser ?? old?.zmUser;
    const bucket = userBucket(zmUser);
    const joinsBucket = old === undefined || userBucket(old.zmUser) !== bucket;
    if (joinsBucket && (this.perUser.get(bucket) ?? 0) >= this.maxDevicesPerUser) {
      const who = zmUser === undefined ? 'tokens without a ZoneMinder user' : `user ${JSON.stringify(zmUser)}`;
      return {
        ok: false,
        reason: 'quota',
        detail: `push token ${maskToken(token)} refused (TOKENQUOTA): ${who} already has ${this.maxDevicesPerUser} devices registered (fcm.max_devices_per_user)`,
      };
    }
    if (old === undefined && this.records.size >= this.maxTokens) {
      return { ok: false, reason: 'full', detail: `push token ${maskToken(token)} refused (TOKENSTOREFULL): ${this.maxTokens} devices are registered already` };
    }
    const profile =
      reg.profile === undefined ? old?.profile : reg.profile.trim() === '' ? undefined : reg.profile.trim().slice(0, MAX_PROFILE_LENGTH);
    const appversion = reg.appversion === undefined || reg.appversion === '' ? (old?.appversion ?? 'unknown') : reg.appversion;
    const kind = reg.clientKind === undefined || reg.clientKind === 'unknown' ? (old?.clientKind ?? 'unknown') : reg.clientKind;
    const record: TokenRecord = {
      token,
      platform: reg.platform.trim() || old?.platform || 'unknown',
      monlist: keepList(reg.monlist) ? (old?.monlist ?? '') : reg.monlist!.trim(),
      intlist: keepList(reg.intlist) ? (old?.intlist ?? '') : reg.intlist!.trim(),
      pushstate: reg.state === 'disabled' ? 'disabled' : 'enabled',
      appversion,
      invocations: old?.invocations ?? { count: 0, at: this.month() },
      profile,
      clientKind: kind,
      badge: old?.badge ?? 0,
      lastSent: old?.lastSent ?? {},
      zmUser,
      registeredAt: this.clock.now(),
    };
    this.put(record);
    this.noteChange(token, 'registration');
    if (old === undefined) {
      this.log.info(`registered push token ${maskToken(token)} (${record.platform}, ${record.pushstate}, ${record.clientKind})`);
    } else {
      this.log.debug(() => `updated push token ${maskToken(token)} (${record.platform}, ${record.pushstate})`);
    }
    this.changed();
    return { ok: true, record, created: old === undefined };
  }

  /** A filter change of a connection that holds this token (both lists replace the stored ones). */
  setFilter(token: string, monlist: string, intlist: string): boolean {
    return this.update(token, 'registration', (r) => ({ ...r, monlist: monlist.trim(), intlist: intlist.trim() }));
  }

  /** A badge frame: the app's unread count. */
  setBadge(token: string, badge: number): boolean {
    if (!Number.isSafeInteger(badge) || badge < 0) return false;
    return this.update(token, 'badge', (r) => (r.badge === badge ? r : { ...r, badge }));
  }

  /** The badge for the next push (stored + 1), persisted; undefined for an unknown token. */
  nextBadge(token: string): number | undefined {
    const record = this.records.get(token);
    if (record === undefined) return undefined;
    const badge = record.badge + 1;
    this.update(token, 'badge', (r) => ({ ...r, badge }));
    return badge;
  }

  /** Records a push that was really sent, for the per-monitor interval (defect #7). */
  recordSent(token: string, monitorId: number, at: number): boolean {
    return this.update(token, 'delivery', (r) => ({ ...r, lastSent: { ...r.lastSent, [String(monitorId)]: at } }));
  }

  /** Unix ms of the last push for this monitor to this token. */
  lastSent(token: string, monitorId: number): number | undefined {
    return this.records.get(token)?.lastSent[String(monitorId)];
  }

  /**
   * Counts one push against the monthly cap (local calendar month, like the classic counter).
   * False (nothing counted) when the cap is reached or the token is unknown.
   */
  tryConsume(token: string, now: number = this.clock.now()): boolean {
    const record = this.records.get(token);
    if (record === undefined) return false;
    const month = new Date(now).getMonth();
    const count = record.invocations.at === month ? record.invocations.count : 0;
    if (count >= this.monthlyLimit) {
      if (!this.capWarned.has(token)) {
        this.capWarned.add(token);
        this.log.warn(`push token ${maskToken(token)} reached the monthly limit of ${this.monthlyLimit} pushes; no more pushes to it this month`);
      }
      return false;
    }
    this.capWarned.delete(token);
    this.update(token, 'delivery', (r) => ({ ...r, invocations: { count: count + 1, at: month } }));
    return true;
  }

  /** Deletes a registration for good (FCM says the token is dead, or the app deregistered). */
  remove(token: string, reason: string): boolean {
    if (!this.drop(token)) return false;
    this.noteChange(token, 'removed');
    this.log.info(`removed push token ${maskToken(token)}: ${reason}`);
    this.changed();
    return true;
  }

  /** Writes the file now if anything changed. Never throws: a failed write is logged and retried. */
  flush(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (!this.dirty || this.writesDisabled) return;
    this.dirty = false;
    try {
      writeFileAtomic(this.path, serializeTokenFile(this.records.values()));
      if (this.writeFailing) this.log.info(`token file ${this.path} written again`);
      this.writeFailing = false;
    } catch (err) {
      this.dirty = true;
      if (!this.writeFailing) {
        this.log.error(`cannot write token file ${this.path} (${errorMessage(err)}); retrying`);
      }
      this.writeFailing = true;
      if (!this.stopped) this.timer = this.clock.setTimeout(() => this.flush(), this.retryDelayMs);
    }
  }

  /**
   * A crash between writing and renaming leaves writeFileAtomic's temporary file behind
   * (`.<name>.<pid>.<random>.tmp`); the real file is intact, so the leftover is just removed.
   */
  private removeStaleTempFiles(): void {
    const dir = dirname(this.path);
    const prefix = `.${basename(this.path)}.`;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // no directory yet
    }
    for (const name of names) {
      // Only our own temp names (atomic-file.ts): `.<file>.<pid>.<hex>.tmp`, whatever <file> contains.
      if (!name.startsWith(prefix) || !/^\d+\.[0-9a-f]+\.tmp$/.test(name.slice(prefix.length))) continue;
      try {
        rmSync(join(dir, name), { force: true });
      } catch (err) {
        this.log.debug(() => `could not remove leftover ${name}: ${errorMessage(err)}`);
      }
    }
  }

  /** Sets a record, keeping the per-user counts in step (a re-registration may move it to another user). */
  protected put(record: TokenRecord): void {
    const old = this.records.get(record.token);
    if (old !== undefined) this.count(old.zmUser, -1);
    this.records.set(record.token, record);
    this.count(record.zmUser, 1);
  }

  protected drop(token: string): boolean {
    const old = this.records.get(token);
    if (old === undefined) return false;
    this.records.delete(token);
    this.count(old.zmUser, -1);
    return true;
  }

  private count(zmUser: string | undefined, delta: number): void {
    const bucket = userBucket(zmUser);
    const next = (this.perUser.get(bucket) ?? 0) + delta;
    if (next > 0) this.perUser.set(bucket, next);
    else this.perUser.delete(bucket);
  }

  private update(token: string, kind: TokenChange, change: (r: TokenRecord) => TokenRecord): boolean {
    const record = this.records.get(token);
    if (record === undefined) return false;
    const next = change(record);
    if (next !== record) {
      this.records.set(token, next);
      this.noteChange(token, kind);
      this.changed();
    }
    return true;
  }

  /**
   * Which part of a record a change touched, for stores that write records in parts (the
   * cluster registry: the node holding a socket writes registrations, the lease holder badges
   * and deliveries). The file store writes whole files and needs none of it.
   */
  protected noteChange(_token: string, _kind: TokenChange): void {}

  protected changed(): void {
    this.dirty = true;
    if (this.stopped) {
      this.flush();
      return;
    }
    // Cleared before flush(), which a subclass may replace without knowing of this timer.
    if (this.timer === undefined) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.writeDelayMs);
    }
  }

  private month(): number {
    return new Date(this.clock.now()).getMonth();
  }
}

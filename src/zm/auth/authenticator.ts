import type { Logger } from '../../log/logger.js';
import type { AuthCache } from './auth-cache.js';
import { looksLikeJwt, tokenRevoked, verifyApiToken } from './api-token.js';
import type { MonitorVisibility, ZmUserRecord } from './permissions.js';
import { VISIBLE_ALL } from './permissions.js';
import { errorMessage } from '../../errors.js';
import { dummyPasswordHash } from './password.js';

/** A row of ZoneMinder's Users table, as much as authentication needs. */
export interface StoredUser extends ZmUserRecord {
  readonly passwordHash: string;
  readonly enabled: boolean;
  /** `Users.TokenMinExpiry`: API tokens issued before it are revoked. */
  readonly tokenMinExpiry: bigint | number | null;
  /** `Users.APIEnabled`: ZoneMinder refuses API tokens of a user without it. */
  readonly apiEnabled: boolean;
}

/** Where users, the API token secret and monitor permissions come from (ZoneMinder's DB). */
export interface UserDirectory {
  findUser(username: string): Promise<StoredUser | null>;
  /** `Config.ZM_AUTH_HASH_SECRET`, or null when unset. */
  authHashSecret(): Promise<string | null>;
  visibility(user: StoredUser): Promise<MonitorVisibility>;
}

const MAX_USERNAME_CHARS = 64;

export interface AuthenticatedUser {
  readonly name: string;
  readonly id: number | null;
  readonly visibility: MonitorVisibility;
  readonly via: 'password' | 'api-token' | 'auth-disabled';
  /**
   * What the login rested on, so the access re-check can tell when ZoneMinder withdrew it:
   * the stored password hash it was checked against, or the API token's lifetime.
   */
  readonly basis?: LoginBasis;
}

export type LoginBasis =
  | { readonly kind: 'password'; readonly passwordHash: string }
  | { readonly kind: 'api-token'; /** Seconds since the epoch. */ readonly issuedAt: number; readonly expiresAt: number };

export type AuthFailure =
  | 'missing-credentials'
  | 'unknown-user'
  | 'disabled-user'
  | 'wrong-password'
  | 'unverifiable-hash'
  | 'bad-token'
  | 'revoked-token'
  | 'api-disabled';

export type AuthOutcome =
  | { readonly ok: true; readonly user: AuthenticatedUser; readonly cached: boolean; readonly warning?: string }
  | { readonly ok: false; readonly reason: AuthFailure; readonly detail: string }
  /** The database could not be asked: not the client's fault, so no BADAUTH (zmNinjaNg would give up). */
  | { readonly ok: false; readonly reason: 'unavailable'; readonly detail: string };

/**
 * Checks credentials the way ZoneMinder does: the stored hash (bcrypt, MySQL-41, -ZM-, plain),
 * or a ZoneMinder API access token in the password field. Disabled users are refused by
 * every path. Successful password checks are cached (see AuthCache).
 */
export class Authenticator {
  constructor(
    private readonly users: UserDirectory,
    private readonly cache: AuthCache,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async authenticate(username: string | undefined, password: string | undefined): Promise<AuthOutcome> {
    const name = username ?? '';
    const secret = password ?? '';
    if (secret !== '' && looksLikeJwt(secret)) return this.withToken(name, secret);
    if (name === '' || secret === '') return { ok: false, reason: 'missing-credentials', detail: 'empty user or password' };
    // ZoneMinder's Username is varchar(32) (64 on newer schemas): a longer name cannot exist, so
    // refusing it unasked reveals nothing and keeps megabyte names out of queries and caches.
    if (name.length > MAX_USERNAME_CHARS) return { ok: false, reason: 'unknown-user', detail: `user name longer than ${MAX_USERNAME_CHARS} characters` };
    try {
      const user = await this.users.findUser(name);
      if (!user || !user.enabled) {
        await this.costOfAPasswordCheck(name, secret);
        return user
          ? { ok: false, reason: 'disabled-user', detail: 'user is disabled in ZoneMinder' }
          : { ok: false, reason: 'unknown-user', detail: 'no such user' };
      }
      const check = await this.cache.verify(user.username, secret, user.passwordHash);
      if (!check.ok) {
        return check.scheme === 'unknown'
          ? { ok: false, reason: 'unverifiable-hash', detail: 'stored password hash has an unknown format' }
          : { ok: false, reason: 'wrong-password', detail: `password does not match (${check.scheme})` };
      }
      const visibility = await this.users.visibility(user);
      return {
        ok: true,
        cached: check.cached,
        user: { name: user.username, id: user.id, visibility, via: 'password', basis: { kind: 'password', passwordHash: user.passwordHash } },
        ...(check.warning ? { warning: check.warning } : {}),
      };
    } catch (err) {
      return { ok: false, reason: 'unavailable', detail: errorMessage(err) };
    }
  }

  /**
   * Spends what a wrong password for a real user costs (the same cache path, a bcrypt at
   * ZoneMinder's cost), so answer times do not tell which user names exist or are enabled.
   */
  private async costOfAPasswordCheck(name: string, secret: string): Promise<void> {
    try {
      await this.cache.verify(name, secret, await dummyPasswordHash());
    } catch (err) {
      // The refusal stands either way; only the timing cover is lost.
      this.log.debug(() => `dummy password check failed: ${errorMessage(err)}`);
    }
  }

  /** With auth.enable off any credentials pass, but an auth frame is still required. */
  static anonymous(username: string | undefined): AuthenticatedUser {
    return { name: username || 'anonymous', id: null, visibility: VISIBLE_ALL, via: 'auth-disabled' };
  }

  private async withToken(claimedName: string, token: string): Promise<AuthOutcome> {
    try {
      const secret = await this.users.authHashSecret();
      if (!secret) return { ok: false, reason: 'bad-token', detail: 'ZM_AUTH_HASH_SECRET is not set in ZoneMinder' };
      const verified = await verifyApiToken(token, { secret, clock: { now: this.now } });
      if (!verified.ok) return { ok: false, reason: 'bad-token', detail: `API token rejected (${verified.reason})` };
      if (claimedName !== '' && claimedName !== verified.user) {
        return { ok: false, reason: 'bad-token', detail: 'API token belongs to another user' };
      }
      const user = await this.users.findUser(verified.user);
      if (!user) return { ok: false, reason: 'unknown-user', detail: 'API token names an unknown user' };
      if (!user.enabled) return { ok: false, reason: 'disabled-user', detail: 'user is disabled in ZoneMinder' };
      if (!user.apiEnabled) return { ok: false, reason: 'api-disabled', detail: 'API access is disabled for this user in ZoneMinder (APIEnabled)' };
      if (tokenRevoked(verified.iat, user.tokenMinExpiry)) {
        return { ok: false, reason: 'revoked-token', detail: 'API token issued before the user’s TokenMinExpiry' };
      }
      const visibility = await this.users.visibility(user);
      const basis: LoginBasis = { kind: 'api-token', issuedAt: verified.iat, expiresAt: verified.exp };
      return { ok: true, cached: false, user: { name: user.username, id: user.id, visibility, via: 'api-token', basis } };
    } catch (err) {
      this.log.debug(() => `token authentication could not complete: ${errorMessage(err)}`);
      return { ok: false, reason: 'unavailable', detail: errorMessage(err) };
    }
  }
}

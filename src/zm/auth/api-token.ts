/**
 * ZoneMinder API access tokens (zoneminder.md §9.1): HS256 JWTs signed with the raw bytes of
 * `ZM_AUTH_HASH_SECRET`, payload `{iss:"ZoneMinder", iat, exp, user, type}`. Neither app sends
 * one to the event server today; this lets a password field carry a token the way ZM's own
 * API accepts it. Loading the user (Enabled=1) and the revocation check against
 * `Users.TokenMinExpiry` are the caller's, with `tokenRevoked`.
 */
import type { Clock } from '../../clock.js';

export type ApiTokenFailure =
  | 'malformed'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-issuer'
  | 'wrong-type'
  | 'no-secret';

export type ApiTokenResult =
  | { readonly ok: true; readonly user: string; /** Seconds since the epoch. */ readonly iat: number; /** Seconds since the epoch. */ readonly exp: number }
  | { readonly ok: false; readonly reason: ApiTokenFailure };

export interface ApiTokenOptions {
  /** `Config.ZM_AUTH_HASH_SECRET` as stored (its UTF-8 bytes are the HMAC key). */
  readonly secret: string;
  readonly clock?: Pick<Clock, 'now'>;
  /** Seconds of clock skew allowed on exp/nbf; ZoneMinder allows none. Default 0. */
  readonly clockToleranceSec?: number;
}

const ISSUER = 'ZoneMinder';
/** Longer than any real token (about 200 chars); keeps hostile input cheap to refuse. */
const MAX_TOKEN_LENGTH = 4096;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Whether a credential is shaped like a JWT (three base64url parts whose first decodes to a
 * JSON header with an `alg`), so a password field can be routed to token verification.
 * A real password matching this by accident would need a valid base64url JSON header.
 */
export function looksLikeJwt(value: string): boolean {
  if (value.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(value)) return false;
  const headerPart = value.slice(0, value.indexOf('.'));
  try {
    const header: unknown = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

/** ZoneMinder revokes every token issued before `Users.TokenMinExpiry` (seconds). */
export function tokenRevoked(iat: number, tokenMinExpiry: number | bigint | null | undefined): boolean {
  if (tokenMinExpiry === null || tokenMinExpiry === undefined) return false;
  return iat < tokenMinExpiry;
}

export async function verifyApiToken(token: string, options: ApiTokenOptions): Promise<ApiTokenResult> {
  if (options.secret === '') return { ok: false, reason: 'no-secret' };
  if (token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) return { ok: false, reason: 'malformed' };
  const now = options.clock?.now() ?? Date.now();
  let payload: Record<string, unknown>;
  // jose is loaded on the first API token only: most installations never see one.
  const { jwtVerify, errors: joseErrors } = await import('jose');
  try {
    const result = await jwtVerify(token, new TextEncoder().encode(options.secret), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      requiredClaims: ['exp', 'iat'],
      currentDate: new Date(now),
      clockTolerance: options.clockToleranceSec ?? 0,
    });
    payload = result.payload;
  } catch (err) {
    return { ok: false, reason: classify(err, joseErrors) };
  }
  if (payload['type'] !== 'access') return { ok: false, reason: 'wrong-type' };
  const user = payload['user'];
  const iat = payload['iat'];
  if (typeof user !== 'string' || user === '' || typeof iat !== 'number' || !Number.isFinite(iat)) {
    return { ok: false, reason: 'malformed' };
  }
  // jwtVerify enforced a numeric exp (requiredClaims), so this is only for the type.
  const exp = typeof payload['exp'] === 'number' ? payload['exp'] : iat;
  return { ok: true, user, iat, exp };
}

function classify(err: unknown, joseErrors: typeof import('jose').errors): ApiTokenFailure {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad-signature';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return 'wrong-issuer';
    if (err.claim === 'nbf') return 'not-yet-valid';
    return 'malformed';
  }
  // JWSInvalid, JWTInvalid, JOSEAlgNotAllowed (e.g. alg "none" or RS256), or anything else.
  return 'malformed';
}

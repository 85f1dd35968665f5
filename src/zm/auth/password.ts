/**
 * Verifies a clear-text password against ZoneMinder's stored `Users.Password`
 * (zoneminder.md §8). Never throws and never blocks the event loop: bcrypt runs on the libuv
 * threadpool through @node-rs/bcrypt, on all cores but one (see BCRYPT_CONCURRENCY).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { hash as bcryptHash, verify as bcryptVerify } from '@node-rs/bcrypt';
import pLimit from 'p-limit';

export type PasswordScheme = 'bcrypt' | 'mysql41' | 'zm-bcrypt' | 'plain' | 'unknown';

export interface PasswordCheck {
  readonly ok: boolean;
  readonly scheme: PasswordScheme;
  /** Something an operator should know (plain-text hash, unusable hash); never contains secrets. */
  readonly warning?: string;
}

/**
 * A complete bcrypt hash as PHP and ZoneMinder write it: prefix 2a/2b/2y, a two-digit cost
 * 04–31, 53 characters of bcrypt base64 (22 salt + 31 hash). Checked before calling the library
 * because @node-rs/bcrypt also accepts `$2x$` and `+4`-style costs, which ZoneMinder never writes.
 */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;
const MYSQL41 = /^\*[0-9A-Fa-f]{40}$/;
const ZM_BCRYPT_PREFIX = '-ZM-';
/** Modular-crypt-looking strings (`$1$`, `$6$`, `$argon2id$`, `$2x$`…): a hash, never plain text. */
const CRYPT_LIKE = /^\$[0-9A-Za-z-]{1,32}\$/;

/** MySQL 4.1 `PASSWORD()`: `'*' + upper(hex(sha1(sha1_raw(password))))`. */
export function mysql41Hash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return '*' + createHash('sha1').update(inner).digest('hex').toUpperCase();
}

/** Recognises the stored hash's scheme without verifying anything. */
export function passwordScheme(storedHash: string): PasswordScheme {
  if (storedHash === '') return 'unknown';
  if (BCRYPT.test(storedHash)) return 'bcrypt';
  if (MYSQL41.test(storedHash)) return 'mysql41';
  if (storedHash.startsWith(ZM_BCRYPT_PREFIX)) return BCRYPT.test(storedHash.slice(ZM_BCRYPT_PREFIX.length)) ? 'zm-bcrypt' : 'unknown';
  // ZoneMinder itself treats any leading '*' as MySQL-41 and '$2?$' as bcrypt, so a malformed
  // one of those is a damaged hash. Comparing it literally would let whoever read the hash
  // log in with it, so it is refused instead of being taken as plain text.
  if (storedHash.startsWith('*') || CRYPT_LIKE.test(storedHash)) return 'unknown';
  return 'plain';
}

/** Equal strings without a timing signal on where they differ (or on their lengths). */
function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/**
 * How many bcrypt checks run at once. Each keeps a core busy for 50–100 ms; as many as the
 * threadpool allows (4) would leave the event loop waiting for a core during a cold login storm
 * (stalls of 60–100 ms on two cores, against 15–30 ms with one check at a time), delaying alarms
 * for everybody. One core stays free for the loop; the rest queue, in order.
 */
export function bcryptConcurrency(cores: number): number {
  return Math.max(1, cores - 1);
}

export const BCRYPT_CONCURRENCY = bcryptConcurrency(availableParallelism());

/** `verify` with at most `concurrency` calls in flight; the others wait in arrival order. */
export function limitedVerifier(
  concurrency: number,
  verify: (password: string, hash: string) => Promise<boolean>,
): (password: string, hash: string) => Promise<boolean> {
  const limit = pLimit(concurrency);
  return (password, hash) => limit(() => verify(password, hash));
}

const limitedBcryptVerify = limitedVerifier(BCRYPT_CONCURRENCY, bcryptVerify);

async function bcryptMatches(password: string, hash: string): Promise<boolean> {
  try {
    return await limitedBcryptVerify(password, hash);
  } catch {
    // The library returns false for malformed hashes; a rejection would be a library fault,
    // and a login must not crash the server (classic defect #9).
    return false;
  }
}

export async function verifyZmPassword(password: string, storedHash: string): Promise<PasswordCheck> {
  const scheme = passwordScheme(storedHash);
  switch (scheme) {
    case 'bcrypt':
      return { ok: await bcryptMatches(password, storedHash), scheme };
    case 'mysql41': {
      const expected = Buffer.from(mysql41Hash(password), 'ascii');
      const stored = Buffer.from(storedHash.toUpperCase(), 'ascii');
      // Both are exactly 41 ASCII bytes here (the regex pinned the stored one).
      return { ok: timingSafeEqual(expected, stored), scheme };
    }
    case 'zm-bcrypt':
      // zmupdate.pl wrapped old MySQL-41 hashes in bcrypt: compare the MySQL-41 string.
      return { ok: await bcryptMatches(mysql41Hash(password), storedHash.slice(ZM_BCRYPT_PREFIX.length)), scheme };
    case 'plain':
      return {
        ok: constantTimeEqual(password, storedHash),
        scheme,
        warning: "password stored in plain text in ZoneMinder's Users table; set it again in ZoneMinder to store a hash",
      };
    case 'unknown':
      return {
        ok: false,
        scheme,
        warning: storedHash === '' ? 'user has an empty password hash' : 'stored password hash has an unrecognised or damaged format',
      };
  }
}

/** PHP's password_hash() default, which ZoneMinder's web UI uses for Users.Password. */
export const ZM_BCRYPT_COST = 10;

let dummyHash: Promise<string> | undefined;

/**
 * A bcrypt hash of a random password nobody knows, at ZoneMinder's cost: verifying against it
 * makes an unknown or disabled user cost as much as a wrong password, so response times do not
 * tell which user names exist. Made on first use (one hash, ~70 ms) and kept for the process.
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= bcryptHash(randomBytes(24).toString('base64'), ZM_BCRYPT_COST).catch((err: unknown) => {
    dummyHash = undefined;
    throw err;
  });
  return dummyHash;
}

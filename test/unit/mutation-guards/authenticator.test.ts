// The authenticator's decisions without a database: every way a login is refused, what a
// successful one records for the access re-check, and API tokens in the password field.
// (test/integration/zm/authenticator.test.ts covers the same class against real MariaDB.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { Authenticator, type StoredUser, type UserDirectory } from '../../../src/zm/auth/authenticator.js';
import { AuthCache } from '../../../src/zm/auth/auth-cache.js';
import { mysql41Hash, passwordScheme, verifyZmPassword } from '../../../src/zm/auth/password.js';
import { VISIBLE_ALL, type MonitorVisibility } from '../../../src/zm/auth/permissions.js';
import { manualClock } from '../../helpers/manual-clock.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { storedUser } from '../../helpers/stored-user.js';

const SECRET = 'zm auth hash secret';
const NOW_S = 1_800_000_000;
const SOME: MonitorVisibility = { kind: 'some', ids: new Set([2, 5]) };

function user(overrides: Partial<StoredUser> = {}): StoredUser {
  return storedUser({ passwordHash: mysql41Hash('alice-pw'), ...overrides });
}

class StubUsers implements UserDirectory {
  readonly rows = new Map<string, StoredUser>();
  secret: string | null = SECRET;
  visible: MonitorVisibility = SOME;
  failFind: Error | undefined;
  failVisibility: Error | undefined;
  failSecret: Error | undefined;
  readonly found: string[] = [];
  readonly visibilityAsked: StoredUser[] = [];

  constructor(...rows: StoredUser[]) {
    for (const row of rows) this.rows.set(row.username, row);
  }
  async findUser(username: string): Promise<StoredUser | null> {
    this.found.push(username);
    if (this.failFind) throw this.failFind;
    return this.rows.get(username) ?? null;
  }
  async authHashSecret(): Promise<string | null> {
    if (this.failSecret) throw this.failSecret;
    return this.secret;
  }
  async visibility(row: StoredUser): Promise<MonitorVisibility> {
    this.visibilityAsked.push(row);
    if (this.failVisibility) throw this.failVisibility;
    return this.visible;
  }
}

function setup(...rows: StoredUser[]) {
  const users = new StubUsers(...rows);
  const clock = manualClock(NOW_S * 1000);
  const logs = memoryLogger('debug');
  const checks: Array<{ password: string; storedHash: string }> = [];
  let failChecks = false;
  const cache = new AuthCache({ maxEntries: 10, ttlMs: 60_000, clock }, async (password, storedHash) => {
    checks.push({ password, storedHash });
    if (failChecks) throw new Error('threadpool gone');
    return verifyZmPassword(password, storedHash);
  });
  const authenticator = new Authenticator(users, cache, logs.log, () => clock.now());
  return {
    users,
    clock,
    logs,
    checks,
    authenticator,
    failPasswordChecks: () => {
      failChecks = true;
    },
  };
}

async function apiToken(claims: Record<string, unknown> = {}, secret = SECRET): Promise<string> {
  const payload: Record<string, unknown> = { iss: 'ZoneMinder', iat: NOW_S - 60, exp: NOW_S + 3600, user: 'alice', type: 'access', ...claims };
  return new SignJWT(payload).setProtectedHeader({ typ: 'JWT', alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

describe('Authenticator with a password', () => {
  test('missing user or password is refused before anything is asked', async () => {
    const { authenticator, users, checks } = setup(user());
    const missing = { ok: false, reason: 'missing-credentials', detail: 'empty user or password' };
    assert.deepEqual(await authenticator.authenticate(undefined, 'alice-pw'), missing);
    assert.deepEqual(await authenticator.authenticate('alice', undefined), missing);
    assert.deepEqual(await authenticator.authenticate('', 'alice-pw'), missing);
    assert.deepEqual(await authenticator.authenticate('alice', ''), missing);
    assert.deepEqual(users.found, []);
    assert.deepEqual(checks, []);
  });

  test('a name longer than 64 characters is refused unasked; 64 characters are looked up', async () => {
    const { authenticator, users, checks } = setup();
    assert.deepEqual(await authenticator.authenticate('a'.repeat(65), 'pw'), {
      ok: false,
      reason: 'unknown-user',
      detail: 'user name longer than 64 characters',
    });
    assert.deepEqual(users.found, []);
    assert.deepEqual(checks, []);
    const outcome = await authenticator.authenticate('a'.repeat(64), 'pw');
    assert.equal(outcome.ok === false && outcome.reason, 'unknown-user');
    assert.deepEqual(users.found, ['a'.repeat(64)]);
  });

  test('an unknown user is refused after a password check against a bcrypt dummy hash', async () => {
    const { authenticator, checks } = setup(user());
    assert.deepEqual(await authenticator.authenticate('bob', 'guess'), { ok: false, reason: 'unknown-user', detail: 'no such user' });
    assert.equal(checks.length, 1);
    assert.equal(checks[0]!.password, 'guess');
    assert.equal(passwordScheme(checks[0]!.storedHash), 'bcrypt');
  });

  test('a disabled user is refused even with the right password, after the same dummy check', async () => {
    const { authenticator, checks, users } = setup(user({ enabled: false }));
    assert.deepEqual(await authenticator.authenticate('alice', 'alice-pw'), {
      ok: false,
      reason: 'disabled-user',
      detail: 'user is disabled in ZoneMinder',
    });
    assert.equal(checks.length, 1);
    assert.notEqual(checks[0]!.storedHash, users.rows.get('alice')!.passwordHash);
    assert.deepEqual(users.visibilityAsked, []);
  });

  test('a failing dummy check still refuses the login, and says so in the debug log', async () => {
    const { authenticator, logs, failPasswordChecks } = setup();
    failPasswordChecks();
    assert.deepEqual(await authenticator.authenticate('bob', 'guess'), { ok: false, reason: 'unknown-user', detail: 'no such user' });
    assert.equal(logs.grep(/dummy password check failed: threadpool gone/).length, 1);
  });

  test('a wrong password is refused with the scheme it was checked by', async () => {
    const { authenticator, users } = setup(user());
    assert.deepEqual(await authenticator.authenticate('alice', 'wrong'), {
      ok: false,
      reason: 'wrong-password',
      detail: 'password does not match (mysql41)',
    });
    assert.deepEqual(users.visibilityAsked, []);
  });

  test('a stored hash of unknown format is refused as unverifiable, not as a wrong password', async () => {
    const { authenticator } = setup(user({ passwordHash: '$6$salt$hash' }));
    assert.deepEqual(await authenticator.authenticate('alice', 'anything'), {
      ok: false,
      reason: 'unverifiable-hash',
      detail: 'stored password hash has an unknown format',
    });
  });

  test('the right password gives the user as ZoneMinder spells it, its monitors and the hash it rests on', async () => {
    const row = user({ username: 'Alice', id: 9 });
    const { authenticator, users } = setup();
    users.rows.set('alice', row);
    const outcome = await authenticator.authenticate('alice', 'alice-pw');
    assert.deepEqual(outcome, {
      ok: true,
      cached: false,
      user: { name: 'Alice', id: 9, visibility: SOME, via: 'password', basis: { kind: 'password', passwordHash: row.passwordHash } },
    });
    assert.ok(outcome.ok && !('warning' in outcome), 'no warning key for a hashed password');
    assert.deepEqual(users.visibilityAsked, [row]);
    // The second login is answered from the cache.
    const again = await authenticator.authenticate('alice', 'alice-pw');
    assert.equal(again.ok && again.cached, true);
  });

  test('a plain-text stored password logs in with a warning for the operator', async () => {
    const { authenticator } = setup(user({ passwordHash: 'alice-pw' }));
    const outcome = await authenticator.authenticate('alice', 'alice-pw');
    assert.equal(outcome.ok, true);
    assert.match((outcome.ok && outcome.warning) || '', /plain text/);
  });

  test('a database failure is "unavailable" (not a bad login), with the error', async () => {
    const { authenticator, users } = setup(user());
    users.failFind = new Error('connect ECONNREFUSED');
    assert.deepEqual(await authenticator.authenticate('alice', 'alice-pw'), { ok: false, reason: 'unavailable', detail: 'connect ECONNREFUSED' });
    users.failFind = undefined;
    users.failVisibility = new Error('query timeout');
    assert.deepEqual(await authenticator.authenticate('alice', 'alice-pw'), { ok: false, reason: 'unavailable', detail: 'query timeout' });
  });

  test('anonymous users (auth off) see every monitor and keep the name they gave', () => {
    assert.deepEqual(Authenticator.anonymous('bob'), { name: 'bob', id: null, visibility: VISIBLE_ALL, via: 'auth-disabled' });
    assert.equal(Authenticator.anonymous(undefined).name, 'anonymous');
    assert.equal(Authenticator.anonymous('').name, 'anonymous');
  });
});

describe('Authenticator with an API token in the password field', () => {
  test('a valid token logs its user in, with or without the user name, and records its lifetime', async () => {
    const { authenticator, users, checks } = setup(user({ id: 3 }));
    const token = await apiToken();
    const expected = {
      ok: true,
      cached: false,
      user: { name: 'alice', id: 3, visibility: SOME, via: 'api-token', basis: { kind: 'api-token', issuedAt: NOW_S - 60, expiresAt: NOW_S + 3600 } },
    };
    assert.deepEqual(await authenticator.authenticate('alice', token), expected);
    assert.deepEqual(await authenticator.authenticate('', token), expected);
    assert.deepEqual(await authenticator.authenticate(undefined, token), expected);
    assert.deepEqual(users.found, ['alice', 'alice', 'alice']);
    assert.deepEqual(checks, [], 'a token is never taken for a password');
  });

  test('a token is checked against the injected clock', async () => {
    const { authenticator, clock } = setup(user());
    const token = await apiToken({ exp: NOW_S + 10 });
    assert.equal((await authenticator.authenticate('alice', token)).ok, true);
    clock.advance(11_000);
    assert.deepEqual(await authenticator.authenticate('alice', token), { ok: false, reason: 'bad-token', detail: 'API token rejected (expired)' });
  });

  test('a token is refused when ZoneMinder has no secret, or the signature does not match', async () => {
    const { authenticator, users } = setup(user());
    assert.deepEqual(await authenticator.authenticate('alice', await apiToken({}, 'another secret')), {
      ok: false,
      reason: 'bad-token',
      detail: 'API token rejected (bad-signature)',
    });
    users.secret = null;
    assert.deepEqual(await authenticator.authenticate('alice', await apiToken()), {
      ok: false,
      reason: 'bad-token',
      detail: 'ZM_AUTH_HASH_SECRET is not set in ZoneMinder',
    });
    users.secret = '';
    assert.equal((await authenticator.authenticate('alice', await apiToken())).ok, false);
    assert.deepEqual(users.found, []);
  });

  test('a token of another user is refused when a user name is given', async () => {
    const { authenticator, users } = setup(user(), user({ username: 'bob', id: 8 }));
    assert.deepEqual(await authenticator.authenticate('bob', await apiToken()), {
      ok: false,
      reason: 'bad-token',
      detail: 'API token belongs to another user',
    });
    assert.deepEqual(users.found, []);
  });

  test('a token of an unknown, disabled or API-disabled user is refused', async () => {
    const { authenticator, users } = setup();
    const token = await apiToken();
    assert.deepEqual(await authenticator.authenticate('alice', token), { ok: false, reason: 'unknown-user', detail: 'API token names an unknown user' });
    users.rows.set('alice', user({ enabled: false }));
    assert.deepEqual(await authenticator.authenticate('alice', token), { ok: false, reason: 'disabled-user', detail: 'user is disabled in ZoneMinder' });
    users.rows.set('alice', user({ apiEnabled: false }));
    assert.deepEqual(await authenticator.authenticate('alice', token), {
      ok: false,
      reason: 'api-disabled',
      detail: 'API access is disabled for this user in ZoneMinder (APIEnabled)',
    });
    assert.deepEqual(users.visibilityAsked, []);
  });

  test('a token issued before the user’s TokenMinExpiry is revoked; one issued at it is not', async () => {
    const { authenticator, users } = setup();
    const token = await apiToken({ iat: NOW_S - 60 });
    users.rows.set('alice', user({ tokenMinExpiry: NOW_S - 59 }));
    assert.deepEqual(await authenticator.authenticate('alice', token), {
      ok: false,
      reason: 'revoked-token',
      detail: 'API token issued before the user’s TokenMinExpiry',
    });
    users.rows.set('alice', user({ tokenMinExpiry: BigInt(NOW_S - 60) }));
    assert.equal((await authenticator.authenticate('alice', token)).ok, true);
  });

  test('a database failure during a token login is "unavailable" and logged at debug', async () => {
    const { authenticator, users, logs } = setup(user());
    users.failSecret = new Error('connect ETIMEDOUT');
    assert.deepEqual(await authenticator.authenticate('alice', await apiToken()), { ok: false, reason: 'unavailable', detail: 'connect ETIMEDOUT' });
    assert.equal(logs.grep(/token authentication could not complete: connect ETIMEDOUT/).length, 1);
    users.failSecret = undefined;
    users.failVisibility = new Error('lost');
    assert.deepEqual(await authenticator.authenticate('alice', await apiToken()), { ok: false, reason: 'unavailable', detail: 'lost' });
  });
});

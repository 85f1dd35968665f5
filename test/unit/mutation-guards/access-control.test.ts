// Access control edges beyond the tests in test/unit/zm/auth: API token size and shape limits,
// the login limiter's bookkeeping, permission rows that must not decide, password schemes, and
// the access review of an open login.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { looksLikeJwt, tokenRevoked, verifyApiToken } from '../../../src/zm/auth/api-token.js';
import { LoginLimiter, type LimiterVerdict, type LoginLimiterOptions } from '../../../src/zm/auth/login-limiter.js';
import {
  canSee,
  monitorVisibility,
  type GroupTree,
  type PermissionGrants,
  type PermissionModel,
  type ZmUserRecord,
} from '../../../src/zm/auth/permissions.js';
import { passwordScheme, verifyZmPassword } from '../../../src/zm/auth/password.js';
import { reviewAccess, sameVisibility } from '../../../src/zm/auth/access-review.js';
import type { AuthenticatedUser, StoredUser } from '../../../src/zm/auth/authenticator.js';
import { VISIBLE_ALL, type MonitorVisibility } from '../../../src/zm/auth/permissions.js';
import { manualClock } from '../../helpers/manual-clock.js';
import { storedUser } from '../../helpers/stored-user.js';

// ---------------------------------------------------------------------------------------------
// API tokens

const SECRET = 'zm secret';
const NOW_S = 1_800_000_000;
const clock = { now: () => NOW_S * 1000 };

async function signed(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ iss: 'ZoneMinder', iat: NOW_S, exp: NOW_S + 3600, user: 'admin', type: 'access', ...claims })
    .setProtectedHeader({ typ: 'JWT', alg: 'HS256', ...header })
    .sign(new TextEncoder().encode(SECRET));
}

/** A valid token of exactly `length` characters (padded with a claim and, for the odd lengths base64 cannot make, a header field). */
async function tokenOfLength(length: number): Promise<string> {
  for (let kid = 0; kid < 4; kid++) {
    const header = kid === 0 ? {} : { kid: 'k'.repeat(kid) };
    const base = (await signed({ pad: '' }, header)).length;
    for (let pad = Math.max(0, Math.floor(((length - base) * 3) / 4) - 4); pad < length; pad++) {
      const token = await signed({ pad: 'p'.repeat(pad) }, header);
      if (token.length === length) return token;
      if (token.length > length) break;
    }
  }
  throw new Error(`no token of ${length} characters`);
}

describe('API tokens: size and shape', () => {
  test('a token of 4096 characters is accepted; a longer one is refused before any crypto, valid or not', async () => {
    const longest = await tokenOfLength(4096);
    assert.equal(looksLikeJwt(longest), true);
    assert.equal((await verifyApiToken(longest, { secret: SECRET, clock })).ok, true);
    const tooLong = await tokenOfLength(4097);
    assert.equal(looksLikeJwt(tooLong), false);
    assert.deepEqual(await verifyApiToken(tooLong, { secret: SECRET, clock }), { ok: false, reason: 'malformed' });
  });

  test('anything around the three parts makes it no token', async () => {
    const token = await signed();
    assert.equal(looksLikeJwt(token), true);
    for (const text of [`!${token}`, `${token}!`, ` ${token}`, `${token}.x`]) {
      assert.equal(looksLikeJwt(text), false, text.slice(0, 8));
    }
  });

  test('without a clock the system time is used', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await verifyApiToken(await signed({ iat: now - 10, exp: now + 600 }), { secret: SECRET })).ok, true);
    assert.deepEqual(await verifyApiToken(await signed({ iat: now - 600, exp: now - 10 }), { secret: SECRET }), { ok: false, reason: 'expired' });
  });

  test('a clock tolerance lets a token that just expired through', async () => {
    const token = await signed({ exp: NOW_S - 10 });
    assert.deepEqual(await verifyApiToken(token, { secret: SECRET, clock }), { ok: false, reason: 'expired' });
    assert.equal((await verifyApiToken(token, { secret: SECRET, clock, clockToleranceSec: 30 })).ok, true);
  });

  test('without a TokenMinExpiry nothing is revoked, whatever the token’s iat', () => {
    assert.equal(tokenRevoked(-5, null), false);
    assert.equal(tokenRevoked(-5, undefined), false);
    assert.equal(tokenRevoked(-5, 0), true);
  });
});

// ---------------------------------------------------------------------------------------------
// Login limiter

const LIMITS: LoginLimiterOptions = { maxFailures: 3, maxFailuresPerUser: 30, maxFailuresPerAddress: 100, windowMs: 60_000 };

function limiterWith(options: Partial<LoginLimiterOptions> = {}) {
  const time = manualClock(1_000_000);
  return { limiter: new LoginLimiter({ ...LIMITS, ...options }, time), clock: time };
}

const refusedBy = (verdict: LimiterVerdict) => (verdict.allowed ? undefined : verdict.limit);

describe('LoginLimiter', () => {
  test('the refusal names the setting and the window in whole seconds', () => {
    const { limiter } = limiterWith({ windowMs: 90_400 });
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1', 'admin');
    const verdict = limiter.check('10.0.0.1', 'admin');
    assert.equal(!verdict.allowed && verdict.detail, '3 failures for this user from this address in 90 s, auth.max_failures');
  });

  test('the longest refusal wins; on a tie the first one checked (user and address) is named', () => {
    const { limiter, clock } = limiterWith({ maxFailures: 5, maxFailuresPerAddress: 3 });
    for (let i = 0; i < 5; i++) limiter.recordFailure('10.0.0.1', 'admin');
    clock.advance(30_000);
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1', `guess${i}`);
    const verdict = limiter.check('10.0.0.1', 'admin');
    assert.equal(refusedBy(verdict), 'address', 'the address count lasts 30 s longer');
    assert.equal(!verdict.allowed && verdict.retryAfterMs, 60_000);

    const tie = limiterWith({ maxFailures: 3, maxFailuresPerAddress: 3 }).limiter;
    for (let i = 0; i < 3; i++) tie.recordFailure('10.0.0.2', 'admin');
    assert.equal(refusedBy(tie.check('10.0.0.2', 'admin')), 'user-address');
  });

  test('the counts stop at each limit, and only enabled counts keep keys', () => {
    const { limiter } = limiterWith({ maxFailuresPerUser: 0, maxFailuresPerAddress: 4 });
    let counts = { pair: 0, user: 0, address: 0 };
    for (let i = 0; i < 6; i++) counts = limiter.recordFailure('10.0.0.1', 'admin');
    assert.deepEqual(counts, { pair: 3, user: 0, address: 4 });
    limiter.recordFailure('10.0.0.2', 'bob');
    assert.deepEqual(limiter.size, { pairs: 2, users: 0, addresses: 2, knownGood: 0 });
  });

  test('keys whose failures all left the window are dropped when next looked at', () => {
    const { limiter, clock } = limiterWith();
    limiter.recordFailure('10.0.0.1', 'admin');
    clock.advance(60_001);
    assert.deepEqual(limiter.check('10.0.0.1', 'admin'), { allowed: true });
    assert.deepEqual(limiter.size, { pairs: 0, users: 0, addresses: 0, knownGood: 0 });
  });

  test('no user name and an empty one are the same user', () => {
    const { limiter } = limiterWith();
    limiter.recordFailure('10.0.0.1', undefined);
    limiter.recordFailure('10.0.0.1', '');
    limiter.recordFailure('10.0.0.1', '  ');
    assert.equal(refusedBy(limiter.check('10.0.0.1', undefined)), 'user-address');
    assert.equal(refusedBy(limiter.check('10.0.0.1', '')), 'user-address');
  });

  test('a known-good address is remembered once, however often the user logs in from it', () => {
    const { limiter } = limiterWith({ maxFailuresPerUser: 2, knownGoodPerUser: 2 });
    limiter.recordSuccess('10.0.0.1', 'admin');
    limiter.recordSuccess('10.0.0.2', 'admin');
    for (let i = 0; i < 3; i++) limiter.recordSuccess('10.0.0.1', 'admin');
    assert.equal(limiter.size.knownGood, 2);
    // Both addresses are still exempt from the per-user limit.
    for (let i = 0; i < 2; i++) limiter.recordFailure(`203.0.113.${i}`, 'admin');
    assert.equal(refusedBy(limiter.check('203.0.113.9', 'admin')), 'user');
    assert.equal(limiter.check('10.0.0.1', 'admin').allowed, true);
    assert.equal(limiter.check('10.0.0.2', 'admin').allowed, true);
  });

  test('invalid options are refused with the setting named', () => {
    assert.throws(() => limiterWith({ maxFailuresPerAddress: -1 }), /maxFailuresPerAddress must be a non-negative integer, got -1/);
    assert.throws(() => limiterWith({ maxFailuresPerUser: 1.5 }), /maxFailuresPerUser must be a non-negative integer, got 1\.5/);
    assert.throws(() => limiterWith({ windowMs: -1 }), /windowMs must be positive, got -1/);
  });
});

// ---------------------------------------------------------------------------------------------
// Permissions

const MONITORS = [1, 2, 3, 12];

function zmUser(partial: Partial<ZmUserRecord> = {}): ZmUserRecord {
  return { id: 5, username: 'viewer', events: 'View', monitors: 'None', monitorIds: null, roleId: null, ...partial };
}

function rules(grants: Partial<PermissionGrants>, tree: GroupTree = { groups: [], groupMonitors: [] }): PermissionModel {
  return { schema: 'permissions', user: { monitorPermissions: [], groupPermissions: [], ...grants }, role: null, tree };
}

const visible = (visibility: MonitorVisibility) => MONITORS.filter((id) => canSee(visibility, id));

describe('permissions', () => {
  test('MonitorIds holds multi-digit ids; entries that are not plain numbers match nothing', () => {
    const visibility = monitorVisibility(zmUser({ monitorIds: '12,3, x2, 1y,+1' }), { schema: 'legacy' }, MONITORS);
    assert.deepEqual(visibility, { kind: 'some', ids: new Set([12, 3]) });
  });

  test('an Inherit row of a monitor defers to its groups and the fallback', () => {
    const model = rules({
      monitorPermissions: [
        { monitorId: 1, permission: 'Inherit' },
        { monitorId: 2, permission: 'View' },
      ],
    });
    assert.deepEqual(visible(monitorVisibility(zmUser(), model, MONITORS)), [2]);
  });

  test('an Inherit row of a group grants nothing', () => {
    const tree: GroupTree = { groups: [{ id: 10, parentId: null }], groupMonitors: [{ groupId: 10, monitorId: 1 }] };
    const model = rules({ monitorPermissions: [{ monitorId: 3, permission: 'View' }], groupPermissions: [{ groupId: 10, permission: 'Inherit' }] }, tree);
    assert.deepEqual(visible(monitorVisibility(zmUser(), model, MONITORS)), [3]);
  });

  test('a monitor in several groups gets the grants of each of them', () => {
    const tree: GroupTree = {
      groups: [
        { id: 10, parentId: null },
        { id: 20, parentId: null },
      ],
      groupMonitors: [
        { groupId: 10, monitorId: 1 },
        { groupId: 20, monitorId: 1 },
        { groupId: 20, monitorId: 2 },
      ],
    };
    const model = rules({ groupPermissions: [{ groupId: 10, permission: 'View' }] }, tree);
    assert.deepEqual(visible(monitorVisibility(zmUser(), model, MONITORS)), [1]);
    const hidden = rules({ groupPermissions: [{ groupId: 10, permission: 'None' }] }, tree);
    assert.deepEqual(visible(monitorVisibility(zmUser({ monitors: 'View' }), hidden, MONITORS)), [2, 3, 12]);
  });
});

// ---------------------------------------------------------------------------------------------
// Passwords

describe('password schemes', () => {
  test('a $…$ inside a plain password does not make it a hash', async () => {
    assert.equal(passwordScheme('my$2b$secret'), 'plain');
    assert.equal(passwordScheme('$2b$secret'), 'unknown');
    assert.equal((await verifyZmPassword('my$2b$secret', 'my$2b$secret')).ok, true);
  });

  test('an empty stored hash is refused with its own warning', async () => {
    assert.deepEqual(await verifyZmPassword('', ''), { ok: false, scheme: 'unknown', warning: 'user has an empty password hash' });
    assert.deepEqual(await verifyZmPassword('x', '$6$damaged'), {
      ok: false,
      scheme: 'unknown',
      warning: 'stored password hash has an unrecognised or damaged format',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Access review

function stored(overrides: Partial<StoredUser> = {}): StoredUser {
  return storedUser({ passwordHash: 'h1', ...overrides });
}

const some = (...ids: number[]): MonitorVisibility => ({ kind: 'some', ids: new Set(ids) });

describe('access review', () => {
  test('a changed password revokes with its reason', () => {
    const granted: AuthenticatedUser = { name: 'alice', id: 7, visibility: VISIBLE_ALL, via: 'password', basis: { kind: 'password', passwordHash: 'h1' } };
    assert.deepEqual(reviewAccess(granted, { user: stored({ passwordHash: 'h2' }), visibility: VISIBLE_ALL }, NOW_S), {
      kind: 'revoke',
      reason: 'password changed in ZoneMinder',
    });
  });

  test('a login without a recorded basis is judged by the user row and the monitors only', () => {
    const granted: AuthenticatedUser = { name: 'alice', id: 7, visibility: VISIBLE_ALL, via: 'password' };
    assert.deepEqual(reviewAccess(granted, { user: stored({ passwordHash: 'other', apiEnabled: false }), visibility: VISIBLE_ALL }, NOW_S), { kind: 'keep' });
    assert.equal(reviewAccess(granted, { user: stored({ enabled: false }), visibility: VISIBLE_ALL }, NOW_S).kind, 'revoke');
  });

  test('monitor sets are the same only with the same ids, in either order of comparison', () => {
    assert.equal(sameVisibility(some(1), some(1, 2)), false);
    assert.equal(sameVisibility(some(1, 2), some(1)), false);
    assert.equal(sameVisibility(some(), some()), true);
  });
});

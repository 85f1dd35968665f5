import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { reviewAccess, sameVisibility, describeVisibility, type CurrentAccess } from '../../../../src/zm/auth/access-review.js';
import type { AuthenticatedUser, StoredUser } from '../../../../src/zm/auth/authenticator.js';
import { VISIBLE_ALL, VISIBLE_NONE, type MonitorVisibility } from '../../../../src/zm/auth/permissions.js';
import { storedUser } from '../../../helpers/stored-user.js';

const some = (...ids: number[]): MonitorVisibility => ({ kind: 'some', ids: new Set(ids) });

function stored(overrides: Partial<StoredUser> = {}): StoredUser {
  return storedUser({ passwordHash: '$2y$10$hash', tokenMinExpiry: 0, ...overrides });
}

const now = 1_800_000_000;
const byPassword: AuthenticatedUser = { name: 'alice', id: 7, visibility: VISIBLE_ALL, via: 'password', basis: { kind: 'password', passwordHash: '$2y$10$hash' } };
const byToken: AuthenticatedUser = { name: 'alice', id: 7, visibility: VISIBLE_ALL, via: 'api-token', basis: { kind: 'api-token', issuedAt: now - 100, expiresAt: now + 3600 } };
const current = (user: Partial<StoredUser> = {}, visibility: MonitorVisibility = VISIBLE_ALL): CurrentAccess => ({ user: stored(user), visibility });

describe('reviewAccess', () => {
  test('keeps a login whose user and permissions are unchanged', () => {
    assert.deepEqual(reviewAccess(byPassword, current(), now), { kind: 'keep' });
    assert.deepEqual(reviewAccess(byToken, current(), now), { kind: 'keep' });
  });

  test('revokes a deleted user', () => {
    assert.deepEqual(reviewAccess(byPassword, null, now), { kind: 'revoke', reason: 'user no longer exists in ZoneMinder' });
  });

  test('revokes a disabled user, password or token', () => {
    assert.deepEqual(reviewAccess(byPassword, current({ enabled: false }), now), { kind: 'revoke', reason: 'user disabled in ZoneMinder' });
    assert.deepEqual(reviewAccess(byToken, current({ enabled: false }), now), { kind: 'revoke', reason: 'user disabled in ZoneMinder' });
  });

  test('revokes a password login when the stored password changed', () => {
    assert.equal(reviewAccess(byPassword, current({ passwordHash: '$2y$10$other' }), now).kind, 'revoke');
    // A token login does not rest on the password.
    assert.equal(reviewAccess(byToken, current({ passwordHash: '$2y$10$other' }), now).kind, 'keep');
  });

  test('revokes a token login when APIEnabled is turned off, but not a password login', () => {
    assert.deepEqual(reviewAccess(byToken, current({ apiEnabled: false }), now), { kind: 'revoke', reason: 'API access disabled in ZoneMinder' });
    assert.equal(reviewAccess(byPassword, current({ apiEnabled: false }), now).kind, 'keep');
  });

  test('revokes a token issued before a raised TokenMinExpiry, and one that expired', () => {
    assert.deepEqual(reviewAccess(byToken, current({ tokenMinExpiry: now - 99 }), now), { kind: 'revoke', reason: 'API token revoked in ZoneMinder' });
    assert.equal(reviewAccess(byToken, current({ tokenMinExpiry: now - 100 }), now).kind, 'keep');
    assert.deepEqual(reviewAccess(byToken, current(), now + 3600), { kind: 'revoke', reason: 'API token expired' });
    assert.equal(reviewAccess(byToken, current(), now + 3599).kind, 'keep');
  });

  test('narrows (or widens) the monitors of a login whose permissions changed', () => {
    const narrowed = reviewAccess(byPassword, current({}, some(2)), now);
    assert.equal(narrowed.kind, 'update');
    assert.ok(narrowed.kind === 'update' && sameVisibility(narrowed.user.visibility, some(2)));
    assert.equal(narrowed.kind === 'update' && narrowed.user.basis, byPassword.basis);
    const none = reviewAccess({ ...byPassword, visibility: some(1, 2) }, current({}, VISIBLE_NONE), now);
    assert.ok(none.kind === 'update' && none.user.visibility.kind === 'none');
    assert.equal(reviewAccess({ ...byPassword, visibility: some(1, 2) }, current({}, some(2, 1)), now).kind, 'keep');
  });

  test('never touches a login made with auth turned off', () => {
    const anonymous: AuthenticatedUser = { name: 'x', id: null, visibility: VISIBLE_ALL, via: 'auth-disabled' };
    assert.equal(reviewAccess(anonymous, null, now).kind, 'keep');
  });
});

describe('sameVisibility and describeVisibility', () => {
  test('compare by kind and id set', () => {
    assert.equal(sameVisibility(VISIBLE_ALL, VISIBLE_ALL), true);
    assert.equal(sameVisibility(VISIBLE_ALL, VISIBLE_NONE), false);
    assert.equal(sameVisibility(some(1, 2), some(2, 1)), true);
    assert.equal(sameVisibility(some(1, 2), some(1)), false);
    assert.equal(sameVisibility(some(1, 2), some(1, 3)), false);
    assert.equal(describeVisibility(some(3, 1)), 'monitors 1,3');
    assert.equal(describeVisibility(VISIBLE_NONE), 'no monitor');
    assert.equal(describeVisibility(VISIBLE_ALL), 'all monitors');
  });
});

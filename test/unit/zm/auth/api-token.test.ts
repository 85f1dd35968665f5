import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { verifyApiToken, tokenRevoked, looksLikeJwt } from '../../../../src/zm/auth/api-token.js';

const SECRET = 'my unique zm secret';
const NOW_S = 1_795_592_854; // the iat observed on ZM 1.36.33
const clock = { now: () => NOW_S * 1000 + 500 };

interface Claims {
  iss?: string;
  iat?: number;
  exp?: number;
  nbf?: number;
  user?: unknown;
  type?: string;
}

/** A token shaped like ZoneMinder's: header {typ, alg}, payload {iss, iat, exp, user, type}. */
async function zmToken(overrides: Claims = {}, secret = SECRET, alg = 'HS256'): Promise<string> {
  const claims: Record<string, unknown> = { iss: 'ZoneMinder', iat: NOW_S, exp: NOW_S + 7200, user: 'admin', type: 'access', ...overrides };
  for (const key of Object.keys(claims)) if (claims[key] === undefined) delete claims[key];
  return new SignJWT(claims).setProtectedHeader({ typ: 'JWT', alg }).sign(new TextEncoder().encode(secret));
}

test('a valid ZoneMinder access token gives its user, iat and exp', async () => {
  assert.deepEqual(await verifyApiToken(await zmToken(), { secret: SECRET, clock }), { ok: true, user: 'admin', iat: NOW_S, exp: NOW_S + 7200 });
});

test('an expired access token is refused as expired', async () => {
  const token = await zmToken({ iat: NOW_S - 7300, exp: NOW_S - 100 });
  assert.deepEqual(await verifyApiToken(token, { secret: SECRET, clock }), { ok: false, reason: 'expired' });
  // The same token is fine at a time before its expiry, so the clock is what decided.
  const earlier = { now: () => (NOW_S - 200) * 1000 };
  assert.equal((await verifyApiToken(token, { secret: SECRET, clock: earlier })).ok, true);
});

test('a token signed with another secret is refused as a bad signature', async () => {
  const token = await zmToken({}, '...Change me to something unique...');
  assert.deepEqual(await verifyApiToken(token, { secret: SECRET, clock }), { ok: false, reason: 'bad-signature' });
});

test('a refresh token is refused as the wrong type', async () => {
  const token = await zmToken({ type: 'refresh', exp: NOW_S + 86400 });
  assert.deepEqual(await verifyApiToken(token, { secret: SECRET, clock }), { ok: false, reason: 'wrong-type' });
  const untyped = await zmToken({ type: undefined });
  assert.deepEqual(await verifyApiToken(untyped, { secret: SECRET, clock }), { ok: false, reason: 'wrong-type' });
});

test('a token from another issuer, or none, is refused as the wrong issuer', async () => {
  for (const iss of ['zoneminder', 'Evil', undefined]) {
    const token = await zmToken({ iss });
    assert.deepEqual(await verifyApiToken(token, { secret: SECRET, clock }), { ok: false, reason: 'wrong-issuer' }, String(iss));
  }
});

test('a token that is not yet valid is refused', async () => {
  const token = await zmToken({ nbf: NOW_S + 60 });
  assert.deepEqual(await verifyApiToken(token, { secret: SECRET, clock }), { ok: false, reason: 'not-yet-valid' });
});

test('a token without exp, iat or user is refused as malformed', async () => {
  for (const claims of [{ exp: undefined }, { iat: undefined }, { user: undefined }, { user: 42 }, { user: '' }]) {
    const token = await zmToken(claims);
    assert.deepEqual(await verifyApiToken(token, { secret: SECRET, clock }), { ok: false, reason: 'malformed' }, JSON.stringify(claims));
  }
});

test('other algorithms and unsigned tokens are refused as malformed', async () => {
  const hs512 = await zmToken({}, SECRET, 'HS512');
  assert.deepEqual(await verifyApiToken(hs512, { secret: SECRET, clock }), { ok: false, reason: 'malformed' });
  const [, payload] = (await zmToken()).split('.');
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
  assert.deepEqual(await verifyApiToken(none, { secret: SECRET, clock }), { ok: false, reason: 'malformed' });
});

test('garbage is refused as malformed without throwing', async () => {
  for (const token of ['', 'password', 'a.b.c', 'a.b', '....', 'x'.repeat(10_000), 'eyJhbGciOiJIUzI1NiJ9.e30.!!!']) {
    assert.deepEqual(await verifyApiToken(token, { secret: SECRET, clock }), { ok: false, reason: 'malformed' }, token.slice(0, 20));
  }
});

test('an empty secret refuses every token', async () => {
  assert.deepEqual(await verifyApiToken(await zmToken({}, 'x'), { secret: '', clock }), { ok: false, reason: 'no-secret' });
});

test('a token issued before TokenMinExpiry is revoked', () => {
  assert.equal(tokenRevoked(NOW_S, NOW_S + 1), true);
  assert.equal(tokenRevoked(NOW_S, BigInt(NOW_S + 1)), true);
  assert.equal(tokenRevoked(NOW_S, NOW_S), false);
  assert.equal(tokenRevoked(NOW_S, NOW_S - 1), false);
  assert.equal(tokenRevoked(NOW_S, 0), false);
  assert.equal(tokenRevoked(NOW_S, 0n), false);
  assert.equal(tokenRevoked(NOW_S, null), false);
  assert.equal(tokenRevoked(NOW_S, undefined), false);
});

test('a valid token whose iat predates TokenMinExpiry verifies but is then revoked', async () => {
  const result = await verifyApiToken(await zmToken(), { secret: SECRET, clock });
  assert.ok(result.ok);
  assert.equal(tokenRevoked(result.iat, NOW_S + 10), true);
});

test('looksLikeJwt tells a token from an ordinary password', async () => {
  assert.equal(looksLikeJwt(await zmToken()), true);
  for (const password of ['secret', 'a.b.c', 'my.pass.word', 'x'.repeat(5000), '', 'e30.e30.e30', 'eyJhbGciOiJIUzI1NiJ9']) {
    assert.equal(looksLikeJwt(password), false, password);
  }
});

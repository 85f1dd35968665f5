import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { verify as bcryptVerify } from '@node-rs/bcrypt';
import { bcryptHash } from '../../../helpers/bcrypt.js';
import { availableParallelism } from 'node:os';
import { BCRYPT_CONCURRENCY, bcryptConcurrency, limitedVerifier, verifyZmPassword, mysql41Hash, passwordScheme } from '../../../../src/zm/auth/password.js';

const COST = 4;

describe('MySQL-41 hashes', () => {
  test('the MySQL-41 hash of viewerpass is the value MariaDB PASSWORD() gives', () => {
    assert.equal(mysql41Hash('viewerpass'), '*E866443102F34FF6EC9107BDD315B0717076EAD8');
  });

  test('a MySQL-41 hash verifies the right password, in upper or lower case', async () => {
    for (const stored of ['*E866443102F34FF6EC9107BDD315B0717076EAD8', '*e866443102f34ff6ec9107bdd315b0717076ead8']) {
      assert.deepEqual(await verifyZmPassword('viewerpass', stored), { ok: true, scheme: 'mysql41' });
    }
  });

  test('a MySQL-41 hash refuses a wrong password', async () => {
    assert.deepEqual(await verifyZmPassword('viewerPass', '*E866443102F34FF6EC9107BDD315B0717076EAD8'), { ok: false, scheme: 'mysql41' });
    assert.deepEqual(await verifyZmPassword('', '*E866443102F34FF6EC9107BDD315B0717076EAD8'), { ok: false, scheme: 'mysql41' });
  });
});

describe('bcrypt hashes', () => {
  for (const version of ['2a', '2b', '2y'] as const) {
    test(`a $${version}$ bcrypt hash verifies the right password and refuses a wrong one`, async () => {
      const stored = await bcryptHash('s3cret pass', COST, version);
      assert.ok(stored.startsWith(`$${version}$04$`));
      assert.deepEqual(await verifyZmPassword('s3cret pass', stored), { ok: true, scheme: 'bcrypt' });
      assert.deepEqual(await verifyZmPassword('s3cret pasS', stored), { ok: false, scheme: 'bcrypt' });
    });
  }

  test('non-ASCII passwords are compared as their UTF-8 bytes', async () => {
    const stored = await bcryptHash('pässwörd😀', COST, '2y');
    assert.equal((await verifyZmPassword('pässwörd😀', stored)).ok, true);
    assert.equal((await verifyZmPassword('passwörd😀', stored)).ok, false);
  });

  test('verification runs off the event loop: a queued callback runs before the result arrives', async () => {
    const stored = await bcryptHash('pw', 10);
    const order: string[] = [];
    setImmediate(() => order.push('event loop turned'));
    const result = await verifyZmPassword('pw', stored);
    order.push('verified');
    assert.equal(result.ok, true);
    assert.deepEqual(order, ['event loop turned', 'verified']);
  });
});

describe('-ZM- hashes (bcrypt of the MySQL-41 string)', () => {
  test('a -ZM- hash verifies the password through its MySQL-41 string', async () => {
    const stored = '-ZM-' + (await bcryptHash(mysql41Hash('viewerpass'), COST, '2a'));
    assert.deepEqual(await verifyZmPassword('viewerpass', stored), { ok: true, scheme: 'zm-bcrypt' });
    assert.deepEqual(await verifyZmPassword('viewerpas', stored), { ok: false, scheme: 'zm-bcrypt' });
  });

  test('a -ZM- hash does not accept the bare password bcrypt-compared', async () => {
    const stored = '-ZM-' + (await bcryptHash('viewerpass', COST));
    assert.equal((await verifyZmPassword('viewerpass', stored)).ok, false);
  });
});

describe('plain-text and unusable hashes', () => {
  test('a plain-text stored password is compared literally, with a warning', async () => {
    const match = await verifyZmPassword('letmein', 'letmein');
    assert.equal(match.ok, true);
    assert.equal(match.scheme, 'plain');
    assert.match(match.warning ?? '', /plain text/);
    assert.equal((await verifyZmPassword('letmeiN', 'letmein')).ok, false);
    assert.equal((await verifyZmPassword('letmein ', 'letmein')).ok, false);
    assert.equal((await verifyZmPassword('', 'letmein')).ok, false);
  });

  test('the library alone would accept a $2x$ label, so the format gate is what refuses it', async () => {
    const stored = await bcryptHash('pw', COST);
    const relabelled = '$2x$' + stored.slice(4);
    assert.equal(await bcryptVerify('pw', relabelled), true);
    assert.deepEqual(await verifyZmPassword('pw', relabelled), {
      ok: false,
      scheme: 'unknown',
      warning: 'stored password hash has an unrecognised or damaged format',
    });
  });

  test('empty, truncated and foreign hashes are refused as unknown without throwing', async () => {
    const good = await bcryptHash('pw', COST);
    const damaged = [
      '',
      good.slice(0, -1),
      good.slice(0, 29),
      good + 'x',
      good.replace('$04$', '$+4$'),
      good.replace('$04$', '$03$'),
      good.replace('$04$', '$32$'),
      '$2b$',
      '$2b$04$',
      '$1$salt$hash',
      '$6$rounds=5000$salt$hash',
      '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
      '*E866443102F34FF6EC9107BDD315B0717076EAD',
      '*E866443102F34FF6EC9107BDD315B0717076EAD8X',
      '*ZZ66443102F34FF6EC9107BDD315B0717076EAD8',
      '*',
      '-ZM-',
      '-ZM-*E866443102F34FF6EC9107BDD315B0717076EAD8',
      '-ZM-' + good.slice(0, 40),
    ];
    for (const stored of damaged) {
      const result = await verifyZmPassword('pw', stored);
      assert.equal(result.ok, false, stored);
      assert.equal(result.scheme, 'unknown', stored);
      assert.equal(typeof result.warning, 'string', stored);
    }
  });

  test('knowing a damaged hash does not let anyone log in with it', async () => {
    for (const stored of ['$2x$04$abcdefghijklmnopqrstuv', '*NOTHEX', '$6$salt$hash', '-ZM-garbage']) {
      assert.equal((await verifyZmPassword(stored, stored)).ok, false, stored);
    }
  });

  test('odd passwords never make verification throw', async () => {
    const stored = await bcryptHash('pw', COST);
    for (const password of ['', '\u0000', 'x'.repeat(100_000), '\ud800', 'a\u0000b']) {
      for (const hash of [stored, '*E866443102F34FF6EC9107BDD315B0717076EAD8', 'plain', '']) {
        const result = await verifyZmPassword(password, hash);
        assert.equal(result.ok, false);
      }
    }
  });

  test('passwordScheme names each format', () => {
    assert.equal(passwordScheme('$2y$10$' + 'a'.repeat(53)), 'bcrypt');
    assert.equal(passwordScheme('*E866443102F34FF6EC9107BDD315B0717076EAD8'), 'mysql41');
    assert.equal(passwordScheme('-ZM-$2a$10$' + 'a'.repeat(53)), 'zm-bcrypt');
    assert.equal(passwordScheme('hunter2'), 'plain');
    assert.equal(passwordScheme('$2x$10$' + 'a'.repeat(53)), 'unknown');
    assert.equal(passwordScheme(''), 'unknown');
  });
});

describe('bcrypt concurrency', () => {
  test('checks run on all cores but one, and at least one', () => {
    assert.deepEqual([1, 2, 4, 8].map(bcryptConcurrency), [1, 1, 3, 7]);
    assert.equal(BCRYPT_CONCURRENCY, bcryptConcurrency(availableParallelism()));
  });

  test('no more checks than the limit run at once; the rest start in arrival order as slots free up', async () => {
    let running = 0;
    let most = 0;
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const verify = limitedVerifier(2, (password) => {
      running += 1;
      most = Math.max(most, running);
      started.push(password);
      return new Promise<boolean>((resolve) =>
        finish.set(password, () => {
          running -= 1;
          resolve(password.startsWith('ok'));
        }),
      );
    });
    const results = ['ok-a', 'bad-b', 'ok-c', 'ok-d'].map((password) => verify(password, 'hash'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, ['ok-a', 'bad-b']);
    finish.get('bad-b')!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, ['ok-a', 'bad-b', 'ok-c']);
    finish.get('ok-a')!();
    await new Promise((resolve) => setImmediate(resolve));
    finish.get('ok-c')!();
    finish.get('ok-d')!();
    assert.deepEqual(await Promise.all(results), [true, false, true, true]);
    assert.equal(most, 2);
  });

  test('a real bcrypt check still verifies through the limit', async () => {
    const stored = await bcryptHash('s3cret', COST);
    const checks = await Promise.all(['s3cret', 'wrong', 's3cret'].map((password) => verifyZmPassword(password, stored)));
    assert.deepEqual(checks.map((check) => check.ok), [true, false, true]);
  });
});

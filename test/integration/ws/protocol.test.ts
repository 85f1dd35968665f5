import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { SignJWT } from 'jose';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type HashKind, type TestServer } from '../../helpers/zmes-server.js';
import { PROTOCOL_VERSION } from '../../../src/version.js';

const SECRET = 'test-auth-hash-secret-1234567890';
let db: ZmTestDatabase;
let server: TestServer;
/** zmes runs as a least-privilege user, as it should in production. */
const appDb = () => db.appSettings!;

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  await db.execute("UPDATE Config SET Value = ? WHERE Name = 'ZM_AUTH_HASH_SECRET'", [SECRET]);
  const kinds: HashKind[] = ['bcrypt-2a', 'bcrypt-2b', 'bcrypt-2y', 'mysql41', 'zm-bcrypt', 'plain'];
  for (const kind of kinds) {
    await insertZmUser(db.execute, { username: `user-${kind}`, passwordHash: await zmPasswordHash(`pw-${kind}`, kind) });
  }
  await insertZmUser(db.execute, { username: 'disabled', passwordHash: await zmPasswordHash('pw', 'bcrypt-2y'), enabled: false });
  await insertZmUser(db.execute, { username: 'weird-hash', passwordHash: '$2x$garbage' });
  await insertZmUser(db.execute, { username: 'revoked', passwordHash: await zmPasswordHash('pw', 'mysql41'), tokenMinExpiry: 2_000_000_000 });
  await insertZmUser(db.execute, { username: 'restricted', passwordHash: await zmPasswordHash('pw', 'mysql41'), monitorIds: '2,5' });
  server = await startTestServer(appDb(), { 'auth.max_failures': 0 });
});

after(async () => {
  await server?.stop();
  await db?.drop();
});

async function authed(user = 'user-mysql41', password = 'pw-mysql41', extra: Record<string, unknown> = {}): Promise<TestClient> {
  const client = await connectClient(server.url);
  client.send({ event: 'auth', data: { user, password, ...extra } });
  const reply = await client.next((f) => f['event'] === 'auth');
  assert.equal(reply['status'], 'Success', `auth of ${user} failed: ${JSON.stringify(reply)}`);
  return client;
}

function sessionOfUser(name: string) {
  for (const c of server.app.server.liveConnections()) if (c.session.user?.name === name) return c.session;
  return undefined;
}

describe('authentication against the Users table', () => {
  for (const kind of ['bcrypt-2a', 'bcrypt-2b', 'bcrypt-2y', 'mysql41', 'zm-bcrypt', 'plain'] as HashKind[]) {
    test(`a ${kind} password hash accepts the right password and refuses a wrong one`, async () => {
      const good = await authed(`user-${kind}`, `pw-${kind}`);
      await good.close();
      const bad = await connectClient(server.url);
      bad.send({ event: 'auth', data: { user: `user-${kind}`, password: 'wrong' } });
      const reply = await bad.next();
      assert.deepEqual(reply, { event: 'auth', type: '', status: 'Fail', reason: 'BADAUTH' });
      const closed = await bad.closed;
      assert.equal(closed.code, 1008);
    });
  }

  test('the auth success reply carries a version zmNinja accepts and zmes own version', async () => {
    const client = await connectClient(server.url);
    client.send({ event: 'auth', data: { user: 'user-bcrypt-2y', password: 'pw-bcrypt-2y', appversion: '1.8.001', monlist: '1,2', intlist: '0,0' }, token: '' });
    const reply = await client.next();
    assert.equal(reply['status'], 'Success');
    assert.equal(reply['reason'], '');
    assert.equal(reply['version'], PROTOCOL_VERSION);
    assert.ok(Number.parseFloat(String(reply['version'])) >= 6.0);
    assert.match(String(reply['server']), /^zmes \d+\.\d+\.\d+/);
    await client.close();
  });

  test('a disabled user, an unknown user and an unknown hash format get BADAUTH and are closed', async () => {
    for (const [user, password] of [['disabled', 'pw'], ['nobody', 'pw'], ['weird-hash', '$2x$garbage'], ['', '']]) {
      const client = await connectClient(server.url);
      client.send({ event: 'auth', data: { user, password } });
      assert.equal((await client.next())['reason'], 'BADAUTH', `user ${user}`);
      assert.equal((await client.closed).code, 1008);
    }
    assert.ok(server.logs.grep(/bad authentication .* "disabled".*disabled in ZoneMinder/).length >= 1);
  });

  test('passwords never appear in the log, even on failure', async () => {
    const client = await connectClient(server.url);
    client.send({ event: 'auth', data: { user: 'user-plain', password: 'SuperSecretPassw0rd' } });
    await client.closed;
    assert.equal(server.logs.grep(/SuperSecretPassw0rd/).length, 0);
    assert.ok(server.logs.grep(/bad authentication from 127\.0\.0\.1 for user "user-plain"/).length >= 1);
  });

  test('a ZoneMinder API access token is accepted in the password field', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ user: 'user-mysql41', type: 'access' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('ZoneMinder')
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(new TextEncoder().encode(SECRET));
    const client = await authed('', token);
    assert.equal(sessionOfUser('user-mysql41')?.user?.via, 'api-token');
    await client.close();
  });

  test('expired, wrongly signed and revoked API tokens get BADAUTH', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (user: string, iat: number, exp: number, secret: string) =>
      new SignJWT({ user, type: 'access' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer('ZoneMinder').setIssuedAt(iat).setExpirationTime(exp).sign(new TextEncoder().encode(secret));
    const tokens = [
      await sign('user-mysql41', now - 7200, now - 3600, SECRET),
      await sign('user-mysql41', now, now + 3600, 'another secret entirely'),
      await sign('revoked', now, now + 3600, SECRET),
    ];
    for (const token of tokens) {
      const client = await connectClient(server.url);
      client.send({ event: 'auth', data: { user: '', password: token } });
      assert.equal((await client.next())['reason'], 'BADAUTH');
      await client.closed;
    }
    assert.ok(server.logs.grep(/TokenMinExpiry/).length >= 1);
  });

  test('a restricted user carries the monitors of Users.MonitorIds', async () => {
    const client = await authed('restricted', 'pw');
    const visibility = sessionOfUser('restricted')?.user?.visibility;
    assert.equal(visibility?.kind, 'some');
    assert.deepEqual(visibility?.kind === 'some' ? [...visibility.ids].sort() : [], [2, 5]);
    await client.close();
  });
});

describe('frames of protocol.md', () => {
  test('the typical zmNinja sequence is answered exactly as the classic server does', async () => {
    const client = await connectClient(server.url);
    client.send({ event: 'auth', data: { user: 'user-mysql41', password: 'pw-mysql41', monlist: '1,2', intlist: '0,0', appversion: '1.8.001' }, token: 'T0KEN-zmninja' });
    assert.equal((await client.next())['status'], 'Success');
    client.send({ event: 'push', data: { type: 'token', platform: 'android', token: 'T0KEN-zmninja', state: 'enabled', appversion: '1.8.001' }, token: 'T0KEN-zmninja' });
    client.send({ event: 'push', data: { type: 'badge', badge: 0, appversion: '1.8.001' }, token: 'T0KEN-zmninja' });
    client.send({ event: 'control', data: { type: 'version' } });
    const version = await client.next();
    assert.deepEqual(Object.keys(version).slice(0, 5), ['event', 'type', 'status', 'reason', 'version']);
    assert.equal(version['type'], 'version');
    // The token and badge frames got no reply: the version reply is the very next frame.
    assert.equal(client.frames.length, 2);
    const session = sessionOfUser('user-mysql41');
    assert.equal(session?.push?.token, 'T0KEN-zmninja');
    assert.equal(session?.clientKind, 'zmninja');
    assert.equal(session?.filter.kind, 'some');
    await client.close();
  });

  test('the typical zmNinjaNg sequence is answered, with filter and profile', async () => {
    const client = await connectClient(server.url);
    client.send({ event: 'auth', data: { user: 'user-bcrypt-2b', password: 'pw-bcrypt-2b', appversion: '1.2.3' }, category: 'normal' });
    assert.equal((await client.next())['status'], 'Success');
    client.send({ event: 'control', data: { type: 'filter', monlist: '1,3', intlist: '60,60' } });
    client.send({ event: 'push', data: { type: 'token', token: 'ng-token', platform: 'ios', monlist: '1,3', intlist: '60,60', state: 'enabled', profile: 'Home' } });
    client.send({ event: 'push', data: { type: 'badge', badge: 3 } });
    client.send({ event: 'control', data: { type: 'version' } });
    assert.equal((await client.next())['type'], 'version');
    const session = sessionOfUser('user-bcrypt-2b');
    assert.equal(session?.clientKind, 'zmninjang');
    assert.equal(session?.badge, 3);
    assert.equal(session?.push?.profile, 'Home');
    const filter = session?.filter;
    assert.deepEqual(filter?.kind === 'some' ? [...filter.intervals] : [], [[1, 60], [3, 60]]);
    await client.close();
  });

  test('frames before auth get the documented replies and the version is answered', async () => {
    const client = await connectClient(server.url);
    client.send({ event: 'control', data: { type: 'version' } });
    assert.equal((await client.next())['status'], 'Success');
    client.send({ event: 'push', data: { type: 'token', platform: 'android', token: 'x' } });
    assert.deepEqual(await client.next(), { event: 'push', type: '', status: 'Fail', reason: 'NOAUTH' });
    client.send({ event: 'control', data: { type: 'filter', monlist: '1', intlist: '0' } });
    assert.deepEqual(await client.next(), { event: 'control', type: 'filter', status: 'Fail', reason: 'NOAUTH' });
    client.send({ event: 'escontrol', data: { command: 'get' } });
    assert.equal((await client.next())['event'], 'escontrol');
    await client.close();
  });

  test('a filter without monlist or intlist gets the MISSING reason codes', async () => {
    const client = await authed();
    client.send({ event: 'control', data: { type: 'filter', intlist: '0' } });
    assert.deepEqual(await client.next(), { event: 'control', type: 'filter', status: 'Fail', reason: 'MISSINGMONITORLIST' });
    client.send({ event: 'control', data: { type: 'filter', monlist: '1' } });
    assert.deepEqual(await client.next(), { event: 'control', type: 'filter', status: 'Fail', reason: 'MISSINGINTERVALLIST' });
    client.send({ event: 'push', data: { type: 'token', token: 'abc' } });
    assert.deepEqual(await client.next(), { event: 'push', type: 'token', status: 'Fail', reason: 'MISSINGPLATFORM' });
    await client.close();
  });

  test('malformed JSON gets BADJSON and the connection stays usable; unknown events get NOTSUPPORTED', async () => {
    const client = await authed();
    client.send('{not json');
    assert.deepEqual(await client.next(), { event: 'malformed', type: '', status: 'Fail', reason: 'BADJSON' });
    client.send('[1,2,3]');
    assert.equal((await client.next())['reason'], 'BADJSON');
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await client.next())['reason'], 'BADJSON');
    client.send({ event: 'dance', data: {} });
    assert.deepEqual(await client.next(), { event: 'dance', type: '', status: 'Fail', reason: 'NOTSUPPORTED' });
    client.send({ event: 'control', data: { type: 'version' }, extra: { nested: true } });
    assert.equal((await client.next())['type'], 'version');
    await client.close();
  });

  test('escontrol logins are refused with ESCONTROLDISABLED while the admin interface is off', async () => {
    const client = await connectClient(server.url);
    client.send({ event: 'auth', category: 'escontrol', data: { password: 'x' } });
    assert.deepEqual(await client.next(), { event: 'auth', type: '', status: 'Fail', reason: 'ESCONTROLDISABLED' });
    await client.close();
  });
});

describe('limits and timeouts', () => {
  test('a client that never authenticates gets NOAUTH, then the server closes', async () => {
    const quick = await startTestServer(appDb(), { 'auth.timeout': 1 });
    try {
      const client = await connectClient(quick.url);
      const reply = await client.next(() => true, 5000);
      assert.deepEqual(reply, { event: 'auth', type: '', status: 'Fail', reason: 'NOAUTH' });
      assert.equal((await client.closed).code, 1008);
    } finally {
      await quick.stop();
    }
  });

  test('a frame above network.max_frame_size drops that connection only', async () => {
    const client = await authed();
    const other = await authed();
    client.send({ event: 'control', data: { type: 'version', pad: 'x'.repeat(server.config.network.max_frame_size + 10) } });
    const closed = await client.closed;
    assert.notEqual(closed.code, 1000);
    other.send({ event: 'control', data: { type: 'version' } });
    assert.equal((await other.next())['type'], 'version');
    await other.close();
  });

  test('connections above network.max_connections are refused at the upgrade', async () => {
    const small = await startTestServer(appDb(), { 'network.max_connections': 2 });
    try {
      const a = await connectClient(small.url);
      const b = await connectClient(small.url);
      await assert.rejects(connectClient(small.url), /HTTP 503/);
      await a.close();
      await b.close();
    } finally {
      await small.stop();
    }
  });

  test('repeated failed logins from one address are refused before any password check', async () => {
    const strict = await startTestServer(appDb(), { 'auth.max_failures': 2 });
    try {
      for (let i = 0; i < 2; i++) {
        const client = await connectClient(strict.url);
        client.send({ event: 'auth', data: { user: 'user-mysql41', password: 'wrong' } });
        assert.equal((await client.next())['reason'], 'BADAUTH');
        await client.closed;
      }
      const blocked = await connectClient(strict.url);
      blocked.send({ event: 'auth', data: { user: 'user-mysql41', password: 'pw-mysql41' } });
      const closed = await blocked.closed;
      assert.equal(closed.code, 1013);
      assert.equal(blocked.frames.length, 0, 'no Fail frame: the app should retry later, not give up');
      assert.equal(strict.logs.grep(/too many failed logins from 127\.0\.0\.1/).length, 1);
    } finally {
      await strict.stop();
    }
  });

  test('a raw TCP connection that never upgrades is closed by the server', { timeout: 30_000 }, async () => {
    const port = server.app.port;
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const start = Date.now();
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', reject);
      socket.on('close', () => resolve(Date.now() - start));
    });
    assert.ok(closedAfter > 0);
    // and the server still serves
    const client = await authed();
    await client.close();
  });
});

// Login limits and X-Forwarded-For over real sockets, against a throwaway ZoneMinder database.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';

let db: ZmTestDatabase;
const appDb = () => db.appSettings!;

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  await insertZmUser(db.execute, { username: 'alice', passwordHash: await zmPasswordHash('alice-pw', 'bcrypt-2y') });
  await insertZmUser(db.execute, { username: 'bob', passwordHash: await zmPasswordHash('bob-pw', 'bcrypt-2y') });
});

after(async () => {
  await db?.drop();
});

type Attempt = { kind: 'success' } | { kind: 'badauth' } | { kind: 'closed'; code: number; reason: string; frames: number };

/** One login on a fresh connection, as a phone makes it. */
async function login(server: TestServer, user: string, password: string, forwardedFor?: string): Promise<Attempt> {
  const client = await connectClient(server.url, forwardedFor === undefined ? {} : { headers: { 'X-Forwarded-For': forwardedFor } });
  client.send({ event: 'auth', data: { user, password } });
  const result = await Promise.race([
    client.next((f) => f['event'] === 'auth').then((reply) => ({ reply })),
    client.closed.then((closed) => ({ closed })),
  ]);
  if ('reply' in result) {
    if (result.reply['status'] === 'Success') {
      await client.close();
      return { kind: 'success' };
    }
    assert.equal(result.reply['reason'], 'BADAUTH');
    assert.equal((await client.closed).code, 1008);
    return { kind: 'badauth' };
  }
  return { kind: 'closed', code: result.closed.code, reason: result.closed.reason, frames: client.frames.length };
}

const REFUSED: Attempt = { kind: 'closed', code: 1013, reason: 'too many failed logins', frames: 0 };

async function failTimes(server: TestServer, times: number, user: string, forwardedFor?: string): Promise<void> {
  for (let i = 0; i < times; i++) assert.deepEqual(await login(server, user, 'wrong', forwardedFor), { kind: 'badauth' }, `attempt ${i + 1}`);
}

describe('login limits per user and address', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(appDb());
  });
  after(async () => {
    await server?.stop();
  });

  test('after 10 bad passwords a user is refused even with the right one, while another user at the same address gets in', async () => {
    await failTimes(server, 10, 'alice');
    assert.deepEqual(await login(server, 'alice', 'alice-pw'), REFUSED);
    assert.deepEqual(await login(server, 'bob', 'bob-pw'), { kind: 'success' });
    assert.deepEqual(await login(server, 'alice', 'alice-pw'), REFUSED, "bob's success does not unlock alice");
    const refusals = server.logs.grep(/too many failed logins from 127\.0\.0\.1 for user "alice" \(10 failures for this user from this address in 300 s, auth\.max_failures\)/);
    assert.equal(refusals.length, 2);
    assert.equal(server.logs.grep(/too many failed logins .* "bob"/).length, 0);
  });
});

describe('X-Forwarded-For', () => {
  test('from a trusted proxy, clients behind it are limited separately', async () => {
    const server = await startTestServer(appDb(), { 'network.trusted_proxies': '127.0.0.1' });
    try {
      await failTimes(server, 10, 'alice', '203.0.113.5');
      assert.deepEqual(await login(server, 'alice', 'alice-pw', '203.0.113.5'), REFUSED);
      assert.equal(server.logs.grep(/too many failed logins from 203\.0\.113\.5 for user "alice"/).length, 1);

      const other = await connectClient(server.url, { headers: { 'X-Forwarded-For': '198.51.100.77, 203.0.113.6' } });
      other.send({ event: 'auth', data: { user: 'alice', password: 'alice-pw' } });
      assert.equal((await other.next())['status'], 'Success', 'the rightmost untrusted hop is the client; what it sent before is ignored');
      const connection = [...server.app.server.liveConnections()].find((c) => c.session.user?.name === 'alice');
      assert.equal(connection?.remoteAddress, '203.0.113.6');
      assert.equal(connection?.peerAddress, '127.0.0.1');
      assert.equal(server.logs.grep(new RegExp(`connection #${connection?.id} from 203\\.0\\.113\\.6 via proxy 127\\.0\\.0\\.1`)).length, 1);
      await other.close();
    } finally {
      await server.stop();
    }
  });

  test('a header that does not end in an IP address leaves the proxy as the client', async () => {
    const server = await startTestServer(appDb(), { 'network.trusted_proxies': '127.0.0.0/8', 'auth.max_failures': 2 });
    try {
      await failTimes(server, 2, 'alice', '203.0.113.5, not-an-address');
      assert.deepEqual(await login(server, 'alice', 'alice-pw', '203.0.113.9'), { kind: 'success' });
      assert.deepEqual(await login(server, 'alice', 'alice-pw'), REFUSED, 'counted against the proxy itself');
      assert.equal(server.logs.grep(/via proxy/).length, 1, 'only the connection with a valid header was attributed');
    } finally {
      await server.stop();
    }
  });

  test('without trusted proxies the header is ignored for limiting', async () => {
    const server = await startTestServer(appDb());
    try {
      await failTimes(server, 10, 'alice', '203.0.113.5');
      assert.deepEqual(await login(server, 'alice', 'alice-pw', '203.0.113.6'), REFUSED);
      assert.equal(server.logs.grep(/too many failed logins from 127\.0\.0\.1 for user "alice"/).length, 1);
      assert.equal(server.logs.grep(/via proxy/).length, 0);
      assert.ok(server.logs.grep(/from 127\.0\.0\.1 \(X-Forwarded-For 203\.0\.113\.6, not from a trusted proxy\)/).length >= 1, 'still logged');
    } finally {
      await server.stop();
    }
  });
});

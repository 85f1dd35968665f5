import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';

/**
 * Frames sent right behind `auth`, without waiting for its reply (scripts do this; the classic
 * server handled a connection's frames strictly in order), while a real bcrypt check runs.
 */
let db: ZmTestDatabase;
let server: TestServer;
const clients: TestClient[] = [];

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  // Cost 10 as ZoneMinder writes it: the check takes long enough for frames to pile up behind it.
  await insertZmUser(db.execute, { username: 'scripter', passwordHash: await zmPasswordHash('pw', 'bcrypt-2y', 10) });
  // A user of its own for the bound test, so no cached login shortens the check.
  await insertZmUser(db.execute, { username: 'flooder', passwordHash: await zmPasswordHash('pw', 'bcrypt-2y', 10) });
  server = await startTestServer(db.appSettings!, { 'auth.max_failures': 0 });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
  await db?.drop();
});

async function open(): Promise<TestClient> {
  const c = await connectClient(server.url);
  clients.push(c);
  return c;
}

function sessionOf(token: string) {
  for (const c of server.app.server.liveConnections()) if (c.session.push?.token === token) return c.session;
  return undefined;
}

test('token, filter and version frames sent behind auth are handled after it, in order', async () => {
  const c = await open();
  c.send({ event: 'auth', data: { user: 'scripter', password: 'pw' } });
  c.send({ event: 'push', data: { type: 'token', platform: 'android', token: 'tok-in-order', state: 'enabled' } });
  c.send({ event: 'control', data: { type: 'filter', monlist: '1,2', intlist: '0,30' } });
  c.send({ event: 'control', data: { type: 'version' } });
  await c.next((f) => f['type'] === 'version');
  const events = c.frames.map((f) => `${String(f['event'])}/${String(f['status'] ?? '')}`);
  assert.deepEqual(events, ['auth/Success', 'control/Success'], `no NOAUTH, auth answered first: ${JSON.stringify(c.frames)}`);
  const session = sessionOf('tok-in-order');
  assert.ok(session, 'the token was registered on the connection');
  assert.deepEqual(session.lists, { monlist: '1,2', intlist: '0,30' });
});

test('after a failed login, the queued frames are refused with NOAUTH, after BADAUTH', async () => {
  const c = await open();
  c.send({ event: 'auth', data: { user: 'scripter', password: 'wrong' } });
  c.send({ event: 'push', data: { type: 'token', platform: 'android', token: 'tok-refused', state: 'enabled' } });
  c.send({ event: 'control', data: { type: 'filter', monlist: '1', intlist: '0' } });
  const closed = await c.closed;
  assert.equal(closed.code, 1008);
  assert.deepEqual(c.frames, [
    { event: 'auth', type: '', status: 'Fail', reason: 'BADAUTH' },
    { event: 'push', type: '', status: 'Fail', reason: 'NOAUTH' },
    { event: 'control', type: 'filter', status: 'Fail', reason: 'NOAUTH' },
  ]);
  assert.equal(sessionOf('tok-refused'), undefined);
});

test('the queue is bounded: frames beyond 16 behind a pending login are refused at once', async () => {
  const c = await open();
  c.send({ event: 'auth', data: { user: 'flooder', password: 'pw' } });
  for (let i = 0; i < 20; i++) c.send({ event: 'control', data: { type: 'filter', monlist: String(i + 1), intlist: '0' } });
  await c.next((f) => f['event'] === 'auth');
  c.send({ event: 'control', data: { type: 'version' } });
  await c.next((f) => f['type'] === 'version');
  // The 20 filters arrive long before a cost-10 bcrypt check ends: 16 wait, 4 are refused.
  assert.equal(c.frames.filter((f) => f['reason'] === 'NOAUTH').length, 4);
  assert.equal(c.frames.filter((f) => f['event'] === 'auth')[0]?.['status'], 'Success');
  assert.equal(server.logs.grep(/more than 16 frames while its login is checked/).length, 4);
  // The 16 queued filters were applied in order: the last one queued wins.
  const session = [...server.app.server.liveConnections()].find((conn) => conn.session.lists?.monlist === '16');
  assert.ok(session, 'the 16th filter is the one in force');
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';

/** Home Assistant's log panel: at info level, a connection is one line in and one line out. */
let db: ZmTestDatabase;
let server: TestServer;

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  await insertZmUser(db.execute, { username: 'phone', passwordHash: await zmPasswordHash('pw', 'mysql41') });
  server = await startTestServer(db.appSettings!, { 'fcm.enable': false });
});

after(async () => {
  await server?.stop();
  await db?.drop();
});

test('a zmNinja session logs one info line at login and one at close; the rest is debug', async () => {
  const from = server.logs.lines.length;
  const c = await connectClient(server.url);
  c.send({ event: 'auth', data: { user: 'phone', password: 'pw', appversion: '1.8.001' } });
  await c.next((f) => f['event'] === 'auth');
  c.send({ event: 'control', data: { type: 'filter', monlist: '1,x', intlist: '0' } });
  c.send({ event: 'control', data: { type: 'version' } });
  c.send('not json');
  await c.next((f) => f['type'] === 'version');
  await c.close();
  await waitFor(() => server.logs.lines.slice(from).some((l) => /closed/.test(l.message)));
  const ws = server.logs.lines.slice(from).filter((l) => l.module === 'ws');
  const info = ws.filter((l) => l.level !== 'debug');
  assert.equal(info.length, 2, info.map((l) => l.message).join('\n'));
  assert.match(info[0]!.message, /authentication OK for user phone from 127\.0\.0\.1 on connection #\d+ \(client 1\.8\.001\)/);
  assert.match(info[1]!.message, /\(user phone\) closed/);
  assert.ok(ws.filter((l) => l.level === 'debug').length >= 3, 'open, filter warning, malformed frame at debug');
});

test('a connection that never logs in leaves only debug lines', async () => {
  const from = server.logs.lines.length;
  const c = await connectClient(server.url);
  await c.close();
  await waitFor(() => server.logs.lines.slice(from).some((l) => /closed/.test(l.message)));
  assert.deepEqual(server.logs.lines.slice(from).filter((l) => l.module === 'ws' && l.level !== 'debug'), []);
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

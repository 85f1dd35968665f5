import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { buildHostileCorpus } from '../../helpers/hostile-frames.js';
import { insertZmUser, startTestServer, zmPasswordHash } from '../../helpers/zmes-server.js';

let db: ZmTestDatabase;

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  await insertZmUser(db.execute, { username: 'family', passwordHash: await zmPasswordHash('s3cret', 'bcrypt-2y', 10) });
});

after(async () => {
  await db?.drop();
});

const VERSION_PROBE = '{"event":"control","data":{"type":"version"}}';

test('1,000 clients connecting and authenticating at once all succeed', { timeout: 120_000 }, async () => {
  const server = await startTestServer(db.appSettings!);
  const clients: TestClient[] = [];
  try {
    const results = await Promise.all(
      Array.from({ length: 1000 }, async () => {
        const client = await connectClient(server.url);
        clients.push(client);
        client.send({ event: 'auth', data: { user: 'family', password: 's3cret', appversion: '1.8.001' }, token: '' });
        return client.next((f) => f['event'] === 'auth', 60_000);
      }),
    );
    assert.equal(results.length, 1000);
    assert.equal(results.filter((r) => r['status'] === 'Success').length, 1000);
    assert.equal(server.app.server.connectionCount, 1000);
    let authenticated = 0;
    for (const c of server.app.server.liveConnections()) if (c.session.state === 'authenticated') authenticated++;
    assert.equal(authenticated, 1000);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  }
});

test('after 10,000 malformed or hostile frames the server still answers a normal client', { timeout: 300_000 }, async () => {
  // Auth off so that the auth-shaped frames of the corpus do not each cost a bcrypt round.
  const server = await startTestServer(db.appSettings!, { 'auth.enable': false });
  const corpus = buildHostileCorpus(server.config.network.max_frame_size);
  assert.ok(corpus.length >= 10_000, `corpus has ${corpus.length} frames`);
  let client = await connectClient(server.url);
  let reconnects = 0;
  try {
    for (const frame of corpus) {
      client.ws.send(frame);
      client.ws.send(VERSION_PROBE);
      // Each frame is followed by a probe: its reply proves the frame was handled and the
      // connection survived; a close (oversize frame, bad auth) means reconnect and go on.
      const alive = await client.next((f) => f['type'] === 'version', 10_000).then(
        () => true,
        () => false,
      );
      if (!alive) {
        reconnects++;
        await client.close();
        client = await connectClient(server.url);
      }
    }
    await client.close();
    const normal = await connectClient(server.url);
    normal.send({ event: 'auth', data: { user: 'x', password: 'y' } });
    assert.equal((await normal.next())['status'], 'Success');
    normal.send(VERSION_PROBE);
    assert.equal((await normal.next())['type'], 'version');
    await normal.close();
    assert.equal(server.logs.grep(/unexpected error/).length, 0, 'no handler threw');
    // Only the frames above the size limit may cost a connection.
    const oversize = corpus.filter((f) => Buffer.byteLength(f) > server.config.network.max_frame_size).length;
    assert.ok(reconnects <= oversize, `${reconnects} reconnects for ${oversize} oversize frames`);
  } finally {
    await client.close();
    await server.stop();
  }
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient, type TestClient } from '../../helpers/ws-client.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';

let db: ZmTestDatabase;
let server: TestServer;

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  await insertZmUser(db.execute, { username: 'u', passwordHash: await zmPasswordHash('p', 'mysql41') });
  server = await startTestServer(db.appSettings!, { 'network.max_backpressure': 256 * 1024 });
});

after(async () => {
  await server?.stop();
  await db?.drop();
});

async function authed(): Promise<TestClient> {
  const c = await connectClient(server.url);
  c.send({ event: 'auth', data: { user: 'u', password: 'p' } });
  assert.equal((await c.next())['status'], 'Success');
  return c;
}

test('a client that stops reading is dropped at network.max_backpressure while a reading client gets every alarm', { timeout: 120_000 }, async () => {
  const slow = await authed();
  const fast = await authed();
  // Stop reading on the slow client: the kernel buffers fill, then uWS's per-socket queue.
  (slow.ws as unknown as { _socket: Socket })._socket.pause();
  const cause = 'x'.repeat(8 * 1024);
  const COUNT = 3000; // about 25 MB of frames: more than loopback's socket buffers hold
  for (let i = 1; i <= COUNT; i++) {
    // Paced like a burst of real events, so the reading client (in this process) gets to read.
    if (i % 20 === 0) await new Promise((r) => setTimeout(r, 2));
    await server.app.pipeline.handle({
      kind: 'start',
      event: { eventId: BigInt(i), monitorId: 1, monitorName: 'Front Door', cause, notes: '', startTime: 1_800_000_000, endTime: null, alarmFrames: 1, maxScore: 10 },
    });
  }
  await fast.next((f) => f['event'] === 'alarm' && (f['events'] as Array<{ EventId: number }>)[0]!.EventId === COUNT, 60_000);
  const received = fast.frames.filter((f) => f['event'] === 'alarm').map((f) => (f['events'] as Array<{ EventId: number }>)[0]!.EventId);
  assert.deepEqual(received, Array.from({ length: COUNT }, (_, i) => i + 1), 'the reading client got every alarm, in order');
  // The server gave up on the slow reader instead of queueing without bound.
  assert.equal(server.app.server.connectionCount, 1, 'only the reading client is left');
  (slow.ws as unknown as { _socket: Socket })._socket.resume();
  await slow.closed;
  await fast.close();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { StatusServer, hostName, type StatusApi } from '../../../src/status/status-server.js';
import type { StatusSnapshot, TestPushAnswer } from '../../../src/status/status-types.js';
import { isZmesError } from '../../../src/errors.js';
import { systemClock } from '../../../src/clock.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { openStream, request } from '../../helpers/status-client.js';

/** The status page's HTTP server on its own, over real sockets, with a stand-in for the board. */
function fakeApi(answer: TestPushAnswer = { result: 'sent', detail: 'ok' }): StatusApi & { change(): void; snapshots: number } {
  const listeners = new Set<() => void>();
  let generation = 0;
  const api = {
    version: '0.2.0',
    snapshots: 0,
    snapshot(): StatusSnapshot {
      api.snapshots++;
      return { version: '0.2.0', generated_at: String(generation) } as unknown as StatusSnapshot;
    },
    onChange(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    testPush: () => Promise.resolve(answer),
    change() {
      generation++;
      for (const listener of listeners) listener();
    },
  };
  return api;
}

async function withServer<T>(options: Partial<ConstructorParameters<typeof StatusServer>[0]>, api: StatusApi, run: (server: StatusServer, logs: ReturnType<typeof memoryLogger>) => Promise<T>): Promise<T> {
  const logs = memoryLogger('debug');
  const server = new StatusServer({ address: '127.0.0.1', port: 0, allowedClients: '', ...options }, api, logs.log, systemClock);
  await server.start();
  try {
    return await run(server, logs);
  } finally {
    await server.stop();
  }
}

test('Host names: ports and brackets removed, lower-case', () => {
  assert.equal(hostName('LocalHost:8099'), 'localhost');
  assert.equal(hostName('[::1]:8099'), '::1');
  assert.equal(hostName('::1'), '::1');
  assert.equal(hostName('192.168.1.5'), '192.168.1.5');
  assert.equal(hostName(undefined), undefined);
  assert.equal(hostName(''), undefined);
});

test('a burst of changes reaches an open page as few snapshots, the latest last', async () => {
  const api = fakeApi();
  await withServer({ minPushIntervalMs: 50 }, api, async (server) => {
    const stream = await openStream(server.port);
    try {
      await stream.next(() => true);
      for (let i = 0; i < 100; i++) api.change();
      const last = await stream.next((s) => s.generated_at === '100');
      assert.equal(last.generated_at, '100');
      assert.ok(stream.snapshots.length <= 3, `${stream.snapshots.length} snapshots for 100 changes`);
    } finally {
      stream.close();
    }
  });
});

test('open pages get a fresh snapshot now and then without a change (last poll, connections)', async () => {
  const api = fakeApi();
  await withServer({ refreshIntervalMs: 40 }, api, async (server) => {
    const stream = await openStream(server.port);
    try {
      await stream.next(() => true);
      await stream.next(() => true);
      await stream.next(() => true);
    } finally {
      stream.close();
    }
  });
});

test('at most maxStreams open pages; stop ends them and frees the port', async () => {
  const api = fakeApi();
  const logs = memoryLogger('debug');
  const server = new StatusServer({ address: '127.0.0.1', port: 0, allowedClients: '', maxStreams: 1 }, api, logs.log, systemClock);
  await server.start();
  const port = server.port;
  const stream = await openStream(port);
  await stream.next(() => true);
  const second = await request(port, '/api/stream');
  assert.equal(second.status, 503);
  await server.stop();
  await server.stop(); // idempotent
  await stream.ended;
  await new Promise<void>((resolve, reject) => {
    const again = net.createServer();
    again.once('error', reject);
    again.listen({ host: '127.0.0.1', port, exclusive: true }, () => again.close(() => resolve()));
  });
});

test('a port in use stops the start with ZMES_LISTEN_FAILED naming the options', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const server = new StatusServer({ address: '127.0.0.1', port, allowedClients: '' }, fakeApi(), memoryLogger('debug').log, systemClock);
    await assert.rejects(server.start(), (err: unknown) => isZmesError(err, 'ZMES_LISTEN_FAILED') && /status\.port/.test(err.message));
    await server.stop();
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

test('on an address other than loopback without an allow-list, a warning says the page has no login', async () => {
  await withServer({ address: '0.0.0.0' }, fakeApi(), async (_server, logs) => {
    assert.equal(logs.grep(/without a login/).length, 1);
  });
  await withServer({ address: '0.0.0.0', allowedClients: '127.0.0.1' }, fakeApi(), async (_server, logs) => {
    assert.equal(logs.grep(/without a login/).length, 0);
  });
});

test('the test notification answers with a status per result; other methods and paths are refused', async () => {
  const cases: Array<[TestPushAnswer['result'], number]> = [
    ['sent', 200],
    ['pending', 202],
    ['failed', 502],
    ['busy', 429],
    ['push-off', 409],
  ];
  for (const [result, status] of cases) {
    await withServer({}, fakeApi({ result, detail: 'x' }), async (server) => {
      const page = await request(server.port, '/');
      const token = /content="([^"]+)"/.exec(page.body.slice(page.body.indexOf('zmes-csrf')))![1]!;
      const answer = await request(server.port, '/api/devices/abc/test', { method: 'POST', headers: { 'x-zmes-csrf': token } });
      assert.equal(answer.status, status, result);
      assert.equal((JSON.parse(answer.body) as TestPushAnswer).result, result);
    });
  }
  await withServer({}, fakeApi(), async (server) => {
    assert.equal((await request(server.port, '/api/status', { method: 'DELETE' })).status, 405);
    assert.equal((await request(server.port, '/api/devices/../test', { method: 'POST' })).status, 404);
    const head = await request(server.port, '/api/status', { method: 'HEAD' });
    assert.deepEqual([head.status, head.body], [200, '']);
  });
});

/**
 * Push fan-out benchmark (not a test): N registered tokens, one alarm → how long until the fake
 * FCM endpoint has received every request, through the production path: token store bookkeeping
 * (quota, badge), payload building, firebase-admin sendEach() over HTTP/2 with TLS. Goal for
 * 1,000 tokens: ≤ 1 s. For comparison the same through the proxy path (HTTP/1.1 POSTs).
 *
 *   node --import tsx bench/push-fanout.ts [--tokens 1000] [--runs 5] [--no-proxy]
 */
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/log/logger.js';
import { buildPushContent } from '../src/push/fcm-payload.js';
import { FcmSender, ProxyTransport, type PushTransport } from '../src/push/fcm-sender.js';
import { DirectTransport } from '../src/push/fcm-direct.js';
import { dispatchPush } from '../src/push/push-dispatch.js';
import { TokenStore } from '../src/tokens/token-store.js';
import { tokenStoreRegistry } from '../src/tokens/token-registry.js';
import { connectFakeFcm, startFakeFcm } from '../test/helpers/fake-fcm.js';
import { startFakeFcmProxy } from '../test/helpers/fake-fcm-proxy.js';
import { makeNotification, makePayloadOptions } from '../test/helpers/push-fixtures.js';

const { values: args } = parseArgs({
  options: {
    tokens: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    'no-proxy': { type: 'boolean', default: false },
  },
});
const TOKENS = Number(args.tokens);
const RUNS = Number(args.runs);

const log = createLogger({ level: 'warn' });
const payload = makePayloadOptions();

interface Sample {
  /** Dispatch start → the endpoint has the last request. */
  allReceivedMs: number;
  /** Dispatch start → send() resolved with every result. */
  allResultsMs: number;
  /** Dispatch start → the endpoint has the first request. */
  firstReceivedMs: number;
}

function fillStore(dir: string): TokenStore {
  const store = new TokenStore({ path: join(dir, 'tokens.txt'), log, maxDevicesPerUser: Number.MAX_SAFE_INTEGER });
  store.load();
  for (let i = 0; i < TOKENS; i++) {
    const ios = i % 3 === 0;
    store.register({
      token: `bench-${ios ? 'ios' : 'android'}-${String(i).padStart(6, '0')}-${'x'.repeat(140)}`,
      platform: ios ? 'ios' : 'android',
      state: 'enabled',
      monlist: '',
      intlist: '',
      appversion: '1.8.001',
      clientKind: i % 2 === 0 ? 'zmninja' : 'zmninjang',
    });
  }
  return store;
}

async function measure(
  name: string,
  transport: PushTransport,
  received: () => { count: number; times: number[] },
  store: TokenStore,
): Promise<void> {
  const sender = new FcmSender({ transport, payload, log });
  await sender.start();
  const samples: Sample[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const before = received().count;
    const notification = makeNotification({ event: { eventId: BigInt(5000 + run) } });
    const t0 = performance.now();
    const content = buildPushContent(notification, payload);
    const results = await dispatchPush({ sender, log }, content, await tokenStoreRegistry(store).devices(), { now: Date.now() });
    const t1 = performance.now();
    const { count, times } = received();
    const mine = times.slice(before);
    if (count - before !== TOKENS || results.some((r) => r.status !== 'ok')) {
      throw new Error(`${name}: endpoint saw ${count - before} of ${TOKENS}; ${results.filter((r) => r.status !== 'ok').length} not ok`);
    }
    // Run 0 warms up (TLS session, JIT); it is not counted.
    if (run > 0) samples.push({ allReceivedMs: Math.max(...mine) - t0, firstReceivedMs: Math.min(...mine) - t0, allResultsMs: t1 - t0 });
  }
  await sender.stop();
  const stat = (pick: (s: Sample) => number) => {
    const v = samples.map(pick).sort((a, b) => a - b);
    return `median ${v[Math.floor(v.length / 2)]!.toFixed(0).padStart(4)} ms  (min ${v[0]!.toFixed(0)}, max ${v.at(-1)!.toFixed(0)})`;
  };
  console.log(`\n${name}: ${TOKENS} tokens, ${RUNS} runs after 1 warm-up`);
  console.log(`  first request at endpoint     ${stat((s) => s.firstReceivedMs)}`);
  console.log(`  all requests at endpoint      ${stat((s) => s.allReceivedMs)}`);
  console.log(`  all results back (send done)  ${stat((s) => s.allResultsMs)}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'zmes-bench-push-'));
  const store = fillStore(dir);
  try {
    const fake = await startFakeFcm();
    const routed = connectFakeFcm(fake);
    try {
      await measure(
        'direct (firebase-admin sendEach, HTTP/2)',
        new DirectTransport({ app: routed.app }),
        () => ({ count: fake.requests.length, times: fake.requests.map((r) => r.at) }),
        store,
      );
      const versions = new Set(fake.requests.map((r) => r.httpVersion));
      console.log(`  HTTP versions seen: ${[...versions].join(', ')}`);
    } finally {
      await routed.dispose();
      await fake.close();
    }

    if (!args['no-proxy']) {
      const proxy = await startFakeFcmProxy({ key: 'bench-key', tls: true });
      const times: number[] = [];
      const agent = new https.Agent({ keepAlive: true, maxSockets: 32, ca: proxy.ca });
      // The proxy fake records no time; count arrivals by polling its request list.
      const poll = setInterval(() => {
        while (times.length < proxy.requests.length) times.push(performance.now());
      }, 1);
      try {
        await measure(
          'proxy (HTTPS POST per device, 32 keep-alive sockets)',
          new ProxyTransport({ url: proxy.url, key: 'bench-key', agent }),
          () => {
            while (times.length < proxy.requests.length) times.push(performance.now());
            return { count: proxy.requests.length, times };
          },
          store,
        );
      } finally {
        clearInterval(poll);
        agent.destroy();
        await proxy.close();
      }
    }
  } finally {
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

/**
 * Child process for the crash-safety test: loads a token store and registers tokens
 * `burst-000000`, `burst-000001`, … as fast as it can (continuing after the ones already in the
 * file) until it is killed. Writes are coalesced with a tiny delay so that many whole-file
 * writes are in progress at any moment the parent picks for SIGKILL.
 *
 * Usage: node --import tsx test/helpers/token-burst.ts <token file> <write delay ms>
 */
import { createLogger } from '../../src/log/logger.js';
import { TokenStore } from '../../src/tokens/token-store.js';

export const burstToken = (i: number): string => `burst-${String(i).padStart(6, '0')}`;

async function main(): Promise<void> {
  const [path, delay = '1'] = process.argv.slice(2);
  if (path === undefined) throw new Error('usage: token-burst.ts <token file> [write delay ms]');
  // The burst registers without a ZoneMinder user; the per-user quota would stop it after 20.
  const store = new TokenStore({ path, log: createLogger({ level: 'error' }), writeDelayMs: Number(delay), maxDevicesPerUser: Number.MAX_SAFE_INTEGER });
  store.load();
  let i = store.size;
  process.stdout.write(`ready ${i}\n`);
  for (;;) {
    store.register({
      token: burstToken(i),
      platform: i % 2 === 0 ? 'android' : 'ios',
      state: 'enabled',
      monlist: '1,2,3',
      intlist: '0,60,0',
      appversion: '1.8.001',
      clientKind: 'zmninja',
    });
    i++;
    // Yield now and then so the coalescing timer fires and writes happen mid-burst.
    if (i % 3 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

if (process.argv[1]?.endsWith('token-burst.ts')) void main();

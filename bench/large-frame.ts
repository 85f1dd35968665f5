// Benchmark (not a test): how long one maximal frame (network.max_frame_size's cap, 1 MiB) stops
// the server's event loop, for frames of several shapes, sent by a client in another process
// to a real zmes (uWS listener, session handler, MariaDB for the auth lookup). The stall is the
// longest gap seen by a 1 ms timer in the server process; the parser's share is timed apart.
// Run: node --import tsx bench/large-frame.ts [repeats] [bytes]   (needs the test MariaDB, like npm test;
// bytes defaults to the 1 MiB cap, 65536 shows the default max_frame_size)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { MAX_FRAME_SIZE_CAP } from '../src/config/formats.js';
import { parseClientFrame } from '../src/ws/protocol.js';
import { createZmTestDatabase } from '../test/helpers/zm-db.js';
import { memoryLogger } from '../test/helpers/memory-log.js';
import { FRAME_DESCRIPTIONS, FRAME_KINDS, buildFrame, type FrameKind } from './lib/large-frames.js';

const REPEATS = Number(process.argv[2] ?? 5);
const SIZE = Number(process.argv[3] ?? MAX_FRAME_SIZE_CAP);

/** The longest gap between ticks of a 1 ms interval since the last reset. */
function stallMeter() {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  return {
    reset: () => {
      last = performance.now();
      longest = 0;
    },
    longest: () => Math.max(longest, performance.now() - last),
    stop: () => clearInterval(timer),
  };
}

/** One client process: resolves with the longest gap while its frame was handled, and the answer. */
async function sendOnce(url: string, kind: FrameKind, meter: ReturnType<typeof stallMeter>): Promise<{ stallMs: number; answer: string; bytes: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./lib/large-frame-client.ts', import.meta.url).pathname, JSON.stringify({ url, kind, size: SIZE })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const result = await new Promise<{ answer: string; bytes: number }>((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`client exited (${code}) without an answer`)));
    lines.on('line', (line) => {
      if (line === 'ready') {
        meter.reset();
        child.stdin.write('go\n');
      } else resolve(JSON.parse(line) as { answer: string; bytes: number });
    });
  });
  // Let anything the frame set off (the auth lookup, a close) run before reading the meter.
  await new Promise((r) => setTimeout(r, 100));
  const stallMs = meter.longest();
  child.kill();
  return { stallMs, ...result };
}

/** The parser alone, in this process: the part of the stall that is zmes's JavaScript. */
function parserMs(frame: string): { ms: number; outcome: string } {
  const runs = 5;
  let best = Infinity;
  let outcome = '';
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const parsed = parseClientFrame(frame, { maxBytes: SIZE });
    best = Math.min(best, performance.now() - started);
    outcome = parsed.ok ? `ok ${parsed.value.kind}` : `${parsed.error.code} ${parsed.error.cause}`;
  }
  return { ms: best, outcome };
}

const db = await createZmTestDatabase({ appUser: true });
const dataDir = mkdtempSync(join(tmpdir(), 'zmes-bench-'));
const { config } = loadConfig({
  env: {},
  overrides: {
    'general.base_data_path': dataDir,
    'network.address': '127.0.0.1',
    'network.port': 0,
    'network.max_frame_size': SIZE,
    'ssl.enable': false,
    'database.host': db.appSettings!.host,
    'database.port': db.appSettings!.port,
    'database.name': db.appSettings!.database,
    'database.user': db.appSettings!.user,
    'database.password': db.appSettings!.password,
    'database.zm_conf': join(dataDir, 'no-zm.conf'),
  },
});
// Info level, as deployed: debug lines are formatted only when someone asked for them.
const app = await startApp(config, memoryLogger('info').log);
const meter = stallMeter();
try {
  const url = `ws://127.0.0.1:${app.port}`;
  // A warm-up frame, so that first-use compilation is not blamed on the first kind.
  await sendOnce(url, 'long-string', meter);
  const idle = await (async () => {
    meter.reset();
    await new Promise((r) => setTimeout(r, 500));
    return meter.longest();
  })();
  console.log(`one ${SIZE}-byte frame to zmes (max_frame_size ${SIZE}), ${REPEATS} runs each; idle longest tick gap ${idle.toFixed(1)} ms; ${os.availableParallelism()} CPUs, load ${os.loadavg()[0]!.toFixed(1)}`);
  console.log('kind            stall median  stall max  parser  parser outcome          server answer');
  for (const kind of FRAME_KINDS) {
    const stalls: number[] = [];
    let answer = '';
    let bytes = 0;
    for (let i = 0; i < REPEATS; i++) {
      const run = await sendOnce(url, kind, meter);
      stalls.push(run.stallMs);
      answer = run.answer;
      bytes = run.bytes;
    }
    stalls.sort((a, b) => a - b);
    const parser = parserMs(buildFrame(kind, SIZE));
    console.log(
      `${kind.padEnd(15)} ${stalls[Math.floor(stalls.length / 2)]!.toFixed(1).padStart(9)} ms ${stalls[stalls.length - 1]!.toFixed(1).padStart(7)} ms ` +
        `${parser.ms.toFixed(1).padStart(5)} ms  ${parser.outcome.padEnd(22)}  ${answer.slice(0, 60)}  (${bytes} bytes)`,
    );
  }
  console.log('');
  for (const kind of FRAME_KINDS) console.log(`  ${kind}: ${FRAME_DESCRIPTIONS[kind]}`);
} finally {
  meter.stop();
  await app.stop();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
}

// Child process of bench/large-frame.ts: builds one frame of the asked kind, connects, says
// "ready", sends the frame when told "go" on stdin, and prints what the server answered. Runs
// apart from the server so that building and masking 1 MiB is not counted as the server's stall.
import WebSocket from 'ws';
import { createInterface } from 'node:readline';
import { buildFrame, type FrameKind } from './large-frames.js';

const { url, kind, size } = JSON.parse(process.argv[2] ?? '{}') as { url: string; kind: FrameKind; size: number };
const frame = buildFrame(kind, size);
const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 });
const done = (what: string) => {
  process.stdout.write(`${JSON.stringify({ bytes: Buffer.byteLength(frame), answer: what })}\n`);
  process.exit(0);
};
ws.on('error', (err) => done(`error ${err.message}`));
ws.on('close', (code) => done(`closed ${code}`));
ws.on('message', (data) => done(data.toString().slice(0, 120)));
ws.on('open', () => {
  process.stdout.write('ready\n');
  createInterface({ input: process.stdin }).once('line', () => ws.send(frame));
});

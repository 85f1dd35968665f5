// Helper of scripts/check-image.sh: a WSS client (the `ws` package, as the tests use)
// that trusts the given certificate, asks for the server version and prints the reply.
// Usage: node scripts/check-image-client.mjs wss://127.0.0.1:PORT CERT.pem ; exit 0 on success.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const [url, caFile] = process.argv.slice(2);
if (!url || !caFile) {
  console.error('usage: check-image-client.mjs URL CA_FILE');
  process.exit(64);
}
const ws = new WebSocket(url, { ca: readFileSync(caFile) });
const timer = setTimeout(() => {
  console.error('  no reply within 10 s');
  process.exit(1);
}, 10_000);
ws.on('upgrade', (res) => {
  const socket = res.socket;
  console.log(`  handshake: HTTP ${res.statusCode} ${res.statusMessage}, ${socket.getProtocol?.()} ${socket.getCipher?.()?.name ?? ''}`);
});
ws.on('open', () => ws.send(JSON.stringify({ event: 'control', data: { type: 'version' } })));
ws.on('message', (data) => {
  const text = data.toString();
  console.log(`  reply: ${text}`);
  let reply;
  try {
    reply = JSON.parse(text);
  } catch {
    reply = {};
  }
  clearTimeout(timer);
  ws.close(1000);
  process.exitCode = reply.event === 'control' && reply.status === 'Success' && typeof reply.version === 'string' ? 0 : 1;
});
ws.on('error', (err) => {
  clearTimeout(timer);
  console.error(`  ${err.message}`);
  process.exitCode = 1;
});

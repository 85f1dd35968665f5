import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createZmTestDatabase, type ZmTestDatabase } from '../../helpers/zm-db.js';
import { connectClient } from '../../helpers/ws-client.js';
import { generateCertificate, type TestCertificate } from '../../helpers/certs.js';
import { insertZmUser, startTestServer, zmPasswordHash, type TestServer } from '../../helpers/zmes-server.js';
import { loadConfig } from '../../../src/config/load.js';
import { startApp } from '../../../src/app.js';
import { memoryLogger } from '../../helpers/memory-log.js';

let db: ZmTestDatabase;
let cert: TestCertificate;
let server: TestServer;
let liveCert: string;
let liveKey: string;

before(async () => {
  db = await createZmTestDatabase({ appUser: true });
  await insertZmUser(db.execute, { username: 'phone', passwordHash: await zmPasswordHash('secret', 'bcrypt-2y') });
  cert = generateCertificate();
  // zmes reads the files the config names; the test later replaces them in place.
  liveCert = join(cert.dir, 'live-cert.pem');
  liveKey = join(cert.dir, 'live-key.pem');
  copyFileSync(cert.certPath, liveCert);
  copyFileSync(cert.keyPath, liveKey);
  server = await startTestServer(db.appSettings!, { 'ssl.enable': true, 'ssl.cert': liveCert, 'ssl.key': liveKey });
});

after(async () => {
  await server?.stop();
  await db?.drop();
  cert?.cleanup();
});

function peerFingerprint(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

test('a wss client that trusts the certificate authenticates over TLS', async () => {
  assert.match(server.url, /^wss:/);
  const client = await connectClient(server.url.replace('127.0.0.1', 'localhost'), { ca: cert.cert, path: '/any/path' });
  client.send({ event: 'auth', data: { user: 'phone', password: 'secret' } });
  assert.equal((await client.next())['status'], 'Success');
  await client.close();
});

test('a client that does not trust the self-signed certificate cannot connect', async () => {
  await assert.rejects(connectClient(server.url));
});

test('TLS 1.0 and 1.1 are refused, TLS 1.2 and 1.3 accepted', async () => {
  const attempt = (version: tls.SecureVersion) =>
    new Promise<string>((resolve) => {
      const socket = tls.connect(
        { host: '127.0.0.1', port: server.app.port, ca: cert.cert, servername: 'localhost', minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' },
        () => {
          const protocol = socket.getProtocol() ?? 'unknown';
          socket.end();
          resolve(protocol);
        },
      );
      socket.on('error', () => resolve('refused'));
    });
  assert.equal(await attempt('TLSv1'), 'refused');
  assert.equal(await attempt('TLSv1.1'), 'refused');
  assert.equal(await attempt('TLSv1.2'), 'TLSv1.2');
  assert.equal(await attempt('TLSv1.3'), 'TLSv1.3');
});

test('a replaced certificate is served to new connections without a restart', async () => {
  const fresh = generateCertificate({ name: 'renewed' });
  try {
    const before = await peerFingerprint(server.app.port, cert.cert);
    assert.equal(before, new X509Certificate(cert.cert).fingerprint256);
    const open = await connectClient(server.url.replace('127.0.0.1', 'localhost'), { ca: cert.cert });
    writeFileSync(liveKey, fresh.key);
    writeFileSync(liveCert, fresh.cert);
    const expected = new X509Certificate(fresh.cert).fingerprint256;
    let seen = before;
    for (let i = 0; i < 100 && seen !== expected; i++) {
      await new Promise((r) => setTimeout(r, 200));
      seen = await peerFingerprint(server.app.port, fresh.cert).catch(() => seen);
    }
    if (seen !== expected) console.log(server.logs.lines.map((l) => l.message).join("\n"));
    assert.equal(seen, expected);
    assert.equal(server.logs.grep(/TLS certificate reloaded/).length, 1);
    // the connection opened before the swap is still served
    open.send({ event: 'control', data: { type: 'version' } });
    assert.equal((await open.next())['type'], 'version');
    await open.close();
  } finally {
    fresh.cleanup();
  }
});

test('ssl.enable without a usable certificate is a clear startup error', async () => {
  const missing = loadConfig({
    env: {},
    overrides: {
      'network.port': 0,
      'network.address': '127.0.0.1',
      'ssl.enable': true,
      'ssl.cert': join(cert.dir, 'does-not-exist.pem'),
      'ssl.key': cert.keyPath,
      'database.host': db.appSettings!.host,
      'database.port': db.appSettings!.port,
      'database.name': db.appSettings!.database,
      'database.user': db.appSettings!.user,
      'database.password': db.appSettings!.password,
    },
  }).config;
  await assert.rejects(startApp(missing, memoryLogger().log), { code: 'ZMES_TLS' });
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { spawn, execFileSync } from 'node:child_process';
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
import { WsServer } from '../../../src/ws/server.js';

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

interface Handshake {
  readonly ok: boolean;
  readonly protocol: string;
  readonly cipher: string;
  readonly output: string;
}

/** One handshake by the real openssl command-line client; stdin closed, so it ends after the handshake. */
function sClient(port: number, args: readonly string[]): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      const negotiated = /^New, (TLSv[\d.]+), Cipher is (\S+)$/m.exec(output);
      resolve({ ok: code === 0 && negotiated !== null, protocol: negotiated?.[1] ?? '', cipher: negotiated?.[2] ?? '', output });
    });
  });
}

/** The client offers exactly `suite`, at TLS 1.2 only; SECLEVEL=0 so that a refusal is the server's. */
const tls12 = (port: number, suite: string) => sClient(port, ['-tls1_2', '-cipher', `${suite}:@SECLEVEL=0`]);

/** Every suite this openssl can offer at TLS 1.2, tried one at a time: the ones the server accepts. */
async function acceptedTls12Suites(port: number): Promise<string[]> {
  const all = execFileSync('openssl', ['ciphers', '-s', '-tls1_2', 'ALL:@SECLEVEL=0'], { encoding: 'utf8' }).trim().split(':');
  const accepted: string[] = [];
  const queue = [...all];
  const worker = async () => {
    for (let suite = queue.shift(); suite !== undefined; suite = queue.shift()) if ((await tls12(port, suite)).ok) accepted.push(suite);
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return accepted.sort();
}

const WEAK_TLS12 = ['AES128-SHA', 'AES256-SHA', 'AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA'];
const GOOD_RSA_TLS12 = ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305'];
const GOOD_ECDSA_TLS12 = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305'];

test('openssl s_client: TLS 1.2 without forward secrecy or without AEAD is refused', async () => {
  for (const suite of WEAK_TLS12) {
    const result = await tls12(server.app.port, suite);
    assert.equal(result.ok, false, `${suite} was accepted:\n${result.output}`);
  }
});

test('openssl s_client: TLS 1.2 with ECDHE and AES-GCM or ChaCha20-Poly1305 is accepted', async () => {
  for (const suite of GOOD_RSA_TLS12) {
    const result = await tls12(server.app.port, suite);
    assert.deepEqual([result.ok, result.protocol, result.cipher], [true, 'TLSv1.2', suite], result.output);
  }
});

test('openssl s_client: TLS 1.3 is accepted, TLS 1.0 and 1.1 refused', async () => {
  const v13 = await sClient(server.app.port, ['-tls1_3']);
  assert.deepEqual([v13.ok, v13.protocol], [true, 'TLSv1.3'], v13.output);
  for (const version of ['-tls1', '-tls1_1']) {
    const old = await sClient(server.app.port, [version, '-cipher', 'ALL:@SECLEVEL=0']);
    assert.equal(old.ok, false, `${version} was accepted:\n${old.output}`);
  }
});

test('of every TLS 1.2 suite openssl knows, an RSA certificate gets exactly the three ECDHE-RSA AEAD suites', async () => {
  assert.deepEqual(await acceptedTls12Suites(server.app.port), [...GOOD_RSA_TLS12].sort());
});

test('with an ECDSA certificate, the ECDHE-ECDSA AEAD suites are accepted and its CBC suites refused', async (t) => {
  const ec = generateCertificate({ name: 'unused' });
  t.after(() => ec.cleanup());
  const certPath = join(ec.dir, 'ec-cert.pem');
  const keyPath = join(ec.dir, 'ec-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath,
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const ecServer = await startTestServer(db.appSettings!, { 'ssl.enable': true, 'ssl.cert': certPath, 'ssl.key': keyPath });
  t.after(() => ecServer.stop());
  for (const suite of GOOD_ECDSA_TLS12) {
    const result = await tls12(ecServer.app.port, suite);
    assert.deepEqual([result.ok, result.cipher], [true, suite], result.output);
  }
  for (const suite of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384']) {
    assert.equal((await tls12(ecServer.app.port, suite)).ok, false, suite);
  }
  const v13 = await sClient(ecServer.app.port, ['-tls1_3']);
  assert.equal(v13.protocol, 'TLSv1.3', v13.output);
});

/** Resolves once `check` holds; polls, as a changed file is only noticed by polling. */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a bad new certificate or key is refused with a clear log line and the old pair stays in service', async (t) => {
  const first = generateCertificate({ name: 'first' });
  const stranger = generateCertificate({ name: 'stranger', dir: first.dir });
  const renewed = generateCertificate({ name: 'renewed', dir: first.dir });
  t.after(() => first.cleanup());
  const certPath = join(first.dir, 'live-cert.pem');
  const keyPath = join(first.dir, 'live-key.pem');
  copyFileSync(first.certPath, certPath);
  copyFileSync(first.keyPath, keyPath);
  const logs = memoryLogger('debug');
  const ws = new WsServer(
    { address: '127.0.0.1', port: 0, tls: { cert: certPath, key: keyPath }, maxPayloadLength: 1024, maxConnections: 10, maxBackpressure: 65536, idleTimeout: 60, certificateCheckIntervalMs: 50 },
    { createSession: () => ({}), onOpen: () => undefined, onMessage: () => undefined, onClose: () => undefined },
    logs.log,
  );
  await ws.start();
  t.after(() => ws.stop());
  const served = () => peerFingerprint(ws.port, first.cert).catch(() => 'not served');
  const firstPrint = new X509Certificate(first.cert).fingerprint256;
  assert.equal(await served(), firstPrint);
  const refusals = (option: string) => logs.grep(new RegExp(`certificate changed but cannot be used, keeping the current one: .*${option.replace('.', '\\.')}: `));

  // A key from another certificate.
  writeFileSync(keyPath, stranger.key);
  await until(() => refusals('ssl.key').length > 0, 'the refused key in the log');
  assert.match(refusals('ssl.key')[0]!.message, /ssl\.key: .*live-key\.pem is not the private key of the certificate in ssl\.cert/);
  assert.equal(await served(), firstPrint);

  // The original key back and a certificate file that is not one.
  writeFileSync(keyPath, first.key);
  writeFileSync(certPath, 'not a certificate\n');
  await until(() => refusals('ssl.cert').length > 0, 'the refused certificate in the log');
  assert.match(refusals('ssl.cert')[0]!.message, /ssl\.cert: .*live-cert\.pem is not a PEM certificate/);
  assert.equal(logs.grep(/TLS certificate reloaded/).length, 0);
  assert.equal(await served(), firstPrint);

  // A good pair is still picked up afterwards.
  writeFileSync(keyPath, renewed.key);
  writeFileSync(certPath, renewed.cert);
  const renewedPrint = new X509Certificate(renewed.cert).fingerprint256;
  await until(async () => (await peerFingerprint(ws.port, renewed.cert).catch(() => '')) === renewedPrint, 'the renewed certificate');
  assert.equal(logs.grep(/TLS certificate reloaded/).length, 1);
});

// The certificate checks run before uWS sees the files: every kind of bad file gets a message
// naming the option to fix. Real certificates and keys, made with openssl.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TLS12_CIPHERS, checkTlsFiles } from '../../../src/ws/tls-files.js';
import { generateCertificate, type TestCertificate } from '../../helpers/certs.js';

let a: TestCertificate;
let b: TestCertificate;

before(() => {
  a = generateCertificate({ name: 'a' });
  b = generateCertificate({ name: 'b', dir: a.dir });
});
after(() => a?.cleanup());

function file(name: string, content: string | Buffer): string {
  const path = join(a.dir, name);
  writeFileSync(path, content);
  return path;
}

function refused(files: { cert: string; key: string }, message: RegExp): void {
  assert.throws(() => checkTlsFiles(files), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ZMES_TLS');
    assert.match(err.message, message);
    return true;
  });
}

test('a matching certificate and key pass', () => {
  checkTlsFiles({ cert: a.certPath, key: a.keyPath });
});

test('an EC certificate and key pass', () => {
  const cert = join(a.dir, 'ec-cert.pem');
  const key = join(a.dir, 'ec-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  checkTlsFiles({ cert, key });
});

test('a missing certificate names ssl.cert and says it does not exist', () => {
  refused({ cert: join(a.dir, 'absent.pem'), key: a.keyPath }, /^ssl\.cert: .*absent\.pem does not exist$/);
});

test('a missing key names ssl.key', () => {
  refused({ cert: a.certPath, key: join(a.dir, 'absent-key.pem') }, /^ssl\.key: .*absent-key\.pem does not exist$/);
});

test('a directory where a file should be is said so', () => {
  const dir = join(a.dir, 'a-directory');
  mkdirSync(dir, { recursive: true });
  refused({ cert: dir, key: a.keyPath }, /^ssl\.cert: .*a-directory is a directory, not a file$/);
});

test('a file that is not PEM names ssl.cert', () => {
  refused({ cert: file('garbage.pem', 'hello, I am not a certificate\n'), key: a.keyPath }, /^ssl\.cert: .*garbage\.pem is not a PEM certificate/);
});

test('a DER certificate is recognised, with the conversion command', () => {
  const der = execFileSync('openssl', ['x509', '-in', a.certPath, '-outform', 'der']);
  refused({ cert: file('cert.der', der), key: a.keyPath }, /^ssl\.cert: .*cert\.der is a DER \(binary\) certificate; zmes needs PEM: convert it with openssl x509 -inform der/);
});

test('a damaged PEM certificate names ssl.cert', () => {
  const text = a.cert.toString('utf8').replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!!!!!!!!!!!!!!!!!');
  refused({ cert: file('damaged.pem', text), key: a.keyPath }, /^ssl\.cert: .*damaged\.pem holds a damaged certificate/);
});

test('the key given as ssl.cert, and the certificate as ssl.key, are called swapped', () => {
  refused({ cert: a.keyPath, key: a.certPath }, /^ssl\.cert: .* holds a private key, not a certificate \(are ssl\.cert and ssl\.key swapped\?\)$/);
  refused({ cert: a.certPath, key: a.certPath }, /^ssl\.key: .* holds a certificate, not a private key \(are ssl\.cert and ssl\.key swapped\?\)$/);
});

test('a key that does not belong to the certificate names ssl.key', () => {
  refused({ cert: a.certPath, key: b.keyPath }, /^ssl\.key: .*b-key\.pem is not the private key of the certificate in ssl\.cert \(.*a-cert\.pem, subject CN=localhost\)/);
});

test('a key that is not PEM, and a passphrase-protected key, name ssl.key', () => {
  refused({ cert: a.certPath, key: file('garbage-key.pem', 'nope') }, /^ssl\.key: .*garbage-key\.pem is not a PEM private key/);
  const encrypted = execFileSync('openssl', ['pkey', '-in', a.keyPath, '-aes256', '-passout', 'pass:secret']);
  refused({ cert: a.certPath, key: file('encrypted-key.pem', encrypted) }, /^ssl\.key: .*encrypted-key\.pem is encrypted with a passphrase/);
});

test('the TLS 1.2 list is ECDHE with AES-GCM or ChaCha20-Poly1305 only', () => {
  for (const suite of TLS12_CIPHERS.split(':')) assert.match(suite, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
  assert.equal(TLS12_CIPHERS.split(':').length, 6);
});

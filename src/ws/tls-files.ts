/**
 * The WSS certificate and key: checked here, in Node, before uWebSockets.js gets their file
 * names. uWS only reports "no listen socket" or an unusable SSL context for every kind of bad
 * file, so each problem is told apart here and named by its option (`ssl.cert`, `ssl.key`).
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { ZmesError } from '../errors.js';

export interface TlsFiles {
  cert: string;
  key: string;
}

/**
 * TLS 1.2 suites offered: ECDHE key exchange (forward secrecy) with an AEAD cipher only. No RSA
 * key exchange, no CBC/SHA-1 suites. TLS 1.3 suites are not set by this list (all of them are
 * forward-secret AEAD); TLS 1.0 and 1.1 stay refused by uWS's minimum version.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----/g;

function pemLabels(text: string): string[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => m[1] ?? '');
}

function readOption(option: 'ssl.cert' | 'ssl.key', path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const problem =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? `cannot be read: permission denied${typeof process.getuid === 'function' ? ` (zmes runs as uid ${process.getuid()})` : ''}`
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : `cannot be read (${err instanceof Error ? err.message : String(err)})`;
    throw new ZmesError('ZMES_TLS', `${option}: ${path} ${problem}`, { cause: err });
  }
}

function parseCertificate(path: string, text: string): X509Certificate {
  const labels = pemLabels(text);
  if (!labels.includes('CERTIFICATE')) {
    const problem = labels.some((l) => l.endsWith('PRIVATE KEY'))
      ? 'holds a private key, not a certificate (are ssl.cert and ssl.key swapped?)'
      : labels.length > 0
        ? `holds a PEM "${labels[0]}" block, not a certificate (expected -----BEGIN CERTIFICATE-----)`
        : isDerCertificate(text)
          ? `is a DER (binary) certificate; zmes needs PEM: convert it with openssl x509 -inform der -in ${path} -out ${path}.pem`
          : 'is not a PEM certificate (expected a -----BEGIN CERTIFICATE----- block)';
    throw new ZmesError('ZMES_TLS', `ssl.cert: ${path} ${problem}`);
  }
  try {
    return new X509Certificate(text);
  } catch (err) {
    throw new ZmesError('ZMES_TLS', `ssl.cert: ${path} holds a damaged certificate (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
}

function isDerCertificate(text: string): boolean {
  try {
    new X509Certificate(Buffer.from(text, 'latin1'));
    return true;
  } catch {
    return false;
  }
}

function parseKey(path: string, text: string): KeyObject {
  const labels = pemLabels(text);
  if (labels.includes('ENCRYPTED PRIVATE KEY') || /^Proc-Type: 4,ENCRYPTED$/m.test(text)) {
    throw new ZmesError('ZMES_TLS', `ssl.key: ${path} is encrypted with a passphrase; zmes needs an unencrypted key (openssl pkey -in ${path} -out key.pem)`);
  }
  if (!labels.some((l) => l.endsWith('PRIVATE KEY'))) {
    const problem = labels.includes('CERTIFICATE')
      ? 'holds a certificate, not a private key (are ssl.cert and ssl.key swapped?)'
      : labels.length > 0
        ? `holds a PEM "${labels[0]}" block, not a private key (expected -----BEGIN PRIVATE KEY-----)`
        : 'is not a PEM private key (expected a -----BEGIN PRIVATE KEY----- block)';
    throw new ZmesError('ZMES_TLS', `ssl.key: ${path} ${problem}`);
  }
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch (err) {
    throw new ZmesError('ZMES_TLS', `ssl.key: ${path} holds a damaged private key (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
}

/**
 * Reads the certificate and key and checks that they are PEM, parse, and belong together.
 * Throws ZMES_TLS naming the option to fix; run at startup and before every live reload.
 */
export function checkTlsFiles(files: TlsFiles): void {
  const certText = readOption('ssl.cert', files.cert);
  const keyText = readOption('ssl.key', files.key);
  const cert = parseCertificate(files.cert, certText);
  const key = parseKey(files.key, keyText);
  if (!cert.checkPrivateKey(key)) {
    throw new ZmesError(
      'ZMES_TLS',
      `ssl.key: ${files.key} is not the private key of the certificate in ssl.cert (${files.cert}, subject ${cert.subject.replace(/\n/g, ', ')}); ` +
        'set ssl.key to the key the certificate was issued for',
    );
  }
  // Last, what the TLS library itself says (e.g. a key too weak for its security level).
  try {
    tls.createSecureContext({ cert: certText, key: keyText, ciphers: TLS12_CIPHERS });
  } catch (err) {
    throw new ZmesError('ZMES_TLS', `ssl.cert/ssl.key: ${files.cert} and ${files.key} are refused by TLS: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  dir: string;
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
  cleanup(): void;
}

/** A fresh self-signed certificate made with openssl, valid for localhost and 127.0.0.1 unless told otherwise. */
export function generateCertificate(options: { commonName?: string; altNames?: string; dir?: string; name?: string } = {}): TestCertificate {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'zmes-cert-'));
  const name = options.name ?? 'server';
  const certPath = join(dir, `${name}-cert.pem`);
  const keyPath = join(dir, `${name}-key.pem`);
  const commonName = options.commonName ?? 'localhost';
  const altNames = options.altNames ?? 'DNS:localhost,IP:127.0.0.1';
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2',
      '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=${altNames}`],
    { stdio: 'ignore' },
  );
  return {
    dir,
    certPath,
    keyPath,
    cert: readFileSync(certPath),
    key: readFileSync(keyPath),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// The real CLI, spawned as users run it: exit codes and what reaches stdout and stderr.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { generateCertificate } from '../helpers/certs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const MAIN = ['--import', 'tsx', 'src/main.ts'];

const dir = mkdtempSync(join(tmpdir(), 'zmes-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The caller's environment without ZMES_* variables, plus `extra`. */
function environment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ZMES_')) env[name] = value;
  return { ...env, ZMES_DATABASE_ZM_CONF: '', ...extra };
}

function zmes(args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [...MAIN, ...args], env);
}

/** A command with the test environment; a hang is a failure (status null), not a stuck suite. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', env: environment(env), timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const SECRET = 'mqtt-pa55-do-not-print';
const secretsFile = write('secrets.yml', `secrets:\n  MQTT_PASSWORD: ${SECRET}\n`);
const goodConfig = write(
  'good.yml',
  `general:\n  secrets: "${secretsFile}"\nmqtt:\n  enable: "yes"\n  password: "!MQTT_PASSWORD"\nfcm:\n  use_fcmv1: "yes"\nssl:\n  enable: "no"\n`,
);

describe('zmes --version and --help', () => {
  it('prints "zmes <version>" and exits 0', () => {
    const { code, stdout } = zmes(['--version']);
    assert.equal(code, 0);
    assert.equal(stdout, `zmes ${VERSION}\n`);
  });

  it('prints the usage with the options and exit codes, and exits 0', () => {
    const { code, stdout } = zmes(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: zmes/);
    for (const option of ['--config FILE', '--check-config', '--debug', '--version', '--help']) assert.ok(stdout.includes(option), option);
    for (const exit of ['0 ', '1 ', '64', '70', '78']) assert.match(stdout, new RegExp(`^  ${exit.trim()} `, 'm'));
  });
});

describe('a bad command line', () => {
  it('exits 64 with the usage on stderr for an unknown option', () => {
    const { code, stdout, stderr } = zmes(['--bogus']);
    assert.equal(code, 64);
    assert.equal(stdout, '');
    assert.match(stderr, /--bogus/);
    assert.match(stderr, /Usage: zmes/);
  });

  it('exits 64 for a stray argument and for --config without a file', () => {
    assert.equal(zmes(['extra']).code, 64);
    assert.equal(zmes(['--config']).code, 64);
    assert.equal(zmes(['--config=']).code, 64);
  });
});

describe('zmes --check-config', () => {
  it('prints the effective configuration with secrets masked, and exits 0', () => {
    const { code, stdout, stderr } = zmes(['--check-config', '--config', goodConfig]);
    assert.equal(code, 0, stderr);
    assert.ok(!stdout.includes(SECRET), 'secret on stdout');
    assert.ok(!stderr.includes(SECRET), 'secret on stderr');
    assert.match(stdout, /^ {2}password \.+ \(defined\) +\(secret\) +classic mqtt\.password$/m);
    assert.match(stdout, /^ {2}enable \.+ yes +\(file\) +classic mqtt\.enable$/m);
    assert.ok(stdout.includes(`# file: ${goodConfig}`));
  });

  it('accepts --config=FILE, honours env vars and warns about ignored keys on stderr', () => {
    const { code, stdout, stderr } = zmes([`--config=${goodConfig}`, '--check-config'], { ZMES_MQTT_TOPIC: 'from/env' });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^ {2}topic \.+ from\/env +\(env\)/m);
    assert.match(stderr, /warning: fcm\.use_fcmv1 is a classic setting with no effect in zmes; ignored/);
  });

  it('exits 78 naming the key when a value is invalid', () => {
    const bad = write('bad.yml', 'fcm:\n  enable: maybe\n');
    const { code, stdout, stderr } = zmes(['--check-config', '--config', bad]);
    assert.equal(code, 78);
    assert.equal(stdout, '');
    assert.match(stderr, /fcm\.enable: "maybe" is not valid/);
  });

  it('exits 78 naming the key when a key is unknown', () => {
    const bad = write('unknown.yml', 'mqtt:\n  sever: broker\n');
    const { code, stderr } = zmes(['--check-config', '--config', bad]);
    assert.equal(code, 78);
    assert.match(stderr, /unknown key mqtt\.sever/);
  });

  it('exits 78 when the --config file does not exist', () => {
    const { code, stderr } = zmes(['--check-config', '--config', join(dir, 'absent.yml')]);
    assert.equal(code, 78);
    assert.match(stderr, /absent\.yml not found/);
  });

  it('exits 78 when a secret cannot be resolved, without printing secrets', () => {
    const bad = write('missing-secret.yml', `general:\n  secrets: "${secretsFile}"\ndatabase:\n  password: "!NOPE"\n`);
    const { code, stderr } = zmes(['--check-config', '--config', bad]);
    assert.equal(code, 78);
    assert.match(stderr, /database\.password refers to secret NOPE/);
    assert.ok(!stderr.includes(SECRET));
  });
});

describe('running the server', () => {
  it('exits 78 when a missing --config file is named, before starting anything', () => {
    const { code, stderr } = zmes(['--config', join(dir, 'absent.yml')]);
    assert.equal(code, 78);
    assert.match(stderr, /absent\.yml not found/);
  });

  it('stops cleanly on SIGTERM and exits 0, never logging a secret', async () => {
    const dataDir = mkdtempSync(join(dir, 'data-'));
    const config = write(
      'run.yml',
      [
        'general:',
        `  secrets: "${secretsFile}"`,
        `  base_data_path: "${dataDir}"`,
        'network:',
        '  address: 127.0.0.1',
        '  port: 0',
        'ssl:',
        '  enable: "no"',
        'mqtt:',
        '  password: "!MQTT_PASSWORD"',
        'database:',
        // Nothing listens on port 1: the server starts and keeps retrying the database.
        '  host: 127.0.0.1',
        '  port: 1',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [...MAIN, '--config', config, '--debug'], { cwd: ROOT, env: environment() });
    let output = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.on('exit', (code, signal) => done({ code, signal })),
    );
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      await new Promise<void>((ready, failed) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString('utf8');
          // Signal handlers are installed before this line is logged.
          if (output.includes(`configuration read from ${config}`)) ready();
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('exit', () => failed(new Error(`exited before starting:\n${output}`)));
      });
      child.kill('SIGTERM');
      const { code, signal } = await exited;
      assert.equal(signal, null, output);
      assert.equal(code, 0, output);
      assert.match(output, /SIGTERM received: stopping/);
      assert.ok(!output.includes(SECRET), 'a secret reached the log');
    } finally {
      clearTimeout(guard);
    }
  });

  it('exits 78 when the application rejects the configuration at start (TLS on without files)', () => {
    const config = write('tls.yml', `general:\n  base_data_path: "${dir}"\nnetwork:\n  port: 0\n  address: 127.0.0.1\nssl:\n  enable: "yes"\n`);
    const { code, stdout } = zmes(['--config', config]);
    assert.equal(code, 78, stdout);
    assert.match(stdout, /ssl\.cert/);
  });
});

describe('files the configuration names, checked at start (exit 78, the option on stderr)', () => {
  /** A server configuration that starts without a database (nothing listens on port 1). */
  function serverConfig(name: string, lines: string[], dataDir = mkdtempSync(join(dir, 'data-'))): string {
    const base = ['general:', `  base_data_path: "${dataDir}"`, 'network:', '  address: 127.0.0.1', '  port: 0', 'database:', '  host: 127.0.0.1', '  port: 1'];
    return write(name, [...base, ...lines, ''].join('\n'));
  }
  const tls = (cert: string, key: string) => ['ssl:', '  enable: "yes"', `  cert: "${cert}"`, `  key: "${key}"`];
  const certs = generateCertificate({ name: 'one', dir: mkdtempSync(join(dir, 'certs-')) });
  const other = generateCertificate({ name: 'two', dir: certs.dir });

  it('a certificate file that is not a certificate names ssl.cert', () => {
    const garbage = write('garbage-cert.pem', 'this is not a certificate\n');
    const { code, stdout, stderr } = zmes(['--config', serverConfig('bad-cert.yml', tls(garbage, certs.keyPath))]);
    assert.equal(code, 78, stdout + stderr);
    assert.match(stderr, /^zmes: configuration error: .*ssl\.cert: .*garbage-cert\.pem is not a PEM certificate/m);
    assert.doesNotMatch(stdout, /listening for/);
  });

  it('a missing certificate names ssl.cert', () => {
    const { code, stderr } = zmes(['--config', serverConfig('no-cert.yml', tls(join(dir, 'absent-cert.pem'), certs.keyPath))]);
    assert.equal(code, 78, stderr);
    assert.match(stderr, /ssl\.cert: .*absent-cert\.pem does not exist/);
  });

  it('a key that does not belong to the certificate names ssl.key', () => {
    const { code, stderr } = zmes(['--config', serverConfig('mismatch.yml', tls(certs.certPath, other.keyPath))]);
    assert.equal(code, 78, stderr);
    assert.match(stderr, /ssl\.key: .*two-key\.pem is not the private key of the certificate in ssl\.cert/);
  });

  it('a certificate where the key should be names ssl.key', () => {
    const { code, stderr } = zmes(['--config', serverConfig('swapped.yml', tls(certs.certPath, certs.certPath))]);
    assert.equal(code, 78, stderr);
    assert.match(stderr, /ssl\.key: .* holds a certificate, not a private key/);
  });

  // Root ignores mode bits, so a read-only mount is the honest test: a tmpfs mounted read-only
  // in a private mount namespace (gone with the process, nothing left mounted on this machine).
  const probe = mkdtempSync(join(dir, 'mount-probe-'));
  const mountNamespace = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$0"', probe]).status === 0;

  it('a data directory on a read-only file system is reported as read-only, naming the option', { skip: mountNamespace ? false : 'needs unshare and mount (root)' }, () => {
    const readOnly = mkdtempSync(join(dir, 'ro-'));
    const config = serverConfig('read-only.yml', [], join(readOnly, 'zmes'));
    const { code, stdout, stderr } = run('unshare', [
      '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"', readOnly,
      process.execPath, ...MAIN, '--config', config,
    ]);
    assert.equal(code, 78, stdout + stderr);
    assert.match(stderr, new RegExp(`^zmes: configuration error: .*general\\.base_data_path \\(${readOnly}/zmes\\): cannot create ${readOnly}/zmes: ${readOnly} is read-only`, 'm'));
    assert.doesNotMatch(stderr + stdout, /ENOENT/);
  });

  it('a data directory zmes may not write to is "permission denied", naming the option', (t) => {
    const locked = mkdtempSync(join(dir, 'locked-'));
    const root = process.getuid?.() === 0;
    // Root ignores mode bits; the immutable attribute stops root too, where the file system has it.
    if (root && spawnSync('chattr', ['+i', locked]).status !== 0) return t.skip('chattr +i is not available here');
    if (!root) chmodSync(locked, 0o555);
    try {
      const { code, stderr } = zmes(['--config', serverConfig('locked.yml', ['fcm:', '  enable: "yes"', `  token_file: "${locked}/push/tokens.txt"`])]);
      assert.equal(code, 78, stderr);
      assert.match(stderr, /fcm\.token_file \(.*locked-.*\/push\/tokens\.txt\): cannot create .*\/push: permission denied writing in /);
    } finally {
      if (root) spawnSync('chattr', ['-i', locked]);
      else chmodSync(locked, 0o755);
    }
  });

  it('a token file under /proc is refused at once instead of hanging', { skip: process.platform !== 'linux' }, () => {
    const { code, stderr } = zmes(['--config', serverConfig('proc.yml', ['fcm:', '  enable: "yes"', '  token_file: /proc/zmes-test/push/tokens.txt'])]);
    assert.equal(code, 78, stderr);
    assert.match(stderr, /fcm\.token_file \(\/proc\/zmes-test\/push\/tokens\.txt\): cannot create \/proc\/zmes-test: \/proc does not accept new files or directories/);
  });

  it('network.max_frame_size above the 1 MiB cap is refused, by --check-config and at start', () => {
    const file = write('frame-size.yml', 'network:\n  max_frame_size: 2097152\n');
    for (const args of [['--check-config', '--config', file], ['--config', file]]) {
      const { code, stdout, stderr } = zmes(args);
      assert.equal(code, 78, stdout + stderr);
      assert.match(stderr, /network\.max_frame_size: 2097152 is not valid.*from 1 to 1048576 \(1 MiB\)/);
      assert.doesNotMatch(stdout, /listening for/);
    }
    const { code } = zmes(['--check-config', '--config', write('frame-max.yml', 'network:\n  max_frame_size: 1048576\n')]);
    assert.equal(code, 0, 'exactly 1 MiB is allowed');
  });
});

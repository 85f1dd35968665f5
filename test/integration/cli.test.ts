// The real CLI, spawned as users run it: exit codes and what reaches stdout and stderr.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

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
  const result = spawnSync(process.execPath, [...MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: environment(env) });
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

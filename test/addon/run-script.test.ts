// The add-on as s6 runs it, without Docker: the rootfs scripts (init-zmes/run, zmes/run,
// zmes/finish) run with bash against zmes built into a temporary /opt/zmes, a sample
// /data/options.json, certificates in a temporary /ssl, a stub Supervisor on loopback that
// offers the local Mosquitto as its MQTT service, and a real ZoneMinder database. The server
// must start, answer a wss:// client, publish its availability over MQTT and stop with 0.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { createServer as createHttpServer, get as httpGet, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from '../../addon/lint.js';
import { generateCertificate, type TestCertificate } from '../helpers/certs.js';
import { connectSubscriber, SHARED_BROKER, type MqttSubscriber } from '../helpers/mqtt-subscriber.js';
import { connectClient } from '../helpers/ws-client.js';
import { createZmTestDatabase, type ZmTestDatabase } from '../helpers/zm-db.js';
import { insertZmUser, zmPasswordHash } from '../helpers/zmes-server.js';
import { PROTOCOL_VERSION } from '../../src/version.js';

const S6 = join(ROOT, 'rootfs', 'etc', 's6-overlay', 's6-rc.d');
const INIT = join(S6, 'init-zmes', 'run');
const RUN = join(S6, 'zmes', 'run');
const FINISH = join(S6, 'zmes', 'finish');
const TOKEN = `supervisor-token-${randomBytes(4).toString('hex')}`;
const DB_USER_PASSWORD = 'family-pw';

let dir: string;
let home: string;
let cert: TestCertificate;
let db: ZmTestDatabase;
let supervisor: Server;
let supervisorUrl: string;
/** What the stub Supervisor answers on /services/mqtt. */
let mqttService: { status: number; body: unknown } = { status: 200, body: {} };
const topic = `zmes-addon-${randomBytes(4).toString('hex')}`;

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zmes-addon-'));
  // /opt/zmes as the image has it: dist/ from the build, node_modules, package.json.
  home = join(dir, 'opt-zmes');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', '@typescript', 'native', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(home, 'dist')], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  symlinkSync(join(ROOT, 'node_modules'), join(home, 'node_modules'));
  copyFileSync(join(ROOT, 'package.json'), join(home, 'package.json'));
  for (const folder of ['data', 'ssl', 'config']) mkdirSync(join(dir, folder));
  cert = generateCertificate({ dir: join(dir, 'ssl'), name: 'server' });

  db = await createZmTestDatabase({ appUser: true });
  await insertZmUser(db.execute, { username: 'family', passwordHash: await zmPasswordHash(DB_USER_PASSWORD, 'bcrypt-2y', 4) });

  supervisor = createHttpServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 'error', message: 'Unauthorized' }));
      return;
    }
    if (req.url === '/services/mqtt') {
      res.writeHead(mqttService.status, { 'content-type': 'application/json' }).end(JSON.stringify(mqttService.body));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => supervisor.listen(0, '127.0.0.1', resolve));
  supervisorUrl = `http://127.0.0.1:${(supervisor.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => (supervisor ? supervisor.close(() => resolve()) : resolve()));
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function options(extra: Record<string, unknown> = {}): string {
  const sample = JSON.parse(readFileSync(join(ROOT, 'test', 'addon', 'fixtures', 'sample.options.json'), 'utf8')) as Record<string, unknown>;
  const app = db.appSettings!;
  const file = join(dir, `options-${randomBytes(3).toString('hex')}.json`);
  const values = {
    ...sample,
    log_level: 'debug',
    zm_db_host: app.host,
    zm_db_port: app.port,
    zm_db_name: app.database,
    zm_db_user: app.user,
    zm_db_password: app.password,
    ssl: true,
    certfile: 'server-cert.pem',
    keyfile: 'server-key.pem',
    mqtt_topic: topic,
    ...extra,
  };
  writeFileSync(file, JSON.stringify(values));
  return file;
}

/** The environment s6's with-contenv would give, pointed at the temporary folders. */
function environment(optionsFile: string, port: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: dir,
    TZ: 'UTC',
    ZMES_HOME: home,
    ZMES_ADDON_OPTIONS: optionsFile,
    ZMES_ADDON_DATA_DIR: join(dir, 'data'),
    ZMES_ADDON_SSL_DIR: join(dir, 'ssl'),
    ZMES_ADDON_CONFIG_DIR: join(dir, 'config'),
    ZMES_ADDON_PORT: String(port),
    SUPERVISOR_API: supervisorUrl,
    SUPERVISOR_TOKEN: TOKEN,
    ...extra,
  };
}

/** Runs a script with bash, as with-contenv would, asynchronously (the stub Supervisor lives in this process). */
function runScript(script: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function waitForOutput(child: ChildProcess, pattern: RegExp, output: () => string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output:\n${output()}`)), timeoutMs);
    const check = () => {
      if (pattern.test(output())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; output:\n${output()}`));
    });
    check();
  });
}

function health(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet({ host: '127.0.0.1', port, path: '/health', ca: cert.cert }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('init-zmes/run (oneshot)', () => {
  it('validates the options, shows the effective configuration with secrets masked, and exits 0', async () => {
    mqttService = { status: 200, body: { result: 'ok', data: { host: '127.0.0.1', port: 1883, ssl: false, username: 'addons', password: 'mqtt-pw-hidden' } } };
    const result = await runScript(INIT, environment(options(), 9000));
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^\[init-zmes\] checking the add-on configuration$/m);
    assert.match(result.stdout, /MQTT: using the broker the Supervisor offers, 127\.0\.0\.1:1883 as addons/);
    assert.match(result.stdout, /^ {2}cert \.+ .*ssl\/server-cert\.pem +\(override\) +classic ssl\.cert$/m);
    assert.match(result.stdout, /^\[zmes\] configuration OK$/m);
    for (const secret of [db.appSettings!.password, 'mqtt-pw-hidden', TOKEN]) {
      assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'a secret reached the log');
    }
  });

  it('fails with a readable message naming the file when a certificate is missing', async () => {
    const result = await runScript(INIT, environment(options({ certfile: 'missing.pem' }), 9000));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[zmes\] configuration error: ssl is on but certfile .*\/ssl\/missing\.pem does not exist or is not readable/);
    assert.match(result.stderr, /\[init-zmes\] the add-on cannot start/);
  });

  it('fails naming the option when a required option is missing or a value is invalid', async () => {
    const missing = await runScript(INIT, environment(options({ zm_db_password: '' }), 9000));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /option zm_db_password is required/);
    const invalid = await runScript(INIT, environment(options({ mqtt_topic: 'bad/#' }), 9000));
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /mqtt\.topic: "bad\/#" is not valid \(add-on option mqtt_topic\)/);
  });

  it('runs without MQTT, saying why, when no broker add-on exists or the Supervisor is away', async () => {
    mqttService = { status: 400, body: { result: 'error', message: 'Service not enabled' } };
    const none = await runScript(INIT, environment(options(), 9000));
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /warning: MQTT is off: no MQTT broker add-on is installed/);
    assert.match(none.stdout, /^ {2}enable \.+ no +\(override\) +classic mqtt\.enable$/m);
    const away = await runScript(INIT, environment(options(), 9000, { SUPERVISOR_API: 'http://127.0.0.1:1' }));
    assert.equal(away.code, 0, away.stderr);
    assert.match(away.stderr, /MQTT is off: the Supervisor at http:\/\/127\.0\.0\.1:1 is not reachable/);
  });
});

describe('zmes/run (longrun)', () => {
  let subscriber: MqttSubscriber | undefined;
  after(async () => subscriber?.close());

  it('starts zmes on the sample options, answers a wss:// client, publishes over MQTT, and stops with 0 on SIGTERM', async () => {
    mqttService = { status: 200, body: { result: 'ok', data: { host: SHARED_BROKER.host, port: SHARED_BROKER.port, ssl: false, username: 'addons', password: 'pw' } } };
    subscriber = await connectSubscriber({ port: SHARED_BROKER.port }, [`${topic}/#`]);
    const port = await freePort();
    const child = spawn('bash', [RUN], { env: environment(options(), port), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      await waitForOutput(child, /zmes \S+ ready/, () => output);
      assert.match(output, /^\[zmes\] starting the ZoneMinder event notification server$/m);
      assert.match(output, /MQTT: using the broker the Supervisor offers, 127\.0\.0\.1:1883 as addons/);

      const client = await connectClient(`wss://127.0.0.1:${port}`, { ca: cert.cert });
      client.send({ event: 'control', data: { type: 'version' } });
      const version = await client.next((f) => f['event'] === 'control');
      assert.equal(version['status'], 'Success');
      assert.equal(version['version'], PROTOCOL_VERSION);
      client.send({ event: 'auth', data: { user: 'family', password: DB_USER_PASSWORD, appversion: '1.8.001' } });
      const auth = await client.next((f) => f['event'] === 'auth');
      assert.equal(auth['status'], 'Success', JSON.stringify(auth));
      await client.close();

      const live = await health(port);
      assert.equal(live.status, 200);
      const state = JSON.parse(live.body) as Record<string, { state?: string } | string>;
      assert.equal(state['status'], 'ok');
      assert.deepEqual(Object.keys(state).sort(), ['database', 'mqtt', 'push', 'status', 'zoneminder_api']);
      await subscriber.waitFor((m) => m.topic === `${topic}/zmes/availability` && m.payload === 'online', 'availability online');
      assert.ok(!output.includes(db.appSettings!.password), 'the database password reached the log');
    } finally {
      child.kill('SIGTERM');
    }
    const { code, signal } = await exited;
    assert.equal(signal, null, `killed by ${signal}: node did not handle SIGTERM`);
    assert.equal(code, 0, output);
    assert.match(output, /SIGTERM received: stopping/);
    assert.match(output, /zmes stopped/);
    assert.ok(existsSync(join(dir, 'data')), 'data folder');
  });
});

describe('plain container (no Supervisor, no options.json)', () => {
  /** A container without the Supervisor: no SUPERVISOR_TOKEN, no options file, /config and /data mounted. */
  function plainEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    mkdirSync(join(dir, 'plain', 'config'), { recursive: true });
    return {
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      HOME: dir,
      TZ: 'UTC',
      ZMES_HOME: home,
      ZMES_ADDON_DATA_DIR: join(dir, 'plain', 'data'),
      ZMES_ADDON_CONFIG_DIR: join(dir, 'plain', 'config'),
      ...extra,
    };
  }

  function writeZmesYml(port: number): string {
    const app = db.appSettings!;
    const path = join(dir, 'plain', 'config', 'zmes.yml');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(
      path,
      `network:\n  address: 127.0.0.1\n  port: ${port}\nssl:\n  enable: no\ndatabase:\n  host: ${app.host}\n  port: ${app.port}\n` +
        `  name: ${app.database}\n  user: ${app.user}\n  password: ${JSON.stringify(app.password)}\n  zm_conf: ""\n`,
    );
    return path;
  }

  it('init-zmes/run checks /config/zmes.yml, with the state in /data, secrets masked', async () => {
    const config = writeZmesYml(9000);
    const result = await runScript(INIT, plainEnvironment());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`no Home Assistant Supervisor: plain container, configuration ${config}`));
    assert.match(result.stdout, new RegExp(`base_data_path \\.+ ${join(dir, 'plain', 'data')} +\\(env\\)`));
    assert.ok(!result.stdout.includes(db.appSettings!.password), 'the database password is masked');
    rmSync(config);
    const broken = await runScript(INIT, plainEnvironment({ ZMES_NETWORK_PORT: 'ninety' }));
    assert.notEqual(broken.code, 0);
    assert.match(broken.stdout + broken.stderr, /configuration from ZMES_\* variables/);
    assert.match(broken.stderr, /network\.port/);
  });

  it('zmes/run serves clients with /config/zmes.yml, logs to stdout, and stops with 0 on SIGTERM', async () => {
    const port = await freePort();
    writeZmesYml(port);
    const child = spawn('bash', [RUN], { env: plainEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', () => undefined);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      await waitForOutput(child, /zmes \S+ ready/, () => stdout);
      assert.match(stdout, /configuration read from .*plain\/config\/zmes\.yml/);
      const client = await connectClient(`ws://127.0.0.1:${port}`);
      client.send({ event: 'auth', data: { user: 'family', password: DB_USER_PASSWORD, appversion: '1.8.001' } });
      assert.equal((await client.next((f) => f['event'] === 'auth'))['status'], 'Success');
      await client.close();
      const status = await new Promise<number>((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port, path: '/health' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
      assert.equal(status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.deepEqual(await exited, { code: 0, signal: null }, stdout);
    assert.ok(existsSync(join(dir, 'plain', 'data')), 'state in the data folder');
  });
});

describe('zmes/finish', () => {
  const finish = (rc: string, sig: string) => {
    const results = mkdtempSync(join(dir, 'finish-'));
    const exitcode = join(results, 'exitcode');
    const halted = join(results, 'halted');
    const halt = join(results, 'halt');
    writeFileSync(halt, `#!/bin/sh\necho halted > "${halted}"\n`, { mode: 0o755 });
    const run = () =>
      spawnSync('bash', [FINISH, rc, sig], { env: { PATH: '/usr/bin:/bin', ZMES_EXITCODE_FILE: exitcode, ZMES_HALT_COMMAND: halt }, encoding: 'utf8' });
    return { exitcode, halted, run };
  };

  it('leaves a clean exit and a stop by SIGTERM clean: no exit code recorded, no halt', () => {
    for (const [rc, sig] of [['0', '0'], ['256', '15']] as const) {
      const { exitcode, halted, run } = finish(rc, sig);
      const result = run();
      assert.equal(result.status, 0, `${rc} ${sig}: ${result.stderr}`);
      assert.ok(!existsSync(exitcode), `exit code recorded for ${rc} ${sig}`);
      assert.ok(!existsSync(halted), `halted for ${rc} ${sig}`);
    }
  });

  it('halts the container on a crash, recording the exit code (128+signal when killed)', () => {
    for (const [rc, sig, code] of [['1', '0', '1'], ['70', '0', '70'], ['256', '9', '137']] as const) {
      const { exitcode, halted, run } = finish(rc, sig);
      const result = run();
      assert.equal(result.status, 0, result.stderr);
      assert.equal(readFileSync(exitcode, 'utf8').trim(), code);
      assert.ok(existsSync(halted), 'halt not called');
      assert.match(result.stderr, new RegExp(`stopped unexpectedly \\(exit code ${code}\\)`));
    }
  });

  it('keeps the first failure when another one was recorded before', () => {
    const { exitcode, run } = finish('1', '0');
    writeFileSync(exitcode, '42\n');
    run();
    assert.equal(readFileSync(exitcode, 'utf8').trim(), '42');
  });
});

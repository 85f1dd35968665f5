// zmes as a ZoneMinder host installs it: `npm pack`, then `npm install -g` of that tarball into a
// temporary prefix; the installed `zmes` runs from PATH; `zmes install-zm-daemon` puts the
// zmeventnotification.pl stand-in into ZM_PATH_BIN, and that script, run by path as ZoneMinder's
// web user (www-data) the way zmdc.pl runs it, serves a real client from a throwaway ZoneMinder
// database; the systemd unit passes `systemd-analyze verify`. (ZoneMinder's own zmdc.pl is not
// run: Debian's zoneminder package is not installed here.)
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '../helpers/ws-client.js';
import { createZmTestDatabase, type ZmTestDatabase } from '../helpers/zm-db.js';
import { insertZmUser, zmPasswordHash } from '../helpers/zmes-server.js';
import { cleanEnvironment, startProcess, type ZmesProcess } from '../helpers/zmes-process.js';
import { PROTOCOL_VERSION, ZMES_VERSION } from '../../src/version.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_USER = 'www-data';

function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { code: number | null; out: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000, env: cleanEnvironment(options.env), ...(options.cwd ? { cwd: options.cwd } : {}) });
  return { code: result.status, out: `${result.stdout}${result.stderr}${result.error ? String(result.error) : ''}` };
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, WEB_USER], { encoding: 'utf8' }).trim());
}

describe('the npm package on a ZoneMinder host', () => {
  let dir: string;
  let tarball: string;
  let packed: string[];
  let prefix: string;
  let zmes: string;
  let db: ZmTestDatabase;
  const running: ZmesProcess[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'zmes-package-'));
    // ZoneMinder's web user must reach everything below (mkdtemp makes the folder private).
    chmodSync(dir, 0o755);
    const pack = run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT });
    assert.equal(pack.code, 0, pack.out);
    const report = JSON.parse(pack.out.slice(pack.out.indexOf('['), pack.out.lastIndexOf(']') + 1)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(dir, report[0]!.filename);
    packed = report[0]!.files.map((f) => f.path);
    prefix = join(dir, 'global');
    // --prefer-offline: the runtime dependencies are in npm's cache after `npm ci`.
    const install = run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball]);
    assert.equal(install.code, 0, install.out);
    zmes = join(prefix, 'bin', 'zmes');
    db = await createZmTestDatabase({ appUser: true });
    await insertZmUser(db.execute, { username: 'owner', passwordHash: await zmPasswordHash('owner-pw', 'mysql41') });
  });

  after(async () => {
    for (const process of running) await process.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A zmes YAML configuration for the throwaway database, with the data directory given. */
  function configFile(name: string, dataDir: string): string {
    const database = db.appSettings!;
    const path = join(dir, name);
    writeFileSync(
      path,
      [
        'general:',
        `  base_data_path: ${dataDir}`,
        'network:',
        '  address: 127.0.0.1',
        '  port: 0',
        'ssl:',
        '  enable: no',
        'database:',
        `  host: ${database.host}`,
        `  port: ${database.port}`,
        `  name: ${database.database}`,
        `  user: ${database.user}`,
        `  password: ${JSON.stringify(database.password)}`,
        '  zm_conf: ""',
        '',
      ].join('\n'),
    );
    chmodSync(path, 0o644);
    return path;
  }

  async function expectServes(process: ZmesProcess): Promise<void> {
    const port = Number((await process.waitFor(/listening for ws:\/\/ connections on 127\.0\.0\.1:(\d+)/))[1]);
    await process.waitFor(/zmes \S+ ready/);
    const client = await connectClient(`ws://127.0.0.1:${port}`);
    try {
      client.send({ event: 'control', data: { type: 'version' } });
      assert.equal((await client.next((f) => f['event'] === 'control'))['version'], PROTOCOL_VERSION);
      client.send({ event: 'auth', data: { user: 'owner', password: 'owner-pw', appversion: '1.8.001' } });
      assert.equal((await client.next((f) => f['event'] === 'auth'))['status'], 'Success');
    } finally {
      await client.close();
    }
  }

  it('holds the built server, the shim, the systemd unit and the docs, and no tests, benchmarks, fixtures or dev tools', () => {
    // The bundle (scripts/build.mjs): the entry point and the chunks it loads, optional parts apart.
    assert.ok(packed.some((p) => /^dist\/src\/chunks\/mqtt-channel-\w+\.js$/.test(p)), 'MQTT is a chunk of its own, loaded only when configured');
    for (const path of ['dist/src/main.js', 'packaging/zmeventnotification.pl', 'packaging/zmes.service', 'README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']) {
      assert.ok(packed.includes(path), `${path} is in the package`);
    }
    const unwanted = packed.filter((p) => /^(test|bench|dev|addon|rootfs|scripts|src|\.ci)\//.test(p) || /\.(ts|map)$/.test(p) || /fixture/i.test(p));
    assert.deepEqual(unwanted, []);
    const manifest = JSON.parse(readFileSync(join(prefix, 'lib', 'node_modules', 'zmes', 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(manifest.bin['zmes'], 'dist/src/main.js');
    // Runtime dependencies only: no compiler, linter or test tools came with it.
    const installed = readdirSync(join(prefix, 'lib', 'node_modules', 'zmes', 'node_modules'));
    for (const tool of ['typescript', 'tsx', 'eslint', '@stryker-mutator', 'playwright-core']) assert.ok(!installed.includes(tool), `${tool} not installed`);
    for (const runtime of ['uWebSockets.js', 'mariadb', 'winston']) assert.ok(installed.includes(runtime), `${runtime} installed`);
  });

  it('puts a working zmes on PATH: --version, --help, --config', async () => {
    const version = run(zmes, ['--version']);
    assert.equal(version.code, 0, version.out);
    assert.equal(version.out.trim(), `zmes ${ZMES_VERSION}`);
    const help = run(zmes, ['--help']);
    assert.match(help.out, /zmes install-zm-daemon \[options\]/);
    assert.match(help.out, /--port PORT/);

    const data = join(dir, 'data-path');
    const config = configFile('zmes-path.yml', data);
    const check = run('zmes', ['--config', config, '--check-config'], { env: { PATH: `${join(prefix, 'bin')}:${process.env['PATH'] ?? ''}` } });
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /password \.+ \(defined\)/);
    assert.ok(!check.out.includes(db.appSettings!.password), 'the password is masked');

    const server = startProcess(zmes, ['--config', config], { env: cleanEnvironment() });
    running.push(server);
    await expectServes(server);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
  });

  it('install-zm-daemon puts zmeventnotification.pl into ZM_PATH_BIN, keeping a classic server found there', () => {
    const bin = join(dir, 'zm-bin');
    mkdirSync(join(dir, 'zm', 'conf.d'), { recursive: true });
    mkdirSync(bin);
    chmodSync(bin, 0o755);
    writeFileSync(join(dir, 'zm', 'zm.conf'), 'ZM_DB_HOST=localhost\n');
    writeFileSync(join(dir, 'zm', 'conf.d', '01-system-paths.conf'), `ZM_PATH_BIN=${bin}\nZM_WEB_USER=${WEB_USER}\n`);
    writeFileSync(join(bin, 'zmeventnotification.pl'), '#!/usr/bin/perl\n# the classic server\n');

    const data = join(dir, 'data-zmdc');
    const config = configFile('zmes-zmdc.yml', data);
    const install = run(zmes, ['install-zm-daemon', '--zm-conf', join(dir, 'zm', 'zm.conf'), '--config', config]);
    assert.equal(install.code, 0, install.out);
    const shim = join(bin, 'zmeventnotification.pl');
    assert.match(install.out, new RegExp(`installed ${shim}`));
    assert.match(install.out, /OPT_USE_EVENTNOTIFICATION/);
    assert.match(install.out, new RegExp(`zmes runs as ZoneMinder's web user \\(${WEB_USER}\\)`));
    assert.equal(readFileSync(`${shim}.classic`, 'utf8'), '#!/usr/bin/perl\n# the classic server\n');
    assert.equal(statSync(shim).mode & 0o777, 0o755);
    assert.match(readFileSync(shim, 'utf8'), new RegExp(`zmes_node='${process.execPath}'`));

    // Installing again replaces our own script and leaves the kept classic server alone.
    assert.equal(run(zmes, ['install-zm-daemon', '--bin-dir', bin, '--config', config]).code, 0);
    assert.equal(readFileSync(`${shim}.classic`, 'utf8'), '#!/usr/bin/perl\n# the classic server\n');
    assert.equal(run(zmes, ['install-zm-daemon', '--bogus']).code, 64);
    assert.equal(run(zmes, ['install-zm-daemon', '--zm-conf', join(dir, 'nope.conf')]).code, 1);
  });

  it('the installed zmeventnotification.pl, run by path as www-data with the arguments zmdc passes, serves clients and stops cleanly', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to run as www-data (CI runs as root)');
      return;
    }
    const shim = join(dir, 'zm-bin', 'zmeventnotification.pl');
    assert.ok(existsSync(shim), 'installed by the previous test');
    const data = join(dir, 'data-zmdc');
    mkdirSync(data, { recursive: true });
    chownSync(data, idOf('-u'), idOf('-g'));
    // zmdc.pl: the daemon's path, as the web user, with a minimal environment of its own.
    const server = startProcess('setpriv', ['--reuid', WEB_USER, '--regid', WEB_USER, '--clear-groups', '--', shim, '--debug'], {
      env: { PATH: '/usr/bin:/bin', LANG: 'C' },
      cwd: '/',
    });
    running.push(server);
    await expectServes(server);
    assert.match(server.output(), /DEBUG/, 'the argument zmdc passed reached zmes');
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
    // The state it wrote belongs to the web user.
    const written = readdirSync(data, { recursive: true }).map(String);
    assert.ok(written.length > 0, 'zmes wrote its state into the data directory');
    for (const entry of written) assert.equal(statSync(join(data, entry)).uid, idOf('-u'), `${entry} owned by ${WEB_USER}`);
  });

  it('the systemd unit passes systemd-analyze verify and is hardened', () => {
    const unit = readFileSync(join(prefix, 'lib', 'node_modules', 'zmes', 'packaging', 'zmes.service'), 'utf8');
    for (const line of ['User=www-data', 'Restart=on-failure', 'StateDirectory=zmeventnotification', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6']) {
      assert.match(unit, new RegExp(`^${line}$`, 'm'));
    }
    // As installed here: ExecStart names this prefix's zmes (verify checks that it exists).
    const unitDir = join(dir, 'systemd');
    mkdirSync(unitDir);
    const path = join(unitDir, 'zmes.service');
    writeFileSync(path, unit.replace(/^ExecStart=.*$/m, `ExecStart=${zmes}`));
    const verify = run('systemd-analyze', ['verify', path]);
    assert.equal(verify.code, 0, verify.out);
    assert.equal(verify.out.trim(), '', 'no warnings');
  });

  it('when the native uWebSockets.js binary cannot load (the official build on glibc < 2.38), zmes says why and exits 1', (t) => {
    const glibc = /(\d+)\.(\d+)\s*$/.exec(execFileSync('ldd', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '');
    if (!glibc || Number(glibc[1]) > 2 || Number(glibc[2]) >= 38) {
      t.skip('this system has glibc 2.38 or newer: the official build loads here');
      return;
    }
    const copy = join(dir, 'other-build');
    mkdirSync(copy);
    execFileSync('cp', ['-a', `${join(prefix, 'lib', 'node_modules', 'zmes')}/.`, copy]);
    const swap = run('npm', ['install', '--prefix', copy, '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--no-save', 'uWebSockets.js@npm:@btc-vision/uwebsockets.js@20.57.0']);
    assert.equal(swap.code, 0, swap.out);
    const result = run(process.execPath, [join(copy, 'dist', 'src', 'main.js'), '--config', configFile('zmes-other.yml', join(dir, 'data-other'))]);
    assert.equal(result.code, 1, result.out);
    assert.match(result.out, /uWebSockets\.js native binary cannot be loaded on Node v\d+.*GLIBC_2\.\d+' not found.*glibc 2\.38 or newer/);
    assert.doesNotMatch(result.out, /^\s+at /m, 'a message, not a stack trace');
  });
});

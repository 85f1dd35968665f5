// The settings part of the real command line, spawned as users run it: the classic v1.0 flags,
// a flag per option, precedence, refusals (64/78) and the classic files with --config/ZMES_CONFIG.
// Each case here is one process; the unit tests (test/unit/config/command-line.test.ts) cover
// every flag and every value format without spawning.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { optionFlags } from '../../src/config/command-line.js';
import { OPTIONS } from '../../src/config/schema.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'zmes-cli-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The real CLI with the caller's environment minus ZMES_* variables, plus `env`; a hang fails (status null). */
function zmes(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ZMES_')) clean[name] = value;
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...clean, ZMES_DATABASE_ZM_CONF: '', ...env },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const goodConfig = write('good.yml', 'fcm:\n  use_fcmv1: "yes"\nssl:\n  enable: "no"\n');

describe('settings on the command line', () => {
  /** The `--check-config` line of one option: `[section]` block, then the key. */
  function line(stdout: string, key: string): string {
    const [section = '', name = ''] = key.split('.');
    const body = stdout.split(`[${section}]\n`)[1]?.split('\n\n')[0] ?? '';
    const found = body.split('\n').find((l) => l.startsWith(`  ${name} .`));
    assert.ok(found, `no line for ${key}:\n${stdout}`);
    return found;
  }
  const fromCli = (stdout: string, key: string, shown: string) =>
    assert.match(line(stdout, key), new RegExp(`\\.{2,} ${shown.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} +\\(command line\\)`), key);

  it('--help lists every flag: the classic v1.0 flags and one per option, described from the schema', () => {
    const { code, stdout } = zmes(['--help']);
    assert.equal(code, 0);
    for (const flag of ['--set SECTION.KEY=VALUE', '--port PORT', '--address HOST', '--[no-]enable-auth', '--[no-]enable-fcm', '--fcm-api-key TEXT',
      '--token-file FILE', '--[no-]enable-ssl', '--ssl-cert-file FILE', '--ssl-key-file FILE', '--[no-]verbose', '--event-check-interval NUMBER',
      '--monitor-reload-interval N', '--[no-]read-alarm-cause', '--[no-]tag-alarm-event-id', '--[no-]use-custom-notification-sound']) {
      assert.ok(stdout.includes(`  ${flag}`), flag);
    }
    const flat = stdout.replace(/\s+/g, ' ');
    for (const option of OPTIONS) {
      for (const flag of optionFlags(option)) assert.ok(stdout.includes(flag), flag);
      assert.ok(flat.includes(option.leaf.doc), `${option.key}: description`);
    }
  });

  it('every classic v1.0 flag sets its option, shown with the command line as its source', () => {
    const on = zmes([
      '--check-config', '--config', goodConfig, '--port', '9100', '--address=127.0.0.2', '--enable-auth', '--enable-fcm', '--fcm-api-key', 'legacy',
      '--token-file', '/tmp/zmes-cli/tokens.txt', '--enable-ssl', '--ssl-cert-file', '/tmp/zmes-cli/cert.pem', '--ssl-key-file=/tmp/zmes-cli/key.pem',
      '--verbose', '--event-check-interval', '0.5', '--monitor-reload-interval', '120', '--read-alarm-cause', '--tag-alarm-event-id',
      '--use-custom-notification-sound',
    ]);
    assert.equal(on.code, 0, on.stderr);
    for (const [key, shown] of [
      ['network.port', '9100'], ['network.address', '127.0.0.2'], ['auth.enable', 'yes'], ['fcm.enable', 'yes'], ['fcm.api_key', '(defined)'],
      ['fcm.token_file', '/tmp/zmes-cli/tokens.txt'], ['ssl.enable', 'yes'], ['ssl.cert', '/tmp/zmes-cli/cert.pem'], ['ssl.key', '/tmp/zmes-cli/key.pem'],
      ['general.log_level', 'debug'], ['customize.event_check_interval', '0.5'], ['customize.monitor_reload_interval', '120'],
      ['customize.read_alarm_cause', 'yes'], ['customize.tag_alarm_event_id', 'yes'], ['customize.use_custom_notification_sound', 'yes'],
    ] as const) fromCli(on.stdout, key, shown);
    assert.match(on.stderr, /warning: fcm\.api_key \(command line --fcm-api-key\) is a classic setting with no effect in zmes; ignored/);
    assert.match(on.stderr, /warning: customize\.use_custom_notification_sound \(command line --use-custom-notification-sound\) is a classic setting with no effect/);
    assert.match(on.stderr, /warning: customize\.event_check_interval \(command line --event-check-interval\) is used as given, but its meaning changed/);

    const off = zmes(['--check-config', '--config', goodConfig, '--no-enable-auth', '--no-enable-fcm', '--no-enable-ssl', '--no-verbose',
      '--no-read-alarm-cause', '--no-tag-alarm-event-id', '--no-use-custom-notification-sound']);
    assert.equal(off.code, 0, off.stderr);
    for (const [key, shown] of [
      ['auth.enable', 'no'], ['fcm.enable', 'no'], ['ssl.enable', 'no'], ['general.log_level', 'info'], ['customize.read_alarm_cause', 'no'],
      ['customize.tag_alarm_event_id', 'no'], ['customize.use_custom_notification_sound', 'no'],
    ] as const) fromCli(off.stdout, key, shown);
  });

  it('any option as --section.key=VALUE or --set, above the environment, which is above the file', () => {
    const file = write('layers.yml', 'mqtt:\n  topic: from/file\n  server: file.example\n  retain: "yes"\nssl:\n  enable: "no"\n');
    const { code, stdout, stderr } = zmes(
      ['--check-config', '--config', file, '--mqtt.topic=from/cli', '--set', 'auth.timeout=45'],
      { ZMES_MQTT_TOPIC: 'from/env', ZMES_MQTT_SERVER: 'env.example' },
    );
    assert.equal(code, 0, stderr);
    fromCli(stdout, 'mqtt.topic', 'from/cli');
    fromCli(stdout, 'auth.timeout', '45');
    assert.match(line(stdout, 'mqtt.server'), /env\.example +\(env\)/);
    assert.match(line(stdout, 'mqtt.retain'), /yes +\(file\)/);
    assert.match(stdout, /sources: default, file, secret, env, zm\.conf, override, command line/);
  });

  it('a value the option does not accept exits 78 naming the flag and what it expects, before starting anything', () => {
    for (const [args, message] of [
      [['--check-config', '--port', 'nine'], 'network.port: "nine" is not valid (command line --port); expected a port number from 0 to 65535'],
      // Without --check-config: the server refuses before it starts anything.
      [['--set', 'mqtt.enable=maybe'], 'mqtt.enable: "maybe" is not valid (command line --set mqtt.enable); expected yes or no'],
    ] as const) {
      const { code, stdout, stderr } = zmes(['--config', goodConfig, ...args]);
      assert.equal(code, 78, stderr);
      assert.ok(stderr.includes(message), stderr);
      assert.doesNotMatch(stdout, /listening for/);
    }
  });

  it('an unknown flag or option, or a malformed --set, exits 64 naming it', () => {
    for (const [args, pattern] of [
      [['--prot', '9000'], /^zmes: unknown option --prot \(did you mean --port\?\)$/m],
      [['--set', 'mqtt.sever=broker'], /^zmes: --set mqtt\.sever: no such option \(did you mean mqtt\.server\?\)/m],
    ] as const) {
      const { code, stdout, stderr } = zmes(['--check-config', '--config', goodConfig, ...args]);
      assert.equal(code, 64, stderr);
      assert.equal(stdout, '');
      assert.match(stderr, pattern);
      assert.match(stderr, /Run zmes --help for every option\./);
    }
  });
});

describe('the classic configuration files with --config and ZMES_CONFIG', () => {
  const fixtures = resolve(ROOT, 'test/fixtures/migrate');
  const secretsIni = write('classic-secrets.ini', readFileSync(join(fixtures, 'secrets.ini'), 'utf8'));
  const classicIni = write('zmeventnotification.ini', readFileSync(join(fixtures, 'zmeventnotification.ini'), 'utf8').replace('/etc/zm/secrets.ini', secretsIni));

  it('--check-config reads the ini and the secrets.ini it names, says how, and warns once per key left out', () => {
    const { code, stdout, stderr } = zmes(['--check-config', '--config', classicIni]);
    assert.equal(code, 0, stderr);
    assert.ok(stdout.includes(`# file: ${classicIni} (classic v6 INI, read as zmes migrate-config reads it; named by --config)`), stdout);
    assert.match(stdout, /^ {2}password \.+ \(defined\) +\(secret\) +classic mqtt\.password$/m);
    assert.match(stdout, /^ {2}skip_monitors \.+ 7,8 +\(file\)/m);
    assert.equal(stderr.match(/warning: hook\.max_parallel_hooks \(/g)?.length, 1, stderr);
    assert.match(stderr, /warning: network\.port \(.*zmeventnotification\.ini, line 19\) not used: inline comment/);
    assert.doesNotMatch(stdout + stderr, /mqtt-pw|es-admin-pw|zm-portal-pw/);
  });

  it('ZMES_CONFIG names the file when --config does not', () => {
    const { code, stdout, stderr } = zmes(['--check-config'], { ZMES_CONFIG: classicIni });
    assert.equal(code, 0, stderr);
    assert.ok(stdout.includes(`# file: ${classicIni} (classic v6 INI, read as zmes migrate-config reads it; named by ZMES_CONFIG)`), stdout);
  });
});

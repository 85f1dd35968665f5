import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { parseTokenFile } from '../../src/tokens/token-file.js';
import { OPTION_MAP } from '../../src/config/addon-options.js';

/** `zmes migrate-config` run as users run it: the real CLI on realistic classic files. */
const FIXTURES = 'test/fixtures/migrate';
const fixture = (name: string) => join(FIXTURES, name);
let dir: string;

function zmes(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'migrate-config', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '' },
    timeout: 60_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The report line of a key not carried over. */
function reportLine(stderr: string, id: string): string {
  const line = stderr.split('\n').find((l) => new RegExp(`^ {2}line \\d+ +${id.replace('.', '\\.')} `).test(l));
  assert.ok(line, `the report lists ${id}:\n${stderr}`);
  return line;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'zmes-migrate-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a classic v6 INI with secrets.ini, tokens in the old line format and a JSON rules file', () => {
  let out: string;
  let addon: string;
  let dataDir: string;
  let rulesOut: string;
  let result: ReturnType<typeof zmes>;

  before(() => {
    const base = join(dir, 'ini');
    out = join(base, 'zmes.yml');
    addon = join(base, 'addon-options.json');
    dataDir = join(base, 'data');
    rulesOut = join(base, 'es_rules.yml');
    result = zmes(
      fixture('zmeventnotification.ini'),
      '--secrets', fixture('secrets.ini'),
      '--out', out,
      '--addon-options', addon,
      '--tokens', fixture('tokens-lines.txt'),
      '--data-dir', dataDir,
      '--rules', fixture('es_rules.json'),
    );
  });

  test('the command succeeds and writes the configuration, add-on options, tokens and rules', () => {
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '', 'with --out nothing goes to standard output');
    for (const file of [out, addon, join(dataDir, 'push', 'tokens.txt'), rulesOut]) assert.ok(existsSync(file), file);
    assert.equal(statSync(out).mode & 0o777, 0o600, 'the configuration may hold passwords');
  });

  test('the zmes configuration keeps secrets as !NAME references, the secrets file reference and modern templates', () => {
    const yaml = parse(readFileSync(out, 'utf8'), { schema: 'failsafe' }) as Record<string, Record<string, string>>;
    assert.equal(yaml['general']!['secrets'], join(process.cwd(), fixture('secrets.ini')));
    assert.equal(yaml['general']!['escontrol_interface_password'], '!ESCONTROL_INTERFACE_PASSWORD');
    assert.equal(yaml['mqtt']!['password'], '!MQTT_PASSWORD');
    assert.equal(yaml['customize']!['picture_url'], '!ZMES_PICTURE_URL');
    assert.equal(yaml['ssl']!['cert'], '!ES_CERT_FILE');
    assert.equal(yaml['general']!['base_data_path'], dataDir);
    assert.equal(yaml['hook']!['event_start_hook'], '/var/lib/zmeventnotification/bin/zm_event_start.sh', 'hooks keep pointing at the classic scripts');
    assert.doesNotMatch(readFileSync(out, 'utf8'), /mqtt-pw|es-admin-pw|zm-portal-pw/, 'no secret value is copied into the configuration');
  });

  test('the configuration loads cleanly with loadConfig, secrets resolved from the secrets file', () => {
    const { config } = loadConfig({ file: out, env: {} });
    assert.equal(config.mqtt.password, 'mqtt-pw');
    assert.equal(config.general.escontrol_interface_password, 'es-admin-pw');
    assert.equal(config.customize.picture_portal_password, 'zm-portal-pw');
    assert.equal(config.fcm.token_file, join(dataDir, 'push', 'tokens.txt'));
    assert.equal(config.general.escontrol_interface_file, join(dataDir, 'misc', 'escontrol_interface.json'));
    assert.equal(config.customize.es_rules, rulesOut);
    assert.equal(config.general.skip_monitors, '7,8');
    assert.equal(config.hook.event_end_notify_on_hook_success, 'fcm,web,api');
    assert.equal(config.network.port, 9000, 'the port with an inline comment was not carried over: the default applies');
    assert.match(result.stderr, /Check: the zmes configuration loads cleanly\./);
  });

  test('the report lists every key not carried over with its reason', () => {
    const expected: Record<string, RegExp> = {
      'general.escontrol_interface_file': /not portable: .*Perl Storable/,
      'general.restart_interval': /ignored in zmes/,
      'network.port': /inline comment: value "9000 ; the websocket port" .*without it: "9000"/,
      'fcm.use_fcmv1': /ignored in zmes/,
      'fcm.token_file': /replaced: zmes keeps the tokens under the data directory/,
      'fcm.fcm_android_ttl': /empty value: the default applies/,
      'mqtt.tick_interval': /ignored in zmes/,
      'customize.console_logs': /ignored in zmes/,
      'customize.es_debug_level': /ignored in zmes/,
      'customize.event_check_interval': /meaning changed/,
      'customize.monitor_reload_interval': /inline comment: value "300 {2}# seconds between reloads"/,
      'customize.use_custom_notification_sound': /ignored in zmes/,
      'customize.include_picture_crop': /unknown key: not a key of \[customize\] \(did you mean customize\.include_picture\?\)/,
      'hook.keep_frame_match_type': /ignored in zmes/,
      'hook.max_parallel_hooks': /unparsable value: "many" is not valid; expected a whole number of at least 0/,
    };
    for (const [id, pattern] of Object.entries(expected)) assert.match(reportLine(result.stderr, id), pattern);
    assert.match(result.stderr, /Not carried over into the zmes configuration \(15\):/);
    assert.doesNotMatch(result.stderr, /mqtt-pw|es-admin-pw|zm-portal-pw/, 'the report shows no secret');
  });

  test('the add-on options use the add-on option names, typed values and !secret references, and the report says what to do', () => {
    const options = JSON.parse(readFileSync(addon, 'utf8')) as Record<string, unknown>;
    for (const name of Object.keys(options)) assert.ok(Object.hasOwn(OPTION_MAP, name), `${name} is an add-on option`);
    assert.equal(options['escontrol_enable'], true);
    assert.equal(options['escontrol_password'], '!secret escontrol_interface_password');
    assert.equal(options['mqtt_password'], '!secret mqtt_password');
    assert.equal(options['certfile'], 'zoneminder.crt');
    assert.equal(options['fcm_mode'], 'disabled');
    assert.equal(options['auth_timeout'], 20);
    assert.equal(options['mqtt_server'], undefined, 'the classic localhost broker is not the add-on broker');
    assert.match(result.stderr, /Not carried over into the add-on options \(3\):\n {2}general\.secrets +no add-on option: .*\n {2}general\.base_data_path +fixed by the add-on/);
    assert.match(result.stderr, /copy \/etc\/zm\/apache2\/ssl\/zoneminder\.crt into the add-on's \/ssl folder/);
    assert.match(result.stderr, /add "mqtt_password: <the value of MQTT_PASSWORD>" to Home Assistant's secrets\.yaml/);
    assert.match(result.stderr, /set the required option zm_db_host/);
  });

  test('the old line-format tokens are imported into the data directory in the zmes format', () => {
    const text = readFileSync(join(dataDir, 'push', 'tokens.txt'), 'utf8');
    const parsed = parseTokenFile(text, 0);
    assert.equal(parsed.kind, 'json');
    assert.deepEqual(parsed.records.map((r) => [r.token, r.monlist, r.intlist, r.platform, r.pushstate]), [
      ['fWx0OldLineToken:APA91bHaveColons:0123', '1,2', '0,60', 'android', 'enabled'],
      ['ios-old-line-token-abcdef0123456789', '', '', 'ios', 'disabled'],
    ]);
    assert.match(result.stderr, /Tokens: 2 device\(s\) imported from .*tokens-lines\.txt \(old line format\)/);
  });

  test('the JSON rules become YAML with the same structure, and the rule zmes would skip is reported', () => {
    const rules = parse(readFileSync(rulesOut, 'utf8')) as unknown;
    assert.deepEqual(rules, JSON.parse(readFileSync(fixture('es_rules.json'), 'utf8')));
    assert.match(result.stderr, /Rules: 2 rule\(s\) for 1 monitor\(s\) .*converted from JSON to YAML/);
    assert.match(result.stderr, /error: monitor 2 rule 1 skipped: from "17:00" does not match time_format/);
  });
});

describe('a classic v7 YAML with secrets.yml and JSON tokens', () => {
  test('migrates to standard output, loads cleanly, imports the tokens and reports what was left out', () => {
    const dataDir = join(dir, 'yml-data');
    const result = zmes(fixture('zmeventnotification.yml'), '--secrets', fixture('secrets.yml'), '--tokens', fixture('tokens-json.txt'), '--data-dir', dataDir);
    assert.equal(result.code, 0, result.stderr);
    const out = join(dir, 'from-stdout.yml');
    writeFileSync(out, result.stdout);
    const { config } = loadConfig({ file: out, env: {} });
    assert.equal(config.mqtt.password, 'mqtt-pw', 'the unquoted !MQTT_PASSWORD tag became a secret reference');
    assert.equal(config.customize.picture_portal_password, '0123-zm');
    assert.equal(config.fcm.fcm_service_account_file, '/etc/zm/firebase-sa.json');
    assert.equal(config.customize.send_event_end_notification, true);
    assert.equal(config.fcm.date_locale, 'de_DE');
    assert.match(reportLine(result.stderr, 'general.restart_interval'), /ignored in zmes/);
    assert.match(reportLine(result.stderr, 'fcm.fcm_log_message_id'), /inline comment: value "NONE ; set to a tag to find messages"/);
    assert.match(reportLine(result.stderr, 'customize.monitors_to_watch'), /unknown key/);
    assert.match(reportLine(result.stderr, 'customize.es_debug_level'), /ignored in zmes/);
    const tokens = parseTokenFile(readFileSync(join(dataDir, 'push', 'tokens.txt'), 'utf8'), 0).records;
    assert.deepEqual(tokens.map((t) => [t.platform, t.pushstate, t.invocations.count, t.profile, t.clientKind]), [
      ['android', 'enabled', 42, undefined, 'zmninja'],
      ['ios', 'disabled', 7, 'Home', 'zmninjang'],
    ]);
    assert.match(result.stderr, /Tokens: 2 device\(s\) imported .*\(JSON format\)/);
  });

  test('add-on options as YAML, ready for the Configuration tab', () => {
    const file = join(dir, 'addon.yaml');
    const result = zmes(fixture('zmeventnotification.yml'), '--secrets', fixture('secrets.yml'), '--out', join(dir, 'v7.yml'), '--addon-options', file);
    assert.equal(result.code, 0, result.stderr);
    const options = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.equal(options['fcm_mode'], 'direct');
    assert.equal(options['fcm_service_account_file'], 'firebase-sa.json');
    assert.equal(options['mqtt_server'], 'broker.lan:1883');
    assert.equal(options['mqtt_password'], '!secret mqtt_password');
    assert.equal(options['send_event_end_notification'], true);
  });
});

describe('push with the store apps: the classic proxy settings', () => {
  test('fcm_v1_url and fcm_v1_key become proxy mode in the add-on options, the key as a !secret', () => {
    const ini = join(dir, 'proxy.ini');
    const secrets = join(dir, 'proxy-secrets.ini');
    // Stand-ins: no third party's URL or key appears in this repository.
    writeFileSync(ini, `[general]\nsecrets = ${secrets}\n[fcm]\nenable = yes\nuse_fcmv1 = yes\nfcm_v1_url = https://push-proxy.example/send_push\nfcm_v1_key = !FCM_V1_KEY\n`);
    writeFileSync(secrets, '[secrets]\nFCM_V1_KEY = stand-in-key-not-a-real-one\n');
    const file = join(dir, 'proxy-addon.yaml');
    const result = zmes(ini, '--out', join(dir, 'proxy.yml'), '--addon-options', file);
    assert.equal(result.code, 0, result.stderr);
    const options = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      { mode: options['fcm_mode'], url: options['fcm_proxy_url'], key: options['fcm_proxy_key'] },
      { mode: 'proxy', url: 'https://push-proxy.example/send_push', key: '!secret fcm_v1_key' },
    );
    assert.match(result.stderr, /fcm_v1_key: <the value of FCM_V1_KEY>/);
    const { config } = loadConfig({ file: join(dir, 'proxy.yml'), env: {} });
    assert.deepEqual({ url: config.fcm.fcm_v1_url, key: config.fcm.fcm_v1_key }, { url: 'https://push-proxy.example/send_push', key: 'stand-in-key-not-a-real-one' });
  });
});

describe('refusals', () => {
  test('--tokens without --data-dir is a usage error (64)', () => {
    const result = zmes(fixture('zmeventnotification.ini'), '--tokens', fixture('tokens-json.txt'));
    assert.equal(result.code, 64);
    assert.match(result.stderr, /--tokens needs --data-dir/);
  });

  test('an existing output is kept unless --force is given (73), and nothing else is written', () => {
    const out = join(dir, 'exists.yml');
    writeFileSync(out, 'keep me\n');
    const rules = join(dir, 'not-written.yml');
    const result = zmes(fixture('zmeventnotification.yml'), '--out', out, '--rules', fixture('es_rules.json'), '--rules-out', rules);
    assert.equal(result.code, 73);
    assert.equal(readFileSync(out, 'utf8'), 'keep me\n');
    assert.equal(existsSync(rules), false);
    assert.equal(zmes(fixture('zmeventnotification.yml'), '--out', out, '--force').code, 0);
    assert.notEqual(readFileSync(out, 'utf8'), 'keep me\n');
  });

  test('an unusable token file or rules file is refused (78) before anything is written', () => {
    const bad = join(dir, 'bad-tokens.txt');
    writeFileSync(bad, '{"tokens": {"truncated"');
    const out = join(dir, 'never.yml');
    const result = zmes(fixture('zmeventnotification.yml'), '--out', out, '--tokens', bad, '--data-dir', join(dir, 'never-data'));
    assert.equal(result.code, 78);
    assert.match(result.stderr, /token file .* is unusable: invalid JSON/);
    assert.equal(existsSync(out), false);
    const badRules = join(dir, 'bad-rules.json');
    writeFileSync(badRules, '{"notifications": ');
    const rulesRun = zmes(fixture('zmeventnotification.yml'), '--rules', badRules, '--rules-out', join(dir, 'r.yml'));
    assert.equal(rulesRun.code, 78);
    assert.match(rulesRun.stderr, /cannot parse the rules file/);
  });

  test('a secret the secrets file lacks is reported and left out, so the result still loads', () => {
    const secrets = join(dir, 'partial-secrets.yml');
    writeFileSync(secrets, 'secrets:\n  ZM_PASSWORD: x\n  MQTT_USERNAME: u\n');
    const result = zmes(fixture('zmeventnotification.yml'), '--secrets', secrets);
    assert.equal(result.code, 0, result.stderr);
    assert.match(reportLine(result.stderr, 'mqtt.password'), /missing secret: refers to secret MQTT_PASSWORD, which the secrets file does not define/);
    assert.match(result.stderr, /Check: the zmes configuration loads cleanly\./);
  });
});

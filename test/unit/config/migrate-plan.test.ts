import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { readIni } from '../../../src/migrate/ini-reader.js';
import { buildPlan, inlineComment, modernTemplates, type MigrationPlan } from '../../../src/migrate/plan.js';
import { renderZmesYaml } from '../../../src/migrate/zmes-yaml.js';
import { buildAddonOptions, haSecretName, type AddonTable } from '../../../src/migrate/addon-output.js';
import { addonTable } from '../../../src/migrate/addon-table.js';
import { OPTION_MAP } from '../../../src/config/addon-options.js';

const plan = (ini: string, secrets: Record<string, string> | null = null, more: Partial<Parameters<typeof buildPlan>[1]> = {}) =>
  buildPlan(readIni(ini), { secrets: secrets === null ? null : new Map(Object.entries(secrets)), ...more });
const carried = (p: MigrationPlan) => Object.fromEntries(p.carried.map((c) => [c.key, c.value]));
const reasons = (p: MigrationPlan) => Object.fromEntries(p.skipped.map((s) => [s.id, s.reason]));

describe('what is carried over', () => {
  test('v6 {{templates}} become ${templates}; secrets stay !NAME references; values stay text', () => {
    assert.equal(modernTemplates('{{base_data_path}}/push/{{ x }}'), '${base_data_path}/push/${x}');
    const p = plan('[fcm]\ntoken_file = {{base_data_path}}/push/tokens.txt\n[mqtt]\npassword = !MQTT_PASSWORD\nretain = no\n', { MQTT_PASSWORD: 'pw' });
    assert.deepEqual(carried(p), { 'fcm.token_file': '${base_data_path}/push/tokens.txt', 'mqtt.password': '!MQTT_PASSWORD', 'mqtt.retain': 'no' });
    assert.equal(p.carried.find((c) => c.key === 'mqtt.password')?.secret, 'MQTT_PASSWORD');
    assert.equal(p.carried.find((c) => c.key === 'fcm.token_file')?.resolved, '/var/lib/zmeventnotification/push/tokens.txt');
  });

  test('every key not carried over has its reason: ignored, unknown, empty, inline comment, unparsable, missing secret, not portable, meaning changed', () => {
    const p = plan(
      [
        '[general]',
        'restart_interval = 7200',
        'escontrol_interface_file = /var/lib/zmeventnotification/misc/escontrol_interface.dat',
        '[network]',
        'port = 9000 ; ws port',
        '[auth]',
        'timeout = soon',
        '[mqtt]',
        'password = !NOPE',
        'username =',
        '[customize]',
        'event_check_interval = 5',
        'frobnicate = yes',
        '[ml]',
        'enable = yes',
      ].join('\n'),
      { MQTT_PASSWORD: 'pw' },
    );
    assert.deepEqual(reasons(p), {
      'general.restart_interval': 'ignored',
      'general.escontrol_interface_file': 'not-portable',
      'network.port': 'inline-comment',
      'auth.timeout': 'unparsable',
      'mqtt.password': 'missing-secret',
      'mqtt.username': 'empty',
      'customize.event_check_interval': 'changed-meaning',
      'customize.frobnicate': 'unknown',
      'ml.enable': 'unknown',
    });
    assert.deepEqual(p.carried, []);
    assert.match(p.skipped.find((s) => s.id === 'mqtt.password')!.detail, /secret NOPE, which the secrets file does not define/);
    assert.match(p.skipped.find((s) => s.id === 'network.port')!.detail, /without it: "9000"/);
  });

  test('a sensitive value with an inline comment or an invalid value is never shown', () => {
    const p = plan('[general]\nescontrol_interface_password = s3cret ; admin\n[mqtt]\npassword = p4ss # broker\n');
    for (const s of p.skipped) assert.doesNotMatch(s.detail, /s3cret|p4ss/);
    assert.deepEqual(reasons(p), { 'general.escontrol_interface_password': 'inline-comment', 'mqtt.password': 'inline-comment' });
  });

  test('inline comments: ";" and "#" after a blank in INI, only ";" in YAML (YAML drops # comments itself)', () => {
    assert.deepEqual(inlineComment('9000 ; port', 'ini'), { before: '9000' });
    assert.deepEqual(inlineComment('300 # s', 'ini'), { before: '300' });
    assert.equal(inlineComment('https://x/#frag', 'ini'), null);
    assert.equal(inlineComment('a;b', 'ini'), null);
    assert.equal(inlineComment('300 # s', 'yaml'), null);
  });

  test('secret values are checked against the key format when the secrets file is known', () => {
    const p = plan('[auth]\ntimeout = !TIMEOUT\n', { TIMEOUT: 'later' });
    assert.equal(reasons(p)['auth.timeout'], 'unparsable');
    assert.doesNotMatch(p.skipped[0]!.detail, /later/, 'a value from the secrets file is hidden');
  });

  test('without a secrets file, references are carried unchecked and a note says so', () => {
    const p = plan('[mqtt]\npassword = !MQTT_PASSWORD\n');
    assert.deepEqual(carried(p), { 'mqtt.password': '!MQTT_PASSWORD' });
    assert.ok(p.notes.some((n) => /not checked: no secrets file/.test(n)));
  });

  test('the legacy hook_script is carried as event_start_hook, or dropped when that is set too', () => {
    assert.deepEqual(carried(plan('[hook]\nhook_script = /x.sh\n')), { 'hook.event_start_hook': '/x.sh' });
    const both = plan('[hook]\nhook_script = /x.sh\nevent_start_hook = /y.sh\n');
    assert.deepEqual(carried(both), { 'hook.event_start_hook': '/y.sh' });
    assert.equal(reasons(both)['hook.hook_script'], 'replaced');
  });

  test('moving the data directory keeps other ${base_data_path} values pointing at the classic location', () => {
    const p = plan('[general]\nbase_data_path = /var/lib/zmes-old\n[hook]\nevent_start_hook = {{base_data_path}}/bin/start.sh\n', null, {
      set: new Map([['general.base_data_path', { value: '/data', why: 'test' }]]),
    });
    assert.deepEqual(carried(p), { 'general.base_data_path': '/data', 'hook.event_start_hook': '/var/lib/zmes-old/bin/start.sh' });
  });
});

describe('the zmes YAML output', () => {
  test('quotes every value, keeps schema order, and shows each skipped key as a comment at its place', () => {
    const p = plan('[mqtt]\nretain = no\nenable = yes\npassword = !P\ntick_interval = 15\n');
    const text = renderZmesYaml(p, { source: '/etc/zm/zmeventnotification.ini', format: 'ini' });
    assert.match(text, /mqtt:\n {2}enable: "yes"\n {2}password: "!P"\n {2}retain: "no"\n {2}# tick_interval: not carried over \(ignored in zmes, line 5\)/);
    assert.deepEqual(parse(text, { schema: 'failsafe' }), { mqtt: { enable: 'yes', password: '!P', retain: 'no' } });
  });
});

describe('the add-on options output', () => {
  const table: AddonTable = {
    options: {
      mqtt_enable: { key: 'mqtt.enable' },
      mqtt_server: { key: 'mqtt.server' },
      mqtt_password: { key: 'mqtt.password' },
      auth_timeout: { key: 'auth.timeout' },
      certfile: { key: 'ssl.cert', file: 'ssl' },
      fcm_mode: { key: 'fcm.enable', transform: 'fcm-mode' },
    },
    fixed: new Set(['network.port']),
    notOptions: { 'general.secrets': 'HA has its own secrets' },
    required: ['zm_db_host'],
  };

  test('converts types, file paths and secrets, and says what is left to do', () => {
    const p = plan('[general]\nsecrets = /etc/zm/secrets.ini\n[network]\nport = 9001\n[auth]\ntimeout = 30\n[ssl]\ncert = /etc/ssl/zm.crt\n[mqtt]\nenable = yes\nserver = localhost\npassword = !MQTT_PASSWORD\n[fcm]\nenable = yes\nfcm_v1_url = https://proxy.example/send\nfcm_v1_key = !FCM_KEY\n');
    const result = buildAddonOptions(p, table);
    assert.deepEqual(result.options, { mqtt_enable: true, mqtt_password: '!secret mqtt_password', auth_timeout: 30, certfile: 'zm.crt', fcm_mode: 'proxy' });
    assert.deepEqual(result.skipped.map((s) => [s.key, s.reason]), [
      ['general.secrets', 'no add-on option'],
      ['network.port', 'fixed by the add-on'],
    ]);
    assert.ok(result.todo.some((t) => t.includes('copy /etc/ssl/zm.crt')));
    assert.ok(result.todo.some((t) => t.includes('mqtt_password: <the value of MQTT_PASSWORD>')));
    assert.ok(result.todo.some((t) => t.includes('option mqtt_server left empty')));
    assert.ok(result.todo.some((t) => t.includes('set the required option zm_db_host')));
  });

  test('FCM on without a service account or proxy (the classic built-in key) becomes disabled, with a note', () => {
    const result = buildAddonOptions(plan('[fcm]\nenable = yes\n'), table);
    assert.equal(result.options['fcm_mode'], 'disabled');
    assert.ok(result.todo.some((t) => t.includes('built-in proxy key')));
    assert.equal(buildAddonOptions(plan('[fcm]\nenable = no\nfcm_service_account_file = /sa.json\n'), table).options['fcm_mode'], 'disabled');
    assert.equal(buildAddonOptions(plan('[fcm]\nfcm_service_account_file = /sa.json\n'), table).options['fcm_mode'], 'direct');
  });

  test('the real add-on table is used as it is: every option name of the output is an option of the add-on', () => {
    const p = plan('[auth]\ntimeout = 30\n[customize]\ntag_alarm_event_id = yes\n[general]\nskip_monitors = 3\n');
    const result = buildAddonOptions(p, addonTable());
    for (const name of Object.keys(result.options)) assert.ok(Object.hasOwn(OPTION_MAP, name), name);
    assert.deepEqual(result.options, { auth_timeout: 30, fcm_mode: 'disabled', skip_monitors: '3', tag_alarm_event_id: true });
  });

  test('Home Assistant secret names are the classic names in lower case', () => {
    assert.equal(haSecretName('ES_ADMIN_INTERFACE_PASSWORD'), 'es_admin_interface_password');
  });
});

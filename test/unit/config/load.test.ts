import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig, secretValues } from '../../../src/config/load.js';
import { configError, tempDir } from './helpers.js';

const dir = tempDir();
after(() => dir.remove());

/** Loads a YAML text with an empty environment. */
function loadYaml(yaml: string, env: NodeJS.ProcessEnv = {}) {
  return loadConfig({ file: dir.write(`c-${Math.random().toString(36).slice(2)}.yml`, yaml), env });
}

describe('boolean values', () => {
  const spellings: [string, boolean][] = [
    ['yes', true],
    ['no', false],
    ['on', true],
    ['off', false],
    ['true', true],
    ['false', false],
    ['1', true],
    ['0', false],
    ['YES', true],
    ['No', false],
    ['OFF', false],
    ['True', true],
  ];

  for (const [text, expected] of spellings) {
    it(`reads ${text} as ${expected} unquoted, single-quoted and double-quoted in YAML`, () => {
      // Start from the opposite default so that a silent fallback would fail.
      for (const written of [text, `'${text}'`, `"${text}"`]) {
        const key = expected ? 'mqtt:\n  enable' : 'fcm:\n  enable';
        const { config } = loadYaml(`${key}: ${written}\n`);
        assert.equal(expected ? config.mqtt.enable : config.fcm.enable, expected, `written as ${written}`);
      }
    });

    it(`reads ${text} as ${expected} from an env var`, () => {
      const env = expected ? { ZMES_MQTT_ENABLE: text } : { ZMES_FCM_ENABLE: text };
      const { config } = loadConfig({ env });
      assert.equal(expected ? config.mqtt.enable : config.fcm.enable, expected);
    });
  }

  it('accepts real booleans and 0/1 numbers from the overrides', () => {
    const { config } = loadConfig({ env: {}, overrides: { 'fcm.enable': false, 'mqtt.enable': true, 'ssl.enable': 0, 'mqtt.retain': 1 } });
    assert.deepEqual([config.fcm.enable, config.mqtt.enable, config.ssl.enable, config.mqtt.retain], [false, true, false, true]);
  });

  it('rejects "maybe" in the file and in env, naming the key', () => {
    const fromFile = configError(() => loadYaml('fcm:\n  enable: maybe\n'), 'ZMES_CONFIG_INVALID');
    assert.match(fromFile.message, /fcm\.enable: "maybe" is not valid .*line 2.*expected yes or no/);
    const fromEnv = configError(() => loadConfig({ env: { ZMES_FCM_ENABLE: 'maybe' } }), 'ZMES_CONFIG_INVALID');
    assert.match(fromEnv.message, /fcm\.enable: "maybe" is not valid \(env ZMES_FCM_ENABLE\)/);
  });

  it('rejects an empty boolean rather than guessing', () => {
    const err = configError(() => loadYaml('fcm:\n  enable: ""\n'), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /fcm\.enable: an empty value is not valid/);
  });
});

describe('the YAML file', () => {
  it('rejects an unknown section, naming it and listing the valid sections', () => {
    const err = configError(() => loadYaml('fcmm:\n  enable: yes\n'), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /unknown section "fcmm"/);
    assert.match(err.message, /did you mean fcm\?/);
    assert.match(err.message, /valid sections: general, network, auth, ssl, fcm, push, mqtt, customize, hook, database/);
  });

  it('rejects an unknown key, naming section.key, suggesting the closest key and listing the valid ones', () => {
    const err = configError(() => loadYaml('general:\n  log_level: info\nfcm:\n  enabel: yes\n'), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /line 4: unknown key fcm\.enabel \(did you mean fcm\.enable\?\)/);
    assert.match(err.message, /valid keys of fcm: enable, use_fcmv1, /);
  });

  it('points to the right section when a key was put in the wrong one', () => {
    const err = configError(() => loadYaml('fcm:\n  port: 9000\n'), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /unknown key fcm\.port \(did you mean network\.port\?\)/);
  });

  it('reports a missing file as ZMES_CONFIG_FILE', () => {
    const err = configError(() => loadConfig({ file: `${dir.path}/nope.yml`, env: {} }), 'ZMES_CONFIG_FILE');
    assert.match(err.message, /nope\.yml not found/);
  });

  it('reports invalid YAML with its line number', () => {
    const err = configError(() => loadYaml('fcm:\n  enable: yes\n  date_format: [oops\nmqtt:\n  enable: no\n'), 'ZMES_CONFIG_FILE');
    assert.match(err.message, /line \d+/);
    assert.match(err.message, /cannot parse/);
  });

  it('reports a duplicate key with its line number', () => {
    const err = configError(() => loadYaml('fcm:\n  enable: yes\n  enable: no\n'), 'ZMES_CONFIG_FILE');
    assert.match(err.message, /line 3/);
  });

  it('rejects a file that is not a mapping of sections', () => {
    configError(() => loadYaml('- fcm\n- mqtt\n'), 'ZMES_CONFIG_INVALID');
    const err = configError(() => loadYaml('fcm: yes\n'), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /section fcm must be a mapping/);
  });

  it('rejects a third level, naming the key', () => {
    const err = configError(() => loadYaml('general:\n  skip_monitors:\n    - 1\n    - 2\n'), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /general\.skip_monitors must be a single value, not a list/);
  });

  it('treats an empty file, an empty section and an empty value as "use the defaults"', () => {
    assert.equal(loadYaml('').config.network.port, 9000);
    assert.equal(loadYaml('# only a comment\n').config.network.port, 9000);
    const { config, sources } = loadYaml('ssl:\nnetwork:\n  port:\n  address: ~\n');
    assert.equal(config.network.port, 9000);
    assert.equal(config.network.address, '[::]');
    assert.equal(sources.get('network.port'), 'default');
  });

  it('keeps values as text, so a numeric-looking password keeps its leading zero', () => {
    const { config } = loadYaml('mqtt:\n  password: 0123\n  topic: 42\n');
    assert.equal(config.mqtt.password, '0123');
    assert.equal(config.mqtt.topic, '42');
  });

  it('trims leading and trailing whitespace of values', () => {
    const { config } = loadYaml('mqtt:\n  topic: "  zm/home  "\ngeneral:\n  skip_monitors: " 1 , 2,3 "\n');
    assert.equal(config.mqtt.topic, 'zm/home');
    assert.equal(config.general.skip_monitors, '1,2,3');
  });

  it('unsets an optional value with an empty string', () => {
    const { config } = loadConfig({ env: { ZMES_DATABASE_ZM_CONF: '' } });
    assert.equal(config.database.zm_conf, null);
  });

  it('rejects a Home Assistant !secret tag with a hint', () => {
    const err = configError(() => loadYaml('mqtt:\n  password: !secret mqtt_pw\n'), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /mqtt\.password uses Home Assistant's "!secret mqtt_pw"/);
  });
});

describe('precedence', () => {
  it('is default < file < overrides < env, and sources say which one won', () => {
    const file = dir.write('prec.yml', 'mqtt:\n  topic: from-file\n  server: file-broker\n  username: file-user\n');
    const overrides = { 'mqtt.server': 'override-broker', 'mqtt.username': 'override-user' };
    const { config, sources } = loadConfig({ file, overrides, env: { ZMES_MQTT_USERNAME: 'env-user' } });
    assert.equal(config.mqtt.topic, 'from-file');
    assert.equal(config.mqtt.server, 'override-broker');
    assert.equal(config.mqtt.username, 'env-user');
    assert.equal(config.mqtt.retain, false);
    assert.equal(sources.get('mqtt.topic'), 'file');
    assert.equal(sources.get('mqtt.server'), 'override');
    assert.equal(sources.get('mqtt.username'), 'env');
    assert.equal(sources.get('mqtt.retain'), 'default');
  });

  it('reads process.env when no env is given', () => {
    process.env['ZMES_MQTT_TOPIC'] = 'from-process-env';
    try {
      assert.equal(loadConfig().config.mqtt.topic, 'from-process-env');
    } finally {
      delete process.env['ZMES_MQTT_TOPIC'];
    }
  });
});

describe('overrides', () => {
  it('accept flat section.key names and section objects, skipping null', () => {
    const { config } = loadConfig({
      env: {},
      overrides: { 'network.port': 9100, mqtt: { enable: true, server: 'core-mosquitto:1883', username: null } },
    });
    assert.equal(config.network.port, 9100);
    assert.equal(config.mqtt.enable, true);
    assert.equal(config.mqtt.server, 'core-mosquitto:1883');
    assert.equal(config.mqtt.username, null);
  });

  it('accept number lists for comma lists', () => {
    const { config } = loadConfig({ env: {}, overrides: { 'general.skip_monitors': [3, 4] } });
    assert.equal(config.general.skip_monitors, '3,4');
  });

  it('reject an unknown option, naming it', () => {
    const err = configError(() => loadConfig({ env: {}, overrides: { 'mqtt.sever': 'x' } }), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /unknown option mqtt\.sever.*did you mean mqtt\.server\?/);
    configError(() => loadConfig({ env: {}, overrides: { 'nosuch.key': 1 } }), 'ZMES_CONFIG_INVALID');
  });
});

describe('warnings', () => {
  it('warn exactly once about an ignored classic key, even when set in the file and in env', () => {
    const { warnings } = loadYaml('fcm:\n  use_fcmv1: "yes"\n', { ZMES_FCM_USE_FCMV1: 'no' });
    const about = warnings.filter((w) => w.includes('fcm.use_fcmv1'));
    assert.deepEqual(about, ['fcm.use_fcmv1 is a classic setting with no effect in zmes; ignored']);
  });

  it('say nothing about ignored keys that are not set, or about ordinary keys', () => {
    assert.deepEqual(loadYaml('fcm:\n  enable: "yes"\n').warnings, []);
  });

  it('name a ZMES_ variable that matches no setting', () => {
    const { warnings } = loadConfig({ env: { ZMES_MQTT_SERVR: 'x', ZMES_TEST: '1' } });
    assert.deepEqual(warnings, ['ZMES_MQTT_SERVR is not a zmes setting; ignored (did you mean ZMES_MQTT_SERVER?)']);
  });
});

describe('the legacy hook_script key', () => {
  it('supplies event_start_hook when that is not set, with a warning', () => {
    const { config, sources, warnings } = loadYaml('hook:\n  hook_script: /hooks/start.sh\n');
    assert.equal(config.hook.event_start_hook, '/hooks/start.sh');
    assert.equal(sources.get('hook.event_start_hook'), 'file');
    assert.ok(warnings.some((w) => w.includes('hook.hook_script is the legacy name of hook.event_start_hook')));
  });

  it('loses against event_start_hook when both are set', () => {
    const { config } = loadYaml('hook:\n  hook_script: /hooks/old.sh\n  event_start_hook: /hooks/new.sh\n');
    assert.equal(config.hook.event_start_hook, '/hooks/new.sh');
  });
});

describe('the loaded configuration', () => {
  it('is deeply frozen', () => {
    const { config } = loadConfig({ env: {} });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.fcm));
    assert.equal(Reflect.set(config.fcm, 'enable', false), false);
    assert.equal(config.fcm.enable, true);
  });

  it('lists secret values for the logger: sensitive settings and URL credentials, nothing else', () => {
    const { config } = loadConfig({
      env: {},
      overrides: {
        'mqtt.password': 'broker-pw',
        'mqtt.username': 'broker-user',
        'customize.picture_url': 'https://zm.example/zm/index.php?view=image&eid=EVENTID&username=u&password=p%40ss',
      },
    });
    const values = secretValues(config);
    for (const secret of ['broker-pw', 'p%40ss', 'p@ss', 'zmpass']) assert.ok(values.includes(secret), secret);
    assert.ok(!values.includes('broker-user'));
    assert.ok(!values.includes('zoneminder'));
  });
});

describe('a realistic classic v7 configuration', () => {
  it('loads with every section, secrets, templates and quoted yes/no', () => {
    const secrets = dir.write(
      'secrets.yml',
      [
        'secrets:',
        '  ES_ADMIN_INTERFACE_PASSWORD: admin-secret',
        '  ES_CERT_FILE: /etc/letsencrypt/live/zm/fullchain.pem',
        '  ES_KEY_FILE: /etc/letsencrypt/live/zm/privkey.pem',
        '  ZMES_PICTURE_URL: https://zm.example.org/zm/index.php?view=image&eid=EVENTID&fid=BESTMATCH&width=600',
        '  ZM_USER: viewer',
        '  ZM_PASSWORD: viewer-pass',
        '  MQTT_USERNAME: zm',
        '  MQTT_PASSWORD: mqtt-pass',
        '',
      ].join('\n'),
    );
    const yaml = `# Classic-style configuration
general:
  secrets: "${secrets}"
  base_data_path: "/srv/zmes"
  use_escontrol_interface: "no"
  escontrol_interface_file: "\${base_data_path}/misc/escontrol_interface.json"
  escontrol_interface_password: "!ES_ADMIN_INTERFACE_PASSWORD"
  restart_interval: "0"
  skip_monitors: "4,5"

network:
  port: "9000"
  address: "[::]"

auth:
  enable: "yes"
  timeout: "20"

ssl:
  enable: "yes"
  cert: "!ES_CERT_FILE"
  key: "!ES_KEY_FILE"

fcm:
  enable: "yes"
  use_fcmv1: "yes"
  replace_push_messages: "yes"
  token_file: "\${base_data_path}/push/tokens.txt"
  date_format: "%I:%M %p, %d-%b"
  fcm_android_priority: "high"
  fcm_log_raw_message: "no"
  fcm_log_message_id: "NONE"

push:
  use_api_push: "no"
  api_push_script: "/var/lib/zmeventnotification/bin/pushapi_pushover.py"

mqtt:
  enable: "yes"
  server: "192.168.1.10"
  topic: "zoneminder"
  username: "!MQTT_USERNAME"
  password: "!MQTT_PASSWORD"
  retain: "no"

customize:
  es_rules: "/etc/zm/es_rules.yml"
  console_logs: "no"
  es_debug_level: "4"
  event_check_interval: "5"
  monitor_reload_interval: "300"
  read_alarm_cause: "yes"
  tag_alarm_event_id: "yes"
  use_custom_notification_sound: "no"
  include_picture: "yes"
  picture_url: "!ZMES_PICTURE_URL"
  picture_portal_username: "!ZM_USER"
  picture_portal_password: "!ZM_PASSWORD"
  send_event_start_notification: "yes"
  send_event_end_notification: "yes"
  use_hooks: "yes"

hook:
  event_start_hook: "\${base_data_path}/bin/zm_event_start.sh"
  event_end_hook: "\${base_data_path}/bin/zm_event_end.sh"
  event_start_notify_on_hook_success: "all"
  event_start_notify_on_hook_fail: "none"
  event_end_notify_on_hook_success: "fcm,web,api"
  event_end_notify_on_hook_fail: "none"
  event_end_notify_if_start_success: "yes"
  use_hook_description: "yes"
  hook_skip_monitors: ""
  hook_pass_image_path: "yes"
`;
    const { config, sources, warnings } = loadYaml(yaml);
    assert.equal(config.general.base_data_path, '/srv/zmes');
    assert.equal(config.general.escontrol_interface_file, '/srv/zmes/misc/escontrol_interface.json');
    assert.equal(config.general.escontrol_interface_password, 'admin-secret');
    assert.equal(config.general.skip_monitors, '4,5');
    assert.equal(config.network.port, 9000);
    assert.equal(config.ssl.cert, '/etc/letsencrypt/live/zm/fullchain.pem');
    assert.equal(sources.get('ssl.cert'), 'secret');
    assert.equal(config.fcm.token_file, '/srv/zmes/push/tokens.txt');
    assert.equal(config.fcm.replace_push_messages, true);
    assert.equal(config.mqtt.enable, true);
    assert.equal(config.mqtt.username, 'zm');
    assert.equal(config.mqtt.password, 'mqtt-pass');
    assert.equal(config.customize.event_check_interval, 5);
    assert.equal(config.customize.picture_url, 'https://zm.example.org/zm/index.php?view=image&eid=EVENTID&fid=BESTMATCH&width=600');
    assert.equal(config.customize.send_event_end_notification, true);
    assert.equal(config.hook.event_start_hook, '/srv/zmes/bin/zm_event_start.sh');
    assert.equal(config.hook.event_end_notify_on_hook_success, 'fcm,web,api');
    assert.equal(config.hook.hook_skip_monitors, '');
    assert.equal(config.hook.hook_pass_image_path, true);
    assert.deepEqual(
      warnings.filter((w) => w.includes('no effect in zmes')).sort(),
      [
        'customize.console_logs is a classic setting with no effect in zmes; ignored',
        'customize.es_debug_level is a classic setting with no effect in zmes; ignored',
        'customize.use_custom_notification_sound is a classic setting with no effect in zmes; ignored',
        'fcm.use_fcmv1 is a classic setting with no effect in zmes; ignored',
        'general.restart_interval is a classic setting with no effect in zmes; ignored',
      ],
    );
  });
});

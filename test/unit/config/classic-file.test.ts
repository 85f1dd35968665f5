// `zmes --config` on the classic server's own files: the realistic fixtures, loaded directly,
// configure zmes exactly as their migrated copy does, and the keys left out are reported once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { readSecretsFile } from '../../../src/config/secrets.js';
import { configFileFormat, readClassicSource } from '../../../src/migrate/classic-file.js';
import { buildPlan } from '../../../src/migrate/plan.js';
import { renderZmesYaml } from '../../../src/migrate/zmes-yaml.js';
import { configError, tempDir } from './helpers.js';

const FIXTURES = resolve('test/fixtures/migrate');
const dir = tempDir();
after(() => dir.remove());

/** The fixture with its secrets file copied next to it, as the classic file names it. */
function classicCopy(fixture: string, secrets: string, name = fixture, edit: (text: string) => string = (t) => t): string {
  const secretsCopy = dir.write(`${name}.d/${secrets}`, readFileSync(join(FIXTURES, secrets), 'utf8'));
  const text = readFileSync(join(FIXTURES, fixture), 'utf8').replaceAll(`/etc/zm/${secrets}`, secretsCopy);
  return dir.write(`${name}.d/${name}`, edit(text));
}

const ini = classicCopy('zmeventnotification.ini', 'secrets.ini');
const yml = classicCopy('zmeventnotification.yml', 'secrets.yml');

// What migrate-config reports for the fixture INI without --data-dir (test/integration/migrate-config.test.ts).
const NOT_USED: Record<string, RegExp> = {
  'general.escontrol_interface_file': /not used: not portable: .*Perl Storable/,
  'general.restart_interval': /not used: ignored in zmes: Classic: seconds between self-restarts/,
  'network.port': /not used: inline comment: value "9000 ; the websocket port" .*without it: "9000"/,
  'fcm.use_fcmv1': /not used: ignored in zmes/,
  'fcm.fcm_android_ttl': /not used: empty value: the default applies/,
  'mqtt.tick_interval': /not used: ignored in zmes/,
  'customize.console_logs': /not used: ignored in zmes/,
  'customize.es_debug_level': /not used: ignored in zmes/,
  'customize.event_check_interval': /not used: meaning changed: classic: the shared-memory poll tick/,
  'customize.monitor_reload_interval': /not used: inline comment: value "300 {2}# seconds between reloads"/,
  'customize.use_custom_notification_sound': /not used: ignored in zmes/,
  'customize.include_picture_crop': /not used: unknown key: not a key of \[customize\] \(did you mean customize\.include_picture\?\)/,
  'hook.keep_frame_match_type': /not used: ignored in zmes/,
  'hook.max_parallel_hooks': /not used: unparsable value: "many" is not valid; expected a whole number of at least 0/,
};

describe('a classic v6 zmeventnotification.ini with the secrets.ini it names', () => {
  const loaded = loadConfig({ file: ini, env: {} });
  const { config, sources } = loaded;

  it('is recognised as INI and used as it is: values, secrets and {{base_data_path}} templates', () => {
    assert.equal(loaded.fileFormat, 'classic-ini');
    assert.equal(config.general.use_escontrol_interface, true);
    assert.equal(config.general.escontrol_interface_password, 'es-admin-pw');
    assert.equal(sources.get('general.escontrol_interface_password'), 'secret');
    assert.equal(config.general.skip_monitors, '7,8');
    assert.equal(config.network.address, '0.0.0.0');
    assert.equal(config.ssl.cert, '/etc/zm/apache2/ssl/zoneminder.crt');
    assert.equal(config.fcm.token_file, '/var/lib/zmeventnotification/push/tokens.txt');
    assert.equal(config.mqtt.username, 'zmes');
    assert.equal(config.mqtt.password, 'mqtt-pw');
    assert.equal(config.customize.picture_url, 'https://zm.example.com/zm/index.php?view=image&eid=EVENTID&fid=objdetect&width=600');
    assert.equal(config.customize.send_event_end_notification, true);
    assert.equal(config.hook.event_start_hook, '/var/lib/zmeventnotification/bin/zm_event_start.sh', 'quotes removed, template resolved');
    assert.equal(config.hook.event_end_notify_on_hook_success, 'fcm,web,api');
  });

  it('leaves out what migrate-config leaves out, at the default, and reports each key once in the report\'s words', () => {
    assert.equal(config.network.port, 9000);
    assert.equal(config.customize.event_check_interval, 0.1);
    assert.equal(config.hook.max_parallel_hooks, 0);
    assert.equal(config.general.escontrol_interface_file, '/var/lib/zmeventnotification/misc/escontrol_interface.json');
    assert.equal(sources.get('general.escontrol_interface_file'), 'default');
    for (const [id, pattern] of Object.entries(NOT_USED)) {
      const lines = loaded.warnings.filter((w) => w.startsWith(`${id} (`));
      assert.equal(lines.length, 1, `${id}: ${lines.join(' / ') || 'not reported'}`);
      assert.match(lines[0] ?? '', new RegExp(`^${id.replace('.', '\\.')} \\(${ini.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, line \\d+\\) ${pattern.source}`));
    }
    assert.equal(loaded.warnings.length, Object.keys(NOT_USED).length, loaded.warnings.join('\n'));
    assert.doesNotMatch(loaded.warnings.join('\n'), /mqtt-pw|es-admin-pw|zm-portal-pw/);
  });

  it('configures zmes exactly as the file migrate-config makes of it: one mapping', () => {
    const source = readClassicSource(readFileSync(ini, 'utf8'), ini);
    const plan = buildPlan(source, { secrets: readSecretsFile(join(dirname(ini), 'secrets.ini')) });
    const migrated = dir.write('migrated.yml', renderZmesYaml(plan, { source: ini, format: 'ini' }));
    const fromMigrated = loadConfig({ file: migrated, env: {} });
    assert.deepEqual(config, fromMigrated.config);
    assert.deepEqual(sources, fromMigrated.sources);
  });

  it('is told by its content, whatever its name', () => {
    const renamed = dir.write('renamed/classic.conf.yml', readFileSync(ini, 'utf8'));
    const { fileFormat, config: again } = loadConfig({ file: renamed, env: {} });
    assert.equal(fileFormat, 'classic-ini');
    assert.deepEqual(again, config);
    assert.equal(configFileFormat('x.yml', 'use_hooks = yes\n[general]\n'), 'classic-ini', 'a key = value line first');
    assert.equal(configFileFormat('zmes.ini', 'general:\n  log_level: debug\n'), 'zmes', 'YAML content is YAML even when named .ini');
  });

  it('gives way to the environment and the command line, templates following a new base_data_path', () => {
    const { config: mixed, sources: from } = loadConfig({
      file: ini,
      env: { ZMES_MQTT_TOPIC: 'from/env' },
      commandLine: [{ key: 'general.base_data_path', value: '/srv/zmes', flag: '--set general.base_data_path' }],
    });
    assert.equal(mixed.mqtt.topic, 'from/env');
    assert.equal(mixed.general.base_data_path, '/srv/zmes');
    assert.equal(from.get('general.base_data_path'), 'command line');
    assert.equal(mixed.fcm.token_file, '/srv/zmes/push/tokens.txt');
    assert.equal(mixed.hook.event_start_hook, '/srv/zmes/bin/zm_event_start.sh');
  });

  it('stops, as the classic server did, when a secret it refers to is missing or the secrets file is unreadable', () => {
    const missing = classicCopy('zmeventnotification.ini', 'secrets.ini', 'missing-secret.ini', (t) => t.replace('!MQTT_PASSWORD', '!MQTT_PASSWROD'));
    const err = configError(() => loadConfig({ file: missing, env: {} }), 'ZMES_SECRET_MISSING');
    assert.match(err.message, /^mqtt\.password refers to secret MQTT_PASSWROD \(.*missing-secret\.ini, line \d+\), which is not in .*secrets\.ini \(did you mean MQTT_PASSWORD\?\)$/);
    const noFile = dir.write('no-secrets/zmeventnotification.ini', readFileSync(join(FIXTURES, 'zmeventnotification.ini'), 'utf8').replace('/etc/zm/secrets.ini', `${dir.path}/absent/secrets.ini`));
    assert.match(configError(() => loadConfig({ file: noFile, env: {} }), 'ZMES_SECRET_MISSING').message, /refers to secret .*cannot read the secrets file .*absent\/secrets\.ini/);
  });

  it('reports a key set twice and keeps the last value', () => {
    const twice = dir.write('twice/zmeventnotification.ini', '[auth]\ntimeout = 30\ntimeout = 40\n');
    const { config: last, warnings } = loadConfig({ file: twice, env: {} });
    assert.equal(last.auth.timeout, 40);
    assert.deepEqual(warnings, [`auth.timeout (${twice}, line 3): also set on line 2; the last value (line 3) is used`]);
  });
});

describe('a classic v7 (Ng) zmeventnotification.yml with secrets.yml', () => {
  it('is used as it is: an unquoted !NAME is a secret, what zmes cannot use is reported, not fatal', () => {
    const { config, warnings, fileFormat } = loadConfig({ file: yml, env: {} });
    assert.equal(fileFormat, 'classic-yaml');
    assert.equal(config.mqtt.password, 'mqtt-pw');
    assert.equal(config.mqtt.server, 'broker.lan:1883');
    assert.equal(config.customize.picture_portal_password, '0123-zm');
    assert.equal(config.fcm.date_locale, 'de_DE');
    assert.equal(config.hook.hook_timeout, 30);
    assert.equal(config.fcm.fcm_log_message_id, 'NONE', 'the value with an inline comment is left out');
    for (const id of ['general.restart_interval', 'fcm.fcm_log_message_id', 'customize.es_debug_level', 'customize.monitors_to_watch']) {
      assert.equal(warnings.filter((w) => w.startsWith(`${id} (`)).length, 1, `${id}:\n${warnings.join('\n')}`);
    }
  });

  it('is told apart from a zmes YAML file by its name: under another name an unknown key is an error', () => {
    const zmes = dir.write('zmes.yml', readFileSync(yml, 'utf8'));
    assert.match(configError(() => loadConfig({ file: zmes, env: {} }), 'ZMES_CONFIG_INVALID').message, /unknown key customize\.monitors_to_watch/);
    assert.equal(configFileFormat('/etc/zm/zmeventnotification.yml', 'general: {}\n'), 'classic-yaml');
    assert.equal(configFileFormat('/etc/zmes/zmes.yml', 'general: {}\n'), 'zmes');
  });
});

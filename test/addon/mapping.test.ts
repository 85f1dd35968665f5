// The one mapping between add-on options and zmes keys (addon/options.ts): drift in either
// direction fails here, and the Supervisor's options become a valid zmes configuration.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { ROOT, checkMapping, parseManifest, type Finding } from '../../addon/lint.js';
import {
  CONTAINER_PATHS,
  NOT_OPTIONS,
  OPTION_MAP,
  OPTION_NAMES,
  describeOptionError,
  fixedSettings,
  mapOptions,
  mappingTable,
  mqttServiceOverrides,
  resolveFile,
  userFacingKeys,
} from '../../src/config/addon-options.js';
import { loadConfig, secretValues } from '../../src/config/load.js';
import { renderConfig } from '../../src/config/print.js';
import { OPTIONS } from '../../src/config/schema.js';
import { isZmesError } from '../../src/errors.js';

const { data: manifest } = parseManifest(readFileSync(join(ROOT, 'config.yaml'), 'utf8'));
const translations = parseDocument(readFileSync(join(ROOT, 'translations', 'en.yaml'), 'utf8'), { version: '1.1' }).toJS() as unknown;
const schema = manifest['schema'] as Record<string, string>;
const sample = JSON.parse(readFileSync(join(ROOT, 'test', 'addon', 'fixtures', 'sample.options.json'), 'utf8')) as Record<string, unknown>;
const rules = (findings: Finding[]) => findings.map((f) => f.rule);
const withSchema = (next: Record<string, unknown>) => ({ ...manifest, schema: next });

describe('add-on options ↔ zmes keys', () => {
  it('config.yaml, OPTION_MAP, the zmes schema and the translations agree (no finding)', () => {
    assert.deepEqual(checkMapping(manifest, translations), []);
  });

  it('"user-facing" means usage setting or path, not fixed by the add-on; ignored and fixed keys are excluded', () => {
    const userFacing = new Set(userFacingKeys());
    const fixed = Object.keys(fixedSettings(CONTAINER_PATHS));
    for (const option of OPTIONS) {
      const expected = (option.leaf.usage === 'setting' || option.leaf.usage === 'path') && !fixed.includes(option.key);
      assert.equal(userFacing.has(option.key), expected, option.key);
    }
    assert.ok(!userFacing.has('general.restart_interval'), 'ignored classic key');
    assert.ok(!userFacing.has('network.port'), 'fixed key');
    assert.ok(!userFacing.has('database.zm_conf'), 'pinned by the add-on');
  });

  it('every user-facing zmes key is set by exactly one option or excluded with a reason', () => {
    const targets = new Map<string, string[]>();
    for (const name of OPTION_NAMES) targets.set(OPTION_MAP[name].key, [...(targets.get(OPTION_MAP[name].key) ?? []), name]);
    for (const key of userFacingKeys()) {
      const reason = (NOT_OPTIONS as Record<string, string | undefined>)[key];
      assert.equal((targets.get(key)?.length ?? 0) + (reason ? 1 : 0), 1, key);
    }
    for (const reason of Object.values(NOT_OPTIONS)) assert.ok(reason && reason.length > 20);
  });

  it('every option in config.yaml has a mapping and every mapping an option', () => {
    assert.deepEqual(Object.keys(schema).sort(), [...OPTION_NAMES].sort());
  });

  it('fails when config.yaml gains an option the mapping lacks', () => {
    assert.ok(rules(checkMapping(withSchema({ ...schema, camera_colour: 'str?' }))).includes('mapping-missing'));
  });

  it('fails when an option disappears from config.yaml: the mapping is stale and its zmes key unreachable', () => {
    const { mqtt_retain: _dropped, ...rest } = schema;
    const found = checkMapping(withSchema(rest));
    assert.ok(rules(found).includes('mapping-stale'));
    assert.ok(found.some((f) => f.rule === 'unreachable-key' && f.message.includes('mqtt.retain')));
  });

  it('fails when a secret is not typed password, a type does not fit, or a range admits bad values', () => {
    const found = rules(checkMapping(withSchema({ ...schema, zm_db_password: 'str', mqtt_retain: 'int?', auth_timeout: 'int?', fcm_android_priority: 'list(high|urgent)?' })));
    for (const rule of ['option-password', 'option-type', 'option-range']) assert.ok(found.includes(rule), rule);
  });

  it("fails when an add-on default differs from zmes's without a documented reason", () => {
    const options = { ...(manifest['options'] as Record<string, unknown>), mqtt_topic: 'cameras' };
    assert.ok(rules(checkMapping({ ...manifest, options })).includes('option-default'));
  });

  it('fails when a translation states a default zmes does not have', () => {
    const changed = structuredClone(translations) as { configuration: Record<string, { description: string }> };
    changed.configuration['auth_timeout']!.description = 'Seconds (default 99).';
    assert.ok(rules(checkMapping(manifest, changed)).includes('translation-default'));
  });

  it('the docs table lists every option with its zmes key and classic key', () => {
    const table = mappingTable();
    for (const name of OPTION_NAMES) assert.ok(table.includes(`| \`${name}\` | \`${OPTION_MAP[name].key}\` |`), name);
    assert.ok(table.includes('| `mqtt_server` | `mqtt.server` | `mqtt.server` |'));
    assert.ok(table.includes('| `zm_db_host` | `database.host` | — (zmes only) |'));
  });
});

describe('mapOptions: from /data/options.json to loadConfig overrides', () => {
  it('maps the sample options to a valid configuration with the add-on fixed keys', () => {
    const mapped = mapOptions(sample);
    assert.deepEqual(mapped.warnings, []);
    assert.equal(mapped.mqttFromSupervisor, true);
    const { config } = loadConfig({ env: {}, overrides: mapped.overrides });
    assert.equal(config.database.host, 'zm.example.lan');
    assert.equal(config.database.password, 'db-pa55-never-printed');
    assert.equal(config.database.zm_conf, null);
    assert.equal(config.general.base_data_path, '/data');
    assert.equal(config.fcm.token_file, '/data/push/tokens.txt');
    assert.equal(config.general.escontrol_interface_file, '/data/misc/escontrol_interface.json');
    assert.equal(config.network.port, 9000);
    assert.equal(config.network.address, '[::]');
    assert.equal(config.ssl.enable, false);
    assert.equal(config.fcm.enable, false);
    assert.equal(config.mqtt.enable, true);
    assert.ok(secretValues(config).includes('db-pa55-never-printed'));
    assert.ok(!renderConfig({ ...loadConfig({ env: {}, overrides: mapped.overrides }), file: null }).includes('db-pa55-never-printed'));
  });

  it('file names are relative to /ssl or /config; absolute paths stay', () => {
    assert.equal(resolveFile('fullchain.pem', 'ssl', CONTAINER_PATHS), '/ssl/fullchain.pem');
    assert.equal(resolveFile('/share/certs/a.pem', 'ssl', CONTAINER_PATHS), '/share/certs/a.pem');
    assert.equal(resolveFile('rules/es_rules.yml', 'config', CONTAINER_PATHS), '/config/rules/es_rules.yml');
    const { overrides } = mapOptions({ ...sample, ssl: true, certfile: 'cert.pem', keyfile: '/ssl/key.pem', es_rules_file: 'es_rules.yml', mqtt_tls_ca: 'ca.pem' });
    assert.equal(overrides['ssl.enable'], true);
    assert.equal(overrides['ssl.cert'], '/ssl/cert.pem');
    assert.equal(overrides['ssl.key'], '/ssl/key.pem');
    assert.equal(overrides['customize.es_rules'], '/config/es_rules.yml');
    assert.equal(overrides['mqtt.tls_ca'], '/ssl/ca.pem');
  });

  it('fcm_mode picks one delivery and drops the settings of the others, with a warning', () => {
    const direct = mapOptions({ ...sample, fcm_mode: 'direct', fcm_service_account_file: 'sa.json', fcm_proxy_url: 'https://proxy.example/x', fcm_proxy_key: 'k' });
    assert.equal(direct.overrides['fcm.enable'], true);
    assert.equal(direct.overrides['fcm.fcm_service_account_file'], '/config/sa.json');
    assert.equal(direct.overrides['fcm.fcm_v1_url'], undefined);
    assert.equal(direct.overrides['fcm.fcm_v1_key'], undefined);
    assert.equal(direct.warnings.length, 2);
    const proxy = mapOptions({ ...sample, fcm_mode: 'proxy', fcm_service_account_file: 'sa.json', fcm_proxy_url: 'https://proxy.example/x', fcm_proxy_key: 'k' });
    assert.equal(proxy.overrides['fcm.fcm_service_account_file'], undefined);
    assert.equal(proxy.overrides['fcm.fcm_v1_url'], 'https://proxy.example/x');
    const { config } = loadConfig({ env: {}, overrides: proxy.overrides });
    assert.equal(config.fcm.enable, true);
    assert.equal(config.fcm.fcm_v1_key, 'k');
    const disabled = mapOptions({ ...sample, fcm_mode: 'disabled', fcm_proxy_url: 'not even a url' });
    assert.equal(disabled.overrides['fcm.enable'], false);
    assert.equal(disabled.overrides['fcm.fcm_v1_url'], undefined);
  });

  it('refuses a mode without its files, a missing required option and an unknown mode, naming the options', () => {
    const fails = (options: Record<string, unknown>, pattern: RegExp) =>
      assert.throws(() => mapOptions(options), (err: unknown) => isZmesError(err, 'ZMES_CONFIG_INVALID') && pattern.test(err.message));
    fails({ ...sample, fcm_mode: 'direct' }, /fcm_service_account_file/);
    fails({ ...sample, fcm_mode: 'proxy', fcm_proxy_url: 'https://p.example' }, /fcm_proxy_key/);
    fails({ ...sample, fcm_mode: 'carrier-pigeon' }, /fcm_mode/);
    const { zm_db_host: _host, ...withoutHost } = sample;
    fails(withoutHost, /option zm_db_host is required/);
    fails({ ...sample, zm_db_password: '' }, /option zm_db_password is required/);
  });

  it('MQTT comes from the Supervisor only when it is on and mqtt_server is empty; hand credentials are then ignored', () => {
    const own = mapOptions({ ...sample, mqtt_server: 'broker.lan:1884', mqtt_username: 'u', mqtt_password: 'p' });
    assert.equal(own.mqttFromSupervisor, false);
    assert.equal(own.overrides['mqtt.server'], 'broker.lan:1884');
    assert.equal(own.overrides['mqtt.username'], 'u');
    const supervised = mapOptions({ ...sample, mqtt_username: 'u' });
    assert.equal(supervised.mqttFromSupervisor, true);
    assert.equal(supervised.overrides['mqtt.username'], undefined);
    assert.match(supervised.warnings.join('\n'), /mqtt_username is ignored/);
    assert.equal(mapOptions({ ...sample, mqtt_enable: false }).mqttFromSupervisor, false);
  });

  it("the Supervisor's broker becomes mqtt.server host:port with its credentials", () => {
    const plain = mqttServiceOverrides({ host: 'core-mosquitto', port: 1883, ssl: false, username: 'addons', password: 'pw' });
    assert.deepEqual(plain.overrides, { 'mqtt.server': 'core-mosquitto:1883', 'mqtt.username': 'addons', 'mqtt.password': 'pw' });
    assert.deepEqual(plain.warnings, []);
    const tls = mqttServiceOverrides({ host: 'fd00::1', port: 8883, ssl: true });
    assert.equal(tls.overrides['mqtt.server'], '[fd00::1]:8883');
    assert.equal(tls.overrides['mqtt.tls_insecure'], true);
    assert.equal(tls.warnings.length, 1);
    const { config } = loadConfig({ env: {}, overrides: { ...mapOptions(sample).overrides, ...plain.overrides } });
    assert.equal(config.mqtt.server, 'core-mosquitto:1883');
  });

  it('warns about options the add-on does not have, and errors name the add-on option', () => {
    assert.match(mapOptions({ ...sample, colour: 'red' }).warnings.join('\n'), /option colour is not an option of this add-on/);
    const { overrides } = mapOptions({ ...sample, zm_db_host: 'not a host!' });
    try {
      loadConfig({ env: {}, overrides });
      assert.fail('loadConfig accepted a bad host');
    } catch (err) {
      assert.ok(isZmesError(err, 'ZMES_CONFIG_INVALID'));
      assert.match(describeOptionError(err.message), /\(add-on option zm_db_host\)/);
    }
  });
});

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { parseSecrets, secretReference } from '../../../src/config/secrets.js';
import { configError, tempDir } from './helpers.js';

const dir = tempDir();
after(() => dir.remove());

const yamlSecrets = dir.write('secrets.yml', 'secrets:\n  MQTT_PASSWORD: s3cret-yaml\n  ZM_PORTAL: 0123\n');
const iniSecrets = dir.write(
  'secrets.ini',
  '; classic v6 secrets\n[general]\nMQTT_PASSWORD=wrong-section\n[secrets]\nMQTT_PASSWORD = s3cret-ini\n# comment\nZM_USER=admin\n',
);

function load(body: string, secretsFile: string = yamlSecrets, env: NodeJS.ProcessEnv = {}) {
  const file = dir.write(`c-${Math.random().toString(36).slice(2)}.yml`, `general:\n  secrets: "${secretsFile}"\n${body}`);
  return loadConfig({ file, env });
}

describe('secret references', () => {
  it('resolve a quoted "!NAME" from a YAML secrets file, with source "secret"', () => {
    const { config, sources } = load('mqtt:\n  password: "!MQTT_PASSWORD"\n');
    assert.equal(config.mqtt.password, 's3cret-yaml');
    assert.equal(sources.get('mqtt.password'), 'secret');
  });

  it('resolve an unquoted !NAME, which YAML reads as a tag', () => {
    const { config } = load('mqtt:\n  password: !MQTT_PASSWORD\n  username: !MQTT_PASSWORD   # trailing comment\n');
    assert.equal(config.mqtt.password, 's3cret-yaml');
    assert.equal(config.mqtt.username, 's3cret-yaml');
  });

  it('keep secret values as text', () => {
    assert.equal(load('mqtt:\n  topic: "!ZM_PORTAL"\n').config.mqtt.topic, '0123');
  });

  it('resolve from a v6 INI secrets file, reading only its [secrets] section', () => {
    const { config } = load('mqtt:\n  password: "!MQTT_PASSWORD"\n  username: "!ZM_USER"\n', iniSecrets);
    assert.equal(config.mqtt.password, 's3cret-ini');
    assert.equal(config.mqtt.username, 'admin');
  });

  it('recognise an INI secrets file by its content when the name has no extension', () => {
    const file = dir.write('secrets-no-ext', '[secrets]\nMQTT_PASSWORD=from-sniffed-ini\n');
    assert.equal(load('mqtt:\n  password: "!MQTT_PASSWORD"\n', file).config.mqtt.password, 'from-sniffed-ini');
  });

  it('resolve in env vars and overrides too', () => {
    const file = dir.write('only-secrets.yml', `general:\n  secrets: "${yamlSecrets}"\n`);
    const { config, sources } = loadConfig({
      file,
      env: { ZMES_MQTT_PASSWORD: '!MQTT_PASSWORD' },
      overrides: { 'database.password': '!MQTT_PASSWORD' },
    });
    assert.equal(config.mqtt.password, 's3cret-yaml');
    assert.equal(config.database.password, 's3cret-yaml');
    assert.equal(sources.get('mqtt.password'), 'secret');
  });

  it('are case-sensitive, and a missing name is ZMES_SECRET_MISSING naming the key and the secret', () => {
    const err = configError(() => load('mqtt:\n  password: "!mqtt_password"\n'), 'ZMES_SECRET_MISSING');
    assert.match(err.message, /mqtt\.password refers to secret mqtt_password/);
    assert.match(err.message, /did you mean MQTT_PASSWORD\?/);
    assert.ok(!err.message.includes('s3cret-yaml'), 'a secret value leaked into the message');
  });

  it('fail with ZMES_SECRET_MISSING when the secrets file is missing, naming the key and the secret', () => {
    const err = configError(() => load('mqtt:\n  password: "!MQTT_PASSWORD"\n', `${dir.path}/absent.yml`), 'ZMES_SECRET_MISSING');
    assert.match(err.message, /mqtt\.password refers to secret MQTT_PASSWORD/);
    assert.match(err.message, /absent\.yml/);
  });

  it('fail when a secrets file is set but missing, even if nothing refers to it (classic)', () => {
    const err = configError(() => load('', `${dir.path}/absent.yml`), 'ZMES_SECRET_MISSING');
    assert.match(err.message, /general\.secrets/);
  });

  it('fail when no secrets file is set', () => {
    const file = dir.write('no-secrets.yml', 'mqtt:\n  password: "!MQTT_PASSWORD"\n');
    const err = configError(() => loadConfig({ file, env: {} }), 'ZMES_SECRET_MISSING');
    assert.match(err.message, /mqtt\.password refers to secret MQTT_PASSWORD.*general\.secrets names no secrets file/);
  });

  it('never show the value of a secret in a validation error', () => {
    const secrets = dir.write('bad-secret.yml', 'secrets:\n  PORT: not-a-port-xyz\n');
    const err = configError(() => load('network:\n  port: "!PORT"\n', secrets), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /network\.port: the given value \(hidden\) is not valid \(secret PORT/);
    assert.ok(!err.message.includes('not-a-port-xyz'), err.message);
    const pw = dir.write('empty-secret.yml', 'secrets:\n  PW: ""\n');
    const pwErr = configError(() => load('mqtt:\n  topic: "!PW"\n', pw), 'ZMES_CONFIG_INVALID');
    assert.match(pwErr.message, /mqtt\.topic: an empty value is not valid/);
  });
});

describe('the secrets file parser', () => {
  it('reads YAML and INI forms', () => {
    assert.deepEqual([...parseSecrets('secrets:\n  A: 1\n  B: two\n', 's.yml')], [
      ['A', '1'],
      ['B', 'two'],
    ]);
    assert.deepEqual([...parseSecrets('[secrets]\nA=1\n', 's.ini')], [['A', '1']]);
  });

  it('rejects a YAML file without a secrets: section', () => {
    configError(() => parseSecrets('A: 1\n', 's.yml'), 'ZMES_CONFIG_FILE');
  });

  it('finds references only in values starting with "!"', () => {
    assert.equal(secretReference('!NAME'), 'NAME');
    assert.equal(secretReference('  !NAME '), 'NAME');
    assert.equal(secretReference('pass!word'), null);
    assert.equal(secretReference(5), null);
  });
});

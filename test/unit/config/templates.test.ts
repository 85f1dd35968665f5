import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { configError, tempDir } from './helpers.js';

const dir = tempDir();
after(() => dir.remove());

function loadYaml(yaml: string, env: NodeJS.ProcessEnv = {}) {
  return loadConfig({ file: dir.write(`c-${Math.random().toString(36).slice(2)}.yml`, yaml), env });
}

describe('templates', () => {
  it('replace ${base_data_path} (v7 syntax)', () => {
    const { config } = loadYaml('general:\n  base_data_path: /data\nfcm:\n  token_file: "${base_data_path}/push/t.json"\n');
    assert.equal(config.fcm.token_file, '/data/push/t.json');
  });

  it('replace {{base_data_path}} (v6 syntax)', () => {
    const { config } = loadYaml('general:\n  base_data_path: /data\nfcm:\n  token_file: "{{base_data_path}}/push/t.json"\n');
    assert.equal(config.fcm.token_file, '/data/push/t.json');
  });

  it('apply to defaults, following base_data_path from any source', () => {
    const { config } = loadConfig({ env: { ZMES_GENERAL_BASE_DATA_PATH: '/data' } });
    assert.equal(config.fcm.token_file, '/data/push/tokens.txt');
    assert.equal(config.general.escontrol_interface_file, '/data/misc/escontrol_interface.json');
  });

  it('look a name up in general first, then in the same section', () => {
    const { config } = loadYaml('mqtt:\n  username: zmuser\n  topic: "${username}/events"\n');
    assert.equal(config.mqtt.topic, 'zmuser/events');
  });

  it('resolve templates inside referenced values and convert numbers', () => {
    const { config } = loadYaml('general:\n  base_data_path: "/srv/${log_level}"\nnetwork:\n  port: "90${idle_timeout}"\n  idle_timeout: 12\n');
    assert.equal(config.fcm.token_file, '/srv/info/push/tokens.txt');
    assert.equal(config.network.port, 9012);
  });

  it('reject an unknown name, naming the key', () => {
    const err = configError(() => loadYaml('fcm:\n  token_file: "${nosuch}/t.json"\n'), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /fcm\.token_file: the template \$\{nosuch\} names no setting/);
  });

  it('reject a reference to an unset value', () => {
    const err = configError(() => loadYaml('fcm:\n  token_file: "${secrets}/t.json"\n'), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /fcm\.token_file: .*refers to general\.secrets, which is not set/);
  });

  it('reject templates that refer to each other in a loop', () => {
    const err = configError(() => loadYaml('mqtt:\n  username: "${topic}"\n  topic: "${username}"\n'), 'ZMES_CONFIG_INVALID');
    assert.match(err.message, /loop/);
  });

  it('apply to the secrets file name itself', () => {
    dir.write('secrets.yml', 'secrets:\n  PW: from-templated-secrets\n');
    const { config } = loadYaml(`general:\n  base_data_path: "${dir.path}"\n  secrets: "\${base_data_path}/secrets.yml"\nmqtt:\n  password: "!PW"\n`);
    assert.equal(config.mqtt.password, 'from-templated-secrets');
  });
});

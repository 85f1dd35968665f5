import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/load.js';
import { brokerLabel, describeFailure, mqttSettingsFrom, OutageReporter } from '../../../src/mqtt/mqtt-client.js';

function settings(mqtt: Record<string, unknown>) {
  const { config } = loadConfig({ env: {}, overrides: { mqtt: { enable: 'yes', ...mqtt }, database: { zm_conf: null } } });
  return mqttSettingsFrom(config.mqtt);
}

describe('settings from the configuration', () => {
  test('default to 127.0.0.1:1883 without TLS and a client id derived from the topic', () => {
    const s = settings({});
    assert.equal(s.host, '127.0.0.1');
    assert.equal(s.port, 1883);
    assert.equal(s.tls, null);
    assert.equal(s.clientId, 'zmes-zoneminder');
    assert.equal(s.availabilityTopic, 'zoneminder/zmes/availability');
    assert.equal(s.username, null);
  });

  test('read host:port, a bracketed IPv6 address, and an explicit client id', () => {
    assert.equal(settings({ server: 'core-mosquitto:1884' }).port, 1884);
    const v6 = settings({ server: '[::1]:1885', client_id: 'my-zmes', topic: 'home/zm' });
    assert.equal(v6.host, '::1');
    assert.equal(brokerLabel(v6), '[::1]:1885');
    assert.equal(v6.clientId, 'my-zmes');
    assert.equal(v6.availabilityTopic, 'home/zm/zmes/availability');
  });

  test('turn TLS on with a CA alone, without username and password (no classic quirk), on port 8883', () => {
    const s = settings({ server: 'broker.example', tls_ca: '/ssl/ca.pem' });
    assert.deepEqual(s.tls, { ca: '/ssl/ca.pem', cert: null, key: null, insecure: false });
    assert.equal(s.port, 8883);
    assert.equal(s.username, null);
    assert.equal(brokerLabel(s), 'broker.example:8883 (TLS)');
  });

  test('turn TLS on for port 8883 or tls_insecure even without files', () => {
    assert.notEqual(settings({ server: 'broker.example:8883' }).tls, null);
    assert.equal(settings({ tls_insecure: 'yes' }).tls?.insecure, true);
  });

  test('log in only when both username and password are set', () => {
    assert.equal(settings({ username: 'zmes' }).username, null);
    const s = settings({ username: 'zmes', password: 's3cret' });
    assert.equal(s.username, 'zmes');
    assert.equal(s.password, 's3cret');
  });
});

describe('failures', () => {
  test('a refused login is recognised by its CONNACK code (3.1.1 and 5)', () => {
    for (const code of [4, 5, 134, 135]) assert.equal(describeFailure(Object.assign(new Error('Connection refused: Not authorized'), { code })).kind, 'auth');
    assert.equal(describeFailure(Object.assign(new Error('refused'), { code: 3 })).kind, 'refused');
  });

  test('network and TLS errors are told apart', () => {
    assert.equal(describeFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).kind, 'network');
    assert.equal(describeFailure(Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })).kind, 'tls');
    assert.equal(describeFailure('odd').kind, 'other');
  });
});

describe('outage reporting', () => {
  const refused = { kind: 'network' as const, text: 'connect ECONNREFUSED 127.0.0.1:1883' };
  const denied = { kind: 'auth' as const, text: 'Connection refused: Not authorized' };

  test('logs one warning per outage, not one per retry, and one info line when back', () => {
    const reporter = new OutageReporter('broker:1883', 0);
    assert.deepEqual(reporter.connected(10, 0), { level: 'info', message: 'connected to MQTT broker broker:1883' });
    const lost = reporter.lost(1000, null);
    assert.equal(lost?.level, 'warn');
    assert.match(lost!.message, /lost the connection to MQTT broker broker:1883; reconnecting/);
    assert.equal(reporter.failed(refused)?.message, `MQTT broker broker:1883 still unreachable: ${refused.text}`);
    assert.equal(reporter.failed(refused), null);
    assert.equal(reporter.failed(refused), null);
    const back = reporter.connected(31_000, 2);
    assert.equal(back.level, 'info');
    assert.match(back.message, /^reconnected to MQTT broker broker:1883 after 30 s; 2 message\(s\) could not be published/);
  });

  test('a refused login is an error naming the broker and the reason, logged once while it lasts', () => {
    const reporter = new OutageReporter('broker:1883', 0);
    const line = reporter.failed(denied);
    assert.equal(line?.level, 'error');
    assert.match(line!.message, /^MQTT broker broker:1883 refused the login: Connection refused: Not authorized; check mqtt.username/);
    assert.equal(reporter.failed(denied), null);
    assert.equal(reporter.failed(refused)?.level, 'warn', 'a new reason is worth one new line');
  });

  test('a first connection that fails says so, and connecting later reports the wait', () => {
    const reporter = new OutageReporter('broker:1883', 0);
    assert.match(reporter.failed(refused)!.message, /^cannot connect to MQTT broker broker:1883: .*retrying in the background$/);
    assert.match(reporter.connected(5000, 0).message, /^connected to MQTT broker broker:1883 after 5 s$/);
  });
});

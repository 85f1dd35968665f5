import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/load.js';
import {
  brokerLabel,
  DEFAULT_RECONNECT,
  describeFailure,
  MqttConnection,
  mqttSettingsFrom,
  OutageReporter,
  queueLossLine,
  type MqttSettings,
} from '../../../src/mqtt/mqtt-client.js';
import { DEFAULT_OFFLINE_QUEUE } from '../../../src/mqtt/offline-queue.js';
import { backoffDelay } from '../../../src/backoff.js';
import { fakeMqtt } from '../../helpers/mqtt-fake-client.js';
import { memoryLogger } from '../../helpers/memory-log.js';
import { testSettings } from '../../helpers/mqtt-fixtures.js';

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
    assert.deepEqual(s.offlineQueue, DEFAULT_OFFLINE_QUEUE);
    assert.deepEqual(s.reconnect, DEFAULT_RECONNECT);
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
  const timedOut = { kind: 'network' as const, text: 'connect ETIMEDOUT 127.0.0.1:1883' };
  const denied = { kind: 'auth' as const, text: 'Connection refused: Not authorized' };

  test('logs one warning per outage, however many retries fail and however they fail, and one info line when back', () => {
    const reporter = new OutageReporter('broker:1883', 0);
    assert.deepEqual(reporter.connected(10, 0), { level: 'info', message: 'connected to MQTT broker broker:1883' });
    const lost = reporter.lost(1000, null);
    assert.equal(lost?.level, 'warn');
    assert.match(lost!.message, /lost the connection to MQTT broker broker:1883; reconnecting/);
    for (const failure of [refused, timedOut, refused, { kind: 'other' as const, text: 'Keepalive timeout' }, timedOut]) {
      assert.equal(reporter.failed(failure), null, failure.text);
    }
    const back = reporter.connected(31_000, 2);
    assert.deepEqual(back, { level: 'info', message: 'reconnected to MQTT broker broker:1883 after 30 s; sending 2 queued message(s)' });
  });

  test('a loss with a reason names it, and retries failing the same way add nothing', () => {
    const reporter = new OutageReporter('broker:1883', 0);
    reporter.connected(0, 0);
    assert.match(reporter.lost(0, { kind: 'network', text: 'read ECONNRESET' })!.message, /broker:1883: read ECONNRESET; reconnecting/);
    assert.equal(reporter.failed(refused), null);
  });

  test('a refused login is an error naming the broker and the reason, logged once while it lasts', () => {
    const reporter = new OutageReporter('broker:1883', 0);
    const line = reporter.failed(denied);
    assert.equal(line?.level, 'error');
    assert.match(line!.message, /^MQTT broker broker:1883 refused the login: Connection refused: Not authorized; check mqtt.username/);
    assert.equal(reporter.failed(denied), null);
    assert.deepEqual(reporter.failed(refused), { level: 'warn', message: `MQTT broker broker:1883 still unreachable: ${refused.text}` }, 'a new kind of failure is worth one new line');
    assert.equal(reporter.failed(timedOut), null);
  });

  test('a first connection that fails says so, and connecting later reports the wait', () => {
    const reporter = new OutageReporter('broker:1883', 0);
    assert.match(reporter.failed(refused)!.message, /^cannot connect to MQTT broker broker:1883: .*retrying in the background$/);
    assert.equal(reporter.failed(timedOut), null);
    assert.match(reporter.connected(5000, 0).message, /^connected to MQTT broker broker:1883 after 5 s$/);
  });

  test('a stop is at most an info line', () => {
    const up = new OutageReporter('broker:1883', 0);
    up.connected(0, 0);
    assert.deepEqual(up.stopped(0), { level: 'info', message: 'disconnected from MQTT broker broker:1883' });
    const down = new OutageReporter('broker:1883', 0);
    assert.equal(down.stopped(0), null);
    assert.deepEqual(down.stopped(3), {
      level: 'info',
      message: 'stopping while MQTT broker broker:1883 is unreachable: 3 queued message(s) not published',
    });
  });

  test('what the offline queue lost is one line with the counts and the bound', () => {
    assert.equal(queueLossLine({ overflowed: 0, expired: 0 }, DEFAULT_OFFLINE_QUEUE), null);
    assert.deepEqual(queueLossLine({ overflowed: 250, expired: 3 }, DEFAULT_OFFLINE_QUEUE), {
      level: 'warn',
      message:
        '253 MQTT event message(s) lost while the broker was unreachable (250 oldest dropped when it was full, 3 older than 10 min); ' +
        'the offline queue keeps at most 1000 messages for 10 min',
    });
  });
});

describe('reconnect backoff', () => {
  test('1 s, then 2 s, then never more than 4 s, whatever the jitter', () => {
    assert.equal(DEFAULT_RECONNECT.initialMs, 1000);
    for (const random of [() => 0, () => 0.5, () => 0.999]) {
      const delays = Array.from({ length: 20 }, (_, attempt) => backoffDelay(attempt, DEFAULT_RECONNECT, random));
      assert.ok(Math.max(...delays) <= 4000, delays.join(','));
    }
    const middle = () => 0.5;
    assert.deepEqual([1, 2, 3, 10].map((attempt) => backoffDelay(attempt, DEFAULT_RECONNECT, middle)), [2000, 4000, 4000, 4000]);
  });

  test('the connection applies it to the client before each retry and resets it after a connect', async () => {
    const fake = fakeMqtt();
    const connection = new MqttConnection(fakeSettings({ reconnect: DEFAULT_RECONNECT }), memoryLogger().log, { connect: fake.connect, random: () => 0.5 });
    await connection.start();
    assert.equal(fake.client.options.reconnectPeriod, 1000);
    const periods: Array<number | undefined> = [];
    for (let i = 0; i < 4; i++) {
      fake.client.refuseAttempt();
      periods.push(fake.client.options.reconnectPeriod);
    }
    assert.deepEqual(periods, [2000, 4000, 4000, 4000]);
    fake.client.accept();
    assert.equal(fake.client.options.reconnectPeriod, 1000);
  });
});

describe('client options', () => {
  test('the packet-id buffer cache is off (it costs about 10 MB of RSS for nothing at zmes\'s message rate)', async () => {
    const fake = fakeMqtt();
    const connection = new MqttConnection(fakeSettings(), memoryLogger().log, { connect: fake.connect });
    await connection.start();
    assert.equal(fake.client.options.writeCache, false);
    assert.equal(fake.client.options.protocolVersion, 4);
  });
});

const TOPIC = 'zm';
const AVAILABILITY = 'zm/zmes/availability';

function fakeSettings(overrides: Partial<MqttSettings> = {}): MqttSettings {
  return testSettings(1883, TOPIC, { availabilityTopic: AVAILABILITY, ...overrides });
}

async function connection(overrides: Partial<MqttSettings> = {}) {
  const fake = fakeMqtt();
  const logs = memoryLogger('info');
  let now = 1_000_000;
  const conn = new MqttConnection(fakeSettings(overrides), logs.log.child('mqtt'), { connect: fake.connect, now: () => now });
  await conn.start();
  fake.client.accept();
  return {
    conn,
    fake,
    logs,
    advance(ms: number) {
      now += ms;
    },
    event: (n: number, qos: 0 | 1 = 0) => conn.publish(`zm/${n}`, `e${n}`, { qos, retain: false, queue: true }),
  };
}

describe('event messages while the broker is unreachable', () => {
  test('are queued and sent in order after the reconnect, after availability and the re-sent state', async () => {
    const { conn, fake, logs, event } = await connection();
    conn.onConnect(() => conn.publish('zm/zmes/monitor/3/motion', 'OFF', { qos: 1, retain: true }));
    fake.client.drop();
    assert.equal(event(1), 'queued');
    assert.equal(conn.publish('zm/zmes/monitor/3/motion', 'ON', { qos: 1, retain: true }), 'dropped', 'state is not queued');
    assert.equal(event(2, 1), 'queued');
    assert.equal(event(3), 'queued');
    assert.equal(conn.queueSize, 3);
    const mark = fake.client.published.length;
    fake.client.accept();
    assert.deepEqual(fake.client.log(mark), [`${AVAILABILITY}=online`, 'zm/zmes/monitor/3/motion=OFF', 'zm/1=e1', 'zm/2=e2', 'zm/3=e3']);
    assert.deepEqual(
      fake.client.published.slice(-3).map((p) => p.qos),
      [0, 1, 0],
      'each keeps its QoS',
    );
    assert.equal(conn.queueSize, 0);
    assert.equal(logs.grep(/reconnected to MQTT broker 127\.0\.0\.1:1883 after 0 s; sending 3 queued message\(s\)/).length, 1);
    assert.equal(event(4), 'sent');
  });

  test('an event published while the connect listeners run waits behind the queued ones', async () => {
    const { conn, fake, event } = await connection();
    conn.onConnect(() => event(3));
    fake.client.drop();
    event(1);
    event(2);
    const mark = fake.client.published.length;
    fake.client.accept();
    assert.deepEqual(fake.client.log(mark).filter((line) => line.startsWith('zm/') && !line.startsWith('zm/zmes')), ['zm/1=e1', 'zm/2=e2', 'zm/3=e3']);
  });

  test('keep the newest 1,000; the overflow is one warning with the count, once per outage', async () => {
    const { conn, fake, logs, event } = await connection();
    fake.client.drop();
    for (let n = 1; n <= 1250; n++) event(n);
    assert.equal(conn.queueSize, 1000);
    assert.equal(logs.grep(/lost while the broker was unreachable/).length, 0, 'not one line per message');
    const mark = fake.client.published.length;
    fake.client.accept();
    const sent = fake.client.published.slice(mark).filter((p) => p.topic !== AVAILABILITY);
    assert.deepEqual(
      sent.map((p) => p.payload),
      Array.from({ length: 1000 }, (_, i) => `e${i + 251}`),
    );
    const lost = logs.grep(/MQTT event message\(s\) lost/);
    assert.equal(lost.length, 1);
    assert.match(lost[0]!.message, /WARN .*250 MQTT event message\(s\) lost while the broker was unreachable \(250 oldest dropped when it was full\)/);
    assert.equal(conn.stats.queueLost, 250);

    fake.client.drop();
    event(2000);
    fake.client.accept();
    assert.equal(logs.grep(/MQTT event message\(s\) lost/).length, 1, 'a later outage without losses adds no line');
  });

  test('older than 10 minutes at the reconnect are dropped and counted', async () => {
    const { fake, logs, event, advance } = await connection();
    fake.client.drop();
    event(1);
    event(2);
    advance(300_000);
    event(3);
    advance(300_001);
    const mark = fake.client.published.length;
    fake.client.accept();
    assert.deepEqual(fake.client.log(mark), [`${AVAILABILITY}=online`, 'zm/3=e3']);
    assert.match(logs.grep(/lost while/)[0]!.message, /2 MQTT event message\(s\) lost .*\(2 older than 10 min\)/);
    assert.match(logs.grep(/reconnected/)[0]!.message, /sending 1 queued message\(s\)$/);
  });

  test('are queued before the first connect too, e.g. when zmes starts before the broker', async () => {
    const fake = fakeMqtt();
    const conn = new MqttConnection(fakeSettings(), memoryLogger().log, { connect: fake.connect });
    assert.equal(conn.publish('zm/1', 'e1', { qos: 0, retain: false, queue: true }), 'queued');
    await conn.start();
    fake.client.refuseAttempt();
    fake.client.accept();
    assert.deepEqual(fake.client.log(), [`${AVAILABILITY}=online`, 'zm/1=e1']);
  });

  test('are dropped, not queued, when MQTT is off for an unreadable TLS file', async () => {
    const logs = memoryLogger('info');
    const conn = new MqttConnection(fakeSettings({ tls: { ca: '/nonexistent/ca.pem', cert: null, key: null, insecure: false } }), logs.log);
    conn.publish('zm/1', 'e1', { qos: 0, retain: false, queue: true });
    await conn.start();
    assert.equal(conn.publish('zm/2', 'e2', { qos: 0, retain: false, queue: true }), 'dropped');
    assert.equal(conn.queueSize, 0);
    assert.equal(conn.stats.dropped, 1);
    assert.equal(conn.stats.queueLost, 1, 'the one queued before');
  });
});

describe('stopping', () => {
  test('a clean stop publishes offline and logs one info line, no warning', async () => {
    const { conn, fake, logs } = await connection();
    await conn.stop();
    assert.deepEqual(fake.client.log().at(-1), `${AVAILABILITY}=offline`);
    assert.equal(fake.client.ended, true);
    assert.deepEqual(
      logs.lines.map((l) => l.message.replace(/^\S+ /, '')),
      ['INFO  [mqtt] connected to MQTT broker 127.0.0.1:1883', 'INFO  [mqtt] disconnected from MQTT broker 127.0.0.1:1883'],
    );
    assert.equal(conn.publish('zm/1', 'e1', { qos: 0, retain: false, queue: true }), 'dropped', 'nothing is queued after a stop');
    await conn.stop();
  });

  test('a stop during an outage says at info level what stays unsent', async () => {
    const { conn, fake, logs, event } = await connection();
    fake.client.drop();
    event(1);
    event(2);
    await conn.stop();
    assert.equal(logs.grep(/WARN/).length, 1, 'only the outage itself');
    assert.equal(logs.grep(/INFO .*stopping while MQTT broker 127\.0\.0\.1:1883 is unreachable: 2 queued message\(s\) not published/).length, 1);
    assert.equal(conn.stats.queueLost, 2);
  });
});

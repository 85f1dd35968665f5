/**
 * The broker going away, refusing the login, or speaking TLS: zmes must keep running, log one
 * clear line per outage, reconnect by itself and re-send what Home Assistant needs. These tests
 * stop and restart brokers, so each uses a private Mosquitto, never the shared one.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/event-bus.js';
import { MqttConnection, type MqttSettings } from '../../../src/mqtt/mqtt-client.js';
import { MqttChannel } from '../../../src/notify/channels/mqtt-channel.js';
import type { ZmesEvents } from '../../../src/domain/bus-events.js';
import { generateCertificate } from '../../helpers/certs.js';
import { memoryLogger, type MemoryLogger } from '../../helpers/memory-log.js';
import { notification, testSettings, until, zmEvent } from '../../helpers/mqtt-fixtures.js';
import { connectSubscriber, retainedMessages, uniqueTopic } from '../../helpers/mqtt-subscriber.js';
import { mosquittoPasswdAvailable, startPrivateMosquitto, type PrivateMosquitto } from '../../helpers/private-mosquitto.js';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

async function privateBroker(t: TestContext, options: Parameters<typeof startPrivateMosquitto>[0] = {}): Promise<PrivateMosquitto> {
  const broker = await startPrivateMosquitto(options);
  t.after(() => broker.destroy());
  return broker;
}

interface Channel {
  bus: EventBus<ZmesEvents>;
  connection: MqttConnection;
  publisher: MqttChannel;
  logs: MemoryLogger;
  topic: string;
}

async function channel(t: TestContext, port: number, settings: Partial<MqttSettings> = {}): Promise<Channel> {
  const topic = uniqueTopic('conn');
  const logs = memoryLogger('info');
  const bus = new EventBus<ZmesEvents>(logs.log);
  const connection = new MqttConnection(testSettings(port, topic, settings), logs.log.child('mqtt'));
  const publisher = new MqttChannel(
    bus,
    { topic, retain: false, haDiscovery: true, discoveryPrefix: `${topic}/ha`, motionTimeoutMs: 0 },
    connection,
    logs.log,
  );
  t.after(() => publisher.stop());
  await publisher.start();
  return { bus, connection, publisher, logs, topic };
}

describe('broker outages', () => {
  test('after a broker restart zmes reconnects and re-publishes discovery, state and availability', async (t) => {
    const broker = await privateBroker(t);
    const c = await channel(t, broker.port);
    await until(() => c.connection.connected, 'connected');
    c.bus.emit('zm:monitors', { monitors: [{ id: 3, name: 'Backyard', notify: true }], removed: [] });
    c.bus.emit('zm:event', { kind: 'start', event: zmEvent() });

    const config = `${c.topic}/ha/binary_sensor/${c.publisher.topics.nodeId}/monitor_3_motion/config`;
    const motion = `${c.topic}/zmes/monitor/3/motion`;
    const availability = `${c.topic}/zmes/availability`;
    const before = await retainedMessages({ port: broker.port }, [config, motion]);
    assert.equal(before.get(motion), 'ON');

    await broker.stop();
    await until(() => !c.connection.connected, 'the loss is noticed');
    c.bus.emit('notification', notification()); // queued, no crash
    // Retries that fail while the broker is down are part of the same outage, not more warnings.
    // Waiting for two of them makes sure at least one failed, whatever the machine's load.
    await until(() => c.connection.stats.reconnectAttempts >= 2, 'retries while the broker is down');
    await broker.start(); // no persistence: every retained message is gone
    await until(() => c.connection.stats.connects >= 2, 'reconnected');

    const sub = await connectSubscriber({ port: broker.port }, [`${c.topic}/#`]);
    t.after(() => sub.close());
    await sub.waitFor((m) => m.topic === config, 're-published discovery config');
    await sub.waitFor((m) => m.topic === motion && m.payload === 'ON', 're-published motion state');
    await sub.waitFor((m) => m.topic === availability && m.payload === 'online', 'availability online');

    assert.equal(c.logs.grep(/lost the connection to MQTT broker 127\.0\.0\.1:\d+/).length, 1);
    const warnings = c.logs.grep(/WARN/);
    assert.equal(warnings.length, 1, `one warning for the whole outage:\n${warnings.map((l) => l.message).join('\n')}`);
    assert.equal(c.logs.grep(/reconnected to MQTT broker 127\.0\.0\.1:\d+ after \d+ s; sending 1 queued message\(s\)/).length, 1);
  });

  test('starting while the broker is down logs one warning, retries, and connects when it comes up', async (t) => {
    const broker = await privateBroker(t);
    await broker.stop();
    const c = await channel(t, broker.port);
    await until(() => c.connection.stats.reconnectAttempts >= 3, 'several attempts');
    assert.equal(c.connection.connected, false);
    assert.equal(c.logs.grep(/cannot connect to MQTT broker 127\.0\.0\.1:\d+: .*ECONNREFUSED.*retrying in the background/).length, 1);
    assert.equal(c.logs.grep(/WARN|ERROR/).length, 1);

    await broker.start();
    await until(() => c.connection.connected, 'connected once the broker is up');
    assert.equal(c.logs.grep(/INFO .*connected to MQTT broker 127\.0\.0\.1:\d+ after \d+ s/).length, 1);
    const held = await retainedMessages({ port: broker.port }, [`${c.topic}/zmes/availability`]);
    assert.equal(held.get(`${c.topic}/zmes/availability`), 'online');
  });

  test('a clean stop publishes offline on the availability topic and logs no warning', async (t) => {
    const broker = await privateBroker(t);
    const c = await channel(t, broker.port);
    await until(() => c.connection.connected, 'connected');
    await c.publisher.stop();
    const held = await retainedMessages({ port: broker.port }, [`${c.topic}/zmes/availability`]);
    assert.equal(held.get(`${c.topic}/zmes/availability`), 'offline');
    assert.deepEqual(
      c.logs.lines.filter((l) => l.level !== 'info').map((l) => l.message),
      [],
      'nothing above info',
    );
    assert.equal(c.logs.grep(/INFO .*disconnected from MQTT broker 127\.0\.0\.1:\d+$/).length, 1);
  });

  test('a stop while the broker is down logs no warning beyond the outage', async (t) => {
    const broker = await privateBroker(t);
    const c = await channel(t, broker.port);
    await until(() => c.connection.connected, 'connected');
    await broker.stop();
    await until(() => !c.connection.connected, 'the loss is noticed');
    c.bus.emit('notification', notification());
    await c.publisher.stop();
    assert.equal(c.logs.grep(/WARN/).length, 1, 'only the outage');
    assert.equal(c.logs.grep(/INFO .*stopping while MQTT broker 127\.0\.0\.1:\d+ is unreachable: 1 queued message\(s\) not published/).length, 1);
  });
});

describe('authentication', { skip: !mosquittoPasswdAvailable() && 'mosquitto_passwd is not installed' }, () => {
  const auth = { username: 'zmes', password: 'right-pass' };

  test('a wrong password gives one clear error naming the broker and the reason; retries go on, nothing crashes', async (t) => {
    const broker = await privateBroker(t, { auth });
    const c = await channel(t, broker.authPort!, { username: 'zmes', password: 'wrong-pass' });
    await until(() => c.connection.stats.reconnectAttempts >= 3, 'several login attempts');
    const errors = c.logs.grep(/ERROR/);
    assert.equal(errors.length, 1, errors.map((l) => l.message).join('\n'));
    assert.match(
      errors[0]!.message,
      new RegExp(`MQTT broker 127\\.0\\.0\\.1:${broker.authPort} refused the login: Connection refused: Not authorized; check mqtt\\.username and mqtt\\.password`),
    );
    assert.equal(c.logs.grep(/wrong-pass/).length, 0, 'the password never reaches the log');
    assert.equal(c.connection.connected, false);
    await c.publisher.stop();
    assert.deepEqual(unhandled, []);
  });

  test('the right password connects', async (t) => {
    const broker = await privateBroker(t, { auth });
    const c = await channel(t, broker.authPort!, { username: auth.username, password: auth.password });
    await until(() => c.connection.connected, 'connected with the right password');
    assert.equal(c.logs.grep(/ERROR|WARN/).length, 0);
  });
});

describe('TLS', () => {
  test('connects with only a CA file, without username and password (no classic quirk)', async (t) => {
    const cert = generateCertificate();
    t.after(() => cert.cleanup());
    const broker = await privateBroker(t, { tls: { certPath: cert.certPath, keyPath: cert.keyPath } });
    const c = await channel(t, broker.tlsPort!, {
      host: 'localhost',
      tls: { ca: cert.certPath, cert: null, key: null, insecure: false },
    });
    await until(() => c.connection.connected, 'connected over TLS');
    assert.equal(c.logs.grep(/connected to MQTT broker localhost:\d+ \(TLS\)/).length, 1);
  });

  test('an unknown certificate authority is one clear TLS error, and zmes keeps running', async (t) => {
    const cert = generateCertificate();
    const other = generateCertificate();
    t.after(() => {
      cert.cleanup();
      other.cleanup();
    });
    const broker = await privateBroker(t, { tls: { certPath: cert.certPath, keyPath: cert.keyPath } });
    const c = await channel(t, broker.tlsPort!, {
      host: 'localhost',
      tls: { ca: other.certPath, cert: null, key: null, insecure: false },
    });
    await until(() => c.connection.stats.reconnectAttempts >= 2, 'retries');
    const errors = c.logs.grep(/ERROR/);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /TLS handshake with MQTT broker localhost:\d+ \(TLS\) failed/);
  });

  test('a certificate for another host name is refused, even from a trusted CA', async (t) => {
    const cert = generateCertificate({ commonName: 'broker.example', altNames: 'DNS:broker.example' });
    t.after(() => cert.cleanup());
    const broker = await privateBroker(t, { tls: { certPath: cert.certPath, keyPath: cert.keyPath } });
    const c = await channel(t, broker.tlsPort!, {
      host: 'localhost',
      tls: { ca: cert.certPath, cert: null, key: null, insecure: false },
    });
    await until(() => c.connection.stats.reconnectAttempts >= 2, 'retries');
    assert.equal(c.connection.connected, false);
    const errors = c.logs.grep(/ERROR/);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /TLS handshake with MQTT broker localhost:\d+ \(TLS\) failed.*broker\.example/);
  });

  test('tls_insecure connects to a broker whose certificate nobody vouches for', async (t) => {
    const cert = generateCertificate({ commonName: 'broker.example', altNames: 'DNS:broker.example' });
    t.after(() => cert.cleanup());
    const broker = await privateBroker(t, { tls: { certPath: cert.certPath, keyPath: cert.keyPath } });
    const c = await channel(t, broker.tlsPort!, { host: 'localhost', tls: { ca: null, cert: null, key: null, insecure: true } });
    await until(() => c.connection.connected, 'connected over TLS without verification');
    assert.equal(c.logs.grep(/ERROR/).length, 0);
  });

  test('a missing CA file disables the channel with one error instead of stopping zmes', async (t) => {
    const c = await channel(t, 1, { tls: { ca: '/nonexistent/ca.pem', cert: null, key: null, insecure: false } });
    assert.equal(c.logs.grep(/MQTT disabled: cannot read a TLS file for broker 127\.0\.0\.1:1 \(TLS\)/).length, 1);
    c.bus.emit('notification', notification());
    assert.equal(c.connection.stats.dropped, 1, 'dropped, not queued: no connection will come');
    assert.equal(c.connection.queueSize, 0);
  });
});

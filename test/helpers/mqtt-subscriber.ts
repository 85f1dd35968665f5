/**
 * A small MQTT client for tests: records every message on its subscriptions, waits for one
 * that matches (with a generous time limit that only stops a hung test, never measures time),
 * and reads what a broker holds as retained.
 *
 *   const sub = await connectSubscriber({ port: 1883 }, [`${prefix}/#`]);
 *   t.after(() => sub.close());
 *   const msg = await sub.waitFor((m) => m.topic === `${prefix}/3`, 'classic message');
 */
import { randomBytes } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';

export const SHARED_BROKER = { host: '127.0.0.1', port: 1883 } as const;

export interface BrokerAddress {
  host?: string;
  port: number;
  username?: string;
  password?: string;
}

export interface ReceivedMessage {
  readonly topic: string;
  readonly payload: string;
  readonly retained: boolean;
  /** Position in `messages`. */
  readonly index: number;
  /** Date.now() when it arrived (for tests that measure a delivery delay). */
  readonly at: number;
}

export interface SubscriberOptions {
  /**
   * A persistent session under this client id (clean: false): after a broker restart with
   * persistence, the broker keeps the subscriptions and the messages that arrived meanwhile.
   */
  sessionId?: string;
}

export interface MqttSubscriber {
  readonly client: MqttClient;
  readonly messages: ReceivedMessage[];
  /** Index of the next message: pass it as `after` to wait only for newer ones. */
  mark(): number;
  /** The first message (already received or still to come) that matches, from index `after` on. */
  waitFor(predicate: (message: ReceivedMessage) => boolean, what: string, options?: { after?: number; timeoutMs?: number }): Promise<ReceivedMessage>;
  /** Messages received on one topic, oldest first. */
  on(topic: string): ReceivedMessage[];
  publish(topic: string, payload: string, options?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
  close(): Promise<void>;
}

/** A topic prefix no other test (or earlier run) uses, for tests on the shared broker. */
export function uniqueTopic(label: string): string {
  return `zmes-test/${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export async function connectSubscriber(broker: BrokerAddress, topics: string[], options: SubscriberOptions = {}): Promise<MqttSubscriber> {
  const client = await connectAsync({
    host: broker.host ?? '127.0.0.1',
    port: broker.port,
    protocolVersion: 4,
    clientId: options.sessionId ?? `zmes-test-sub-${randomBytes(6).toString('hex')}`,
    clean: options.sessionId === undefined,
    reconnectPeriod: 200,
    connectTimeout: 5000,
    ...(broker.username !== undefined ? { username: broker.username, password: broker.password ?? '' } : {}),
  });
  const messages: ReceivedMessage[] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString('utf8'), retained: packet.retain, index: messages.length, at: Date.now() });
    for (const wake of [...waiters]) wake();
  });
  client.on('error', () => undefined); // reconnects by itself; a test waits for what it needs
  if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1 });

  return {
    client,
    messages,
    mark: () => messages.length,
    waitFor(predicate, what, options = {}) {
      const after = options.after ?? 0;
      const timeoutMs = options.timeoutMs ?? 20_000;
      const find = () => messages.slice(after).find(predicate);
      const found = find();
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const wake = () => {
          const match = find();
          if (!match) return;
          waiters.delete(wake);
          clearTimeout(timer);
          resolve(match);
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          const seen = messages.slice(after).map((m) => `${m.topic}=${m.payload.slice(0, 80)}`);
          reject(new Error(`no MQTT message: ${what} (received: ${seen.join('; ') || 'nothing'})`));
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    on: (topic) => messages.filter((m) => m.topic === topic),
    async publish(topic, payload, options = {}) {
      await client.publishAsync(topic, payload, { retain: options.retain ?? false, qos: options.qos ?? 1 });
    },
    async close() {
      await client.endAsync(true).catch(() => undefined);
    },
  };
}

/**
 * What the broker holds as retained on these topics (exact topics, no wildcards), read by a
 * fresh client. Certain without waiting: the broker handles SUBSCRIBE packets in order and sends
 * a subscription's retained messages while handling it, so once the retained marker (subscribed
 * to last) arrives, every earlier topic's retained message has arrived too.
 */
export async function retainedMessages(broker: BrokerAddress, topics: string[]): Promise<Map<string, string>> {
  const marker = `${uniqueTopic('marker')}/end`;
  const sub = await connectSubscriber(broker, []);
  try {
    await sub.publish(marker, 'end', { retain: true });
    if (topics.length > 0) await sub.client.subscribeAsync(topics, { qos: 1 });
    await sub.client.subscribeAsync(marker, { qos: 1 });
    await sub.waitFor((m) => m.topic === marker, 'retained marker');
    await sub.publish(marker, '', { retain: true });
    const found = new Map<string, string>();
    for (const message of sub.messages) {
      if (message.retained && message.topic !== marker && message.payload !== '') found.set(message.topic, message.payload);
    }
    return found;
  } finally {
    await sub.close();
  }
}

/** Clears every retained message under `prefix` (tests on the shared broker clean up after themselves). */
export async function clearRetained(broker: BrokerAddress, prefix: string): Promise<void> {
  const marker = `${uniqueTopic('marker')}/end`;
  const sub = await connectSubscriber(broker, []);
  try {
    await sub.publish(marker, 'end', { retain: true });
    await sub.client.subscribeAsync(`${prefix}/#`, { qos: 1 });
    await sub.client.subscribeAsync(marker, { qos: 1 });
    await sub.waitFor((m) => m.topic === marker, 'clear marker');
    const topics = new Set(sub.messages.filter((m) => m.retained && m.payload !== '').map((m) => m.topic));
    topics.add(marker);
    for (const topic of topics) await sub.publish(topic, '', { retain: true });
  } finally {
    await sub.close();
  }
}

/** zmes settings for MQTT on the shared test broker under its own topic, with the status page on a free port. */
export function sharedBrokerSettings(topic: string): Record<string, unknown> {
  return {
    'status.enable': true,
    'status.port': 0,
    'mqtt.enable': true,
    'mqtt.server': `${SHARED_BROKER.host}:${SHARED_BROKER.port}`,
    'mqtt.topic': topic,
  };
}

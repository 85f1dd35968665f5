/**
 * A stand-in for the `mqtt` package's client, for unit tests of MqttConnection: it records what
 * is published and lets the test decide when the broker accepts, drops or refuses the
 * connection, so the order of events is exact and no test waits for a timer.
 *
 *   const fake = fakeMqtt();
 *   const connection = new MqttConnection(settings, log, { connect: fake.connect });
 *   await connection.start();
 *   fake.client.accept();            // CONNACK: 'connect'
 *   fake.client.drop();              // the broker went away: 'close'
 *   fake.client.refuseAttempt(err);  // one retry: 'reconnect', 'error', 'close'
 */
import { EventEmitter } from 'node:events';
import type { IClientOptions, MqttClient } from 'mqtt';

export interface FakePublish {
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  readonly retain: boolean;
}

interface PublishOpts {
  qos?: number;
  retain?: boolean;
}

export class FakeMqttClient extends EventEmitter {
  connected = false;
  ended = false;
  readonly published: FakePublish[] = [];
  readonly subscribed: string[] = [];
  readonly stream = { destroy: (): void => undefined };

  constructor(readonly options: IClientOptions) {
    super();
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOpts, callback?: (err?: Error) => void): this {
    this.published.push({ topic, payload: payload.toString(), qos: opts.qos ?? 0, retain: opts.retain ?? false });
    callback?.();
    return this;
  }

  subscribe(topics: string | string[], _opts: PublishOpts, callback?: (err: Error | null) => void): this {
    this.subscribed.push(...(Array.isArray(topics) ? topics : [topics]));
    callback?.(null);
    return this;
  }

  async endAsync(): Promise<void> {
    this.ended = true;
    this.drop();
  }

  accept(): void {
    this.connected = true;
    this.emit('connect', { cmd: 'connack', returnCode: 0, sessionPresent: false });
  }

  drop(error?: Error): void {
    if (error) this.emit('error', error);
    this.connected = false;
    this.emit('close');
  }

  /** One retry that fails the way a stopped broker makes it fail. */
  refuseAttempt(error: Error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1883'), { code: 'ECONNREFUSED' })): void {
    this.emit('reconnect');
    this.emit('error', error);
    this.emit('close');
  }

  /** Publishes since index `from`, as `topic=payload`. */
  log(from = 0): string[] {
    return this.published.slice(from).map((p) => `${p.topic}=${p.payload}`);
  }
}

export interface FakeMqtt {
  readonly connect: (options: IClientOptions) => MqttClient;
  /** The client of the last connect() call. */
  readonly client: FakeMqttClient;
}

export function fakeMqtt(): FakeMqtt {
  let last: FakeMqttClient | null = null;
  return {
    connect(options) {
      last = new FakeMqttClient(options);
      // The connection uses only the part of MqttClient this fake implements.
      return last as unknown as MqttClient;
    },
    get client() {
      if (last === null) throw new Error('fakeMqtt: connect() was not called');
      return last;
    },
  };
}

/**
 * The connection to the MQTT broker: settings from the configuration, the `mqtt` client with a
 * last will on the availability topic, reconnection with backoff, and one log line per outage.
 *
 * The channel degrades instead of failing: when the broker is down or refuses the login, zmes
 * keeps running and the client keeps retrying, at most a few seconds apart so a broker that is
 * back is used again at once. Event messages wait in a bounded offline queue (offline-queue.ts);
 * other publishes are dropped and counted. After every (re)connect the availability topic says
 * `online`, the connect listeners re-send state, then the queued event messages go out in order.
 */
import { readFile } from 'node:fs/promises';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectMqtt } from './broker-stream.js';
import type { Config } from '../config/load.js';
import { parseHostPort } from '../config/formats.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { backoffDelay, type BackoffPolicy } from '../backoff.js';
import { AVAILABLE, NOT_AVAILABLE } from './ha-discovery.js';
import { DEFAULT_OFFLINE_QUEUE, OfflineQueue, type OfflineQueueLimits, type QueueLosses } from './offline-queue.js';
import { slugify, topicLayout } from './topics.js';

export interface MqttTlsFiles {
  /** CA that verifies the broker; null uses Node's built-in CAs. */
  readonly ca: string | null;
  readonly cert: string | null;
  readonly key: string | null;
  /** Skip verification of the broker's certificate. */
  readonly insecure: boolean;
}

export interface MqttSettings {
  readonly host: string;
  readonly port: number;
  /** null: plain TCP. */
  readonly tls: MqttTlsFiles | null;
  /** Sent only when both are set (as in the classic server). */
  readonly username: string | null;
  readonly password: string | null;
  readonly clientId: string;
  readonly keepaliveSec: number;
  readonly connectTimeoutMs: number;
  /** Delay between connection attempts while the broker is unreachable. */
  readonly reconnect: BackoffPolicy;
  /** Retained `online` after every connect; `offline` as the last will and at a clean stop. */
  readonly availabilityTopic: string;
  /** Bounds of the queue that holds event messages while the broker is unreachable. */
  readonly offlineQueue: OfflineQueueLimits;
}

export const MQTT_PORT = 1883;
export const MQTTS_PORT = 8883;
/**
 * 1 s, 2 s, then every 4 s at most: the next attempt after the broker is back is never more than
 * 4 s away, so queued event messages go out within 5 s of its return. A single client retrying
 * a refused port every few seconds costs the broker nothing worth a longer wait.
 */
export const DEFAULT_RECONNECT: BackoffPolicy = { initialMs: 1000, maxMs: 4000, factor: 2, jitter: 0.2 };

/** The stable default client id: `zmes-<topic as a slug>`. */
export function defaultClientId(topic: string): string {
  return `zmes-${slugify(topic) || 'zoneminder'}`;
}

/**
 * Settings from the `mqtt` section. TLS is on when a CA, a client certificate or key, or
 * tls_insecure is set, or when the server names port 8883. Unlike the classic server, TLS does
 * not need a username and password.
 */
export function mqttSettingsFrom(mqtt: Config['mqtt']): MqttSettings {
  const server = parseHostPort(mqtt.server);
  // The schema's mqtt-server format already rejected anything parseHostPort cannot read.
  const host = server?.host ?? mqtt.server;
  const tlsWanted =
    mqtt.tls_ca !== null || mqtt.tls_cert !== null || mqtt.tls_key !== null || mqtt.tls_insecure || server?.port === MQTTS_PORT;
  const bothCredentials = mqtt.username !== null && mqtt.password !== null;
  return {
    host,
    port: server?.port ?? (tlsWanted ? MQTTS_PORT : MQTT_PORT),
    tls: tlsWanted ? { ca: mqtt.tls_ca, cert: mqtt.tls_cert, key: mqtt.tls_key, insecure: mqtt.tls_insecure } : null,
    username: bothCredentials ? mqtt.username : null,
    password: bothCredentials ? mqtt.password : null,
    clientId: mqtt.client_id ?? defaultClientId(mqtt.topic),
    keepaliveSec: 60,
    connectTimeoutMs: 10_000,
    reconnect: DEFAULT_RECONNECT,
    availabilityTopic: topicLayout(mqtt.topic, mqtt.discovery_prefix).availability,
    offlineQueue: DEFAULT_OFFLINE_QUEUE,
  };
}

/** `host:port` for log lines (IPv6 in brackets), `(TLS)` when encrypted; never credentials. */
export function brokerLabel(settings: Pick<MqttSettings, 'host' | 'port' | 'tls'>): string {
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `${host}:${settings.port}${settings.tls ? ' (TLS)' : ''}`;
}

export type FailureKind = 'auth' | 'refused' | 'network' | 'tls' | 'other';

export interface ConnectFailure {
  readonly kind: FailureKind;
  readonly text: string;
}

// CONNACK codes: 4/5 in MQTT 3.1.1, 134/135 in MQTT 5.
const AUTH_CODES = new Set([4, 5, 134, 135]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE']);

/** What went wrong, from an error the client emitted, in words for a log line. */
export function describeFailure(err: unknown): ConnectFailure {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const text = errorMessage(err);
  if (typeof code === 'number') return { kind: AUTH_CODES.has(code) ? 'auth' : 'refused', text };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return { kind: 'network', text };
    if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO_/.test(code)) return { kind: 'tls', text };
  }
  return { kind: 'other', text };
}

export type LogLevelName = 'info' | 'warn' | 'error';
export interface ReportLine {
  readonly level: LogLevelName;
  readonly message: string;
}

/**
 * Turns connection events into few log lines: one warning when an outage starts (or the first
 * connection fails), one more only when the kind of failure changes (e.g. from an unreachable
 * broker to a rejected login, which is an error: only the user can fix it), and one info line
 * when connected again. Pure: the caller passes the time and writes the lines.
 */
export class OutageReporter {
  private up = false;
  private everUp = false;
  private downSince: number;
  private lastLogged: string | null = null;

  constructor(
    private readonly broker: string,
    now: number,
  ) {
    this.downSince = now;
  }

  get isUp(): boolean {
    return this.up;
  }

  /** `queued`: event messages held during the outage, about to be sent. */
  connected(now: number, queued: number): ReportLine {
    const warned = this.lastLogged !== null;
    const seconds = Math.round((now - this.downSince) / 1000);
    const sending = queued > 0 ? `; sending ${queued} queued message(s)` : '';
    const message = !warned
      ? `connected to MQTT broker ${this.broker}${sending}`
      : `${this.everUp ? 'reconnected' : 'connected'} to MQTT broker ${this.broker} after ${seconds} s${sending}`;
    this.up = true;
    this.everUp = true;
    this.lastLogged = null;
    return { level: 'info', message };
  }

  /** An established connection closed; `reason` is the error seen just before, if any. */
  lost(now: number, reason: ConnectFailure | null): ReportLine | null {
    if (!this.up) return null;
    this.up = false;
    this.downSince = now;
    this.lastLogged = failureClass(reason);
    const why = reason ? `: ${reason.text}` : '';
    return { level: 'warn', message: `lost the connection to MQTT broker ${this.broker}${why}; reconnecting in the background` };
  }

  /** A deliberate stop: never a warning, since nothing went wrong. */
  stopped(queued: number): ReportLine | null {
    const wasUp = this.up;
    this.up = false;
    if (wasUp) return { level: 'info', message: `disconnected from MQTT broker ${this.broker}` };
    if (queued === 0) return null;
    return { level: 'info', message: `stopping while MQTT broker ${this.broker} is unreachable: ${queued} queued message(s) not published` };
  }

  /** A connection attempt failed. */
  failed(failure: ConnectFailure): ReportLine | null {
    const cls = failureClass(failure);
    if (this.up || this.lastLogged === cls) return null;
    const first = this.lastLogged === null;
    this.lastLogged = cls;
    if (failure.kind === 'auth') {
      return {
        level: 'error',
        message: `MQTT broker ${this.broker} refused the login: ${failure.text}; check mqtt.username and mqtt.password (retrying in the background)`,
      };
    }
    if (failure.kind === 'tls') {
      return {
        level: 'error',
        message: `TLS handshake with MQTT broker ${this.broker} failed: ${failure.text}; check mqtt.tls_ca, tls_cert, tls_key (retrying in the background)`,
      };
    }
    const message = first
      ? `cannot connect to MQTT broker ${this.broker}: ${failure.text}; retrying in the background`
      : `MQTT broker ${this.broker} still unreachable: ${failure.text}`;
    return { level: 'warn', message };
  }
}

/**
 * What decides whether a failure is worth a new line. The retries of one outage fail in many
 * ways that all mean "unreachable" (closed, refused, reset, timed out, no DNS answer, and they
 * alternate on a flaky network): one warning covers them all.
 */
function failureClass(failure: ConnectFailure | null): string {
  if (failure === null || failure.kind === 'network' || failure.kind === 'other') return 'unreachable';
  return failure.kind;
}

/** One line per outage for the event messages the offline queue could not keep, or null. */
export function queueLossLine(losses: QueueLosses, limits: OfflineQueueLimits): ReportLine | null {
  const lost = losses.overflowed + losses.expired;
  if (lost === 0) return null;
  const causes = [
    ...(losses.overflowed > 0 ? [`${losses.overflowed} oldest dropped when it was full`] : []),
    ...(losses.expired > 0 ? [`${losses.expired} older than ${formatAge(limits.maxAgeMs)}`] : []),
  ];
  return {
    level: 'warn',
    message:
      `${lost} MQTT event message(s) lost while the broker was unreachable (${causes.join(', ')}); ` +
      `the offline queue keeps at most ${limits.maxMessages} messages for ${formatAge(limits.maxAgeMs)}`,
  };
}

function formatAge(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}

export interface PublishOptions {
  readonly retain: boolean;
  readonly qos: 0 | 1;
  /**
   * Hold the message while the broker is unreachable and send it, in order, after the reconnect.
   * For event messages only: a re-send of the current state cannot restore them.
   */
  readonly queue?: boolean;
}

/** `queued`: held for the reconnect; `dropped`: not sent (MQTT is off, or it is state). */
export type PublishResult = 'sent' | 'queued' | 'dropped';

export interface InboundMessage {
  readonly topic: string;
  readonly payload: string;
  /** Delivered from the broker's store on subscribe (not a live message). */
  readonly retained: boolean;
}

/** What the MQTT channel needs from a broker connection (a fake in unit tests, MqttConnection for real). */
export interface MqttLink {
  readonly connected: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Never throws; a message not `sent` now is `queued` (only with `queue`) or `dropped`. */
  publish(topic: string, payload: string | Buffer, options: PublishOptions): PublishResult;
  /** Kept for the life of the connection and re-sent after every reconnect. */
  subscribe(topic: string): void;
  /**
   * Called after every (re)connect, once `online` is published and subscriptions are renewed,
   * before the queued messages are sent.
   */
  onConnect(listener: () => void): () => void;
  onMessage(listener: (message: InboundMessage) => void): () => void;
}

export interface MqttConnectionStats {
  /** Connection attempts after the first one. */
  reconnectAttempts: number;
  connects: number;
  /** Publishes not sent and not queued (state is re-sent after the reconnect). */
  dropped: number;
  /** Event messages put in the offline queue. */
  queued: number;
  /** Queued event messages lost to the queue's bounds, or to a stop before the broker came back. */
  queueLost: number;
}

export interface MqttConnectionDeps {
  connect?: (options: IClientOptions) => MqttClient;
  now?: () => number;
  random?: () => number;
  /** How long a clean stop waits for the broker to take `offline` and the disconnect. */
  stopTimeoutMs?: number;
}

export class MqttConnection implements MqttLink {
  readonly stats: MqttConnectionStats = { reconnectAttempts: 0, connects: 0, dropped: 0, queued: 0, queueLost: 0 };
  private client: MqttClient | null = null;
  private stopped = false;
  /** A TLS file could not be read: no client will ever connect, so nothing is queued. */
  private disabled = false;
  private attempt = 0;
  private pendingFailure: ConnectFailure | null = null;
  private failedThisAttempt = false;
  private readonly queue: OfflineQueue;
  private readonly subscriptions = new Set<string>();
  private readonly connectListeners = new Set<() => void>();
  private readonly messageListeners = new Set<(message: InboundMessage) => void>();
  private readonly reporter: OutageReporter;
  private readonly now: () => number;
  readonly broker: string;

  constructor(
    private readonly settings: MqttSettings,
    private readonly log: Logger,
    private readonly deps: MqttConnectionDeps = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.broker = brokerLabel(settings);
    this.reporter = new OutageReporter(this.broker, this.now());
    this.queue = new OfflineQueue(settings.offlineQueue);
  }

  get connected(): boolean {
    return this.client?.connected === true && this.reporter.isUp;
  }

  /** Event messages waiting for the broker. */
  get queueSize(): number {
    return this.queue.size;
  }

  /** Starts connecting and returns at once: the broker being down never delays zmes's start. */
  async start(): Promise<void> {
    if (this.client !== null || this.stopped || this.disabled) return;
    let tls: Partial<IClientOptions> = {};
    try {
      tls = await this.tlsOptions();
    } catch (err) {
      // A wrong path is a configuration mistake, but MQTT is a channel: zmes runs on without it.
      this.log.error(`MQTT disabled: cannot read a TLS file for broker ${this.broker}: ${errorMessage(err)}`);
      this.disable();
      return;
    }
    if (this.stopped) return;
    const { settings } = this;
    const options: IClientOptions = {
      host: settings.host,
      port: settings.port,
      protocol: settings.tls ? 'mqtts' : 'mqtt',
      // MQTT 3.1.1: what every broker speaks (the classic server used it too).
      protocolVersion: 4,
      clientId: settings.clientId,
      clean: true,
      keepalive: settings.keepaliveSec,
      connectTimeout: settings.connectTimeoutMs,
      reconnectPeriod: settings.reconnect.initialMs,
      // Without it a refused login stops all retries; the user may fix the broker side.
      reconnectOnConnackError: true,
      // We renew subscriptions ourselves on every connect, in one place.
      resubscribe: false,
      // The client's own offline queue is unbounded and keeps QoS 0 apart from QoS 1 (so their
      // order is lost): we never publish through it while disconnected, our queue is used instead.
      queueQoSZero: false,
      // The default pre-builds 65,536 two-byte buffers for packet ids (about 10 MB of RSS) to
      // save an allocation per packet; zmes sends a few packets a minute.
      writeCache: false,
      will: { topic: settings.availabilityTopic, payload: Buffer.from(NOT_AVAILABLE), qos: 1, retain: true },
      ...(settings.username !== null && settings.password !== null
        ? { username: settings.username, password: settings.password }
        : {}),
      ...tls,
    };
    let client: MqttClient;
    try {
      client = (this.deps.connect ?? connectMqtt)(options);
    } catch (err) {
      this.log.error(`MQTT disabled: cannot set up the connection to broker ${this.broker}: ${errorMessage(err)}`);
      this.disable();
      return;
    }
    this.client = client;
    client.on('connect', () => this.onConnected(client));
    client.on('reconnect', () => this.onReconnecting(client));
    // Kept after a stop too: an 'error' event without a listener would throw.
    client.on('error', (err) => this.onError(client, err));
    client.on('close', () => this.onClosed(client));
    client.on('message', (topic, payload, packet) => {
      const message: InboundMessage = { topic, payload: payload.toString('utf8'), retained: packet.retain };
      for (const listener of [...this.messageListeners]) this.safely('message listener', () => listener(message));
    });
  }

  /** Publishes `offline` (a clean disconnect does not fire the last will), then disconnects. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const client = this.client;
    // From here on the client's close and error events are ours, not an outage.
    this.client = null;
    const { messages, losses } = this.queue.drain(this.now());
    this.stats.queueLost += losses.overflowed + losses.expired + messages.length;
    this.write(queueLossLine(losses, this.settings.offlineQueue));
    if (client === null) {
      this.write(this.reporter.stopped(messages.length));
      return;
    }
    if (client.connected) {
      client.publish(this.settings.availabilityTopic, NOT_AVAILABLE, { qos: 1, retain: true }, () => undefined);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.deps.stopTimeoutMs ?? 2000)));
      const ended = client.endAsync(false).then(
        () => true,
        () => true,
      );
      const clean = await Promise.race([ended, timeout]);
      clearTimeout(timer);
      if (!clean) client.stream?.destroy();
    } else {
      await client.endAsync(true).catch(() => undefined);
    }
    this.write(this.reporter.stopped(messages.length));
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions): PublishResult {
    const client = this.client;
    // A queued message is never overtaken by a newer one (the queue drains during the connect).
    const mustWait = options.queue === true && this.queue.size > 0;
    if (client !== null && this.connected && !mustWait) {
      client.publish(topic, payload, { qos: options.qos, retain: options.retain }, (err) => {
        if (err) this.log.debug(() => `publish to ${topic} failed: ${errorMessage(err)}`);
      });
      return 'sent';
    }
    if (options.queue === true && !this.stopped && !this.disabled) {
      this.queue.push({ topic, payload, qos: options.qos, retain: options.retain, queuedAt: this.now() });
      this.stats.queued++;
      return 'queued';
    }
    this.stats.dropped++;
    return 'dropped';
  }

  subscribe(topic: string): void {
    if (this.subscriptions.has(topic)) return;
    this.subscriptions.add(topic);
    if (this.client !== null && this.connected) this.subscribeNow(this.client, [topic]);
  }

  onConnect(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  onMessage(listener: (message: InboundMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  private disable(): void {
    this.disabled = true;
    const { messages, losses } = this.queue.drain(this.now());
    this.stats.queueLost += losses.overflowed + losses.expired + messages.length;
  }

  private onConnected(client: MqttClient): void {
    if (this.client !== client) return;
    this.stats.connects++;
    this.attempt = 0;
    this.pendingFailure = null;
    // The client reads reconnectPeriod each time it schedules a retry: reset the backoff.
    client.options.reconnectPeriod = this.settings.reconnect.initialMs;
    const now = this.now();
    this.queue.prune(now);
    this.write(this.reporter.connected(now, this.queue.size));
    client.publish(this.settings.availabilityTopic, AVAILABLE, { qos: 1, retain: true }, () => undefined);
    if (this.subscriptions.size > 0) this.subscribeNow(client, [...this.subscriptions]);
    // Discovery and state first, so an entity announced during the outage exists before its events.
    for (const listener of [...this.connectListeners]) this.safely('connect listener', listener);
    // A listener may have stopped us or the connection may have dropped meanwhile: keep the queue then.
    if (this.client === client && this.connected) this.flush(client);
  }

  private flush(client: MqttClient): void {
    const { messages, losses } = this.queue.drain(this.now());
    this.stats.queueLost += losses.overflowed + losses.expired;
    this.write(queueLossLine(losses, this.settings.offlineQueue));
    // Sent back to back on one connection: the broker passes them on in this order.
    for (const message of messages) {
      client.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain }, (err) => {
        if (err) this.log.debug(() => `publish of a queued message to ${message.topic} failed: ${errorMessage(err)}`);
      });
    }
  }

  private onReconnecting(client: MqttClient): void {
    if (this.client !== client) return;
    this.stats.reconnectAttempts++;
    this.attempt++;
    this.failedThisAttempt = false;
    // Growing delay before the attempt after this one (the client's own timer uses it).
    client.options.reconnectPeriod = backoffDelay(this.attempt, this.settings.reconnect, this.deps.random);
    this.log.debug(() => `reconnecting to MQTT broker ${this.broker} (attempt ${this.attempt})`);
  }

  private onError(client: MqttClient, err: unknown): void {
    if (this.client !== client) return;
    const failure = describeFailure(err);
    if (this.reporter.isUp) {
      // The connection is about to close: report it together with the loss.
      this.pendingFailure = failure;
      return;
    }
    this.failedThisAttempt = true;
    this.write(this.reporter.failed(failure));
  }

  private onClosed(client: MqttClient): void {
    if (this.client !== client) return;
    if (this.reporter.isUp) {
      this.write(this.reporter.lost(this.now(), this.pendingFailure));
      this.pendingFailure = null;
      return;
    }
    // An attempt that ended without an error event (e.g. no CONNACK in time).
    if (!this.failedThisAttempt) {
      this.write(this.reporter.failed({ kind: 'network', text: 'the connection closed before the broker accepted it' }));
    }
    this.failedThisAttempt = false;
  }

  private subscribeNow(client: MqttClient, topics: string[]): void {
    client.subscribe(topics, { qos: 1 }, (err) => {
      if (err) this.log.warn(`cannot subscribe to ${topics.join(', ')} on MQTT broker ${this.broker}: ${errorMessage(err)}`);
    });
  }

  private async tlsOptions(): Promise<Partial<IClientOptions>> {
    const tls = this.settings.tls;
    if (tls === null) return {};
    const [ca, cert, key] = await Promise.all(
      [tls.ca, tls.cert, tls.key].map((path) => (path === null ? Promise.resolve(null) : readFile(path))),
    );
    return {
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      rejectUnauthorized: !tls.insecure,
    };
  }

  private write(line: ReportLine | null): void {
    if (line !== null) this.log[line.level](line.message);
  }

  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error(`MQTT ${what} failed: ${errorMessage(err)}`);
    }
  }
}

/**
 * The connection to the MQTT broker: settings from the configuration, the `mqtt` client with a
 * last will on the availability topic, reconnection with backoff, and one log line per outage.
 *
 * The channel degrades instead of failing: when the broker is down or refuses the login, zmes
 * keeps running, publishes are dropped (and counted), and the client keeps retrying. After every
 * (re)connect the availability topic says `online` and the connect listeners re-send state.
 */
import { readFile } from 'node:fs/promises';
import { connect as mqttConnect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Config } from '../config/load.js';
import { parseHostPort } from '../config/formats.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { backoffDelay, type BackoffPolicy } from '../zm/backoff.js';
import { AVAILABLE, NOT_AVAILABLE } from './ha-discovery.js';
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
}

export const MQTT_PORT = 1883;
export const MQTTS_PORT = 8883;
export const DEFAULT_RECONNECT: BackoffPolicy = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.2 };

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
 * connection fails), one more only when the reason changes (e.g. from "refused" to a rejected
 * login, which is an error: only the user can fix it), and one info line when connected again.
 * Pure: the caller passes the time and writes the lines.
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

  connected(now: number, dropped: number): ReportLine {
    const warned = this.lastLogged !== null;
    const seconds = Math.round((now - this.downSince) / 1000);
    const lost = dropped > 0 ? `; ${dropped} message(s) could not be published meanwhile` : '';
    const message = !warned
      ? `connected to MQTT broker ${this.broker}${lost}`
      : `${this.everUp ? 'reconnected' : 'connected'} to MQTT broker ${this.broker} after ${seconds} s${lost}`;
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
    this.lastLogged = reason ? key(reason) : 'closed';
    const why = reason ? `: ${reason.text}` : '';
    return { level: 'warn', message: `lost the connection to MQTT broker ${this.broker}${why}; reconnecting in the background` };
  }

  /** A connection attempt failed. */
  failed(failure: ConnectFailure): ReportLine | null {
    if (this.up || this.lastLogged === key(failure)) return null;
    const first = this.lastLogged === null;
    this.lastLogged = key(failure);
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

function key(failure: ConnectFailure): string {
  return `${failure.kind}:${failure.text}`;
}

export interface PublishOptions {
  readonly retain: boolean;
  readonly qos: 0 | 1;
}

export interface InboundMessage {
  readonly topic: string;
  readonly payload: string;
  /** Delivered from the broker's store on subscribe (not a live message). */
  readonly retained: boolean;
}

/** What the publisher needs from a broker connection (a fake in unit tests, MqttConnection for real). */
export interface MqttLink {
  readonly connected: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** false when not connected: the message is dropped (no unbounded offline queue). */
  publish(topic: string, payload: string, options: PublishOptions): boolean;
  /** Kept for the life of the connection and re-sent after every reconnect. */
  subscribe(topic: string): void;
  /** Called after every (re)connect, once `online` is published and subscriptions are renewed. */
  onConnect(listener: () => void): () => void;
  onMessage(listener: (message: InboundMessage) => void): () => void;
}

export interface MqttConnectionStats {
  /** Connection attempts after the first one. */
  reconnectAttempts: number;
  connects: number;
  /** Publishes dropped because the broker was unreachable. */
  dropped: number;
}

export interface MqttConnectionDeps {
  connect?: (options: IClientOptions) => MqttClient;
  now?: () => number;
  random?: () => number;
  /** How long a clean stop waits for the broker to take `offline` and the disconnect. */
  stopTimeoutMs?: number;
}

export class MqttConnection implements MqttLink {
  readonly stats: MqttConnectionStats = { reconnectAttempts: 0, connects: 0, dropped: 0 };
  private client: MqttClient | null = null;
  private stopped = false;
  private attempt = 0;
  private droppedSinceConnect = 0;
  private pendingFailure: ConnectFailure | null = null;
  private failedThisAttempt = false;
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
  }

  get connected(): boolean {
    return this.client?.connected === true && this.reporter.isUp;
  }

  /** Starts connecting and returns at once: the broker being down never delays zmes's start. */
  async start(): Promise<void> {
    if (this.client !== null || this.stopped) return;
    let tls: Partial<IClientOptions> = {};
    try {
      tls = await this.tlsOptions();
    } catch (err) {
      // A wrong path is a configuration mistake, but MQTT is a channel: zmes runs on without it.
      this.log.error(`MQTT disabled: cannot read a TLS file for broker ${this.broker}: ${errorMessage(err)}`);
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
      // No offline queue: memory stays bounded, and state is re-sent after a reconnect.
      queueQoSZero: false,
      will: { topic: settings.availabilityTopic, payload: Buffer.from(NOT_AVAILABLE), qos: 1, retain: true },
      ...(settings.username !== null && settings.password !== null
        ? { username: settings.username, password: settings.password }
        : {}),
      ...tls,
    };
    let client: MqttClient;
    try {
      client = (this.deps.connect ?? mqttConnect)(options);
    } catch (err) {
      this.log.error(`MQTT disabled: cannot set up the connection to broker ${this.broker}: ${errorMessage(err)}`);
      return;
    }
    this.client = client;
    client.on('connect', () => this.onConnected(client));
    client.on('reconnect', () => this.onReconnecting(client));
    client.on('error', (err) => this.onError(err));
    client.on('close', () => this.onClosed());
    client.on('message', (topic, payload, packet) => {
      const message: InboundMessage = { topic, payload: payload.toString('utf8'), retained: packet.retain };
      for (const listener of [...this.messageListeners]) this.safely('message listener', () => listener(message));
    });
  }

  /** Publishes `offline` (a clean disconnect does not fire the last will), then disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    if (client === null) return;
    this.client = null;
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
  }

  publish(topic: string, payload: string, options: PublishOptions): boolean {
    const client = this.client;
    if (client === null || !this.connected) {
      this.stats.dropped++;
      this.droppedSinceConnect++;
      return false;
    }
    client.publish(topic, payload, { qos: options.qos, retain: options.retain }, (err) => {
      if (err) this.log.debug(() => `publish to ${topic} failed: ${errorMessage(err)}`);
    });
    return true;
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

  private onConnected(client: MqttClient): void {
    if (this.client !== client) return;
    this.stats.connects++;
    this.attempt = 0;
    this.pendingFailure = null;
    // The client reads reconnectPeriod each time it schedules a retry: reset the backoff.
    client.options.reconnectPeriod = this.settings.reconnect.initialMs;
    this.write(this.reporter.connected(this.now(), this.droppedSinceConnect));
    this.droppedSinceConnect = 0;
    client.publish(this.settings.availabilityTopic, AVAILABLE, { qos: 1, retain: true }, () => undefined);
    if (this.subscriptions.size > 0) this.subscribeNow(client, [...this.subscriptions]);
    for (const listener of [...this.connectListeners]) this.safely('connect listener', listener);
  }

  private onReconnecting(client: MqttClient): void {
    this.stats.reconnectAttempts++;
    this.attempt++;
    this.failedThisAttempt = false;
    // Growing delay before the attempt after this one (the client's own timer uses it).
    client.options.reconnectPeriod = backoffDelay(this.attempt, this.settings.reconnect, this.deps.random);
    this.log.debug(() => `reconnecting to MQTT broker ${this.broker} (attempt ${this.attempt})`);
  }

  private onError(err: unknown): void {
    const failure = describeFailure(err);
    if (this.reporter.isUp) {
      // The connection is about to close: report it together with the loss.
      this.pendingFailure = failure;
      return;
    }
    this.failedThisAttempt = true;
    this.write(this.reporter.failed(failure));
  }

  private onClosed(): void {
    if (this.reporter.isUp) {
      this.write(this.reporter.lost(this.now(), this.pendingFailure));
      this.pendingFailure = null;
      return;
    }
    // An attempt that ended without an error event (e.g. no CONNACK in time).
    if (!this.failedThisAttempt && !this.stopped) {
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
    const [ca, cert, key] = await Promise.all([tls.ca, tls.cert, tls.key].map((path) => (path === null ? null : readFile(path))));
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

/**
 * Everything the status page shows, gathered in one place: it follows the bus (events, monitors,
 * notifications) and the recent log, and builds a snapshot on request from the live parts of the
 * server (database, detection, connections, token store, channels). It only reads: nothing here
 * changes how zmes detects or delivers. Memory is bounded (recent events, last event per monitor,
 * the log ring, the devices and clients listed).
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { EventBus } from '../event-bus.js';
import type { Service } from '../lifecycle.js';
import { maskToken } from '../log/logger.js';
import type { ZmesEvents } from '../domain/bus-events.js';
import type { ClientKind } from '../domain/device.js';
import type { Notification } from '../domain/notification.js';
import type { MonitorInfo, ZmEventChange } from '../domain/zm-event.js';
import { causeText } from '../notify/cause-text.js';
import type { TokenRecord } from '../tokens/token-store.js';
import type { PushResults } from './push-results.js';
import type { LogRecord, RecentLog } from './recent-log.js';
import { deviceId } from './test-push.js';
import type {
  ChannelHealth,
  ClientStatus,
  DatabaseStatus,
  DeviceStatus,
  EventStatus,
  Happening,
  HealthState,
  MonitorStatus,
  StatusSnapshot,
} from './status-types.js';

/** A WebSocket connection as the page needs it (ws/connection.ts's Connection fits). */
export interface ClientView {
  readonly id: number;
  readonly remoteAddress: string;
  /** Unix ms. */
  readonly openedAt: number;
  readonly session: {
    readonly state: string;
    readonly user: { readonly name: string } | undefined;
    readonly clientKind: ClientKind;
    readonly appVersion: string;
  };
}

/** The health a channel reports of itself (ZoneMinder's API client, when there is one). */
export interface ReportedHealth {
  readonly state: HealthState;
  readonly detail: string;
  readonly lastSuccess: { readonly at: number; readonly text: string } | null;
  readonly lastError: { readonly at: number; readonly text: string } | null;
}

/** The live parts of the server the snapshot reads. */
export interface StatusSources {
  readonly version: string;
  readonly database: { readonly isAvailable: boolean; readonly target: string };
  /** The detected schema's label, or null before it was read. */
  readonly schema: () => string | null;
  readonly detection: {
    readonly stats: { readonly polls: number; readonly lastEventId: bigint | null; readonly lastPollAt: number | null };
    readonly monitorList: readonly MonitorInfo[];
  };
  readonly clients: () => Iterable<ClientView>;
  /** The token store's devices; undefined when push is off. */
  readonly devices: (() => readonly TokenRecord[]) | undefined;
  /** The MQTT channel, undefined when MQTT is off. */
  readonly mqtt: { readonly connected: boolean; readonly detail: string } | { readonly off: string };
  /** `direct` / `proxy` when pushes go out; otherwise why not. */
  readonly fcm: { readonly mode: 'direct' | 'proxy' } | { readonly off: string };
  readonly zoneminderApi: (() => ReportedHealth) | undefined;
}

export interface StatusBoardOptions {
  readonly maxEvents?: number;
  /** Clients and devices listed; the totals count them all. */
  readonly maxListed?: number;
}

/** Log modules (child logger names of the composition root) whose lines count as each channel's errors. */
const MODULES = {
  database: ['db', 'events'],
  mqtt: ['mqtt'],
  // ZoneMinder's Notifications table is a source of push devices: a missing GRANT shows as FCM's error.
  fcm: ['push', 'zm-notifications'],
  zoneminder_api: ['zm-api'],
} as const;

const APP_NAMES: Readonly<Record<ClientKind, string>> = { zmninja: 'zmNinja', zmninjang: 'zmNinjaNg', unknown: 'unknown app' };

interface EventRecord {
  readonly eventId: bigint;
  readonly monitorId: number;
  monitorName: string;
  cause: string;
  readonly startedAt: number;
  endedAt: number | null;
  state: EventStatus['state'];
}

export class StatusBoard implements Service {
  readonly name = 'status board';
  private readonly startedAt: number;
  /** Newest last. */
  private readonly events: EventRecord[] = [];
  private readonly lastEventOfMonitor = new LRUCache<number, EventRecord>({ max: 10_000 });
  private readonly maxEvents: number;
  private readonly maxListed: number;
  private readonly listeners = new Set<() => void>();
  private disposers: Array<() => void> = [];
  private mqttWasConnected = false;
  private mqttSuccess: Happening | null = null;

  constructor(
    private readonly bus: EventBus<ZmesEvents>,
    private readonly sources: StatusSources,
    private readonly log: RecentLog,
    private readonly pushes: PushResults | undefined,
    private readonly clock: Clock,
    options: StatusBoardOptions = {},
  ) {
    this.startedAt = clock.now();
    this.maxEvents = options.maxEvents ?? 50;
    this.maxListed = options.maxListed ?? 200;
  }

  start(): Promise<void> {
    if (this.disposers.length > 0) return Promise.resolve();
    this.disposers.push(
      this.bus.on('zm:event', (change) => this.onEvent(change)),
      this.bus.on('zm:monitors', () => this.changed()),
      this.bus.on('notification', (notification) => this.onNotification(notification)),
      this.log.onAdd(() => this.changed()),
      ...(this.pushes ? [this.pushes.onRecord(() => this.changed())] : []),
    );
    return Promise.resolve();
  }

  stop(): Promise<void> {
    for (const dispose of this.disposers.splice(0)) dispose();
    return Promise.resolve();
  }

  /** Called when something shown changed (the server pushes a new snapshot to open pages). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells the open pages that something changed. */
  changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  // A session listener (ws/session-handler.ts): logins, registrations and closes show at once.
  authenticated(): void {
    this.changed();
  }

  tokenRegistered(): void {
    this.changed();
  }

  closed(): void {
    this.changed();
  }

  snapshot(): StatusSnapshot {
    const now = this.clock.now();
    const clients = [...this.sources.clients()];
    const devices = this.sources.devices ? [...this.sources.devices()] : [];
    return {
      version: this.sources.version,
      started_at: iso(this.startedAt),
      generated_at: iso(now),
      database: this.database(),
      mqtt: this.mqtt(now),
      fcm: this.fcm(),
      zoneminder_api: this.zoneminderApi(),
      monitors: this.monitors(),
      clients: clients
        .sort((a, b) => b.openedAt - a.openedAt)
        .slice(0, this.maxListed)
        .map(clientStatus),
      clients_total: clients.length,
      devices: devices
        .sort((a, b) => (b.registeredAt ?? 0) - (a.registeredAt ?? 0))
        .slice(0, this.maxListed)
        .map((record) => this.deviceStatus(record)),
      devices_total: devices.length,
      events: [...this.events].reverse().map(eventStatus),
      errors: this.log.recent().map((r) => ({ at: iso(r.at), level: r.level, module: r.module ?? null, message: r.message })),
    };
  }

  // --- bus ------------------------------------------------------------------------------

  private onEvent(change: ZmEventChange): void {
    const { event } = change;
    let record = this.events.find((r) => r.eventId === event.eventId);
    if (change.kind === 'start' || record === undefined) {
      record = {
        eventId: event.eventId,
        monitorId: event.monitorId,
        monitorName: event.monitorName,
        cause: causeText(event, 'start', true),
        startedAt: event.startTime !== null ? event.startTime * 1000 : this.clock.now(),
        endedAt: null,
        state: 'open',
      };
      this.events.push(record);
      if (this.events.length > this.maxEvents) this.events.shift();
    }
    record.monitorName = event.monitorName;
    if (change.kind === 'cause') record.cause = causeText(event, 'start', true);
    if (change.kind === 'end') {
      record.cause = causeText(event, 'end', true);
      record.endedAt = event.endTime !== null ? event.endTime * 1000 : this.clock.now();
      record.state = change.how;
    }
    const last = this.lastEventOfMonitor.get(event.monitorId);
    if (last === undefined || last.eventId <= event.eventId) this.lastEventOfMonitor.set(event.monitorId, record);
    this.changed();
  }

  private onNotification(notification: Notification): void {
    const { mqtt } = this.sources;
    if (!('connected' in mqtt) || !notification.channels.has('mqtt') || !mqtt.connected) return;
    this.mqttSuccess = { at: iso(this.clock.now()), text: `event ${notification.event.eventId} ${notification.phase} published` };
  }

  // --- parts of the snapshot --------------------------------------------------------------

  private database(): DatabaseStatus {
    const { database, detection } = this.sources;
    const { stats } = detection;
    return {
      state: database.isAvailable ? 'up' : 'down',
      detail: database.target,
      last_success: stats.lastPollAt === null ? null : { at: iso(stats.lastPollAt), text: `poll ${stats.polls}` },
      last_error: happening(this.log.lastOf(MODULES.database)),
      schema: this.sources.schema(),
      last_poll_at: stats.lastPollAt === null ? null : iso(stats.lastPollAt),
      polls: stats.polls,
      last_event_id: stats.lastEventId?.toString() ?? null,
    };
  }

  private mqtt(now: number): ChannelHealth {
    const { mqtt } = this.sources;
    if (!('connected' in mqtt)) return { state: 'off', detail: mqtt.off, last_success: null, last_error: happening(this.log.lastOf(MODULES.mqtt)) };
    // Connections are seen when a snapshot is made: the page asks often enough for a useful time.
    if (mqtt.connected && !this.mqttWasConnected) this.mqttSuccess = { at: iso(now), text: 'connected to the broker' };
    this.mqttWasConnected = mqtt.connected;
    return { state: mqtt.connected ? 'up' : 'down', detail: mqtt.detail, last_success: this.mqttSuccess, last_error: happening(this.log.lastOf(MODULES.mqtt)) };
  }

  private fcm(): ChannelHealth {
    const { fcm } = this.sources;
    const logged = this.log.lastOf(MODULES.fcm);
    const failed = this.pushes?.lastFailure;
    const lastError = logged !== undefined && (failed === undefined || logged.at >= failed.at) ? happening(logged) : failed ? { at: iso(failed.at), text: failed.text } : null;
    const success = this.pushes?.lastSuccess;
    const lastSuccess = success ? { at: iso(success.at), text: success.text } : null;
    if (!('mode' in fcm)) return { state: 'off', detail: fcm.off, last_success: lastSuccess, last_error: lastError };
    // Up until a push fails after the last one that went through.
    const down = failed !== undefined && (success === undefined || failed.at > success.at);
    return { state: down ? 'down' : 'up', detail: fcm.mode === 'direct' ? 'direct to Firebase (service account)' : 'through the FCM proxy', last_success: lastSuccess, last_error: lastError };
  }

  private zoneminderApi(): ChannelHealth {
    const reported = this.sources.zoneminderApi?.();
    if (reported === undefined) {
      return { state: 'off', detail: 'not configured (zoneminder.portal_url): zmes reads ZoneMinder through its database only', last_success: null, last_error: null };
    }
    return {
      state: reported.state,
      detail: reported.detail,
      last_success: reported.lastSuccess ? { at: iso(reported.lastSuccess.at), text: reported.lastSuccess.text } : null,
      last_error: reported.lastError ? { at: iso(reported.lastError.at), text: reported.lastError.text } : null,
    };
  }

  private monitors(): MonitorStatus[] {
    return [...this.sources.detection.monitorList]
      .sort((a, b) => a.id - b.id)
      .map((monitor) => {
        const last = this.lastEventOfMonitor.get(monitor.id);
        return { id: monitor.id, name: monitor.name, notify: monitor.notify, last_event: last ? eventStatus(last) : null };
      });
  }

  private deviceStatus(record: TokenRecord): DeviceStatus {
    const last = this.pushes?.lastFor(record.token);
    return {
      id: deviceId(record.token),
      token: maskToken(record.token),
      user: record.zmUser ?? null,
      platform: record.platform,
      app: `${APP_NAMES[record.clientKind]}${record.appversion && record.appversion !== 'unknown' ? ` ${record.appversion}` : ''}`,
      push: record.pushstate,
      registered_at: record.registeredAt === undefined ? null : iso(record.registeredAt),
      last_push: last ? { at: iso(last.at), status: last.status, detail: last.detail, test: last.test } : null,
    };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function happening(record: LogRecord | undefined): Happening | null {
  return record === undefined ? null : { at: iso(record.at), text: record.message };
}

function eventStatus(record: EventRecord): EventStatus {
  return {
    event_id: record.eventId.toString(),
    monitor_id: record.monitorId,
    monitor_name: record.monitorName,
    cause: record.cause,
    started_at: iso(record.startedAt),
    ended_at: record.endedAt === null ? null : iso(record.endedAt),
    state: record.state,
  };
}

function clientStatus(client: ClientView): ClientStatus {
  const { session } = client;
  return {
    id: client.id,
    user: session.user?.name ?? null,
    app: APP_NAMES[session.clientKind],
    app_version: session.appVersion,
    address: client.remoteAddress,
    since: iso(client.openedAt),
    state: session.state,
  };
}

/**
 * The MQTT channel: the classic per-monitor message for each notification, and Home Assistant
 * discovery and entity state for each monitor.
 *
 *   'notification' → `<topic>/<MonitorId>` (classic payload, only when the mqtt channel is allowed)
 *   'zm:event'     → motion ON/OFF, last event sensor, `event` entity (detection level: Home
 *                    Assistant needs the OFF at the end even when end notifications are off)
 *   'zm:monitors'  → discovery configs (re-sent only when changed); deleted monitors removed
 *   broker (re)connect, Home Assistant's `online` birth → every config and state re-sent
 *
 * The classic message and the `event` entity's messages are queued by the link while the broker
 * is unreachable; the rest is state, re-sent whole after the reconnect. With ha_discovery off,
 * whatever an earlier run announced is withdrawn (empty retained configs), so Home Assistant
 * does not keep entities that look alive but never change again.
 *
 * Memory is bounded: one small record per monitor (at most `maxMonitors`), a few open events each.
 */
import type { Config } from '../../config/load.js';
import { systemClock, type Clock, type Timer } from '../../clock.js';
import { errorMessage } from '../../errors.js';
import type { EventBus } from '../../event-bus.js';
import { routedTo, type Channel } from './channel.js';
import type { Logger } from '../../log/logger.js';
import type { MonitorInfo, ZmEvent, ZmEventChange } from '../../domain/zm-event.js';
import type { Notification } from '../../domain/notification.js';
import type { EventPicture, ZmesEvents } from '../../domain/bus-events.js';
import { ZMES_VERSION } from '../../version.js';
import { classicPayload } from '../../mqtt/classic-payload.js';
import {
  AVAILABLE,
  DATABASE_DOWN,
  DATABASE_UP,
  monitorDiscovery,
  monitorDiscoveryTopics,
  monitorIdOfObjectId,
  monitorName,
  serverDiscovery,
  type DiscoveryContext,
  type DiscoveryMessage,
} from '../../mqtt/ha-discovery.js';
import { eventEntityPayload, lastEventAttributes, lastEventState, motionPayload, type LastEventRecord } from '../../mqtt/ha-state.js';
import { MqttConnection, mqttSettingsFrom, type InboundMessage, type MqttLink, type PublishResult } from '../../mqtt/mqtt-client.js';
import { topicLayout, type TopicLayout } from '../../mqtt/topics.js';

export interface MqttChannelOptions {
  /** mqtt.topic */
  readonly topic: string;
  /** mqtt.retain: retain flag of the classic messages. */
  readonly retain: boolean;
  /** mqtt.ha_discovery: discovery configs and entity state topics. */
  readonly haDiscovery: boolean;
  readonly discoveryPrefix: string;
  /** Motion turns off this long after the last start of a never-ending event; 0 = never. */
  readonly motionTimeoutMs: number;
  /** Upper bound of monitors with remembered state. */
  readonly maxMonitors?: number;
  /** Open events remembered per monitor (ZoneMinder has one; detection may briefly see two). */
  readonly maxOpenEvents?: number;
  readonly version?: string;
  readonly supportUrl?: string;
  /**
   * ZoneMinder's API is configured: each monitor also gets its event picture (image entity) and
   * Force / Cancel alarm buttons, whose presses this calls.
   */
  readonly alarmControl?: AlarmControl;
}

/** Forces (`on`) or cancels (`off`) an alarm on a monitor through ZoneMinder's API; rejects with a message for users. */
export type AlarmControl = (monitorId: number, command: 'on' | 'off') => Promise<void>;

export function mqttChannelOptionsFrom(config: Config): MqttChannelOptions {
  const mqtt = config.mqtt;
  return {
    topic: mqtt.topic,
    retain: mqtt.retain,
    haDiscovery: mqtt.ha_discovery,
    discoveryPrefix: mqtt.discovery_prefix,
    motionTimeoutMs: mqtt.motion_timeout * 1000,
  };
}

/** The MQTT channel built from the configuration (call only when mqtt.enable is on). */
export function createMqttChannel(config: Config, bus: EventBus<ZmesEvents>, log: Logger, clock: Clock = systemClock, alarmControl?: AlarmControl): MqttChannel {
  const connection = new MqttConnection(mqttSettingsFrom(config.mqtt), log, { now: () => clock.now() });
  return new MqttChannel(bus, { ...mqttChannelOptionsFrom(config), ...(alarmControl ? { alarmControl } : {}) }, connection, log, clock);
}

interface MonitorState {
  motion: boolean;
  /** Whether the motion state was ever published (so a new monitor starts with OFF). */
  motionKnown: boolean;
  readonly open: Set<bigint>;
  timer: Timer | null;
  lastEvent: LastEventRecord | null;
  /** The start notification's cause (with hook text) wins over ZoneMinder's Notes. */
  notifiedCause: string | null;
}

const DEFAULT_MAX_MONITORS = 1000;
const DEFAULT_MAX_OPEN_EVENTS = 8;

export class MqttChannel implements Channel {
  readonly name = 'mqtt';
  readonly channel = 'mqtt';
  private readonly layout: TopicLayout;
  private readonly discovery: DiscoveryContext;
  private readonly monitors = new Map<number, MonitorState>();
  /** The monitors Home Assistant should have (notify on), once the first list arrived. */
  private listed: Map<number, MonitorInfo> | null = null;
  /** Discovery topic → payload as last published on this connection. */
  private readonly published = new Map<string, string>();
  /** With ha_discovery off: every monitor of the last list, whose entities an earlier run may have announced. */
  private knownMonitors: number[] = [];
  /** With ha_discovery off: topics already emptied on this connection. */
  private readonly withdrawn = new Set<string>();
  /** The most monitors an info line about the withdrawal named (-1: none logged yet). */
  private withdrawalLogged = -1;
  /** Retained configs of ours seen on the broker before the first monitor list. */
  private readonly seenConfigs = new Set<string>();
  private desiredTopicCache: ReadonlySet<string> | null = null;
  private disposers: Array<() => void> = [];
  private started = false;
  /** ZoneMinder's database reachable (null until detection says). */
  private databaseAvailable: boolean | null = null;
  /** What the Status entity shows as attributes: the last alarm action and the last failure. */
  private statusAttributes: Record<string, string> | null = null;

  constructor(
    private readonly bus: EventBus<ZmesEvents>,
    private readonly options: MqttChannelOptions,
    private readonly link: MqttLink,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.layout = topicLayout(options.topic, options.discoveryPrefix);
    this.discovery = { layout: this.layout, version: options.version ?? ZMES_VERSION, supportUrl: options.supportUrl, zoneminderApi: options.alarmControl !== undefined };
  }

  /** Whether the broker connection is up (for /health). */
  get connected(): boolean {
    return this.link.connected;
  }

  /** The topic layout in use (for tests and docs). */
  get topics(): TopicLayout {
    return this.layout;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.disposers.push(
      this.bus.on('notification', (n) => this.onNotification(n)),
      this.bus.on('zm:event', (change) => this.onZmEvent(change)),
      this.bus.on('zm:monitors', ({ monitors, removed }) => this.onMonitors(monitors, removed)),
      this.bus.on('zm:picture', (picture) => this.onPicture(picture)),
      this.bus.on('zm:database', ({ available }) => this.onDatabase(available)),
      this.link.onConnect(() => this.onBrokerConnected()),
      this.link.onMessage((message) => this.onMessage(message)),
    );
    if (this.options.haDiscovery) this.link.subscribe(this.layout.haStatus);
    // Also with discovery off: the retained configs read back are what is left to withdraw.
    this.link.subscribe(this.layout.discoveryWildcard);
    if (this.options.haDiscovery && this.options.alarmControl) this.link.subscribe(this.layout.alarmCommandWildcard);
    await this.link.start();
  }

  async stop(): Promise<void> {
    for (const dispose of this.disposers.splice(0)) dispose();
    for (const state of this.monitors.values()) {
      state.timer?.cancel();
      state.timer = null;
    }
    if (this.started) await this.link.stop();
  }

  // --- bus ----------------------------------------------------------------------------------

  private onNotification(notification: Notification): void {
    if (!routedTo(notification, this)) return;
    const { event } = notification;
    const result = this.link.publish(this.layout.classic(event.monitorId), classicPayload(notification), {
      qos: 0,
      retain: this.options.retain,
      queue: true,
    });
    this.log.debug(() => `event ${event.eventId} ${notification.phase}: MQTT message for monitor ${event.monitorId} ${describeResult(result)}`);
    if (!this.options.haDiscovery || notification.phase !== 'start') return;
    // The hook text and the picture only exist in the notification: enrich the sensor with them.
    const state = this.monitors.get(event.monitorId);
    const last = state?.lastEvent;
    if (state === undefined || !last || last.eventId !== event.eventId) return;
    state.notifiedCause = notification.cause;
    state.lastEvent = { ...last, cause: notification.cause, picture: notification.picture ?? null };
    this.publishLastEvent(event.monitorId, state.lastEvent);
  }

  private onZmEvent(change: ZmEventChange): void {
    if (!this.options.haDiscovery) return;
    const { event } = change;
    // Only listed monitors have entities; before the first list, every monitor counts.
    if (this.listed !== null && !this.listed.has(event.monitorId)) return;
    const state = this.stateFor(event.monitorId);
    if (state === null) return;
    switch (change.kind) {
      case 'start': {
        if (state.open.size >= (this.options.maxOpenEvents ?? DEFAULT_MAX_OPEN_EVENTS)) state.open.clear();
        state.open.add(event.eventId);
        if (!state.lastEvent || event.eventId >= state.lastEvent.eventId) {
          state.notifiedCause = null;
          state.lastEvent = recordOf(event, 'open', null);
          this.publishLastEvent(event.monitorId, state.lastEvent);
        }
        this.setMotion(event.monitorId, state, true);
        this.armTimeout(event.monitorId, state, event.eventId);
        this.fireEvent(event.monitorId, 'event_start', recordOf(event, 'open', null));
        break;
      }
      case 'cause': {
        const last = state.lastEvent;
        if (last && last.eventId === event.eventId && state.notifiedCause === null) {
          state.lastEvent = recordOf(event, last.state, last.picture);
          this.publishLastEvent(event.monitorId, state.lastEvent);
        }
        break;
      }
      case 'end': {
        state.open.delete(event.eventId);
        const last = state.lastEvent;
        const isLast = last?.eventId === event.eventId;
        const record = recordOf(event, change.how, isLast ? last.picture : null, isLast ? state.notifiedCause : null);
        if (isLast) {
          state.lastEvent = record;
          this.publishLastEvent(event.monitorId, record);
        }
        if (state.open.size === 0) {
          state.timer?.cancel();
          state.timer = null;
          this.setMotion(event.monitorId, state, false);
        }
        this.fireEvent(event.monitorId, 'event_end', record);
        break;
      }
    }
  }

  private onMonitors(monitors: readonly MonitorInfo[], removed: readonly number[]): void {
    const next = new Map<number, MonitorInfo>();
    for (const monitor of monitors) if (monitor.notify) next.set(monitor.id, monitor);
    const previous = this.listed;
    this.listed = next;
    this.desiredTopicCache = null;
    if (!this.options.haDiscovery) {
      this.knownMonitors = monitors.map((m) => m.id);
      this.withdrawAll([...this.knownMonitors, ...removed]);
      return;
    }

    // Deleted monitors, monitors no longer notified, and monitors only known from events.
    const gone = new Set<number>(removed);
    for (const id of previous?.keys() ?? []) gone.add(id);
    for (const id of this.monitors.keys()) gone.add(id);
    for (const id of gone) if (!next.has(id)) this.removeMonitor(id);

    this.publishDiscovery(false);
    // A new monitor starts with motion off (also replacing a stale retained ON).
    for (const id of next.keys()) {
      const state = this.stateFor(id);
      if (state !== null && !state.motionKnown) this.publishMotion(id, state);
    }
    // Configs of ours left on the broker from before (a monitor deleted while zmes was down).
    for (const topic of this.seenConfigs) this.removeIfStale(topic);
    this.seenConfigs.clear();
  }

  /** The latest event picture of a monitor, retained so Home Assistant shows it after its restart. */
  private onPicture(picture: EventPicture): void {
    if (!this.options.haDiscovery || !this.options.alarmControl) return;
    this.link.publish(this.layout.picture(picture.monitorId), picture.jpeg, { qos: 1, retain: true });
  }

  private onDatabase(available: boolean): void {
    this.databaseAvailable = available;
    if (this.options.haDiscovery) this.publishDatabase();
  }

  private publishDatabase(): void {
    this.link.publish(this.layout.database, this.databaseAvailable ? DATABASE_UP : DATABASE_DOWN, { qos: 1, retain: true });
  }

  /** A press of Force alarm / Cancel alarm: the call to ZoneMinder, its failure shown on the Status entity. */
  private onAlarmCommand(monitorId: number, message: InboundMessage): void {
    const control = this.options.alarmControl;
    // A retained command (a button config with retain) would replay at every start: never act on one.
    if (control === undefined || message.retained) return;
    const command = message.payload.trim();
    if (command !== 'on' && command !== 'off') {
      this.log.warn(`ignoring ${JSON.stringify(message.payload.slice(0, 40))} on ${message.topic}: expected on or off`);
      return;
    }
    const action = `${command === 'on' ? 'force' : 'cancel'} an alarm on monitor ${monitorId}`;
    this.log.info(`Home Assistant asks to ${action}`);
    const at = new Date(this.clock.now()).toISOString();
    control(monitorId, command).then(
      () => {
        this.statusAttributes = { ...(this.statusAttributes ?? {}), last_action: action, last_action_at: at, last_action_result: 'ok' };
        this.publishStatusAttributes();
      },
      (err: unknown) => {
        const reason = errorMessage(err);
        this.log.warn(`cannot ${action}: ${reason}`);
        this.statusAttributes = { last_action: action, last_action_at: at, last_action_result: 'failed', last_error: reason, last_error_at: at };
        this.publishStatusAttributes();
      },
    );
  }

  private publishStatusAttributes(): void {
    if (!this.options.haDiscovery || this.statusAttributes === null) return;
    this.link.publish(this.layout.statusAttributes, JSON.stringify(this.statusAttributes), { qos: 1, retain: true });
  }

  // --- broker -------------------------------------------------------------------------------

  private onBrokerConnected(): void {
    // The broker may have restarted without persistence: everything retained may be gone.
    this.published.clear();
    this.withdrawn.clear();
    if (this.options.haDiscovery) this.republishAll();
    // Home Assistant keeps entities whose retained config a restarted broker lost: remove them by name.
    else this.withdrawAll(this.knownMonitors);
  }

  private onMessage(message: InboundMessage): void {
    const alarmMonitor = this.layout.parseAlarmCommandTopic(message.topic);
    if (alarmMonitor !== null) {
      this.onAlarmCommand(alarmMonitor, message);
      return;
    }
    if (!this.options.haDiscovery) {
      if (message.payload !== '' && this.layout.parseDiscoveryTopic(message.topic) !== null) this.withdrawTopic(message.topic);
      return;
    }
    if (message.topic === this.layout.haStatus) {
      // A retained birth arrives on every subscribe, right after the reconnect re-send: skip it.
      if (message.payload.trim() === AVAILABLE && !message.retained) {
        this.log.info('Home Assistant is online: re-sending discovery and state');
        this.published.clear();
        this.republishAll();
      }
      return;
    }
    if (message.payload === '' || this.layout.parseDiscoveryTopic(message.topic) === null) return;
    if (this.listed === null) {
      if (this.seenConfigs.size < (this.options.maxMonitors ?? DEFAULT_MAX_MONITORS) * 8) this.seenConfigs.add(message.topic);
      return;
    }
    this.removeIfStale(message.topic);
  }

  private republishAll(): void {
    this.publishDiscovery(true);
    if (this.databaseAvailable !== null) this.publishDatabase();
    if (this.statusAttributes !== null) this.publishStatusAttributes();
    for (const [id, state] of this.monitors) {
      this.publishMotion(id, state);
      if (state.lastEvent) this.publishLastEvent(id, state.lastEvent);
    }
  }

  // --- discovery ----------------------------------------------------------------------------

  private desiredDiscovery(): DiscoveryMessage[] {
    const messages = serverDiscovery(this.discovery);
    if (this.listed !== null) {
      for (const monitor of this.listed.values()) {
        messages.push(...monitorDiscovery(this.discovery, { id: monitor.id, name: monitor.name }));
      }
    }
    return messages;
  }

  private publishDiscovery(force: boolean): void {
    for (const { topic, payload } of this.desiredDiscovery()) {
      if (!force && this.published.get(topic) === payload) continue;
      if (this.link.publish(topic, payload, { qos: 1, retain: true }) === 'sent') this.published.set(topic, payload);
    }
  }

  /** The config topics Home Assistant should have; cached because every config echoes back. */
  private desiredTopics(): ReadonlySet<string> {
    if (this.desiredTopicCache === null) {
      const topics = new Set(serverDiscovery(this.discovery).map((m) => m.topic));
      for (const id of this.listed?.keys() ?? []) for (const topic of monitorDiscoveryTopics(this.layout, id)) topics.add(topic);
      this.desiredTopicCache = topics;
    }
    return this.desiredTopicCache;
  }

  private removeIfStale(topic: string): void {
    const parsed = this.layout.parseDiscoveryTopic(topic);
    if (parsed === null || this.listed === null) return;
    if (this.desiredTopics().has(topic)) return;
    this.log.info(`removing Home Assistant entity ${parsed.component} ${parsed.objectId}: its monitor is gone`);
    this.link.publish(topic, '', { qos: 1, retain: true });
    this.published.delete(topic);
    const monitorId = monitorIdOfObjectId(parsed.objectId);
    if (monitorId !== null) this.clearStateTopics(monitorId);
  }

  /** Empty retained configs make Home Assistant delete the entities; the states are cleared too. */
  private removeMonitor(monitorId: number): void {
    const state = this.monitors.get(monitorId);
    state?.timer?.cancel();
    this.monitors.delete(monitorId);
    this.log.info(`monitor ${monitorId} is gone or not notified: removing its Home Assistant entities`);
    for (const topic of monitorDiscoveryTopics(this.layout, monitorId)) {
      this.link.publish(topic, '', { qos: 1, retain: true });
      this.published.delete(topic);
    }
    this.clearStateTopics(monitorId);
  }

  private clearStateTopics(monitorId: number): void {
    for (const topic of this.layout.monitorStateTopics(monitorId)) this.link.publish(topic, '', { qos: 1, retain: true });
  }

  // --- ha_discovery off ---------------------------------------------------------------------

  /**
   * Empty retained configs for every entity zmes would announce for these monitors (and for
   * itself), and empty state topics: Home Assistant deletes the entities, and nothing stale
   * stays retained. Once per topic and connection; harmless where nothing was announced.
   */
  private withdrawAll(monitorIds: readonly number[]): void {
    const topics = serverDiscovery(this.discovery).map((m) => m.topic);
    for (const id of new Set(monitorIds)) topics.push(...monitorDiscoveryTopics(this.layout, id), ...this.layout.monitorStateTopics(id));
    let sent = 0;
    for (const topic of topics) {
      if (this.withdrawn.has(topic)) continue;
      if (this.link.publish(topic, '', { qos: 1, retain: true }) !== 'sent') continue;
      this.withdrawn.add(topic);
      sent++;
    }
    if (sent === 0) return;
    const monitors = new Set(monitorIds).size;
    const line = `ha_discovery is off: withdrawing the Home Assistant entities zmes may have announced (zmes itself${monitors > 0 ? ` and ${monitors} monitor(s)` : ''})`;
    // Every reconnect repeats the withdrawal: only news is worth an info line.
    if (monitors > this.withdrawalLogged) this.log.info(line);
    else this.log.debug(() => line);
    this.withdrawalLogged = Math.max(this.withdrawalLogged, monitors);
  }

  /** A config of ours still on the broker (a monitor zmes no longer knows, an earlier topic layout). */
  private withdrawTopic(topic: string): void {
    const parsed = this.layout.parseDiscoveryTopic(topic);
    // Retained copies arrive on every subscribe, also of configs just emptied on this connection.
    if (parsed === null || this.withdrawn.has(topic)) return;
    this.log.info(`removing Home Assistant entity ${parsed.component} ${parsed.objectId}: ha_discovery is off`);
    this.link.publish(topic, '', { qos: 1, retain: true });
    this.withdrawn.add(topic);
    const monitorId = monitorIdOfObjectId(parsed.objectId);
    if (monitorId !== null) this.clearStateTopics(monitorId);
  }

  // --- state --------------------------------------------------------------------------------

  /** The record of a monitor, created on first sight; null when the bound is reached. */
  private stateFor(monitorId: number): MonitorState | null {
    let state = this.monitors.get(monitorId);
    if (state) return state;
    const max = this.options.maxMonitors ?? DEFAULT_MAX_MONITORS;
    if (this.monitors.size >= max && !this.evictUnlisted()) {
      this.log.debug(() => `monitor ${monitorId}: not tracked, ${max} monitors already are`);
      return null;
    }
    state = { motion: false, motionKnown: false, open: new Set(), timer: null, lastEvent: null, notifiedCause: null };
    this.monitors.set(monitorId, state);
    return state;
  }

  /**
   * Before the first monitor list, frees the oldest record to make room. Listed monitors are
   * never evicted: the list itself is what must fit.
   */
  private evictUnlisted(): boolean {
    if (this.listed !== null) return false;
    for (const [id, state] of this.monitors) {
      state.timer?.cancel();
      this.monitors.delete(id);
      return true;
    }
    return false;
  }

  private setMotion(monitorId: number, state: MonitorState, on: boolean): void {
    if (state.motion === on && state.motionKnown) return;
    state.motion = on;
    this.publishMotion(monitorId, state);
  }

  private publishMotion(monitorId: number, state: MonitorState): void {
    if (this.link.publish(this.layout.motion(monitorId), motionPayload(state.motion), { qos: 1, retain: true }) === 'sent') {
      state.motionKnown = true;
    }
  }

  private publishLastEvent(monitorId: number, record: LastEventRecord): void {
    // Attributes first: the sensor's state change then already sees them.
    this.link.publish(this.layout.lastEventAttributes(monitorId), lastEventAttributes(record), { qos: 1, retain: true });
    this.link.publish(this.layout.lastEvent(monitorId), lastEventState(record), { qos: 1, retain: true });
  }

  private fireEvent(monitorId: number, type: 'event_start' | 'event_end', record: LastEventRecord): void {
    // Never retained: a retained event would fire again on every Home Assistant restart. Queued
    // while the broker is away: unlike state, a missed firing is not restored by a re-send.
    this.link.publish(this.layout.event(monitorId), eventEntityPayload(type, record), { qos: 1, retain: false, queue: true });
  }

  /**
   * An event whose end is never seen (zmes restarted, ZoneMinder crashed) would leave motion on
   * for good: turn it off after motion_timeout, counted from the latest start.
   */
  private armTimeout(monitorId: number, state: MonitorState, eventId: bigint): void {
    state.timer?.cancel();
    state.timer = null;
    const ms = this.options.motionTimeoutMs;
    if (ms <= 0) return;
    state.timer = this.clock.setTimeout(() => {
      state.timer = null;
      if (this.monitors.get(monitorId) !== state || state.open.size === 0) return;
      this.log.info(`monitor ${monitorId}: event ${eventId} still open after ${Math.round(ms / 1000)} s, motion sensor turned off`);
      state.open.clear();
      try {
        this.setMotion(monitorId, state, false);
      } catch (err) {
        this.log.error(`monitor ${monitorId}: cannot publish the motion timeout: ${errorMessage(err)}`);
      }
    }, ms);
  }
}

function describeResult(result: PublishResult): string {
  switch (result) {
    case 'sent':
      return 'published';
    case 'queued':
      return 'queued until the broker is reachable';
    case 'dropped':
      return 'dropped (MQTT is off)';
  }
}

function recordOf(event: ZmEvent, state: LastEventRecord['state'], picture: string | null, cause: string | null = null): LastEventRecord {
  return {
    eventId: event.eventId,
    monitorId: event.monitorId,
    monitorName: monitorName({ id: event.monitorId, name: event.monitorName }),
    cause: cause ?? (event.notes.trim() || event.cause.trim() || 'Alarm'),
    startTime: event.startTime,
    endTime: event.endTime,
    picture,
    state,
  };
}

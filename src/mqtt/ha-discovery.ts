/**
 * Home Assistant MQTT discovery configs (pure): one device for zmes itself, one per monitor.
 * The payloads are canonical JSON (keys sorted at every level), so the same input always
 * gives the same bytes and the MQTT channel can re-send a config only when it really changed.
 *
 * Per monitor (device "<MonitorName>", via the zmes device):
 *   binary_sensor  Motion      ON at an event's start, OFF at its end (or after motion_timeout)
 *   sensor         Last event  state = last event id; attributes = cause, times, picture, …
 *   event          Alarm       fires event_start / event_end
 * For zmes (device "ZoneMinder event server"):
 *   binary_sensor  Status      connectivity, from the availability topic
 */
import type { JsonObject, JsonValue } from '../domain/json.js';
import type { HaComponent, TopicLayout } from './topics.js';

export const AVAILABLE = 'online';
export const NOT_AVAILABLE = 'offline';
export const MOTION_ON = 'ON';
export const MOTION_OFF = 'OFF';
export const DATABASE_UP = 'ON';
export const DATABASE_DOWN = 'OFF';
export const EVENT_TYPES = ['event_start', 'event_end'] as const;
export type HaEventType = (typeof EVENT_TYPES)[number];

export interface DiscoveryContext {
  readonly layout: TopicLayout;
  /** zmes's version, for origin and the zmes device. */
  readonly version: string;
  /** Where users get help; omitted from `origin` when unknown. */
  readonly supportUrl?: string | undefined;
  /** ZoneMinder's API is configured: each monitor also gets its picture and the alarm buttons. */
  readonly zoneminderApi?: boolean;
}

export interface DiscoveryMonitor {
  readonly id: number;
  readonly name: string;
}

export interface DiscoveryMessage {
  readonly topic: string;
  /** Canonical JSON. */
  readonly payload: string;
}

/** JSON with object keys sorted at every level: deterministic bytes for equal values. */
export function canonicalJson(value: JsonValue): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: JsonValue): JsonValue {
  if (isJsonArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, JsonValue> = {};
    for (const key of Object.keys(value).sort()) {
      const child = value[key];
      if (child !== undefined) sorted[key] = sortKeys(child);
    }
    return sorted;
  }
  return value;
}

// Array.isArray does not narrow a readonly array type.
function isJsonArray(value: JsonValue): value is readonly JsonValue[] {
  return Array.isArray(value);
}

/** The instance part of entity ids: `mqtt.topic` as a slug (`zoneminder` by default). */
function instanceSlug(layout: TopicLayout): string {
  return layout.nodeId.replace(/^zmes_/, '');
}

function origin(ctx: DiscoveryContext): JsonObject {
  return {
    name: 'zmes',
    sw_version: ctx.version,
    ...(ctx.supportUrl ? { support_url: ctx.supportUrl } : {}),
  };
}

function serverDevice(ctx: DiscoveryContext): JsonObject {
  return {
    identifiers: [ctx.layout.nodeId],
    name: 'ZoneMinder event server',
    manufacturer: 'zmes',
    model: 'ZoneMinder event notification server',
    sw_version: ctx.version,
  };
}

function monitorDevice(ctx: DiscoveryContext, monitor: DiscoveryMonitor): JsonObject {
  return {
    identifiers: [monitorDeviceId(ctx.layout, monitor.id)],
    name: monitorName(monitor),
    manufacturer: 'ZoneMinder',
    model: 'Monitor',
    via_device: ctx.layout.nodeId,
  };
}

export function monitorDeviceId(layout: TopicLayout, monitorId: number): string {
  return `${layout.nodeId}_monitor_${monitorId}`;
}

/** A monitor without a name still gets a readable device name. */
export function monitorName(monitor: DiscoveryMonitor): string {
  const name = monitor.name.trim();
  return name === '' ? `Monitor ${monitor.id}` : name;
}

function availability(ctx: DiscoveryContext): JsonValue {
  return [{ topic: ctx.layout.availability, payload_available: AVAILABLE, payload_not_available: NOT_AVAILABLE }];
}

type EntitySuffix = 'motion' | 'last_event' | 'alarm' | 'picture' | 'force_alarm' | 'cancel_alarm';
/**
 * The per-monitor entities: component, and the suffix of their object id, unique id and entity
 * id; `api`: only with ZoneMinder's API configured.
 */
const MONITOR_ENTITIES: ReadonlyArray<{ component: HaComponent; suffix: EntitySuffix; api?: true }> = [
  { component: 'binary_sensor', suffix: 'motion' },
  { component: 'sensor', suffix: 'last_event' },
  { component: 'event', suffix: 'alarm' },
  { component: 'image', suffix: 'picture', api: true },
  { component: 'button', suffix: 'force_alarm', api: true },
  { component: 'button', suffix: 'cancel_alarm', api: true },
];

/** What the Force alarm / Cancel alarm buttons send on the monitor's alarm command topic. */
export const ALARM_COMMANDS = { force_alarm: 'on', cancel_alarm: 'off' } as const;

const monitorObjectId = (monitorId: number, suffix: string) => `monitor_${monitorId}_${suffix}`;

/** Every discovery config topic a monitor can have (for removing a monitor zmes no longer knows). */
export function monitorDiscoveryTopics(layout: TopicLayout, monitorId: number): string[] {
  return MONITOR_ENTITIES.map(({ component, suffix }) => layout.discoveryConfig(component, monitorObjectId(monitorId, suffix)));
}

/** The monitor id an object id of ours belongs to (`monitor_3_motion` → 3), or null. */
export function monitorIdOfObjectId(objectId: string): number | null {
  const match = /^monitor_(\d+)_[a-z_]+$/.exec(objectId);
  return match ? Number(match[1]) : null;
}

/** The zmes device with its connectivity sensor; the per-monitor devices point at it (via_device). */
export function serverDiscovery(ctx: DiscoveryContext): DiscoveryMessage[] {
  const { layout } = ctx;
  const config: JsonObject = {
    name: 'Status',
    unique_id: `${layout.nodeId}_status`,
    default_entity_id: `binary_sensor.zmes_${instanceSlug(layout)}_status`,
    device_class: 'connectivity',
    entity_category: 'diagnostic',
    // The availability topic is this entity's state: it must not also be its availability,
    // or Home Assistant would show "unavailable" instead of "disconnected".
    state_topic: layout.availability,
    payload_on: AVAILABLE,
    payload_off: NOT_AVAILABLE,
    // The last action that failed (a force-alarm call), so Home Assistant shows why.
    json_attributes_topic: layout.statusAttributes,
    device: serverDevice(ctx),
    origin: origin(ctx),
  };
  const database: JsonObject = {
    name: 'ZoneMinder database',
    unique_id: `${layout.nodeId}_database`,
    default_entity_id: `binary_sensor.zmes_${instanceSlug(layout)}_database`,
    device_class: 'connectivity',
    entity_category: 'diagnostic',
    state_topic: layout.database,
    payload_on: DATABASE_UP,
    payload_off: DATABASE_DOWN,
    availability: availability(ctx),
    device: serverDevice(ctx),
    origin: origin(ctx),
  };
  return [
    { topic: layout.discoveryConfig('binary_sensor', 'status'), payload: canonicalJson(config) },
    { topic: layout.discoveryConfig('binary_sensor', 'database'), payload: canonicalJson(database) },
  ];
}

/** The three entities of one monitor, in a fixed order. */
export function monitorDiscovery(ctx: DiscoveryContext, monitor: DiscoveryMonitor): DiscoveryMessage[] {
  return MONITOR_ENTITIES.filter((entity) => !entity.api || ctx.zoneminderApi === true).map(({ component, suffix }) => ({
    topic: ctx.layout.discoveryConfig(component, monitorObjectId(monitor.id, suffix)),
    payload: canonicalJson(monitorEntityConfig(ctx, monitor, component, suffix)),
  }));
}

function monitorEntityConfig(
  ctx: DiscoveryContext,
  monitor: DiscoveryMonitor,
  component: HaComponent,
  suffix: EntitySuffix,
): JsonObject {
  const { layout } = ctx;
  const common: JsonObject = {
    unique_id: `${monitorDeviceId(layout, monitor.id)}_${suffix}`,
    // Home Assistant 2025.10 replaced object_id by default_entity_id (`<domain>.<id>`); object_id
    // stopped working in 2026.4. Only used when the entity is first created.
    default_entity_id: `${component}.${instanceSlug(layout)}_${monitor.id}_${suffix}`,
    availability: availability(ctx),
    device: monitorDevice(ctx, monitor),
    origin: origin(ctx),
    qos: 1,
  };
  switch (suffix) {
    case 'motion':
      return {
        ...common,
        name: 'Motion',
        device_class: 'motion',
        state_topic: layout.motion(monitor.id),
        payload_on: MOTION_ON,
        payload_off: MOTION_OFF,
      };
    case 'last_event':
      return {
        ...common,
        name: 'Last event',
        icon: 'mdi:cctv',
        state_topic: layout.lastEvent(monitor.id),
        json_attributes_topic: layout.lastEventAttributes(monitor.id),
      };
    case 'alarm':
      return {
        ...common,
        name: 'Alarm',
        device_class: 'motion',
        event_types: [...EVENT_TYPES],
        state_topic: layout.event(monitor.id),
      };
    case 'picture':
      return {
        ...common,
        name: 'Event picture',
        image_topic: layout.picture(monitor.id),
        content_type: 'image/jpeg',
      };
    case 'force_alarm':
    case 'cancel_alarm':
      return {
        ...common,
        name: suffix === 'force_alarm' ? 'Force alarm' : 'Cancel alarm',
        icon: suffix === 'force_alarm' ? 'mdi:alarm-light' : 'mdi:alarm-light-off',
        command_topic: layout.alarmCommand(monitor.id),
        payload_press: ALARM_COMMANDS[suffix],
      };
  }
}

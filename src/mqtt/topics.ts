/**
 * Where zmes publishes, in one place (docs/mqtt.md describes the same layout).
 *
 *   <topic>/<MonitorId>                                 classic event message (unchanged)
 *   <topic>/zmes/availability                           online / offline (retained; offline is the last will)
 *   <topic>/zmes/monitor/<MonitorId>/motion             ON / OFF (retained)
 *   <topic>/zmes/monitor/<MonitorId>/last_event         last event id (retained)
 *   <topic>/zmes/monitor/<MonitorId>/last_event/attributes   JSON attributes of that event (retained)
 *   <topic>/zmes/monitor/<MonitorId>/event              {"event_type":"event_start"|"event_end",…} (not retained)
 *   <topic>/zmes/monitor/<MonitorId>/picture            JPEG of the latest event (retained; with the ZoneMinder API)
 *   <topic>/zmes/monitor/<MonitorId>/alarm/set          `on` / `off` from the Force / Cancel alarm buttons (subscribed)
 *   <topic>/zmes/database                               ON / OFF: ZoneMinder's database reachable (retained)
 *   <topic>/zmes/status/attributes                      JSON: the last failed action, for the Status entity (retained)
 *   <discovery_prefix>/<component>/<node id>/<object id>/config   Home Assistant discovery
 *
 * Everything new lives two levels below `<topic>`, so a user's `<topic>/+` subscription keeps
 * seeing only the classic per-monitor messages.
 */

export type HaComponent = 'binary_sensor' | 'sensor' | 'event' | 'image' | 'button';

export interface TopicLayout {
  /** The classic `<topic>/<MonitorId>`. */
  classic(monitorId: number): string;
  readonly availability: string;
  motion(monitorId: number): string;
  lastEvent(monitorId: number): string;
  lastEventAttributes(monitorId: number): string;
  event(monitorId: number): string;
  picture(monitorId: number): string;
  alarmCommand(monitorId: number): string;
  /** Matches the alarm command topic of every monitor. */
  readonly alarmCommandWildcard: string;
  /** The monitor id of an alarm command topic, or null for any other topic. */
  parseAlarmCommandTopic(topic: string): number | null;
  readonly database: string;
  readonly statusAttributes: string;
  /** Every retained state topic of a monitor, for removal. */
  monitorStateTopics(monitorId: number): string[];
  /** Home Assistant's birth and last-will topic. */
  readonly haStatus: string;
  discoveryConfig(component: HaComponent, objectId: string): string;
  /** Matches every discovery config zmes (this instance) can have published. */
  readonly discoveryWildcard: string;
  /** The object id of a discovery config topic of this instance, or null for any other topic. */
  parseDiscoveryTopic(topic: string): { component: string; objectId: string } | null;
  /** Discovery node id and the root of unique ids and device identifiers: `zmes_<slug of topic>`. */
  readonly nodeId: string;
}

/**
 * Lower-case letters, digits and single underscores: what Home Assistant accepts in node ids
 * and entity ids. Empty when nothing usable is left.
 */
export function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * The node id depends only on `mqtt.topic`, so it survives restarts, a changed client id and a
 * new host: Home Assistant keeps the same entities. Two zmes instances need two topics anyway.
 */
export function nodeIdFor(topic: string): string {
  return `zmes_${slugify(topic) || 'zoneminder'}`;
}

export function topicLayout(topic: string, discoveryPrefix: string): TopicLayout {
  const base = `${topic}/zmes`;
  const monitor = (id: number) => `${base}/monitor/${id}`;
  const nodeId = nodeIdFor(topic);
  const configPrefix = `${discoveryPrefix}/`;
  const layout: TopicLayout = {
    // Classic: plain concatenation, exactly as the classic server built it.
    classic: (id) => `${topic}/${id}`,
    availability: `${base}/availability`,
    motion: (id) => `${monitor(id)}/motion`,
    lastEvent: (id) => `${monitor(id)}/last_event`,
    lastEventAttributes: (id) => `${monitor(id)}/last_event/attributes`,
    event: (id) => `${monitor(id)}/event`,
    picture: (id) => `${monitor(id)}/picture`,
    alarmCommand: (id) => `${monitor(id)}/alarm/set`,
    alarmCommandWildcard: `${base}/monitor/+/alarm/set`,
    parseAlarmCommandTopic(candidate) {
      const match = /^(\d{1,9})\/alarm\/set$/.exec(candidate.startsWith(`${base}/monitor/`) ? candidate.slice(`${base}/monitor/`.length) : '');
      return match ? Number(match[1]) : null;
    },
    database: `${base}/database`,
    statusAttributes: `${base}/status/attributes`,
    monitorStateTopics: (id) => [layout.motion(id), layout.lastEvent(id), layout.lastEventAttributes(id), layout.picture(id)],
    haStatus: `${discoveryPrefix}/status`,
    discoveryConfig: (component, objectId) => `${discoveryPrefix}/${component}/${nodeId}/${objectId}/config`,
    discoveryWildcard: `${discoveryPrefix}/+/${nodeId}/+/config`,
    parseDiscoveryTopic(candidate) {
      if (!candidate.startsWith(configPrefix)) return null;
      const parts = candidate.slice(configPrefix.length).split('/');
      if (parts.length !== 4 || parts[1] !== nodeId || parts[3] !== 'config') return null;
      const [component = '', , objectId = ''] = parts;
      return component && objectId ? { component, objectId } : null;
    },
    nodeId,
  };
  return layout;
}

/**
 * Groups WebSocket recipients whose alarms need no per-device decision, so that the WebSocket
 * channel can hand each group one uWS topic publish instead of one send per socket. Pure.
 *
 * A recipient can share a topic when everything deciding its alarms is its monitor set:
 *   - no push registration: the one-alert rule (push-devices.ts) decides per device otherwise;
 *   - no interval above 0 in its filter: an interval needs that device's own last-sent time.
 * Its topic names the monitors it may receive, its ZoneMinder permissions intersected with its
 * filter (`all`, or `m:<sorted ids>`), so that every member of a topic gets the same verdict for
 * every event: when one member is to get an alarm, all are, and only they.
 */
import type { MonitorFilter } from '../../domain/monitor-filter.js';
import type { MonitorVisibility } from '../../zm/auth/permissions.js';

export interface AudienceInput {
  readonly visibility: MonitorVisibility;
  readonly filter: MonitorFilter;
  /** Whether the connection registered a push token (it then follows the one-alert rule). */
  readonly pushRegistered: boolean;
}

/** Topic names start with this, so they can never collide with anything else published. */
const PREFIX = 'zmes/alarm/';
export const TOPIC_ALL = `${PREFIX}all`;

/**
 * The shared topic of a recipient, or undefined when its delivery needs a per-device decision
 * (or when it may receive nothing at all, so no topic is needed).
 */
export function sharedTopic(input: AudienceInput): string | undefined {
  const { visibility, filter } = input;
  if (input.pushRegistered || visibility.kind === 'none') return undefined;
  if (filter.kind === 'all') return visibility.kind === 'all' ? TOPIC_ALL : topicOf(visibility.ids);
  const ids: number[] = [];
  for (const [id, interval] of filter.intervals) {
    if (interval !== 0) return undefined;
    if (visibility.kind === 'all' || visibility.ids.has(id)) ids.push(id);
  }
  return ids.length === 0 ? undefined : topicOf(ids);
}

function topicOf(ids: Iterable<number>): string {
  return `${PREFIX}m:${[...ids].sort((a, b) => a - b).join(',')}`;
}

/**
 * Remembers each recipient's topic while the objects it was computed from stay the same: the
 * session replaces its filter, user and registration objects whenever they change (a new
 * filter frame, a narrowed permission, a token), so identity tells when to compute it again.
 */
export class TopicMemo<Key extends object> {
  private readonly memo = new WeakMap<Key, { visibility: MonitorVisibility; filter: MonitorFilter; pushRegistered: boolean; topic: string | undefined }>();

  topicOf(key: Key, input: AudienceInput): string | undefined {
    const known = this.memo.get(key);
    if (known && known.visibility === input.visibility && known.filter === input.filter && known.pushRegistered === input.pushRegistered) {
      return known.topic;
    }
    const topic = sharedTopic(input);
    this.memo.set(key, { visibility: input.visibility, filter: input.filter, pushRegistered: input.pushRegistered, topic });
    return topic;
  }
}

import type { EventBus } from '../../event-bus.js';
import type { Logger } from '../../log/logger.js';
import type { Connection, SendResult } from '../../ws/connection.js';
import type { Session } from '../../ws/session.js';
import { buildAlarmFrames, type AlarmFrames } from '../../ws/frames.js';
import { routedTo, type Channel } from './channel.js';
import { decide, startsInterval, type Verdict } from '../recipients.js';
import type { LastSentStore } from '../throttle.js';
import type { Notification } from '../../domain/notification.js';
import type { ZmesEvents } from '../../domain/bus-events.js';

/**
 * Which frame a connection gets, decided by the push layer: `supplementary` when its device
 * also got an FCM push for this notification, `none` when another connection owns its token.
 */
export type FrameChoice = 'normal' | 'supplementary' | 'none';
export type FrameChooser = (connection: Connection<Session>, notification: Notification) => FrameChoice;

export interface WsChannelStats {
  sent: number;
  notPermitted: number;
  filtered: number;
  throttled: number;
  silenced: number;
  dropped: number;
}

/**
 * The WebSocket payload of a notification, rendered once and shared by every socket (classic
 * defect #12: never mutated per client). Kept only as long as the notification itself.
 */
const renderedFrames = new WeakMap<Notification, AlarmFrames>();

export function alarmFramesOf(notification: Notification): AlarmFrames {
  let frames = renderedFrames.get(notification);
  if (frames === undefined) {
    frames = buildAlarmFrames({
      monitorName: notification.event.monitorName,
      monitorId: notification.event.monitorId,
      eventId: notification.event.eventId,
      cause: notification.cause,
      phase: notification.phase,
      detectionJson: notification.detectionJson,
      rulesObject: notification.rulesObject,
      ...(notification.picture !== undefined ? { picture: notification.picture } : {}),
    });
    renderedFrames.set(notification, frames);
  }
  return frames;
}

interface EncodedFrames {
  readonly normal: Buffer;
  readonly supplementary: Buffer;
}

/** The frames as UTF-8 bytes, encoded once per notification instead of once per socket. */
const encodedFrames = new WeakMap<Notification, EncodedFrames>();

function encodedFramesOf(notification: Notification): EncodedFrames {
  let encoded = encodedFrames.get(notification);
  if (encoded === undefined) {
    const frames = alarmFramesOf(notification);
    encoded = { normal: Buffer.from(frames.normal, 'utf8'), supplementary: Buffer.from(frames.supplementary, 'utf8') };
    encodedFrames.set(notification, encoded);
  }
  return encoded;
}

/** Sends one variant of a notification's alarm frame to one socket (the one-alert rule decides which). */
export function sendAlarm(connection: Connection<Session>, notification: Notification, variant: 'normal' | 'supplementary'): SendResult {
  const frames = encodedFramesOf(notification);
  return connection.send(variant === 'supplementary' ? frames.supplementary : frames.normal);
}

/** The throttle key of a connection: its push token when it has one, so intervals follow the device. */
export function recipientKey(connection: Connection<Session>): string {
  return connection.session.push ? `token:${connection.session.push.token}` : `conn:${connection.id}`;
}

/**
 * Delivers notifications to the authenticated WebSocket connections: one prebuilt frame per
 * notification, each connection checked against its user's permissions, filter and interval.
 * A slow reader never delays the others: a send only queues, and uWS drops a socket whose
 * queue passes network.max_backpressure.
 *
 * The frame is encoded once into a buffer that every socket's send shares. (uWS topics were
 * tried for the sockets that need no per-device decision: on this workload one native publish
 * per topic cost more per socket than direct sends, and the first client waited for the whole
 * loop; see bench/RESULTS.md.)
 */
export class WsChannel implements Channel {
  readonly name = 'websocket channel';
  readonly channel = 'web';
  private disposers: Array<() => void> = [];

  constructor(
    private readonly bus: EventBus<ZmesEvents>,
    private readonly connections: () => Iterable<Connection<Session>>,
    private readonly lastSent: LastSentStore,
    private readonly log: Logger,
    private readonly chooseFrame: FrameChooser = () => 'normal',
    private readonly now: () => number = Date.now,
  ) {}

  start(): Promise<void> {
    if (this.disposers.length === 0) this.disposers.push(this.bus.on('notification', (n) => this.deliver(n)));
    return Promise.resolve();
  }

  /** Sends only queue (uWS), so nothing is under way once unsubscribed. */
  stop(): Promise<void> {
    for (const dispose of this.disposers.splice(0)) dispose();
    return Promise.resolve();
  }

  /** A closed connection without a token takes its interval state with it. */
  forgetConnection(connection: Connection<Session>): void {
    if (!connection.session.push) this.lastSent.forget(`conn:${connection.id}`);
  }

  /**
   * One notification to one connection under its permissions, filter and interval; the live
   * fan-out and the replay after a reconnect both come through here. `skipped`: not a recipient.
   */
  deliverTo(connection: Connection<Session>, notification: Notification, now: number): DeliveryOutcome {
    const session = connection.session;
    if (session.state !== 'authenticated' || !session.user || connection.closed) return 'skipped';
    const { event, phase } = notification;
    const key = recipientKey(connection);
    const verdict = decide(
      { visibility: session.user.visibility, filter: session.filter, lastSentAt: this.lastSent.get(key, event.monitorId) },
      event.monitorId,
      phase,
      now,
    );
    if (verdict !== 'send') return verdict;
    const choice = this.chooseFrame(connection, notification);
    if (choice === 'none') return 'silenced';
    const result = sendAlarm(connection, notification, choice);
    if (result !== 'sent' && result !== 'buffered') return 'dropped';
    if (startsInterval(phase)) this.lastSent.set(key, event.monitorId, now);
    return 'sent';
  }

  deliver(notification: Notification): WsChannelStats {
    const stats: WsChannelStats = { sent: 0, notPermitted: 0, filtered: 0, throttled: 0, silenced: 0, dropped: 0 };
    if (!routedTo(notification, this)) return stats;
    const { event, phase } = notification;
    const now = this.now();
    for (const connection of this.connections()) {
      const outcome = this.deliverTo(connection, notification, now);
      if (outcome !== 'skipped') count(stats, outcome);
    }
    const skipped = stats.notPermitted + stats.filtered + stats.throttled + stats.silenced;
    // With nobody connected (the usual case for phones relying on push) one line per event is noise.
    (stats.sent + stats.dropped > 0 ? this.log.info.bind(this.log) : this.log.debug.bind(this.log))(
      `event ${event.eventId} ${phase} on monitor ${event.monitorName} (${event.monitorId}): websocket alarm sent to ${stats.sent} client(s)` +
        (skipped + stats.dropped > 0
          ? ` (filtered ${stats.filtered}, throttled ${stats.throttled}, not permitted ${stats.notPermitted}, silenced ${stats.silenced}, dropped ${stats.dropped})`
          : ''),
    );
    return stats;
  }
}

export type DeliveryOutcome = Exclude<Verdict, 'send'> | 'sent' | 'silenced' | 'dropped' | 'skipped';

function count(stats: WsChannelStats, outcome: Exclude<DeliveryOutcome, 'skipped'>): void {
  if (outcome === 'not-permitted') stats.notPermitted++;
  else if (outcome === 'filtered') stats.filtered++;
  else if (outcome === 'throttled') stats.throttled++;
  else stats[outcome]++;
}

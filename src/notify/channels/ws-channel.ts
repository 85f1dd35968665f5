import type { EventBus } from '../../event-bus.js';
import type { Logger } from '../../log/logger.js';
import type { Connection } from '../../ws/connection.js';
import type { Session } from '../../ws/session.js';
import { decide, startsInterval, type Verdict } from '../recipients.js';
import type { LastSentStore } from '../throttle.js';
import type { Notification, ZmesEvents } from '../types.js';

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

/** The throttle key of a connection: its push token when it has one, so intervals follow the device. */
export function recipientKey(connection: Connection<Session>): string {
  return connection.session.push ? `token:${connection.session.push.token}` : `conn:${connection.id}`;
}

/**
 * Delivers notifications to the authenticated WebSocket connections: one prebuilt frame per
 * notification, each connection checked against its user's permissions, filter and interval.
 * A slow reader never delays the others: a send only queues, and uWS drops a socket whose
 * queue passes network.max_backpressure.
 */
export class WsChannel {
  private disposers: Array<() => void> = [];

  constructor(
    private readonly bus: EventBus<ZmesEvents>,
    private readonly connections: () => Iterable<Connection<Session>>,
    private readonly lastSent: LastSentStore,
    private readonly log: Logger,
    private readonly chooseFrame: FrameChooser = () => 'normal',
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.disposers.length > 0) return;
    this.disposers.push(this.bus.on('notification', (n) => this.deliver(n)));
  }

  stop(): void {
    for (const dispose of this.disposers.splice(0)) dispose();
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
    const result = connection.send(choice === 'supplementary' ? notification.frames.supplementary : notification.frames.normal);
    if (result !== 'sent' && result !== 'buffered') return 'dropped';
    if (startsInterval(phase)) this.lastSent.set(key, event.monitorId, now);
    return 'sent';
  }

  deliver(notification: Notification): WsChannelStats {
    const stats: WsChannelStats = { sent: 0, notPermitted: 0, filtered: 0, throttled: 0, silenced: 0, dropped: 0 };
    if (!notification.channels.has('web')) return stats;
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

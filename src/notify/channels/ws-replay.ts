import { LRUCache } from 'lru-cache';
import type { Clock, Timer } from '../../clock.js';
import type { EventBus } from '../../event-bus.js';
import type { Logger } from '../../log/logger.js';
import type { Connection } from '../../ws/connection.js';
import type { Session } from '../../ws/session.js';
import type { Notification } from '../../domain/notification.js';
import type { ZmesEvents } from '../../domain/bus-events.js';
import type { WsChannel } from './ws-channel.js';
import type { Service } from '../../lifecycle.js';

export interface WsReplayOptions {
  /** customize.replay_window in ms; 0 turns replay off. */
  readonly windowMs: number;
  /**
   * How long after a login to wait for the app's token frame, which names the device better
   * than user and address; both apps send it right after the auth reply.
   */
  readonly tokenGraceMs?: number;
  /** Bound on remembered alarms, whatever the window (a burst of events must not grow memory). */
  readonly maxAlarms?: number;
}

interface Recent {
  readonly notification: Notification;
  readonly at: number;
}

/**
 * Replays the alarms a WebSocket client missed while it was away: zmNinja reconnects about 10 s
 * after losing its socket (zmNinjaNg about 2 s), and after a zmes restart the catch-up of missed
 * events runs before any app is back. A client that logs in within the replay window of losing
 * its connection (or of zmes starting) gets the alarms of that gap once, in order, through the
 * WebSocket channel's own rules (permissions, filter, interval, one alert per device: a device
 * alerted by push meanwhile gets nothing here).
 *
 * A device is its push token when it sends one, else its ZoneMinder user, address and app.
 */
export class WsReplay implements Service {
  readonly name = 'websocket replay';
  private readonly recent: Recent[] = [];
  /** Device → when its last connection closed (or up to when it was replayed). */
  private readonly coveredUntil = new LRUCache<string, number>({ max: 10_000 });
  private readonly pending = new Map<Connection<Session>, { authAt: number; timer: Timer }>();
  private dispose: (() => void) | undefined;
  private readonly startedAt: number;

  constructor(
    private readonly bus: EventBus<ZmesEvents>,
    private readonly channel: Pick<WsChannel, 'deliverTo'>,
    private readonly connections: () => Iterable<Connection<Session>>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: WsReplayOptions,
  ) {
    this.startedAt = clock.now();
  }

  private get enabled(): boolean {
    return this.options.windowMs > 0;
  }

  start(): Promise<void> {
    if (this.enabled) this.dispose ??= this.bus.on('notification', (notification) => this.remember(notification));
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.dispose?.();
    this.dispose = undefined;
    for (const { timer } of this.pending.values()) timer.cancel();
    this.pending.clear();
    return Promise.resolve();
  }

  // SessionListener ---------------------------------------------------------------------------

  authenticated = (connection: Connection<Session>): void => {
    if (!this.enabled) return;
    const authAt = this.clock.now();
    const timer = this.clock.setTimeout(() => this.replay(connection), this.options.tokenGraceMs ?? 1000);
    this.pending.get(connection)?.timer.cancel();
    this.pending.set(connection, { authAt, timer });
  };

  tokenRegistered = (connection: Connection<Session>): void => {
    if (this.pending.has(connection)) this.replay(connection);
  };

  closed = (connection: Connection<Session>): void => {
    this.pending.get(connection)?.timer.cancel();
    this.pending.delete(connection);
    if (!this.enabled || connection.session.user === undefined) return;
    const now = this.clock.now();
    for (const device of devicesOf(connection)) this.coveredUntil.set(device, now);
  };

  // -------------------------------------------------------------------------------------------

  private remember(notification: Notification): void {
    if (!notification.channels.has('web')) return;
    const now = this.clock.now();
    this.recent.push({ notification, at: now });
    const oldest = now - this.options.windowMs;
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop]!.at < oldest) drop++;
    const overflow = this.recent.length - drop - (this.options.maxAlarms ?? 1000);
    if (overflow > 0) drop += overflow;
    if (drop > 0) this.recent.splice(0, drop);
  }

  private replay(connection: Connection<Session>): void {
    const entry = this.pending.get(connection);
    if (entry === undefined) return;
    entry.timer.cancel();
    this.pending.delete(connection);
    if (connection.closed || connection.session.state !== 'authenticated') return;
    const device = devicesOf(connection)[0]!;
    const since = this.coveredUntil.get(device) ?? this.startedAt;
    // From now on this device is covered up to its login, so a second socket of it gets nothing twice.
    this.coveredUntil.set(device, Math.max(since, entry.authAt));
    const skip = (why: string) => this.log.debug(() => `connection #${connection.id}: no replay (${why})`);
    if (entry.authAt - since > this.options.windowMs) return skip('away longer than the replay window');
    if (this.otherSocketOf(device, connection)) return skip('another socket of this device stayed connected');
    const missed = this.recent.filter((r) => r.at >= since && r.at < entry.authAt);
    if (missed.length === 0) return skip('no alarm missed');
    const now = this.clock.now();
    let sent = 0;
    for (const { notification } of missed) if (this.channel.deliverTo(connection, notification, now) === 'sent') sent++;
    if (sent > 0) {
      this.log.info(
        `connection #${connection.id} (user ${connection.session.user?.name ?? '?'}): replayed ${sent} missed alarm(s) of the last ${Math.ceil((entry.authAt - since) / 1000)} s`,
      );
    }
  }

  /** Another open, logged-in socket of the same device got the gap's alarms live. */
  private otherSocketOf(device: string, connection: Connection<Session>): boolean {
    for (const other of this.connections()) {
      if (other === connection || other.closed || other.session.state !== 'authenticated') continue;
      if (devicesOf(other).includes(device)) return true;
    }
    return false;
  }
}

/** The device keys of a connection, the best first: its push token, then user + address + app. */
function devicesOf(connection: Connection<Session>): string[] {
  const session = connection.session;
  const person = `user:${session.user?.name ?? ''}|${connection.remoteAddress}|${session.clientKind}`;
  return session.push ? [`token:${session.push.token}`, person] : [person];
}

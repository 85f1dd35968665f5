/**
 * Ties WebSocket sessions to the persistent token registry (protocol.md §2, §8): registrations,
 * filter and badge changes go to the store; the newest connection that registered a token owns
 * it, older duplicate sockets of the same phone stay open but are silenced; and for each alarm it
 * tells the WebSocket channel which frame a connection gets.
 *
 * It also polices registrations: at most `maxTokenFrames` token frames per connection per
 * minute (TOKENRATE), and the store's per-user quota and capacity (TOKENQUOTA, TOKENSTOREFULL).
 * A refused frame is answered with its failure frame and leaves the connection as it was before
 * the frame, so it is never taken for the owner of a token the store did not accept.
 */
import { systemClock, type Clock } from '../../clock.js';
import type { Logger } from '../../log/logger.js';
import { maskToken } from '../../log/logger.js';
import type { Connection } from '../../ws/connection.js';
import type { PushRegistration, Session } from '../../ws/session.js';
import type { DeviceRegistration } from '../../domain/device.js';
import * as frames from '../../ws/frames.js';
import type { SessionListener } from '../../ws/session-handler.js';
import { sendAlarm, type FrameChoice } from './ws-channel.js';
import type { LastSentStore } from '../throttle.js';
import type { Notification } from '../../domain/notification.js';
import { tokenFilter, type RegisterRefusal, type TokenStore } from '../../tokens/token-store.js';

const TOKEN_KEY = 'token:';
const RATE_WINDOW_MS = 60_000;
/** Default of `fcm.max_token_frames`. */
export const DEFAULT_MAX_TOKEN_FRAMES = 10;

const REFUSAL_FRAMES: Readonly<Record<Exclude<RegisterRefusal, 'invalid'>, string>> = {
  quota: frames.PUSH_TOKENQUOTA,
  full: frames.PUSH_TOKENSTOREFULL,
};

export interface PushDevicesOptions {
  /** Token frames one connection may send per minute (`fcm.max_token_frames`). */
  readonly maxTokenFrames?: number;
  readonly clock?: Clock;
}

export class PushDevices implements SessionListener {
  private readonly owners = new Map<string, Connection<Session>>();
  /** The registration each connection last had accepted, restored when a later one is refused. */
  private readonly accepted = new WeakMap<Connection<Session>, PushRegistration>();
  /** Times of the token frames each connection sent within the last minute (at most maxTokenFrames). */
  private readonly recentFrames = new Map<Connection<Session>, number[]>();
  /** Connections already told in the current window, so a flood costs one warning, not one per frame. */
  private readonly rateWarned = new WeakSet<Connection<Session>>();
  private readonly maxTokenFrames: number;
  private readonly clock: Clock;

  constructor(
    private readonly store: TokenStore,
    /** Whether pushes can be sent at all (FCM enabled and a sender configured). */
    private readonly pushActive: boolean,
    private readonly log: Logger,
    options: PushDevicesOptions = {},
  ) {
    this.maxTokenFrames = options.maxTokenFrames ?? DEFAULT_MAX_TOKEN_FRAMES;
    this.clock = options.clock ?? systemClock;
  }

  /** The live connection that owns a token, if any. */
  owner(token: string): Connection<Session> | undefined {
    const connection = this.owners.get(token);
    return connection && !connection.closed && connection.session.state === 'authenticated' ? connection : undefined;
  }

  /** Tokens whose owner socket is open on this node. */
  *ownedTokens(): Iterable<string> {
    for (const token of this.owners.keys()) if (this.owner(token)) yield token;
  }

  tokenRegistered(connection: Connection<Session>, registration: PushRegistration, message: DeviceRegistration): void {
    const session = connection.session;
    if (!this.withinRate(connection)) {
      this.refuse(connection, frames.PUSH_TOKENRATE, () =>
        `push token ${maskToken(message.token)} refused (TOKENRATE): connection #${connection.id} sent more than ${this.maxTokenFrames} token frames in a minute (fcm.max_token_frames)`,
      );
      return;
    }
    // The frame's lists win; else the lists this connection set explicitly; else keep what is stored
    // (a zmNinja token frame usually has no lists and must not clear the stored filter).
    const lists = message.monlist !== undefined ? { monlist: message.monlist, intlist: message.intlist ?? '' } : session.lists;
    const result = this.store.tryRegister({
      token: message.token,
      platform: message.platform,
      state: message.state,
      monlist: lists?.monlist,
      intlist: lists?.intlist,
      profile: message.profile,
      appversion: session.appVersion,
      clientKind: session.clientKind,
      zmUser: session.user?.via === 'auth-disabled' ? undefined : session.user?.name,
    });
    if (!result.ok) {
      if (result.reason === 'invalid') {
        // Nothing the protocol has a reason code for (the parser refuses empty tokens first).
        this.log.warn(`connection #${connection.id}: ${result.detail}`);
        this.restore(connection);
        return;
      }
      this.refuse(connection, REFUSAL_FRAMES[result.reason], () => `connection #${connection.id}: ${result.detail}`);
      return;
    }
    const record = result.record;
    session.push = registration;
    this.accepted.set(connection, registration);
    // The stored lists are now this connection's filter, so WebSocket and push decide alike.
    session.filter = tokenFilter(record);
    const previous = this.owners.get(message.token);
    this.owners.set(message.token, connection);
    if (previous && previous !== connection && !previous.closed) {
      this.log.debug(() => `push token ${maskToken(message.token)} moved from connection #${previous.id} to #${connection.id}; #${previous.id} gets no more alarms`);
    }
  }

  filterChanged(connection: Connection<Session>, lists: { monlist: string; intlist: string }): void {
    const token = connection.session.push?.token;
    if (token && this.owners.get(token) === connection) this.store.setFilter(token, lists.monlist, lists.intlist);
  }

  badgeSet(connection: Connection<Session>, badge: number, topLevelToken: string | undefined): void {
    const token = connection.session.push?.token ?? topLevelToken;
    if (token) this.store.setBadge(token, badge);
  }

  /** A re-authentication clears the connection's token association (protocol.md §2). */
  authenticated(connection: Connection<Session>): void {
    this.release(connection);
  }

  closed(connection: Connection<Session>): void {
    this.release(connection);
    this.recentFrames.delete(connection);
  }

  /**
   * The frame the WebSocket channel sends: nothing to a superseded duplicate socket; nothing to
   * an owner whose device gets this alarm by push (the FCM channel sends the supplementary copy
   * after the push); the normal frame otherwise, including to owners with pushes disabled
   * (classic defect #4) and when the hook rules block FCM but allow the WebSocket (#5).
   */
  chooseFrame = (connection: Connection<Session>, notification: Notification): FrameChoice => {
    const registration = connection.session.push;
    if (!registration) return 'normal';
    if (this.owners.get(registration.token) !== connection) return 'none';
    const record = this.store.get(registration.token);
    if (!record || record.pushstate === 'disabled' || !this.pushActive || !notification.channels.has('fcm')) return 'normal';
    return 'none';
  };

  /**
   * The other half of the one-alert rule, after the FCM channel tried the device: its open
   * socket gets the `supplementary` copy when the push went out (the app de-duplicates it), the
   * normal alarm when the push failed or was skipped, so the phone is alerted exactly once.
   */
  afterPush(token: string, notification: Notification, pushed: boolean): void {
    const owner = this.owner(token);
    if (owner) sendAlarm(owner, notification, pushed ? 'supplementary' : 'normal');
  }

  /** Interval state of devices with a token lives with the token, persisted; the rest in memory. */
  lastSentStore(memory: LastSentStore): LastSentStore {
    return {
      get: (key, monitorId) => (key.startsWith(TOKEN_KEY) ? this.store.lastSent(key.slice(TOKEN_KEY.length), monitorId) : memory.get(key, monitorId)),
      set: (key, monitorId, at) => {
        if (key.startsWith(TOKEN_KEY)) this.store.recordSent(key.slice(TOKEN_KEY.length), monitorId, at);
        else memory.set(key, monitorId, at);
      },
      forget: (key) => {
        if (!key.startsWith(TOKEN_KEY)) memory.forget(key);
      },
    };
  }

  private release(connection: Connection<Session>): void {
    for (const [token, owner] of this.owners) if (owner === connection) this.owners.delete(token);
    this.accepted.delete(connection);
  }

  /** Sliding one-minute window; only frames let through count, so a client that keeps flooding recovers a minute after it stops. */
  private withinRate(connection: Connection<Session>): boolean {
    const now = this.clock.now();
    const times = (this.recentFrames.get(connection) ?? []).filter((at) => now - at < RATE_WINDOW_MS);
    if (times.length >= this.maxTokenFrames) {
      this.recentFrames.set(connection, times);
      return false;
    }
    times.push(now);
    this.recentFrames.set(connection, times);
    this.rateWarned.delete(connection);
    return true;
  }

  /**
   * Answers a refused token frame and undoes what the session layer recorded for it: the
   * connection goes back to the registration it had before (or none), so it neither owns nor is
   * silenced for a token the store refused, and its interval state is not keyed by that token.
   */
  private refuse(connection: Connection<Session>, frame: string, describe: () => string): void {
    connection.send(frame);
    const rate = frame === frames.PUSH_TOKENRATE;
    if (!rate || !this.rateWarned.has(connection)) this.log.warn(describe());
    else this.log.debug(describe);
    if (rate) this.rateWarned.add(connection);
    this.restore(connection);
  }

  private restore(connection: Connection<Session>): void {
    const session = connection.session;
    const before = this.accepted.get(connection);
    const owned = before !== undefined && this.owners.get(before.token) === connection ? before : undefined;
    session.push = owned;
    // Lists in the refused frame were applied to the session already; an owner keeps deciding
    // like its stored token instead.
    const record = owned && this.store.get(owned.token);
    if (record) session.filter = tokenFilter(record);
  }
}

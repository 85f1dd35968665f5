/**
 * Ties WebSocket sessions to the persistent token registry (protocol.md §2, §8): registrations,
 * filter and badge changes go to the store; the newest connection that registered a token owns
 * it, older duplicate sockets of the same phone stay open but are silenced; and for each alarm it
 * tells the WebSocket channel which frame a connection gets.
 */
import type { Logger } from '../log/logger.js';
import { maskToken } from '../log/logger.js';
import type { Connection } from '../ws/connection.js';
import type { Session } from '../ws/session.js';
import type { PushTokenMessage } from '../ws/protocol.js';
import type { SessionListener } from '../ws/session-handler.js';
import type { FrameChoice } from '../notify/channels/ws-channel.js';
import type { LastSentStore } from '../notify/throttle.js';
import type { Notification } from '../notify/types.js';
import { tokenFilter, type TokenStore } from '../tokens/token-store.js';

const TOKEN_KEY = 'token:';

export class PushDevices implements SessionListener {
  private readonly owners = new Map<string, Connection<Session>>();

  constructor(
    private readonly store: TokenStore,
    /** Whether pushes can be sent at all (FCM enabled and a sender configured). */
    private readonly pushActive: boolean,
    private readonly log: Logger,
  ) {}

  /** The live connection that owns a token, if any. */
  owner(token: string): Connection<Session> | undefined {
    const connection = this.owners.get(token);
    return connection && !connection.closed && connection.session.state === 'authenticated' ? connection : undefined;
  }

  tokenRegistered(connection: Connection<Session>, _registration: unknown, message: PushTokenMessage): void {
    const session = connection.session;
    // The frame's lists win; else the lists this connection set explicitly; else keep what is stored
    // (a zmNinja token frame usually has no lists and must not clear the stored filter).
    const lists = message.monlist !== undefined ? { monlist: message.monlist, intlist: message.intlist ?? '' } : session.lists;
    const record = this.store.register({
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
    if (!record) return;
    // The stored lists are now this connection's filter, so WebSocket and push decide alike.
    session.filter = tokenFilter(record);
    const previous = this.owners.get(message.token);
    this.owners.set(message.token, connection);
    if (previous && previous !== connection && !previous.closed) {
      this.log.info(`push token ${maskToken(message.token)} moved from connection #${previous.id} to #${connection.id}; #${previous.id} gets no more alarms`);
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
  }
}

import type { Clock } from '../clock.js';
import type { Logger } from '../log/logger.js';
import { maskToken } from '../log/logger.js';
import { Authenticator, type AuthOutcome } from '../zm/auth/authenticator.js';
import type { LoginLimiter } from '../zm/auth/login-limiter.js';
import type { Connection } from './connection.js';
import type { Pacer } from '../pacer.js';
import type { ConnectionHandler } from './server.js';
import { newSession, type PushRegistration, type Session } from './session.js';
import { clientKindFromSignals, mergeSignals, parseClientFrame, type AuthMessage, type ClientMessage, type EscontrolAuthMessage, type EscontrolMessage, type PushTokenMessage } from './protocol.js';
import { parseMonitorFilter } from '../domain/monitor-filter.js';
import type { DeviceRegistration } from '../domain/device.js';
import { type JsonObject } from '../domain/json.js';
import * as frames from './frames.js';

export interface SessionHandlerOptions {
  authEnabled: boolean;
  /** Seconds a connection may stay without a successful auth. */
  authTimeoutSec: number;
  pushEnabled: boolean;
  escontrolEnabled: boolean;
  maxFrameBytes: number;
}

/** Hooks for the modules that build on sessions (push registry, fan-out). */
export interface SessionListener {
  authenticated?(connection: Connection<Session>): void;
  tokenRegistered?(connection: Connection<Session>, registration: PushRegistration, message: DeviceRegistration): void;
  badgeSet?(connection: Connection<Session>, badge: number, topLevelToken: string | undefined): void;
  filterChanged?(connection: Connection<Session>, lists: { monlist: string; intlist: string }): void;
  closed?(connection: Connection<Session>): void;
}

/** The admin (escontrol) interface as the protocol layer uses it; src/escontrol implements it. */
export interface AdminInterface {
  /** Whether `password` is the admin password; `unconfigured` when none is set. Constant time. */
  checkPassword(password: string | undefined): 'ok' | 'bad' | 'unconfigured';
  /** Runs one command (`data` of the frame); `reply` goes to the admin, then `after` runs (restart). */
  execute(request: JsonObject, who: string): { readonly reply: string; readonly after?: () => void };
}

/** Frames a client may send behind an unanswered auth frame; both apps send at most two. */
const MAX_QUEUED_FRAMES = 16;

/** Close codes: 1008 policy (bad or missing auth), 1011 server error, 1013 try again later. */
const CLOSE_POLICY = 1008;
const CLOSE_SERVER_ERROR = 1011;
const CLOSE_TRY_LATER = 1013;

/**
 * The zmNinja protocol on top of the raw connections: pending auth → authenticated, the
 * auth timeout, brute-force limiting, and the replies of protocol.md §4 for every frame.
 */
export class SessionHandler implements ConnectionHandler<Session> {
  private readonly listeners: SessionListener[] = [];
  private admin: AdminInterface | undefined;

  constructor(
    private readonly options: SessionHandlerOptions,
    private readonly authenticator: Authenticator,
    private readonly limiter: LoginLimiter,
    private readonly clock: Clock,
    private readonly log: Logger,
    /**
     * Where the work after a login runs. Logins that wait on one password check (a household's
     * phones reconnecting after a restart: hundreds of logins, a few accounts) all resume when
     * it ends; the pacer spreads what they then do over loop turns instead of one long stall.
     */
    private readonly pacer: Pick<Pacer, 'run'> = { run: (task) => task(false) },
  ) {}

  /**
   * Plugs in the escontrol admin interface (used only when `escontrolEnabled`); without it,
   * admin logins are refused as if the interface were off.
   */
  setAdminInterface(admin: AdminInterface): void {
    this.admin = admin;
  }

  /** Returns a disposer. */
  addListener(listener: SessionListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  createSession(): Session {
    return newSession();
  }

  onOpen(connection: Connection<Session>): void {
    const via = connection.viaProxy
      ? ` via proxy ${connection.peerAddress}`
      : connection.forwardedFor
        ? ` (X-Forwarded-For ${connection.forwardedFor}, not from a trusted proxy)`
        : '';
    this.log.debug(() => `connection #${connection.id} from ${connection.remoteAddress}${via}`);
    connection.session.authTimer = this.clock.setTimeout(() => this.authTimedOut(connection), this.options.authTimeoutSec * 1000);
  }

  onClose(connection: Connection<Session>, code: number, reason: string): void {
    const session = connection.session;
    session.authTimer?.cancel();
    const who = session.user ? ` (user ${session.user.name})` : session.state === 'admin' ? ' (escontrol admin)' : '';
    // Only logins get an info line for their end, as for their start: probes and failures stay at debug.
    const line = `connection #${connection.id} from ${connection.remoteAddress}${who} closed (${code}${reason ? ` ${reason}` : ''})`;
    if (session.user || session.state === 'admin') this.log.info(line);
    else this.log.debug(() => line);
    this.emit((l) => l.closed?.(connection));
  }

  onMessage(connection: Connection<Session>, text: string, isBinary: boolean): void {
    const session = connection.session;
    if (session.state === 'closing') return;
    if (isBinary) {
      this.log.debug(() => `connection #${connection.id}: binary frame refused (BADJSON)`);
      connection.send(frames.MALFORMED_BADJSON);
      return;
    }
    const parsed = parseClientFrame(text, { maxBytes: this.options.maxFrameBytes });
    if (!parsed.ok) {
      this.log.debug(() => `connection #${connection.id} from ${connection.remoteAddress}: malformed frame (${parsed.error.cause}: ${parsed.error.detail})`);
      connection.send(frames.MALFORMED_BADJSON);
      return;
    }
    const message = parsed.value;
    session.signals = mergeSignals(session.signals, message.signals);
    // The classic server handles a connection's frames strictly in order: a frame sent right
    // after `auth` waits for the auth result instead of being refused as unauthenticated.
    if (session.state === 'authenticating') {
      if (session.queued.length < MAX_QUEUED_FRAMES) session.queued.push(message);
      else {
        this.log.debug(() => `connection #${connection.id}: more than ${MAX_QUEUED_FRAMES} frames while its login is checked; ${describeMessage(message)} refused`);
        const refusal = this.notAuthenticatedReply(message);
        if (refusal) connection.send(refusal);
      }
      return;
    }
    this.route(connection, message);
  }

  /** Handles the frames queued behind an auth frame, until one of them starts another login. */
  private handleQueued(connection: Connection<Session>): void {
    const session = connection.session;
    while (session.queued.length > 0 && session.state !== 'authenticating' && session.state !== 'closing' && !connection.closed) {
      this.route(connection, session.queued.shift()!);
    }
  }

  /** What a frame gets when its connection is not logged in (and what queued frames get after a failed login). */
  private notAuthenticatedReply(message: ClientMessage): string | undefined {
    const event = message.kind === 'rejected' ? message.event : message.kind.split('-')[0];
    if (event === 'push') return this.options.pushEnabled ? frames.PUSH_NOAUTH : frames.PUSH_PUSHDISABLED;
    if (message.kind === 'control-version') return frames.VERSION_REPLY;
    if (event === 'control') return frames.FILTER_NOAUTH;
    return undefined;
  }

  private route(connection: Connection<Session>, message: ClientMessage): void {
    const session = connection.session;
    const authed = session.state === 'authenticated';
    switch (message.kind) {
      case 'auth':
        void this.authenticate(connection, message);
        return;
      case 'auth-escontrol':
        this.authenticateAdmin(connection, message);
        return;
      case 'control-version':
        connection.send(frames.VERSION_REPLY);
        return;
      case 'control-filter': {
        if (!authed) {
          connection.send(frames.FILTER_NOAUTH);
          return;
        }
        const { filter, warnings } = parseMonitorFilter(message.monlist, message.intlist);
        for (const warning of warnings) this.log.debug(() => `connection #${connection.id}: ${warning}`);
        session.filter = filter;
        session.lists = { monlist: message.monlist, intlist: message.intlist };
        this.log.debug(() => `connection #${connection.id}: filter monlist="${message.monlist}" intlist="${message.intlist}"`);
        this.emit((l) => l.filterChanged?.(connection, { monlist: message.monlist, intlist: message.intlist }));
        return;
      }
      case 'control-unknown':
        this.log.debug(() => `connection #${connection.id}: unknown control type "${message.subtype}" ignored`);
        return;
      case 'push-token':
      case 'push-badge':
      case 'push-unknown':
        if (!this.pushAllowed(connection, authed)) return;
        if (message.kind === 'push-token') this.registerToken(connection, message);
        else if (message.kind === 'push-badge') {
          session.badge = message.badge;
          this.emit((l) => l.badgeSet?.(connection, message.badge, message.topLevelToken));
        } else this.log.debug(() => `connection #${connection.id}: unknown push type "${message.subtype}" ignored`);
        return;
      case 'escontrol':
        if (this.escontrolRefused(connection)) return;
        this.runAdminCommand(connection, message);
        return;
      case 'unsupported':
        this.log.debug(() => `connection #${connection.id}: unsupported event "${message.echo}"`);
        connection.send(frames.notSupportedFrame(message.echo));
        return;
      case 'rejected': {
        if (message.event === 'push' && !this.pushAllowed(connection, authed)) return;
        if (message.event === 'control' && !authed) {
          connection.send(frames.FILTER_NOAUTH);
          return;
        }
        if (message.event === 'escontrol' && this.escontrolRefused(connection)) return;
        this.log.debug(() => `connection #${connection.id}: ${message.event}/${message.type} refused (${message.reason}: ${message.detail})`);
        const reply = frames.rejectionFrame(message.reason);
        if (reply) connection.send(reply);
        return;
      }
    }
  }

  /** ESCONTROLDISABLED when the interface is off, else NOTCONTROL unless this is an admin connection. */
  private escontrolRefused(connection: Connection<Session>): boolean {
    if (!this.options.escontrolEnabled || this.admin === undefined) {
      connection.send(frames.ESCONTROL_DISABLED);
      return true;
    }
    if (connection.session.state !== 'admin') {
      this.log.debug(() => `connection #${connection.id}: escontrol command from a connection not logged in as admin (NOTCONTROL)`);
      connection.send(frames.ESCONTROL_NOTCONTROL);
      return true;
    }
    return false;
  }

  private runAdminCommand(connection: Connection<Session>, message: EscontrolMessage): void {
    const admin = this.admin;
    if (admin === undefined) return;
    const { reply, after } = admin.execute(message.data, `connection #${connection.id} from ${connection.remoteAddress}`);
    connection.send(reply);
    // On the next tick, so the reply is queued before a restart closes the socket (uWS flushes in order).
    if (after) this.clock.setTimeout(after, 0);
  }

  /**
   * The escontrol login (protocol.md §3.3): the admin password, compared in constant time, with
   * failures counted in the same login limiter as normal logins. An admin connection gets
   * the normal success frame but no `user`, so no channel ever treats it as a recipient.
   */
  private authenticateAdmin(connection: Connection<Session>, message: EscontrolAuthMessage): void {
    const session = connection.session;
    const remote = connection.remoteAddress;
    if (!this.options.escontrolEnabled || this.admin === undefined) {
      this.log.info(
        `connection #${connection.id} from ${remote}: escontrol login refused (${this.options.escontrolEnabled ? 'admin interface not available' : 'general.use_escontrol_interface is off'})`,
      );
      connection.send(frames.AUTH_ESCONTROLDISABLED);
      return;
    }
    // A pseudo-user of its own: admin guesses do not use up a ZoneMinder user's allowance, nor the reverse.
    const limiterUser = 'escontrol admin';
    const verdict = this.limiter.check(remote, limiterUser);
    if (!verdict.allowed) {
      this.log.warn(
        `too many failed logins from ${remote} for the escontrol admin (${verdict.detail}); refusing connection #${connection.id} for ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
      );
      this.closeWith(connection, undefined, CLOSE_TRY_LATER, 'too many failed logins');
      return;
    }
    const outcome = this.admin.checkPassword(message.password);
    if (outcome === 'unconfigured') {
      this.log.warn(
        `escontrol login from ${remote} refused on connection #${connection.id}: general.escontrol_interface_password is not set (set it to use the admin interface)`,
      );
      this.closeWith(connection, frames.AUTH_BADAUTH, CLOSE_POLICY, 'authentication failed');
      return;
    }
    if (outcome === 'bad') {
      const failures = this.limiter.recordFailure(remote, limiterUser);
      this.log.warn(`bad escontrol password from ${remote} on connection #${connection.id} (${failures.pair} recent failures)`);
      this.closeWith(connection, frames.AUTH_BADAUTH, CLOSE_POLICY, 'authentication failed');
      return;
    }
    this.limiter.recordSuccess(remote, limiterUser);
    session.authTimer?.cancel();
    session.authTimer = undefined;
    session.state = 'admin';
    session.user = undefined;
    session.push = undefined;
    connection.send(frames.AUTH_SUCCESS);
    this.log.info(`escontrol admin login from ${remote} on connection #${connection.id}`);
  }

  /** PUSHDISABLED is checked first, then authentication (protocol.md §4). */
  private pushAllowed(connection: Connection<Session>, authed: boolean): boolean {
    if (!this.options.pushEnabled) {
      connection.send(frames.PUSH_PUSHDISABLED);
      return false;
    }
    if (!authed) {
      connection.send(frames.PUSH_NOAUTH);
      return false;
    }
    return true;
  }

  private registerToken(connection: Connection<Session>, message: PushTokenMessage): void {
    const session = connection.session;
    if (message.monlist !== undefined) {
      const { filter, warnings } = parseMonitorFilter(message.monlist, message.intlist);
      for (const warning of warnings) this.log.debug(() => `connection #${connection.id}: ${warning}`);
      session.filter = filter;
      session.lists = { monlist: message.monlist, intlist: message.intlist ?? '' };
    }
    const registration: PushRegistration = {
      token: message.token,
      platform: message.platform,
      state: message.state,
      profile: message.profile,
    };
    session.push = registration;
    session.clientKind = clientKindFromSignals(session.signals);
    this.emit((l) => l.tokenRegistered?.(connection, registration, message));
    // The push layer puts the session back when it refuses a registration (quota, rate).
    if (session.push === registration) {
      this.log.debug(() =>
        `connection #${connection.id}: push token ${maskToken(message.token)} registered (${message.platform}, ${message.state}${message.profile ? `, profile ${message.profile}` : ''})`,
      );
    }
  }

  private async authenticate(connection: Connection<Session>, message: AuthMessage): Promise<void> {
    const session = connection.session;
    const remote = connection.remoteAddress;
    const verdict = this.limiter.check(remote, message.user);
    if (!verdict.allowed) {
      this.log.warn(
        `too many failed logins from ${remote} for user "${sanitiseUser(message.user)}" (${verdict.detail}); refusing connection #${connection.id} for ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
      );
      this.closeWith(connection, undefined, CLOSE_TRY_LATER, 'too many failed logins');
      return;
    }
    const wasAuthenticated = session.state === 'authenticated';
    session.state = 'authenticating';
    let outcome: AuthOutcome;
    if (!this.options.authEnabled) outcome = { ok: true, user: Authenticator.anonymous(message.user), cached: false };
    else outcome = await this.authenticator.authenticate(message.user, message.password);
    this.pacer.run(() => this.authenticated(connection, message, outcome, wasAuthenticated));
  }

  private authenticated(connection: Connection<Session>, message: AuthMessage, outcome: AuthOutcome, wasAuthenticated: boolean): void {
    if (connection.closed) return;
    const session = connection.session;
    const remote = connection.remoteAddress;

    if (!outcome.ok) {
      if (outcome.reason === 'unavailable') {
        // Not the client's fault: a Fail would make zmNinjaNg stop reconnecting for good.
        this.log.warn(`cannot check credentials of connection #${connection.id} from ${remote}: ${outcome.detail}; closing so the app retries`);
        session.state = wasAuthenticated ? 'authenticated' : 'pending';
        this.closeWith(connection, undefined, CLOSE_SERVER_ERROR, 'authentication unavailable');
        return;
      }
      const failures = this.limiter.recordFailure(remote, message.user);
      this.log.warn(
        `bad authentication from ${remote} for user "${sanitiseUser(message.user)}" on connection #${connection.id}: ${outcome.detail} (${failures.pair} recent failures)`,
      );
      const refusals = session.queued.splice(0).flatMap((queued) => this.notAuthenticatedReply(queued) ?? []);
      this.closeWith(connection, frames.AUTH_BADAUTH, CLOSE_POLICY, 'authentication failed', refusals);
      return;
    }

    this.limiter.recordSuccess(remote, message.user);
    session.authTimer?.cancel();
    session.authTimer = undefined;
    session.state = 'authenticated';
    session.user = outcome.user;
    session.appVersion = message.appversion ?? 'unknown';
    session.clientKind = clientKindFromSignals(session.signals);
    // A successful auth resets the filter to the frame's lists and clears the token association (§2).
    const { filter, warnings } = parseMonitorFilter(message.monlist, message.intlist);
    for (const warning of warnings) this.log.debug(() => `connection #${connection.id}: ${warning}`);
    session.filter = filter;
    session.lists = message.monlist === undefined ? undefined : { monlist: message.monlist, intlist: message.intlist ?? '' };
    session.push = undefined;
    connection.send(frames.AUTH_SUCCESS);
    if (outcome.ok && 'warning' in outcome && outcome.warning) this.log.warn(`user ${outcome.user.name}: ${outcome.warning}`);
    const visibility = outcome.user.visibility.kind === 'none' ? ', no monitor permitted' : '';
    this.log.info(
      `authentication OK for user ${outcome.user.name} from ${remote} on connection #${connection.id} (${describeClient(session)}${outcome.cached ? ', cached' : ''}${visibility})`,
    );
    this.emit((l) => l.authenticated?.(connection));
    this.handleQueued(connection);
  }

  private authTimedOut(connection: Connection<Session>): void {
    const session = connection.session;
    session.authTimer = undefined;
    if (connection.closed || session.state === 'authenticated' || session.state === 'admin' || session.state === 'closing') return;
    this.log.debug(() => `connection #${connection.id} from ${connection.remoteAddress}: no authentication within ${this.options.authTimeoutSec} s`);
    this.closeWith(connection, frames.AUTH_NOAUTH, CLOSE_POLICY, 'authentication timeout');
  }

  /** Sends the last frame (if any), then a close frame after it: uWS flushes in order. */
  private closeWith(connection: Connection<Session>, lastFrame: string | undefined, code: number, reason: string, after: readonly string[] = []): void {
    connection.session.state = 'closing';
    connection.session.authTimer?.cancel();
    connection.session.queued.length = 0;
    connection.cork(() => {
      if (lastFrame) connection.send(lastFrame);
      for (const frame of after) connection.send(frame);
      connection.end(code, reason);
    });
  }

  private emit(fn: (listener: SessionListener) => void): void {
    for (const listener of this.listeners) {
      try {
        fn(listener);
      } catch (err) {
        this.log.error(`session listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

function describeMessage(message: ClientMessage): string {
  return message.kind === 'rejected' ? `${message.event}/${message.type} frame` : `${message.kind} frame`;
}

function describeClient(session: Session): string {
  const kind = session.clientKind === 'zmninja' ? 'zmNinja' : session.clientKind === 'zmninjang' ? 'zmNinjaNg' : 'client';
  return `${kind} ${session.appVersion}`;
}

/** Usernames are client input: keep log lines on one line and short. */
function sanitiseUser(user: string | undefined): string {
  return (user ?? '').replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}

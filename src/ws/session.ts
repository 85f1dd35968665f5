import type { Timer } from '../clock.js';
import type { AuthenticatedUser } from '../zm/auth/authenticator.js';
import type { ClientMessage, ClientSignals } from './protocol.js';
import type { ClientKind } from '../domain/device.js';
import type { MonitorFilter } from '../domain/monitor-filter.js';
import { NO_SIGNALS } from './protocol.js';
import { ALL_MONITORS } from '../domain/monitor-filter.js';

/** A push registration made on this connection (persistence and delivery: push issue). */
export interface PushRegistration {
  readonly token: string;
  readonly platform: string;
  readonly state: 'enabled' | 'disabled';
  readonly profile: string | undefined;
}

export type SessionState =
  /** Connected, no auth frame handled yet. */
  | 'pending'
  /** An auth frame is being checked (DB, bcrypt). */
  | 'authenticating'
  | 'authenticated'
  /**
   * Logged in with the escontrol admin password: may run admin commands, is no notification
   * recipient (its `user` stays undefined) and may not register push tokens or filters.
   */
  | 'admin'
  /** Told to go away (bad auth, timeout); frames are ignored until the socket closes. */
  | 'closing';

/** Per-connection protocol state; lives in the uWS user data through Connection. */
export interface Session {
  state: SessionState;
  user: AuthenticatedUser | undefined;
  /** The connection's monitor filter and intervals (monlist/intlist). */
  filter: MonitorFilter;
  /** The raw lists behind `filter` when a frame set them explicitly (auth with lists, filter frame). */
  lists: { readonly monlist: string; readonly intlist: string } | undefined;
  appVersion: string;
  signals: ClientSignals;
  clientKind: ClientKind;
  push: PushRegistration | undefined;
  badge: number;
  authTimer: Timer | undefined;
  /** Frames that arrived while an auth frame was being checked, handled in order after it. */
  queued: ClientMessage[];
}

export function newSession(): Session {
  return {
    state: 'pending',
    user: undefined,
    filter: ALL_MONITORS,
    lists: undefined,
    appVersion: 'unknown',
    signals: NO_SIGNALS,
    clientKind: 'unknown',
    push: undefined,
    badge: 0,
    authTimer: undefined,
    queued: [],
  };
}

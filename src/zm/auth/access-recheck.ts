import type { Clock, Timer } from '../../clock.js';
import { errorMessage } from '../../errors.js';
import type { Service } from '../../lifecycle.js';
import type { Logger } from '../../log/logger.js';
import type { CurrentAccess } from './access-review.js';
import type { StoredUser } from './authenticator.js';
import { VISIBLE_ALL, VISIBLE_NONE, type MonitorVisibility } from './permissions.js';

/** The batched reads the re-check needs (ZmUserDirectory implements them). */
export interface AccessDirectory {
  findUsers(usernames: readonly string[]): Promise<Map<string, StoredUser>>;
  visibilities(users: readonly StoredUser[]): Promise<Map<number, MonitorVisibility>>;
}

export interface AccessRecheckOptions {
  /** With auth off there is nothing to re-check and every device sees every monitor. */
  readonly authEnabled: boolean;
  readonly intervalMs: number;
}

/** ZoneMinder's answer per user name: `null` when no such user exists. */
export type AccessSnapshot = ReadonlyMap<string, CurrentAccess | null>;

interface Entry {
  readonly access: CurrentAccess | null;
  readonly at: number;
}

/**
 * Keeps what zmes acts on in step with ZoneMinder's Users and permission tables. Every
 * interval it reads all users in use (logged-in sockets and push-token owners) in one batch,
 * a fixed number of queries whatever the number of sockets, and hands the result to its
 * listeners (the WebSocket side closes or narrows sockets). Pushes ask `visibilityOf`, which
 * answers from that batch while it is fresh and fails closed when it is not and the database
 * cannot be asked.
 */
export class AccessRecheck implements Service {
  readonly name = 'access re-check';
  private readonly entries = new Map<string, Entry>();
  private readonly listeners: Array<(snapshot: AccessSnapshot) => void> = [];
  private timer: Timer | undefined;
  private running: Promise<AccessSnapshot | undefined> | undefined;
  private outageSince: number | undefined;

  constructor(
    private readonly directory: AccessDirectory,
    private readonly options: AccessRecheckOptions,
    /** User names whose access matters now (may repeat). */
    private readonly usersInUse: () => Iterable<string>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** An answer older than this is not trusted for a push: two missed re-checks. */
  private get freshnessMs(): number {
    return 2 * this.options.intervalMs;
  }

  onChecked(listener: (snapshot: AccessSnapshot) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  async start(): Promise<void> {
    if (!this.options.authEnabled) return;
    this.timer ??= this.clock.setInterval(() => void this.checkNow(), this.options.intervalMs);
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  /**
   * One re-check of every user in use; concurrent callers share the one under way. Resolves to
   * the snapshot handed to the listeners, or undefined when the database could not answer.
   */
  checkNow(): Promise<AccessSnapshot | undefined> {
    this.running ??= this.recheck().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * The monitors a push to a device registered by `username` may cover. Tokens without a
   * ZoneMinder user (classic token files) and auth turned off see everything, as before.
   */
  visibilityOf = async (username: string | undefined): Promise<MonitorVisibility> => {
    if (!this.options.authEnabled || username === undefined) return VISIBLE_ALL;
    const now = this.clock.now();
    const entry = this.entries.get(username);
    if (entry && now - entry.at <= this.freshnessMs) return visibleFor(entry.access);
    try {
      const snapshot = await this.load([username]);
      this.recovered();
      return visibleFor(snapshot.get(username) ?? null);
    } catch (err) {
      this.failed(err);
      return VISIBLE_NONE;
    }
  };

  private async recheck(): Promise<AccessSnapshot | undefined> {
    const names = [...new Set(this.usersInUse())];
    let snapshot: Map<string, CurrentAccess | null>;
    try {
      snapshot = await this.load(names);
      this.recovered();
    } catch (err) {
      this.failed(err);
      return undefined;
    }
    // Users nobody uses any more need no answer kept.
    for (const name of this.entries.keys()) if (!snapshot.has(name)) this.entries.delete(name);
    for (const listener of this.listeners) {
      try {
        listener(snapshot);
      } catch (err) {
        this.log.error(`applying the access re-check failed: ${errorMessage(err)}`);
      }
    }
    return snapshot;
  }

  private async load(names: readonly string[]): Promise<Map<string, CurrentAccess | null>> {
    const users = await this.directory.findUsers(names);
    const visibilities = await this.directory.visibilities([...new Set(users.values())]);
    const at = this.clock.now();
    const snapshot = new Map<string, CurrentAccess | null>();
    for (const name of names) {
      const user = users.get(name);
      // A user whose visibility could not be computed is treated as seeing nothing.
      const access = user ? { user, visibility: visibilities.get(user.id) ?? VISIBLE_NONE } : null;
      snapshot.set(name, access);
      this.entries.set(name, { access, at });
    }
    return snapshot;
  }

  private failed(err: unknown): void {
    if (this.outageSince !== undefined) return;
    this.outageSince = this.clock.now();
    this.log.warn(
      `cannot re-check ZoneMinder users (${errorMessage(err)}); open connections keep their access, ` +
        `pushes to devices of ZoneMinder users stop once the last answer is ${Math.round(this.freshnessMs / 1000)} s old, until the database answers`,
    );
  }

  private recovered(): void {
    if (this.outageSince === undefined) return;
    const seconds = Math.round((this.clock.now() - this.outageSince) / 1000);
    this.outageSince = undefined;
    this.log.info(`ZoneMinder users can be re-checked again (after ${seconds} s)`);
  }
}

function visibleFor(access: CurrentAccess | null): MonitorVisibility {
  if (access === null || !access.user.enabled) return VISIBLE_NONE;
  return access.visibility;
}

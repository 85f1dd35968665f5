import type { Clock } from '../../clock.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { UserDirectory } from './authenticator.js';
import { VISIBLE_ALL, VISIBLE_NONE, type MonitorVisibility } from './permissions.js';

/**
 * The monitor permissions of a ZoneMinder user by name, for devices that get pushes while no
 * socket of theirs is open. Cached briefly; a user who was deleted or disabled in ZoneMinder
 * sees nothing. Tokens from the classic server carry no user: their filter alone decides.
 */
export class UserVisibility {
  private readonly cache = new Map<string, { visibility: MonitorVisibility; expiresAt: number }>();

  constructor(
    private readonly users: UserDirectory,
    private readonly authEnabled: boolean,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly log: Logger,
    private readonly ttlMs = 60_000,
  ) {}

  of = async (username: string | undefined): Promise<MonitorVisibility> => {
    if (!this.authEnabled || username === undefined) return VISIBLE_ALL;
    const now = this.clock.now();
    const cached = this.cache.get(username);
    if (cached && cached.expiresAt > now) return cached.visibility;
    try {
      const user = await this.users.findUser(username);
      const visibility = user && user.enabled ? await this.users.visibility(user) : VISIBLE_NONE;
      this.cache.set(username, { visibility, expiresAt: now + this.ttlMs });
      return visibility;
    } catch (err) {
      // Keep the last known answer through a database hiccup; without one, send nothing.
      this.log.warn(`cannot read the permissions of ZoneMinder user ${username}: ${errorMessage(err)}`);
      return cached?.visibility ?? VISIBLE_NONE;
    }
  };
}

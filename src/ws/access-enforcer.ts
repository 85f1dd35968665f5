import type { Logger } from '../log/logger.js';
import type { AccessSnapshot } from '../zm/auth/access-recheck.js';
import { describeVisibility, reviewAccess } from '../zm/auth/access-review.js';
import type { Connection } from './connection.js';
import type { Session } from './session.js';

/** Policy violation: the same code a failed login closes with. */
const CLOSE_POLICY = 1008;

export interface EnforcementStats {
  revoked: number;
  updated: number;
}

/**
 * Applies an access re-check to the open sockets: a socket whose user ZoneMinder no longer
 * lets in is closed with the reason (the app reconnects, and its next login tells it the
 * truth); one whose monitor permissions changed carries on with the new ones at once.
 */
export function enforceAccess(
  connections: Iterable<Connection<Session>>,
  snapshot: AccessSnapshot,
  nowSec: number,
  log: Logger,
): EnforcementStats {
  const stats: EnforcementStats = { revoked: 0, updated: 0 };
  for (const connection of connections) {
    const session = connection.session;
    const user = session.user;
    if (session.state !== 'authenticated' || user === undefined || connection.closed) continue;
    const current = snapshot.get(user.name);
    // Logged in after the batch was assembled: the next re-check covers it.
    if (current === undefined) continue;
    const verdict = reviewAccess(user, current, nowSec);
    if (verdict.kind === 'keep') continue;
    if (verdict.kind === 'update') {
      session.user = verdict.user;
      stats.updated++;
      log.info(
        `connection #${connection.id} (user ${user.name}): monitor permissions changed in ZoneMinder, now ${describeVisibility(verdict.user.visibility)}`,
      );
      continue;
    }
    stats.revoked++;
    session.state = 'closing';
    log.warn(`connection #${connection.id} from ${connection.remoteAddress} (user ${user.name}) closed: ${verdict.reason}`);
    connection.end(CLOSE_POLICY, `access revoked: ${verdict.reason}`);
  }
  return stats;
}

import { tokenRevoked } from './api-token.js';
import type { AuthenticatedUser, StoredUser } from './authenticator.js';
import type { MonitorVisibility } from './permissions.js';

/** A user as ZoneMinder has it now: the row and the monitors it may see. */
export interface CurrentAccess {
  readonly user: StoredUser;
  readonly visibility: MonitorVisibility;
}

export type AccessVerdict =
  | { readonly kind: 'keep' }
  /** Still allowed in, but the monitors it may see changed: carry on with this user. */
  | { readonly kind: 'update'; readonly user: AuthenticatedUser }
  | { readonly kind: 'revoke'; readonly reason: string };

const KEEP: AccessVerdict = Object.freeze({ kind: 'keep' });

/**
 * Whether a login granted earlier still holds against ZoneMinder as it is now. Pure, so every
 * way ZoneMinder can withdraw access is pinned by unit tests: deleted or disabled users, a
 * changed password, API access switched off, tokens revoked by TokenMinExpiry or expired, and
 * narrowed (or widened) monitor permissions.
 */
export function reviewAccess(granted: AuthenticatedUser, current: CurrentAccess | null, nowSec: number): AccessVerdict {
  if (granted.via === 'auth-disabled') return KEEP;
  if (current === null) return revoke('user no longer exists in ZoneMinder');
  const { user, visibility } = current;
  if (!user.enabled) return revoke('user disabled in ZoneMinder');
  const basis = granted.basis;
  if (basis?.kind === 'password' && basis.passwordHash !== user.passwordHash) return revoke('password changed in ZoneMinder');
  if (basis?.kind === 'api-token') {
    if (!user.apiEnabled) return revoke('API access disabled in ZoneMinder');
    if (tokenRevoked(basis.issuedAt, user.tokenMinExpiry)) return revoke('API token revoked in ZoneMinder');
    if (basis.expiresAt <= nowSec) return revoke('API token expired');
  }
  if (sameVisibility(granted.visibility, visibility)) return KEEP;
  return { kind: 'update', user: { ...granted, visibility } };
}

function revoke(reason: string): AccessVerdict {
  return { kind: 'revoke', reason };
}

export function sameVisibility(a: MonitorVisibility, b: MonitorVisibility): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind !== 'some' || b.kind !== 'some') return true;
  if (a.ids.size !== b.ids.size) return false;
  for (const id of a.ids) if (!b.ids.has(id)) return false;
  return true;
}

/** For logs: `all monitors`, `no monitor`, `monitors 1,2`. */
export function describeVisibility(visibility: MonitorVisibility): string {
  if (visibility.kind === 'all') return 'all monitors';
  if (visibility.kind === 'none') return 'no monitor';
  return `monitors ${[...visibility.ids].sort((x, y) => x - y).join(',')}`;
}

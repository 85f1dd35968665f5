import type { StoredUser } from '../../src/zm/auth/authenticator.js';

/** A ZoneMinder user row as the directory returns it: enabled, View on events and monitors, all monitors. */
export function storedUser(overrides: Partial<StoredUser> = {}): StoredUser {
  return {
    id: 7,
    username: 'alice',
    passwordHash: 'x',
    enabled: true,
    events: 'View',
    monitors: 'View',
    monitorIds: null,
    roleId: null,
    tokenMinExpiry: null,
    apiEnabled: true,
    ...overrides,
  };
}

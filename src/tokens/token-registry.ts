/**
 * zmes's own token registry (TokenStore) as a push registry: the monthly cap, the badge + 1
 * persisted before the send, the per-monitor last-sent time after it, removal of dead tokens.
 */
import type { PushDevice, PushRegistry } from '../push/push-registry.js';
import { tokenFilter, type TokenRecord, type TokenStore } from './token-store.js';

type TokenRegistryStore = Pick<TokenStore, 'all' | 'tryConsume' | 'nextBadge' | 'recordSent' | 'remove' | 'lastSent'>;

export function tokenStoreRegistry(store: TokenRegistryStore, name = 'token file'): PushRegistry {
  const registry: PushRegistry = {
    name,
    devices: () => Promise.resolve(store.all().map((record) => tokenDevice(record, registry, store))),
    prepare: (device, now) => {
      if (!store.tryConsume(device.token, now)) return Promise.resolve(undefined);
      return Promise.resolve(store.nextBadge(device.token));
    },
    delivered: (device, monitorId, phase, now) => {
      // End notifications never start an interval (protocol.md §6).
      if (phase === 'start') store.recordSent(device.token, monitorId, now);
      return Promise.resolve();
    },
    forget: (device, reason) => {
      store.remove(device.token, reason);
      return Promise.resolve();
    },
  };
  return registry;
}

/** A stored record as a push device (its last-sent times are read live from the store). */
export function tokenDevice(record: TokenRecord, registry: PushRegistry, store: Pick<TokenStore, 'lastSent'>): PushDevice {
  return {
    token: record.token,
    platform: record.platform,
    clientKind: record.clientKind,
    profile: record.profile,
    pushstate: record.pushstate,
    zmUser: record.zmUser,
    filter: tokenFilter(record),
    lastSentAt: (monitorId) => store.lastSent(record.token, monitorId),
    updatedAt: record.registeredAt,
    registry,
  };
}

/**
 * Where the devices to push to come from. zmes's own token registry (the token file, or the
 * cluster database) and ZoneMinder's `Notifications` table are both registries: the FCM channel
 * asks each for its devices, merges them (a token in two registries is pushed once) and does the
 * bookkeeping of every push through the registry the device came from.
 */
import type { ClientKind } from '../domain/device.js';
import type { MonitorFilter } from '../domain/monitor-filter.js';
import type { Phase } from '../domain/notification.js';

export type DevicePushState = 'enabled' | 'disabled';

/** One device as a push sees it, whatever registry holds it. */
export interface PushDevice {
  readonly token: string;
  readonly platform: string;
  readonly clientKind: ClientKind;
  readonly profile: string | undefined;
  readonly pushstate: DevicePushState;
  /** The ZoneMinder user whose monitor permissions apply; undefined = no user (auth off, classic files). */
  readonly zmUser: string | undefined;
  readonly filter: MonitorFilter;
  /** Unix ms of the last push this device got for the monitor (its interval throttle). */
  lastSentAt(monitorId: number): number | undefined;
  /** Unix ms of the device's last registration or change, to choose between two registries. */
  readonly updatedAt: number | undefined;
  readonly registry: PushRegistry;
}

export interface PushRegistry {
  /** For log lines: "token file", "ZoneMinder's Notifications table", "cluster registry". */
  readonly name: string;
  /** The devices now (may read a database; a failure rejects and the caller logs it). */
  devices(): Promise<readonly PushDevice[]>;
  /**
   * Just before the send: counts the push against the device's limits and returns the badge to
   * send (persisted as the registry does it), or undefined when the device must be skipped
   * (monthly cap reached, removed meanwhile).
   */
  prepare(device: PushDevice, now: number): Promise<number | undefined>;
  /** FCM accepted the push: record it for the interval (start notifications) and badge. */
  delivered(device: PushDevice, monitorId: number, phase: Phase, now: number): Promise<void>;
  /** FCM says the token is dead: remove it the way the registry's owner would. */
  forget(device: PushDevice, reason: string): Promise<void>;
}

/**
 * All devices of all registries, one per token: when two registries hold the same token the
 * more recently registered or changed entry wins (the app's latest word); on a tie, or when
 * either time is unknown, the earlier registry in the list.
 */
export function mergeDevices(lists: readonly (readonly PushDevice[])[]): PushDevice[] {
  const byToken = new Map<string, PushDevice>();
  for (const list of lists) {
    for (const device of list) {
      const held = byToken.get(device.token);
      if (held === undefined || (held.updatedAt !== undefined && device.updatedAt !== undefined && device.updatedAt > held.updatedAt)) {
        byToken.set(device.token, device);
      }
    }
  }
  return [...byToken.values()];
}

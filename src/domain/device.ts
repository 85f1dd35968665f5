/** What zmes knows of the app on a device: which app it is, and which push platform it is on. */
export type ClientKind = 'zmninja' | 'zmninjang' | 'unknown';

export function isClientKind(value: string): value is ClientKind {
  return value === 'zmninja' || value === 'zmninjang' || value === 'unknown';
}

/** The platforms a push token frame may name; a push carries the matching android or apns block. */
export const PUSH_PLATFORMS = ['android', 'ios'] as const;
export type PushPlatform = (typeof PUSH_PLATFORMS)[number];

export function isPushPlatform(value: string): value is PushPlatform {
  return (PUSH_PLATFORMS as readonly string[]).includes(value);
}

/** A device's request to receive pushes, as the WebSocket edge parsed it from a token frame. */
export interface DeviceRegistration {
  readonly token: string;
  readonly platform: PushPlatform;
  readonly state: 'enabled' | 'disabled';
  /** The monitor list to store, or undefined to keep the stored one. */
  readonly monlist: string | undefined;
  readonly intlist: string | undefined;
  /** zmNinjaNg profile name. */
  readonly profile: string | undefined;
}

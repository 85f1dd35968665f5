/**
 * What the status page shows and `GET /api/status` answers: one snapshot of the running server.
 * JSON as sent (snake_case keys, times as ISO 8601 strings, event ids as strings because they may
 * exceed 2^53). Push tokens appear only masked; secrets never.
 */

/** `up` works, `down` is configured but failing, `off` is not configured or turned off. */
export type HealthState = 'up' | 'down' | 'off';

/** Something that happened, when, in one line. */
export interface Happening {
  readonly at: string;
  readonly text: string;
}

/** One outward connection of zmes: the database, the MQTT broker, FCM, ZoneMinder's API. */
export interface ChannelHealth {
  readonly state: HealthState;
  /** What it is or why it is off, e.g. `broker mqtt.local:1883`, `proxy`, `mqtt.enable is off`. */
  readonly detail: string;
  readonly last_success: Happening | null;
  readonly last_error: Happening | null;
}

export interface DatabaseStatus extends ChannelHealth {
  /** The ZoneMinder schema detected (`1.36`, `1.37+`, …), null until it is read. */
  readonly schema: string | null;
  readonly last_poll_at: string | null;
  readonly polls: number;
  /** The last Events.Id detection handled. */
  readonly last_event_id: string | null;
}

export interface EventStatus {
  readonly event_id: string;
  readonly monitor_id: number;
  readonly monitor_name: string;
  /** The cause as the apps see it, with zone names (`Motion: Front, Porch`). */
  readonly cause: string;
  readonly started_at: string;
  readonly ended_at: string | null;
  /** `open` while the event runs; how it ended otherwise. */
  readonly state: 'open' | 'ended' | 'deleted' | 'abandoned';
}

export interface MonitorStatus {
  readonly id: number;
  readonly name: string;
  /** Whether its events are notified (capturing, not in skip_monitors). */
  readonly notify: boolean;
  /** The last event seen since zmes started (no picture: ZoneMinder's API client is not part of this version). */
  readonly last_event: EventStatus | null;
}

/** A connected app (one WebSocket). */
export interface ClientStatus {
  readonly id: number;
  /** The ZoneMinder user it logged in as; null before the login. */
  readonly user: string | null;
  /** `zmNinja`, `zmNinjaNg` or `unknown app`. */
  readonly app: string;
  readonly app_version: string;
  readonly address: string;
  readonly since: string;
  /** `pending`, `authenticating`, `authenticated`, `admin`, `closing`. */
  readonly state: string;
}

export type PushResultStatus = 'ok' | 'invalid-token' | 'transient' | 'fatal';

export interface PushResultStatusEntry {
  readonly at: string;
  readonly status: PushResultStatus;
  readonly detail: string;
  /** Sent with the page's "send test notification" button. */
  readonly test: boolean;
}

/** A registered push device (the token store). */
export interface DeviceStatus {
  /** Opaque id for the test-notification action: a hash of the token, never the token. */
  readonly id: string;
  /** The token's last characters only. */
  readonly token: string;
  readonly user: string | null;
  readonly platform: string;
  readonly app: string;
  readonly push: 'enabled' | 'disabled';
  readonly registered_at: string | null;
  readonly last_push: PushResultStatusEntry | null;
}

export interface LogEntry {
  readonly at: string;
  readonly level: 'error' | 'warn';
  readonly module: string | null;
  readonly message: string;
}

export interface StatusSnapshot {
  readonly version: string;
  readonly started_at: string;
  readonly generated_at: string;
  readonly database: DatabaseStatus;
  readonly mqtt: ChannelHealth;
  readonly fcm: ChannelHealth;
  readonly zoneminder_api: ChannelHealth;
  readonly monitors: readonly MonitorStatus[];
  /** The newest connections first, at most a few hundred; `clients_total` counts them all. */
  readonly clients: readonly ClientStatus[];
  readonly clients_total: number;
  /** The newest registrations first, at most a few hundred; `devices_total` counts them all. */
  readonly devices: readonly DeviceStatus[];
  readonly devices_total: number;
  /** The recent events, newest first. */
  readonly events: readonly EventStatus[];
  /** The recent warnings and errors of the log, newest first. */
  readonly errors: readonly LogEntry[];
}

/** What the test-notification action answers. */
export interface TestPushAnswer {
  /** `sent` (FCM accepted it), `failed`, `pending` (still retrying), `unknown-device`, `push-off`, `busy`. */
  readonly result: 'sent' | 'failed' | 'pending' | 'unknown-device' | 'push-off' | 'busy';
  readonly detail: string;
}

import convict from 'convict';
import { FORMATS, type FormatName, type FormatValue } from './formats.js';

/**
 * The configuration schema: every option of zmes, defined once. Sections and keys are
 * the classic server's (classic-config.md §3) plus zmes-only additions and `database`.
 * Docs (scripts/gen-config-docs.ts), `--check-config` and the tests are derived from it.
 */

/**
 * How a key matters when zmes runs as the Home Assistant add-on:
 * `setting` a user choice; `path` a file path; `fixed` decided by the add-on;
 * `ignored` a classic key with no effect in zmes (accepted, warned about once at load).
 */
export type Usage = 'setting' | 'path' | 'fixed' | 'ignored';

/** What an entry in the schema literal says; the section builder adds the derived fields. */
interface OptionInput<F extends FormatName, N extends boolean> {
  readonly doc: string;
  readonly format: F;
  readonly default: FormatValue<F> | (N extends true ? null : never);
  readonly usage: Usage;
  /** null means "not set"; an empty string in a file or env var also means null. */
  readonly nullable?: N;
  readonly sensitive?: boolean;
  /** A key the classic server does not have (its `classic` name is then null). */
  readonly zmesOnly?: boolean;
  /** A legacy name whose value is used for another key when that key is not set. */
  readonly aliasOf?: string;
  /**
   * The classic server's v1.0 command-line flag for this option, without dashes: `--NAME VALUE`,
   * or for a yes-no option the switch `--[no-]NAME`. A switch of another format names the
   * values it sets.
   */
  readonly classicFlag?: string | { readonly name: string; readonly on: string; readonly off: string };
}

/** A v1.0 command-line flag: `--name VALUE`, or the switch `--[no-]name` that sets `on` or `off`. */
export type ClassicFlag =
  | { readonly kind: 'value'; readonly name: string }
  | { readonly kind: 'switch'; readonly name: string; readonly on: string; readonly off: string };

/**
 * One option as handed to convict. `classic` and `usage` are our own properties: convict
 * keeps unknown schema properties untouched, so the metadata lives in the schema itself.
 * (A type alias, not an interface, so it fits convict's index-signature SchemaObj.)
 */
export type Leaf<F extends FormatName = FormatName, N extends boolean = boolean> = {
  readonly doc: string;
  readonly format: F;
  readonly default: FormatValue<F> | (N extends true ? null : never);
  readonly env: string;
  readonly sensitive: boolean;
  readonly nullable: N;
  /** The classic ini/yml key, `section.key`; null for zmes-only keys. */
  readonly classic: string | null;
  readonly usage: Usage;
  readonly aliasOf?: string;
  readonly classicFlag?: ClassicFlag;
};

/** An input with `nullable` made explicit, so the section builder can infer it back. */
type OptionDef<F extends FormatName, N extends boolean> = OptionInput<F, N> & { readonly nullable: N };

function option<F extends FormatName, N extends boolean = false>(input: OptionInput<F, N>): OptionDef<F, N> {
  return { ...input, nullable: input.nullable ?? (false as N) };
}

type SectionLeaves<T> = {
  readonly [K in keyof T]: T[K] extends OptionDef<infer F, infer N> ? Leaf<F, N> : never;
};

// The constraint is loose on purpose: a contextual OptionDef<…, boolean> would widen
// every option's inferred `nullable` to boolean and make every Config value nullable.
function section<T extends Record<string, { readonly format: FormatName }>>(name: string, inputs: T): SectionLeaves<T> {
  const leaves: Record<string, Leaf> = {};
  for (const [key, input] of Object.entries(inputs as unknown as Record<string, OptionDef<FormatName, boolean>>)) {
    leaves[key] = {
      doc: input.doc,
      format: input.format,
      default: input.default,
      env: `ZMES_${name}_${key}`.toUpperCase(),
      sensitive: input.sensitive ?? false,
      nullable: input.nullable,
      classic: input.zmesOnly ? null : `${name}.${key}`,
      usage: input.usage,
      ...(input.aliasOf === undefined ? {} : { aliasOf: input.aliasOf }),
      ...(input.classicFlag === undefined ? {} : { classicFlag: classicFlagOf(input.classicFlag, input.format) }),
    };
  }
  return leaves as SectionLeaves<T>;
}

function classicFlagOf(flag: NonNullable<OptionInput<FormatName, boolean>['classicFlag']>, format: FormatName): ClassicFlag {
  if (typeof flag !== 'string') return { kind: 'switch', ...flag };
  return format === 'yes-no' ? { kind: 'switch', name: flag, on: 'yes', off: 'no' } : { kind: 'value', name: flag };
}

const channelDoc = (when: string) =>
  `Channels notified ${when}: all, none, or a comma list of web, fcm, mqtt, api (empty means none).`;

export const schema = {
  general: section('general', {
    log_level: option({
      doc: 'Lowest level of log messages written: error, warn, info or debug.',
      format: 'log-level',
      default: 'info',
      usage: 'setting',
      zmesOnly: true,
      classicFlag: { name: 'verbose', on: 'debug', off: 'info' },
    }),
    secrets: option({
      doc: 'Secrets file (YAML with a `secrets:` map, or INI with a `[secrets]` section) from which `!NAME` values are read.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
    }),
    base_data_path: option({
      doc: 'Directory for persistent state; other values refer to it as `${base_data_path}`.',
      format: 'path',
      default: '/var/lib/zmeventnotification',
      usage: 'fixed',
    }),
    use_escontrol_interface: option({
      doc: 'Allow the admin (escontrol) commands over the WebSocket, protected by escontrol_interface_password.',
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    escontrol_interface_file: option({
      doc: 'JSON file that keeps the admin overrides (mutes and settings) made over the WebSocket.',
      format: 'path',
      default: '${base_data_path}/misc/escontrol_interface.json',
      usage: 'fixed',
    }),
    escontrol_interface_password: option({
      doc: 'Password of the admin (escontrol) commands; needed when use_escontrol_interface is on.',
      format: 'text',
      default: null,
      nullable: true,
      sensitive: true,
      usage: 'setting',
    }),
    restart_interval: option({
      doc: 'Classic: seconds between self-restarts of the server; zmes needs no restarts.',
      format: 'non-negative-int',
      default: 7200,
      usage: 'ignored',
    }),
    skip_monitors: option({
      doc: 'Comma-separated monitor ids whose events are ignored entirely.',
      format: 'monitor-list',
      default: '',
      usage: 'setting',
    }),
  }),

  network: section('network', {
    port: option({
      doc: 'TCP port of the WebSocket server (0 picks a free port).',
      format: 'tcp-port',
      default: 9000,
      usage: 'fixed',
      classicFlag: 'port',
    }),
    address: option({
      doc: 'Address the WebSocket server listens on; `[::]` means every IPv4 and IPv6 interface.',
      format: 'host',
      default: '[::]',
      usage: 'fixed',
      classicFlag: 'address',
    }),
    public_url: option({
      doc: "How phones reach zmes, e.g. https://zmes.example.com:9000: the base of the picture links zmes signs. Unset: this host's name and network.port.",
      format: 'http-url',
      default: null,
      nullable: true,
      usage: 'setting',
      zmesOnly: true,
    }),
    max_frame_size: option({
      doc: 'Largest WebSocket message accepted from a client, in bytes (at most 1 MiB); a larger one closes the connection.',
      format: 'frame-size',
      default: 65536,
      usage: 'setting',
      zmesOnly: true,
    }),
    max_connections: option({
      doc: 'Maximum number of simultaneous WebSocket connections; further ones are refused.',
      format: 'positive-int',
      default: 10000,
      usage: 'setting',
      zmesOnly: true,
    }),
    max_backpressure: option({
      doc: 'Bytes that may queue up for a slow client before its connection is closed.',
      format: 'positive-int',
      default: 1048576,
      usage: 'setting',
      zmesOnly: true,
    }),
    idle_timeout: option({
      doc: 'Seconds without any traffic after which a connection is closed (pings keep live clients busy); 0 disables.',
      format: 'non-negative-int',
      default: 120,
      usage: 'setting',
      zmesOnly: true,
    }),
    trusted_proxies: option({
      doc: 'Reverse proxies (IPs or CIDR blocks) whose X-Forwarded-For header gives the client address for logs and login limits; empty trusts none.',
      format: 'address-list',
      default: '',
      usage: 'setting',
      zmesOnly: true,
    }),
  }),

  auth: section('auth', {
    enable: option({
      doc: "Check each client's user name and password against ZoneMinder's Users table; when off, any credentials are accepted.",
      format: 'yes-no',
      default: true,
      usage: 'setting',
      classicFlag: 'enable-auth',
    }),
    timeout: option({
      doc: 'Seconds a new connection may stay unauthenticated before it is closed.',
      format: 'positive-int',
      default: 20,
      usage: 'setting',
    }),
    max_failures: option({
      doc: 'Failed logins for one user from one address within failure_window after which that pair is refused; 0 disables every login limit.',
      format: 'non-negative-int',
      default: 10,
      usage: 'setting',
      zmesOnly: true,
    }),
    max_failures_per_user: option({
      doc: 'Failed logins for one user from all addresses within failure_window after which it is refused, except from addresses where it logged in before.',
      format: 'non-negative-int',
      default: 30,
      usage: 'setting',
      zmesOnly: true,
    }),
    max_failures_per_address: option({
      doc: 'Failed logins from one address for all users within failure_window after which that address is refused (stops guessing many user names).',
      format: 'non-negative-int',
      default: 100,
      usage: 'setting',
      zmesOnly: true,
    }),
    failure_window: option({
      doc: 'Seconds over which failed logins are counted for the login limits.',
      format: 'positive-int',
      default: 300,
      usage: 'setting',
      zmesOnly: true,
    }),
    recheck_interval: option({
      doc: 'Seconds between re-checks of logged-in users and push owners against ZoneMinder (disabled, deleted, revoked, narrowed permissions).',
      format: 'positive-int',
      default: 5,
      usage: 'setting',
      zmesOnly: true,
    }),
  }),

  ssl: section('ssl', {
    enable: option({
      doc: 'Serve secure WebSockets (wss://); needs cert and key.',
      format: 'yes-no',
      default: true,
      usage: 'setting',
      classicFlag: 'enable-ssl',
    }),
    cert: option({
      doc: 'PEM certificate file (full chain) used when ssl.enable is on.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
      classicFlag: 'ssl-cert-file',
    }),
    key: option({
      doc: 'PEM private key file used when ssl.enable is on.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
      classicFlag: 'ssl-key-file',
    }),
  }),

  fcm: section('fcm', {
    enable: option({
      doc: 'Send push notifications through Firebase Cloud Messaging and accept push token registrations.',
      format: 'yes-no',
      default: true,
      usage: 'setting',
      classicFlag: 'enable-fcm',
    }),
    use_fcmv1: option({
      doc: 'Classic: choose the FCM HTTP v1 API over the legacy one; zmes always uses v1.',
      format: 'yes-no',
      default: true,
      usage: 'ignored',
    }),
    replace_push_messages: option({
      doc: 'Replace the previous notification on the phone instead of adding a new one.',
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    token_file: option({
      doc: 'File that stores the registered push tokens (JSON, compatible with the classic server).',
      format: 'path',
      default: '${base_data_path}/push/tokens.txt',
      usage: 'fixed',
      classicFlag: 'token-file',
    }),
    max_devices_per_user: option({
      doc: 'Push devices one ZoneMinder user may register; a further one is refused (TOKENQUOTA) until one is removed.',
      format: 'positive-int',
      default: 20,
      usage: 'setting',
      zmesOnly: true,
    }),
    use_zm_notifications: option({
      doc: "Also push to the phones in ZoneMinder's Notifications table (ZoneMinder 1.39.2+, zmNinjaNg's direct mode) when it exists.",
      format: 'yes-no',
      default: true,
      usage: 'setting',
      zmesOnly: true,
    }),
    max_token_frames: option({
      doc: 'Push token registrations one connection may send per minute; further ones are refused (TOKENRATE).',
      format: 'positive-int',
      default: 10,
      usage: 'setting',
      zmesOnly: true,
    }),
    date_format: option({
      doc: 'strftime format of the time appended to the body of a push notification.',
      format: 'text',
      default: '%I:%M %p, %d-%b',
      usage: 'setting',
    }),
    date_locale: option({
      doc: 'Locale used to format that time (e.g. de_DE); unset uses the default locale.',
      format: 'text',
      default: null,
      nullable: true,
      usage: 'setting',
    }),
    fcm_android_priority: option({
      doc: 'Android delivery priority of push messages: high or normal.',
      format: 'android-priority',
      default: 'high',
      usage: 'setting',
    }),
    fcm_android_ttl: option({
      doc: 'Seconds an Android push may wait for an offline device; unset leaves it to FCM.',
      format: 'non-negative-int',
      default: null,
      nullable: true,
      usage: 'setting',
    }),
    fcm_log_raw_message: option({
      doc: 'Ask the FCM proxy to log whole messages (they include monitor names and causes).',
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    fcm_log_message_id: option({
      doc: 'Free text sent to the FCM proxy with each message, to find it in the proxy logs.',
      format: 'text',
      default: 'NONE',
      usage: 'setting',
    }),
    fcm_v1_key: option({
      doc: 'Authorization key sent to the FCM proxy at fcm_v1_url; no key is built in.',
      format: 'text',
      default: null,
      nullable: true,
      sensitive: true,
      usage: 'setting',
    }),
    fcm_v1_url: option({
      doc: 'URL of the FCM proxy that relays push messages; no URL is built in.',
      format: 'http-url',
      default: null,
      nullable: true,
      usage: 'setting',
    }),
    fcm_service_account_file: option({
      doc: 'Google service-account JSON file; when set, pushes go straight to FCM instead of through the proxy.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
    }),
    include_profile_in_push: option({
      doc: "Include the device's zmNinjaNg profile name in its push notifications.",
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    api_key: option({
      doc: 'Classic: key of the legacy FCM API, never used.',
      format: 'text',
      default: null,
      nullable: true,
      sensitive: true,
      usage: 'ignored',
      classicFlag: 'fcm-api-key',
    }),
  }),

  push: section('push', {
    use_api_push: option({
      doc: 'Run api_push_script for each event (the api channel), e.g. to send Pushover messages.',
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    api_push_script: option({
      doc: 'Script run once per event when use_api_push is on.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
    }),
  }),

  mqtt: section('mqtt', {
    enable: option({
      doc: 'Publish events to an MQTT broker.',
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    server: option({
      doc: 'MQTT broker as host or host:port (port 1883, or 8883 with TLS, when omitted).',
      format: 'mqtt-server',
      default: '127.0.0.1',
      usage: 'setting',
    }),
    topic: option({
      doc: 'Topic prefix; events are published to <topic>/<MonitorId>.',
      format: 'mqtt-topic',
      default: 'zoneminder',
      usage: 'setting',
    }),
    username: option({
      doc: 'MQTT user name; the broker login is used only when username and password are both set.',
      format: 'text',
      default: null,
      nullable: true,
      usage: 'setting',
    }),
    password: option({
      doc: 'MQTT password.',
      format: 'text',
      default: null,
      nullable: true,
      sensitive: true,
      usage: 'setting',
    }),
    retain: option({
      doc: 'Publish event messages with the retain flag.',
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    tick_interval: option({
      doc: 'Classic: seconds between MQTT keep-alive ticks; the MQTT client keeps the connection alive itself.',
      format: 'non-negative-int',
      default: 15,
      usage: 'ignored',
    }),
    tls_ca: option({
      doc: 'CA certificate file that verifies the broker; setting it enables TLS (unlike the classic server, also without username and password).',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
    }),
    tls_cert: option({
      doc: 'Client certificate file for mutual TLS, together with tls_key.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
    }),
    tls_key: option({
      doc: 'Client private key file for mutual TLS, together with tls_cert.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
    }),
    tls_insecure: option({
      doc: "Skip verification of the broker's certificate (unsafe); enables TLS.",
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    client_id: option({
      doc: 'MQTT client id; unset derives a stable one from topic (`zmes-<topic>`). Two clients with one id disconnect each other.',
      format: 'text',
      default: null,
      nullable: true,
      usage: 'setting',
      zmesOnly: true,
    }),
    ha_discovery: option({
      doc: 'Announce a Home Assistant device per monitor (motion sensor, last event sensor, alarm event) by MQTT discovery.',
      format: 'yes-no',
      default: true,
      usage: 'setting',
      zmesOnly: true,
    }),
    discovery_prefix: option({
      doc: "Home Assistant's MQTT discovery prefix; Home Assistant announces itself on `<discovery_prefix>/status`.",
      format: 'mqtt-topic',
      default: 'homeassistant',
      usage: 'setting',
      zmesOnly: true,
    }),
    motion_timeout: option({
      doc: 'Seconds after which a motion sensor whose event never ended turns off again; 0 waits for the end forever.',
      format: 'non-negative-int',
      default: 600,
      usage: 'setting',
      zmesOnly: true,
    }),
  }),

  customize: section('customize', {
    es_rules: option({
      doc: 'Rules file (YAML or JSON) that mutes or marks notifications per monitor, time and cause.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
    }),
    console_logs: option({
      doc: 'Classic (v6): also print log lines to the console; zmes always logs to standard output.',
      format: 'yes-no',
      default: false,
      usage: 'ignored',
    }),
    es_debug_level: option({
      doc: 'Classic (v6): highest debug level logged; zmes uses general.log_level instead.',
      format: 'whole-number',
      default: 5,
      usage: 'ignored',
    }),
    // 0.1 s: the longest interval that meets the latency goal (INSERT → client p50 ≤ 75 ms, p99 ≤ 150 ms).
    // bench/detection-latency.ts, 100k-event table, MariaDB 10.11: INSERT → bus p50 52 ms / p99 102 ms
    // at 0.1 s (0.25 s: p50 125 / p99 251 ms, too slow). One idle poll is one PRIMARY range scan,
    // ~0.4 ms round trip, ~0.1–0.4 ms CPU in zmes and ~0.2 ms in MariaDB; 10 polls/s cost ~1.5 % of
    // a core in the benchmark's nested-virtualised VM, where an empty 10 Hz timer alone costs ~1 %.
    event_check_interval: option({
      doc: 'Seconds between checks of the ZoneMinder database for new and ended events (fractions allowed).',
      format: 'positive-number',
      default: 0.1,
      usage: 'setting',
      classicFlag: 'event-check-interval',
    }),
    monitor_reload_interval: option({
      doc: 'Seconds between reloads of the monitor list.',
      format: 'positive-int',
      default: 300,
      usage: 'setting',
      classicFlag: 'monitor-reload-interval',
    }),
    read_alarm_cause: option({
      doc: "Start notifications show the cause with zone names from the event's Notes (`Motion: Porch`) instead of `Motion`.",
      format: 'yes-no',
      default: false,
      usage: 'setting',
      classicFlag: 'read-alarm-cause',
    }),
    tag_alarm_event_id: option({
      doc: 'Append the event id to the title of push notifications.',
      format: 'yes-no',
      default: false,
      usage: 'setting',
      classicFlag: 'tag-alarm-event-id',
    }),
    use_custom_notification_sound: option({
      doc: 'Classic: never had an effect; the default sound is always used.',
      format: 'yes-no',
      default: false,
      usage: 'ignored',
      classicFlag: 'use-custom-notification-sound',
    }),
    include_picture: option({
      doc: 'Attach the picture_url of the event to push notifications and WebSocket alarms.',
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    picture_url: option({
      doc: 'URL of the event picture, in which EVENTID and BESTMATCH are replaced per event.',
      format: 'http-url',
      default: null,
      nullable: true,
      usage: 'setting',
    }),
    picture_portal_username: option({
      doc: 'User name appended to picture_url as &username=.',
      format: 'text',
      default: null,
      nullable: true,
      usage: 'setting',
    }),
    picture_portal_password: option({
      doc: 'Password appended to picture_url as &password= (it travels inside push messages).',
      format: 'text',
      default: null,
      nullable: true,
      sensitive: true,
      usage: 'setting',
    }),
    send_event_start_notification: option({
      doc: 'Notify when an event starts.',
      format: 'yes-no',
      default: true,
      usage: 'setting',
    }),
    send_event_end_notification: option({
      doc: 'Notify when an event ends.',
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    replay_window: option({
      doc: 'Seconds within which a WebSocket client that reconnects (or connects after zmes started) gets the alarms it missed; 0 turns replay off.',
      format: 'non-negative-int',
      default: 60,
      usage: 'setting',
      zmesOnly: true,
    }),
    use_hooks: option({
      doc: 'Run the scripts of the hook section at event start and end.',
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    max_event_age: option({
      doc: 'Events older than this many seconds when first seen (e.g. after an outage) are logged but not notified.',
      format: 'positive-int',
      default: 600,
      usage: 'setting',
      zmesOnly: true,
    }),
  }),

  hook: section('hook', {
    event_start_hook: option({
      doc: 'Script run when an event starts; its result can change the cause and the channels notified.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
    }),
    hook_script: option({
      doc: 'Legacy name of event_start_hook, used when event_start_hook is not set.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
      aliasOf: 'hook.event_start_hook',
    }),
    event_start_hook_notify_userscript: option({
      doc: 'Script run after the start hook, with its result.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
    }),
    event_end_hook: option({
      doc: 'Script run when an event ends.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
    }),
    event_end_hook_notify_userscript: option({
      doc: 'Script run after the end hook, with its result.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
    }),
    event_start_notify_on_hook_success: option({
      doc: channelDoc('when the start hook succeeds'),
      format: 'channel-list',
      default: '',
      usage: 'setting',
    }),
    event_start_notify_on_hook_fail: option({
      doc: channelDoc('when the start hook fails'),
      format: 'channel-list',
      default: '',
      usage: 'setting',
    }),
    event_end_notify_on_hook_success: option({
      doc: channelDoc('when the end hook succeeds'),
      format: 'channel-list',
      default: '',
      usage: 'setting',
    }),
    event_end_notify_on_hook_fail: option({
      doc: channelDoc('when the end hook fails'),
      format: 'channel-list',
      default: '',
      usage: 'setting',
    }),
    event_end_notify_if_start_success: option({
      doc: 'Send no end notification for an event whose start hook failed.',
      format: 'yes-no',
      default: true,
      usage: 'setting',
    }),
    use_hook_description: option({
      doc: "Prefix the hook's output to the cause and write it into the event's Notes in ZoneMinder.",
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    hook_skip_monitors: option({
      doc: 'Comma-separated monitor ids whose hooks are not run (counted as success).',
      format: 'monitor-list',
      default: '',
      usage: 'setting',
    }),
    hook_pass_image_path: option({
      doc: "Pass the event's storage path to the hooks as their last argument.",
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    max_parallel_hooks: option({
      doc: 'Maximum number of hooks running at once (more wait in a queue); 0 means no limit.',
      format: 'non-negative-int',
      default: 0,
      usage: 'setting',
    }),
    hook_timeout: option({
      doc: 'Seconds after which a running hook is killed and counted as failed; 0 means no limit.',
      format: 'non-negative-number',
      default: 0,
      usage: 'setting',
    }),
    tag_detected_objects: option({
      doc: 'Write the detected object labels as ZoneMinder tags (ZoneMinder 1.37.44 or later).',
      format: 'yes-no',
      default: false,
      usage: 'setting',
    }),
    keep_frame_match_type: option({
      doc: 'Classic (v6): keep the [a]/[s] prefix in the cause; removed upstream.',
      format: 'yes-no',
      default: true,
      usage: 'ignored',
    }),
  }),

  database: section('database', {
    host: option({
      doc: 'Host of the ZoneMinder database (MariaDB/MySQL).',
      format: 'host',
      default: 'localhost',
      usage: 'setting',
      zmesOnly: true,
    }),
    port: option({
      doc: 'TCP port of the ZoneMinder database.',
      format: 'tcp-port',
      default: 3306,
      usage: 'setting',
      zmesOnly: true,
    }),
    socket: option({
      doc: 'Unix socket of the ZoneMinder database; when set it is used instead of host and port.',
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
      zmesOnly: true,
    }),
    name: option({
      doc: 'Name of the ZoneMinder database.',
      format: 'text',
      default: 'zm',
      usage: 'setting',
      zmesOnly: true,
    }),
    user: option({
      doc: 'Database user.',
      format: 'text',
      default: 'zmuser',
      usage: 'setting',
      zmesOnly: true,
    }),
    password: option({
      doc: 'Database password; empty for an account without a password.',
      format: 'text',
      default: 'zmpass',
      nullable: true,
      sensitive: true,
      usage: 'setting',
      zmesOnly: true,
    }),
    zm_conf: option({
      doc: "ZoneMinder's zm.conf (and the conf.d folder next to it), whose ZM_DB_* values are used for database keys not set here.",
      format: 'path',
      default: '/etc/zm/zm.conf',
      nullable: true,
      usage: 'path',
      zmesOnly: true,
    }),
  }),

  zoneminder: section('zoneminder', {
    portal_url: option({
      doc: "ZoneMinder's web portal, e.g. http://zm.local/zm; enables the API client (event pictures, force-alarm buttons). Unset: zmes uses only the database.",
      format: 'http-url',
      default: null,
      nullable: true,
      usage: 'setting',
      zmesOnly: true,
    }),
    api_url: option({
      doc: "ZoneMinder's API, when it is not portal_url + /api.",
      format: 'http-url',
      default: null,
      nullable: true,
      usage: 'setting',
      zmesOnly: true,
    }),
    user: option({
      doc: 'ZoneMinder user the API client logs in as (View on events; Edit on monitors for the force-alarm buttons).',
      format: 'text',
      default: null,
      nullable: true,
      usage: 'setting',
      zmesOnly: true,
    }),
    password: option({
      doc: "That user's password.",
      format: 'text',
      default: null,
      nullable: true,
      sensitive: true,
      usage: 'setting',
      zmesOnly: true,
    }),
    verify_tls: option({
      doc: "Check the portal's TLS certificate (turn off only for a self-signed certificate you cannot add with ca_file).",
      format: 'yes-no',
      default: true,
      usage: 'setting',
      zmesOnly: true,
    }),
    ca_file: option({
      doc: "CA certificate (PEM) that signed the portal's certificate, when it is not a public one.",
      format: 'path',
      default: null,
      nullable: true,
      usage: 'path',
      zmesOnly: true,
    }),
    max_picture_size: option({
      doc: 'Largest event picture fetched from ZoneMinder, in bytes; a larger one is skipped with a warning.',
      format: 'positive-int',
      default: 1048576,
      usage: 'setting',
      zmesOnly: true,
    }),
    picture_link_lifetime: option({
      doc: 'Seconds a picture link that zmes signs (pushes and alarm frames, with include_picture on and no picture_url) stays valid.',
      format: 'positive-int',
      default: 3600,
      usage: 'setting',
      zmesOnly: true,
    }),
  }),

  status: section('status', {
    enable: option({
      doc: 'Serve the status page (and its JSON at /api/status) on its own HTTP port, not the WebSocket port; it has no login: keep it on 127.0.0.1 or set allowed_clients.',
      format: 'yes-no',
      default: false,
      usage: 'fixed',
      zmesOnly: true,
    }),
    port: option({
      doc: 'TCP port of the status page (0 picks a free port).',
      format: 'tcp-port',
      default: 8099,
      usage: 'fixed',
      zmesOnly: true,
    }),
    address: option({
      doc: 'Address the status page listens on; 127.0.0.1 keeps it to this machine (e.g. through an SSH tunnel).',
      format: 'host',
      default: '127.0.0.1',
      usage: 'fixed',
      zmesOnly: true,
    }),
    allowed_clients: option({
      doc: 'Client addresses (IPs or CIDR blocks) that may open the status page; others get 403. Empty allows every client that reaches address.',
      format: 'address-list',
      default: '',
      usage: 'fixed',
      zmesOnly: true,
    }),
  }),
  cluster: section('cluster', {
    enable: option({
      doc: 'Run as one of several zmes nodes on one ZoneMinder, sharing devices and escontrol in cluster.database; pushes, MQTT and hooks run once (docs/scaling.md).',
      format: 'yes-no',
      default: false,
      usage: 'setting',
      zmesOnly: true,
    }),
    database: option({
      doc: 'Database zmes creates and migrates for the cluster, on the MariaDB server and with the user of database.name (which needs all rights on it).',
      format: 'text',
      default: 'zmes',
      usage: 'setting',
      zmesOnly: true,
    }),
    node_id: option({
      doc: "This node's name in the cluster (log lines, the lease, the push ledger); empty means the host name. Must differ between nodes.",
      format: 'text',
      default: null,
      nullable: true,
      usage: 'setting',
      zmesOnly: true,
    }),
    lease_seconds: option({
      doc: 'Seconds the lease for once-only work lasts unrenewed: another node takes over at most this long (plus a third of it) after the holder dies.',
      format: 'positive-int',
      default: 6,
      usage: 'setting',
      zmesOnly: true,
    }),
  }),
};

export type Schema = typeof schema;
export type SectionName = keyof Schema;

/** A `section.key` name of an option. */
export type OptionKey = { [S in SectionName]: `${S}.${keyof Schema[S] & string}` }[SectionName];

type ValueOf<L> = L extends Leaf<infer F, infer N> ? (N extends true ? FormatValue<F> | null : FormatValue<F>) : never;

/** The effective configuration: one read-only object per section, typed from the schema. */
export type Config = {
  readonly [S in SectionName]: { readonly [K in keyof Schema[S]]: ValueOf<Schema[S][K]> };
};

export interface OptionInfo {
  readonly key: OptionKey;
  readonly section: SectionName;
  readonly name: string;
  readonly leaf: Leaf;
}

export const SECTIONS = Object.keys(schema) as SectionName[];

/** Every option in schema order, for loaders, printers, docs and tests. */
export const OPTIONS: readonly OptionInfo[] = SECTIONS.flatMap((sectionName) =>
  Object.entries(schema[sectionName] as Record<string, Leaf>).map(([name, leaf]) => ({
    key: `${sectionName}.${name}` as OptionKey,
    section: sectionName,
    name,
    leaf,
  })),
);

const OPTIONS_BY_KEY = new Map<string, OptionInfo>(OPTIONS.map((o) => [o.key, o]));

/** The option with that `section.key`, or undefined. */
export function findOption(key: string): OptionInfo | undefined {
  return OPTIONS_BY_KEY.get(key);
}

export function isSectionName(name: string): name is SectionName {
  return Object.hasOwn(schema, name);
}

// Registered once per process; convict's format registry is global.
for (const [name, format] of Object.entries(FORMATS)) {
  convict.addFormat({
    name,
    coerce: (value: unknown) => format.coerce(value),
    validate: (value: unknown) => {
      if (!format.check(value)) throw new Error(`expected ${format.expected}`);
    },
  });
}

/** A convict instance over the schema, reading env vars from `env` (never process.argv). */
export function createStore(env: NodeJS.ProcessEnv): convict.Config<Config> {
  return convict<Config>(schema, { env, args: [] });
}

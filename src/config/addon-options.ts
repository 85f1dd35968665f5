/**
 * The one mapping between the add-on's options (config.yaml `schema`, written by the
 * Supervisor to /data/options.json) and zmes's configuration keys (src/config/schema.ts).
 * Pure: no I/O. DOCS.md shows the same table (`node --import tsx addon/lint.ts --write-docs`
 * regenerates it) and test/addon/mapping.test.ts fails on drift in either direction.
 */
import { ZmesError } from '../errors.js';
import { OPTIONS, findOption, type OptionKey } from './schema.js';

/** Folders of the add-on container; overridable for tests (see addon/main.ts). */
export interface AddonPaths {
  /** Private persistent state: tokens, last event, escontrol overrides (`/data`). */
  readonly data: string;
  /** Home Assistant's certificates, mapped read-only (`/ssl`). */
  readonly ssl: string;
  /** The add-on's own user-editable folder (`addon_config` → `/config`). */
  readonly config: string;
}

export const CONTAINER_PATHS: AddonPaths = { data: '/data', ssl: '/ssl', config: '/config' };

/** The WebSocket port inside the container; users remap the host port in the Network tab. */
export const CONTAINER_PORT = 9000;

/** The status page's port: config.yaml's `ingress_port`, left at the Supervisor's default. */
export const INGRESS_PORT = 8099;

/** The Supervisor's ingress proxy, the only client the status page answers in the add-on. */
export const INGRESS_PROXY_ADDRESS = '172.30.32.2';

export type OptionGroup =
  | 'General'
  | 'ZoneMinder database'
  | 'ZoneMinder API'
  | 'Authentication'
  | 'SSL'
  | 'Push (FCM)'
  | 'MQTT and Home Assistant'
  | 'Notifications'
  | 'Hooks'
  | 'Connections'
  | 'Cluster';

export interface OptionMapping {
  /** The zmes key the option sets. */
  readonly key: OptionKey;
  readonly group: OptionGroup;
  /**
   * The value is a file name relative to this add-on folder (`ssl` → /ssl, `config` →
   * /config, the add-on's addon_config folder); an absolute path is taken as it is.
   */
  readonly file?: 'ssl' | 'config';
  /** A value that is not copied but interpreted (documented in `note`). */
  readonly transform?: 'fcm-mode';
  /** Shown in the docs table when the mapping is more than "same value". */
  readonly note?: string;
}

/**
 * Add-on option → zmes key. The order is the order of config.yaml and of the docs table.
 * Every option here has a `schema` entry in config.yaml and a translation, and every
 * user-facing zmes key (see userFacingKeys) is the target of exactly one option or is listed
 * in NOT_OPTIONS.
 */
export const OPTION_MAP = {
  log_level: { key: 'general.log_level', group: 'General' },

  zm_db_host: { key: 'database.host', group: 'ZoneMinder database' },
  zm_db_port: { key: 'database.port', group: 'ZoneMinder database' },
  zm_db_name: { key: 'database.name', group: 'ZoneMinder database' },
  zm_db_user: { key: 'database.user', group: 'ZoneMinder database' },
  zm_db_password: { key: 'database.password', group: 'ZoneMinder database' },

  zm_portal_url: { key: 'zoneminder.portal_url', group: 'ZoneMinder API' },
  zm_api_url: { key: 'zoneminder.api_url', group: 'ZoneMinder API' },
  zm_api_user: { key: 'zoneminder.user', group: 'ZoneMinder API' },
  zm_api_password: { key: 'zoneminder.password', group: 'ZoneMinder API' },
  zm_verify_tls: { key: 'zoneminder.verify_tls', group: 'ZoneMinder API' },
  zm_ca_file: { key: 'zoneminder.ca_file', group: 'ZoneMinder API', file: 'ssl' },
  zm_max_picture_size: { key: 'zoneminder.max_picture_size', group: 'ZoneMinder API' },
  picture_link_lifetime: { key: 'zoneminder.picture_link_lifetime', group: 'ZoneMinder API' },
  public_url: { key: 'network.public_url', group: 'ZoneMinder API', note: 'how phones reach this add-on, e.g. `https://ha.example.com:9000`: the base of picture links' },

  auth_enable: { key: 'auth.enable', group: 'Authentication' },
  auth_timeout: { key: 'auth.timeout', group: 'Authentication' },
  auth_max_failures: { key: 'auth.max_failures', group: 'Authentication' },
  auth_max_failures_per_user: { key: 'auth.max_failures_per_user', group: 'Authentication' },
  auth_max_failures_per_address: { key: 'auth.max_failures_per_address', group: 'Authentication' },
  auth_failure_window: { key: 'auth.failure_window', group: 'Authentication' },
  auth_recheck_interval: { key: 'auth.recheck_interval', group: 'Authentication' },
  escontrol_enable: { key: 'general.use_escontrol_interface', group: 'Authentication' },
  escontrol_password: { key: 'general.escontrol_interface_password', group: 'Authentication' },

  ssl: { key: 'ssl.enable', group: 'SSL' },
  certfile: { key: 'ssl.cert', group: 'SSL', file: 'ssl' },
  keyfile: { key: 'ssl.key', group: 'SSL', file: 'ssl' },

  fcm_mode: {
    key: 'fcm.enable',
    group: 'Push (FCM)',
    transform: 'fcm-mode',
    note: '`disabled` → no; `direct` / `proxy` → yes, and only the files or URL of that mode are used',
  },
  fcm_service_account_file: { key: 'fcm.fcm_service_account_file', group: 'Push (FCM)', file: 'config', note: '`direct` mode only' },
  fcm_proxy_url: { key: 'fcm.fcm_v1_url', group: 'Push (FCM)', note: '`proxy` mode only' },
  fcm_proxy_key: { key: 'fcm.fcm_v1_key', group: 'Push (FCM)', note: '`proxy` mode only' },
  fcm_replace_push_messages: { key: 'fcm.replace_push_messages', group: 'Push (FCM)' },
  fcm_max_devices_per_user: { key: 'fcm.max_devices_per_user', group: 'Push (FCM)' },
  fcm_max_token_frames: { key: 'fcm.max_token_frames', group: 'Push (FCM)' },
  fcm_use_zm_notifications: { key: 'fcm.use_zm_notifications', group: 'Push (FCM)' },
  fcm_date_format: { key: 'fcm.date_format', group: 'Push (FCM)' },
  fcm_date_locale: { key: 'fcm.date_locale', group: 'Push (FCM)' },
  fcm_android_priority: { key: 'fcm.fcm_android_priority', group: 'Push (FCM)' },
  fcm_android_ttl: { key: 'fcm.fcm_android_ttl', group: 'Push (FCM)' },
  fcm_include_profile: { key: 'fcm.include_profile_in_push', group: 'Push (FCM)' },
  fcm_log_raw_message: { key: 'fcm.fcm_log_raw_message', group: 'Push (FCM)' },
  fcm_log_message_id: { key: 'fcm.fcm_log_message_id', group: 'Push (FCM)' },

  mqtt_enable: { key: 'mqtt.enable', group: 'MQTT and Home Assistant' },
  mqtt_server: {
    key: 'mqtt.server',
    group: 'MQTT and Home Assistant',
    note: "empty: broker, user and password from the Supervisor's MQTT service",
  },
  mqtt_username: { key: 'mqtt.username', group: 'MQTT and Home Assistant' },
  mqtt_password: { key: 'mqtt.password', group: 'MQTT and Home Assistant' },
  mqtt_topic: { key: 'mqtt.topic', group: 'MQTT and Home Assistant' },
  mqtt_retain: { key: 'mqtt.retain', group: 'MQTT and Home Assistant' },
  mqtt_client_id: { key: 'mqtt.client_id', group: 'MQTT and Home Assistant' },
  mqtt_tls_ca: { key: 'mqtt.tls_ca', group: 'MQTT and Home Assistant', file: 'ssl' },
  mqtt_tls_cert: { key: 'mqtt.tls_cert', group: 'MQTT and Home Assistant', file: 'ssl' },
  mqtt_tls_key: { key: 'mqtt.tls_key', group: 'MQTT and Home Assistant', file: 'ssl' },
  mqtt_tls_insecure: { key: 'mqtt.tls_insecure', group: 'MQTT and Home Assistant' },
  ha_discovery: { key: 'mqtt.ha_discovery', group: 'MQTT and Home Assistant' },
  ha_discovery_prefix: { key: 'mqtt.discovery_prefix', group: 'MQTT and Home Assistant' },
  ha_motion_timeout: { key: 'mqtt.motion_timeout', group: 'MQTT and Home Assistant' },

  send_event_start_notification: { key: 'customize.send_event_start_notification', group: 'Notifications' },
  send_event_end_notification: { key: 'customize.send_event_end_notification', group: 'Notifications' },
  replay_window: { key: 'customize.replay_window', group: 'Notifications' },
  skip_monitors: { key: 'general.skip_monitors', group: 'Notifications' },
  read_alarm_cause: { key: 'customize.read_alarm_cause', group: 'Notifications' },
  tag_alarm_event_id: { key: 'customize.tag_alarm_event_id', group: 'Notifications' },
  include_picture: { key: 'customize.include_picture', group: 'Notifications' },
  picture_url: { key: 'customize.picture_url', group: 'Notifications' },
  picture_portal_username: { key: 'customize.picture_portal_username', group: 'Notifications' },
  picture_portal_password: { key: 'customize.picture_portal_password', group: 'Notifications' },
  es_rules_file: { key: 'customize.es_rules', group: 'Notifications', file: 'config' },
  event_check_interval: { key: 'customize.event_check_interval', group: 'Notifications' },
  monitor_reload_interval: { key: 'customize.monitor_reload_interval', group: 'Notifications' },
  max_event_age: { key: 'customize.max_event_age', group: 'Notifications' },
  use_api_push: { key: 'push.use_api_push', group: 'Notifications' },
  api_push_script: { key: 'push.api_push_script', group: 'Notifications', file: 'config' },

  use_hooks: { key: 'customize.use_hooks', group: 'Hooks' },
  event_start_hook: { key: 'hook.event_start_hook', group: 'Hooks', file: 'config' },
  event_start_hook_notify_userscript: { key: 'hook.event_start_hook_notify_userscript', group: 'Hooks', file: 'config' },
  event_end_hook: { key: 'hook.event_end_hook', group: 'Hooks', file: 'config' },
  event_end_hook_notify_userscript: { key: 'hook.event_end_hook_notify_userscript', group: 'Hooks', file: 'config' },
  event_start_notify_on_hook_success: { key: 'hook.event_start_notify_on_hook_success', group: 'Hooks' },
  event_start_notify_on_hook_fail: { key: 'hook.event_start_notify_on_hook_fail', group: 'Hooks' },
  event_end_notify_on_hook_success: { key: 'hook.event_end_notify_on_hook_success', group: 'Hooks' },
  event_end_notify_on_hook_fail: { key: 'hook.event_end_notify_on_hook_fail', group: 'Hooks' },
  event_end_notify_if_start_success: { key: 'hook.event_end_notify_if_start_success', group: 'Hooks' },
  use_hook_description: { key: 'hook.use_hook_description', group: 'Hooks' },
  hook_skip_monitors: { key: 'hook.hook_skip_monitors', group: 'Hooks' },
  hook_pass_image_path: { key: 'hook.hook_pass_image_path', group: 'Hooks' },
  max_parallel_hooks: { key: 'hook.max_parallel_hooks', group: 'Hooks' },
  hook_timeout: { key: 'hook.hook_timeout', group: 'Hooks' },
  tag_detected_objects: { key: 'hook.tag_detected_objects', group: 'Hooks' },

  max_frame_size: { key: 'network.max_frame_size', group: 'Connections' },
  max_connections: { key: 'network.max_connections', group: 'Connections' },
  max_backpressure: { key: 'network.max_backpressure', group: 'Connections' },
  idle_timeout: { key: 'network.idle_timeout', group: 'Connections' },
  trusted_proxies: { key: 'network.trusted_proxies', group: 'Connections' },

  cluster_enable: { key: 'cluster.enable', group: 'Cluster' },
  cluster_database: { key: 'cluster.database', group: 'Cluster' },
  cluster_node_id: { key: 'cluster.node_id', group: 'Cluster' },
  cluster_lease_seconds: { key: 'cluster.lease_seconds', group: 'Cluster' },
} as const satisfies Record<string, OptionMapping>;

export type AddonOptionName = keyof typeof OPTION_MAP;
export const OPTION_NAMES = Object.keys(OPTION_MAP) as AddonOptionName[];

export function optionMapping(name: string): OptionMapping | undefined {
  return Object.hasOwn(OPTION_MAP, name) ? (OPTION_MAP as Record<string, OptionMapping>)[name] : undefined;
}

/**
 * User-facing zmes keys deliberately without an add-on option, with the reason (shown in
 * DOCS.md). Anything else user-facing must have an option.
 */
export const NOT_OPTIONS: Readonly<Partial<Record<OptionKey, string>>> = {
  'general.secrets': 'Home Assistant resolves `!secret name` in option values itself (from its `secrets.yaml`)',
  'database.socket': "a Unix socket on the ZoneMinder host is not reachable from the app's container; use `zm_db_host`",
  'hook.hook_script': 'legacy name of `hook.event_start_hook`; use `event_start_hook`',
};

/**
 * zmes keys the add-on decides: every key whose schema usage is `fixed`, plus the ones the
 * add-on pins although they are paths elsewhere (database.zm_conf: ZoneMinder runs on
 * another host, its zm.conf is not in the container).
 */
export function fixedSettings(paths: AddonPaths, port: number = CONTAINER_PORT): Readonly<Partial<Record<OptionKey, unknown>>> {
  return {
    'general.base_data_path': paths.data,
    'general.escontrol_interface_file': `${paths.data}/misc/escontrol_interface.json`,
    'fcm.token_file': `${paths.data}/push/tokens.txt`,
    'network.port': port,
    'network.address': '[::]',
    // Empty means "not set": no zm.conf is read.
    'database.zm_conf': '',
    'status.enable': true,
    'status.port': INGRESS_PORT,
    'status.address': '[::]',
    'status.allowed_clients': INGRESS_PROXY_ADDRESS,
  };
}

/** Why each fixed key has its value, for the docs. */
export const FIXED_REASONS: Readonly<Partial<Record<OptionKey, string>>> = {
  'general.base_data_path': 'private persistent folder of the app, included in backups',
  'general.escontrol_interface_file': 'admin overrides persist with the app',
  'fcm.token_file': 'registered push tokens persist with the app',
  'network.port': 'fixed inside the container; change the host port in the Network section',
  'network.address': 'every interface of the container',
  'database.zm_conf': 'ZoneMinder runs elsewhere: its zm.conf is not in the container; use the `zm_db_*` options',
  'status.enable': "the status page is the app's panel in Home Assistant's sidebar (ingress)",
  'status.port': "config.yaml's ingress_port (the Supervisor's default)",
  'status.address': 'every interface of the container; allowed_clients decides who is answered',
  'status.allowed_clients': "only the Supervisor's ingress proxy, which lets in logged-in Home Assistant users",
};

/**
 * Options whose add-on default deliberately differs from zmes's own default, with the
 * reason. test/addon/mapping.test.ts checks every other default in config.yaml against
 * the schema's.
 */
export const ADDON_DEFAULTS: Readonly<Partial<Record<AddonOptionName, string>>> = {
  ssl: 'off, so that a fresh install starts before certificates exist',
  certfile: 'the file name the Let\'s Encrypt and DuckDNS add-ons write to /ssl',
  keyfile: 'the file name the Let\'s Encrypt and DuckDNS add-ons write to /ssl',
  fcm_mode: 'disabled until a service-account file or a proxy is configured (zmes has no built-in key)',
  mqtt_enable: "on: Home Assistant usually runs a broker, whose credentials come from the Supervisor",
};

/**
 * zmes keys a user could care about: usage `setting` or `path`, not fixed by the add-on.
 * Keys with usage `ignored` (classic keys without effect) and `fixed` are not user-facing.
 */
export function userFacingKeys(): OptionKey[] {
  const fixed = new Set(Object.keys(fixedSettings(CONTAINER_PATHS)));
  return OPTIONS.filter((o) => (o.leaf.usage === 'setting' || o.leaf.usage === 'path') && !fixed.has(o.key)).map((o) => o.key);
}

export type FcmMode = 'disabled' | 'direct' | 'proxy';
const FCM_MODES: readonly FcmMode[] = ['disabled', 'direct', 'proxy'];

export interface MappedOptions {
  /** Flat `section.key` overrides for loadConfig, fixed keys included. */
  readonly overrides: Record<string, unknown>;
  /** MQTT is on and no server is given: ask the Supervisor for its broker. */
  readonly mqttFromSupervisor: boolean;
  readonly warnings: readonly string[];
}

/** An option's value as a file inside the container: names are relative to their folder. */
export function resolveFile(value: string, base: 'ssl' | 'config', paths: AddonPaths): string {
  const name = value.trim();
  if (name.startsWith('/')) return name;
  const dir = base === 'ssl' ? paths.ssl : paths.config;
  return `${dir.replace(/\/+$/, '')}/${name.replace(/^\.\/+/, '')}`;
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * Turns the Supervisor's options into loadConfig overrides. Values are validated later by
 * loadConfig (with messages naming the option, see describeOptionError); this only checks
 * what the schema cannot: required options present, the FCM mode and its companions.
 * Throws ZmesError ZMES_CONFIG_INVALID.
 */
export function mapOptions(options: Record<string, unknown>, paths: AddonPaths = CONTAINER_PATHS, port: number = CONTAINER_PORT): MappedOptions {
  const warnings: string[] = [];
  const problems: string[] = [];
  const overrides: Record<string, unknown> = {};

  for (const name of Object.keys(options).sort()) {
    if (optionMapping(name) === undefined) warnings.push(`option ${name} is not an option of this add-on; ignored`);
  }
  for (const required of REQUIRED_OPTIONS) {
    if (isEmpty(options[required])) problems.push(`option ${required} is required: set it in the add-on's Configuration tab`);
  }

  for (const name of OPTION_NAMES) {
    const mapping: OptionMapping = OPTION_MAP[name];
    const value = options[name];
    if (value === undefined || value === null) continue;
    if (mapping.transform === 'fcm-mode') continue;
    if (mapping.file !== undefined && typeof value === 'string') {
      overrides[mapping.key] = isEmpty(value) ? '' : resolveFile(value, mapping.file, paths);
    } else {
      overrides[mapping.key] = value;
    }
  }

  // FCM: one mode, and only that mode's settings.
  const mode = options['fcm_mode'] ?? 'disabled';
  if (typeof mode !== 'string' || !(FCM_MODES as readonly string[]).includes(mode)) {
    problems.push(`option fcm_mode: ${JSON.stringify(mode)} is not valid; expected one of ${FCM_MODES.join(', ')}`);
  } else {
    overrides['fcm.enable'] = mode !== 'disabled';
    const set = (name: AddonOptionName) => has(options, name);
    const drop = (names: AddonOptionName[], why: string) => {
      for (const name of names) {
        if (!set(name)) continue;
        delete overrides[OPTION_MAP[name].key];
        warnings.push(`option ${name} is ignored: ${why}`);
      }
    };
    if (mode === 'direct') {
      if (!set('fcm_service_account_file')) problems.push('option fcm_mode is direct: set fcm_service_account_file (a Google service-account JSON file in the add-on config folder)');
      drop(['fcm_proxy_url', 'fcm_proxy_key'], 'fcm_mode is direct');
    } else if (mode === 'proxy') {
      if (!set('fcm_proxy_url')) problems.push('option fcm_mode is proxy: set fcm_proxy_url');
      if (!set('fcm_proxy_key')) problems.push('option fcm_mode is proxy: set fcm_proxy_key');
      drop(['fcm_service_account_file'], 'fcm_mode is proxy');
    } else {
      // Disabled: keep the other settings out, so nothing half-configured is checked.
      for (const name of ['fcm_service_account_file', 'fcm_proxy_url', 'fcm_proxy_key'] as const) delete overrides[OPTION_MAP[name].key];
    }
  }

  if (problems.length > 0) throw new ZmesError('ZMES_CONFIG_INVALID', problems.join('\n'));

  const mqttEnabled = options['mqtt_enable'] === true || options['mqtt_enable'] === 'true';
  const mqttFromSupervisor = mqttEnabled && isEmpty(options['mqtt_server']);
  if (mqttFromSupervisor) {
    delete overrides['mqtt.server'];
    for (const name of ['mqtt_username', 'mqtt_password'] as const) {
      if (has(options, name)) {
        delete overrides[OPTION_MAP[name].key];
        warnings.push(`option ${name} is ignored: mqtt_server is empty, so the broker and its credentials come from the Supervisor`);
      }
    }
  }

  Object.assign(overrides, fixedSettings(paths, port));
  return { overrides, mqttFromSupervisor, warnings };
}

function has(options: Record<string, unknown>, name: string): boolean {
  return !isEmpty(options[name]);
}

/** Options the user must set (no default in config.yaml, no `?`). */
export const REQUIRED_OPTIONS: readonly AddonOptionName[] = ['zm_db_host', 'zm_db_password'];

/** The broker the Supervisor's MQTT service offers (GET /services/mqtt). */
export interface MqttService {
  readonly host: string;
  readonly port: number;
  readonly ssl: boolean;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** Overrides that point zmes at the Supervisor's broker. */
export function mqttServiceOverrides(service: MqttService): { overrides: Record<string, unknown>; warnings: string[] } {
  const host = service.host.includes(':') && !service.host.startsWith('[') ? `[${service.host}]` : service.host;
  const overrides: Record<string, unknown> = { 'mqtt.server': `${host}:${service.port}` };
  const warnings: string[] = [];
  if (service.username) overrides['mqtt.username'] = service.username;
  if (service.password) overrides['mqtt.password'] = service.password;
  if (service.ssl) {
    // The broker's certificate is issued for the user's domain, not for the internal host
    // name the Supervisor gives: verification would always fail on the internal network.
    overrides['mqtt.tls_insecure'] = true;
    warnings.push(`the Supervisor's MQTT broker ${host}:${service.port} uses TLS; its certificate is not verified (internal network)`);
  }
  return { overrides, warnings };
}

/**
 * Rewrites loadConfig's messages so they name add-on options: "(option database.host)"
 * becomes "(add-on option zm_db_host)".
 */
export function describeOptionError(message: string): string {
  let text = message;
  for (const name of OPTION_NAMES) {
    const key = OPTION_MAP[name].key;
    text = text.split(`(option ${key})`).join(`(add-on option ${name})`);
  }
  return text;
}

/** Markdown: add-on option | zmes key | classic ini key | note. The table DOCS.md shows. */
export function mappingTable(): string {
  const rows = ['| app option | zmes key | classic ini `[section] key` | note |', '| --- | --- | --- | --- |'];
  for (const name of OPTION_NAMES) {
    const mapping: OptionMapping = OPTION_MAP[name];
    const leaf = findOption(mapping.key)?.leaf;
    const classic = leaf?.classic ? `\`${leaf.classic}\`` : '— (zmes only)';
    const notes: string[] = [];
    if (mapping.file === 'ssl') notes.push('file name in `/ssl` (or an absolute path)');
    if (mapping.file === 'config') notes.push("file name in this app's config folder `/config` (or an absolute path)");
    if (mapping.note) notes.push(mapping.note);
    rows.push(`| \`${name}\` | \`${mapping.key}\` | ${classic} | ${notes.join('; ')} |`);
  }
  return rows.join('\n');
}

/** Markdown: keys the add-on sets itself, and keys without an option. */
export function fixedTable(): string {
  const fixed = fixedSettings(CONTAINER_PATHS);
  const rows = ['| zmes key | classic ini | app value | why |', '| --- | --- | --- | --- |'];
  for (const [key, value] of Object.entries(fixed)) {
    const leaf = findOption(key)?.leaf;
    const shown = value === '' ? '(not set)' : `\`${String(value)}\``;
    rows.push(`| \`${key}\` | ${leaf?.classic ? `\`${leaf.classic}\`` : '—'} | ${shown} | ${FIXED_REASONS[key as OptionKey] ?? ''} |`);
  }
  for (const [key, why] of Object.entries(NOT_OPTIONS)) {
    const leaf = findOption(key)?.leaf;
    rows.push(`| \`${key}\` | ${leaf?.classic ? `\`${leaf.classic}\`` : '—'} | no option | ${why} |`);
  }
  return rows.join('\n');
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FORMATS } from '../../../src/config/formats.js';
import { OPTIONS, SECTIONS, createStore, schema } from '../../../src/config/schema.js';

// The classic server's keys (classic-config.md §3), written out so that a key dropped or
// renamed in the schema fails here.
const CLASSIC_KEYS: Record<string, string[]> = {
  general: ['secrets', 'base_data_path', 'use_escontrol_interface', 'escontrol_interface_file', 'escontrol_interface_password', 'restart_interval', 'skip_monitors'],
  network: ['port', 'address'],
  auth: ['enable', 'timeout'],
  ssl: ['enable', 'cert', 'key'],
  fcm: [
    'enable', 'use_fcmv1', 'replace_push_messages', 'token_file', 'date_format', 'date_locale', 'fcm_android_priority',
    'fcm_android_ttl', 'fcm_log_raw_message', 'fcm_log_message_id', 'fcm_v1_key', 'fcm_v1_url', 'fcm_service_account_file',
    'include_profile_in_push', 'api_key',
  ],
  push: ['use_api_push', 'api_push_script'],
  mqtt: ['enable', 'server', 'topic', 'username', 'password', 'retain', 'tick_interval', 'tls_ca', 'tls_cert', 'tls_key', 'tls_insecure'],
  customize: [
    'es_rules', 'console_logs', 'es_debug_level', 'event_check_interval', 'monitor_reload_interval', 'read_alarm_cause',
    'tag_alarm_event_id', 'use_custom_notification_sound', 'include_picture', 'picture_url', 'picture_portal_username',
    'picture_portal_password', 'send_event_start_notification', 'send_event_end_notification', 'use_hooks',
  ],
  hook: [
    'event_start_hook', 'hook_script', 'event_start_hook_notify_userscript', 'event_end_hook', 'event_end_hook_notify_userscript',
    'event_start_notify_on_hook_success', 'event_start_notify_on_hook_fail', 'event_end_notify_on_hook_success',
    'event_end_notify_on_hook_fail', 'event_end_notify_if_start_success', 'use_hook_description', 'hook_skip_monitors',
    'hook_pass_image_path', 'max_parallel_hooks', 'hook_timeout', 'tag_detected_objects', 'keep_frame_match_type',
  ],
};

const IGNORED = [
  'general.restart_interval', 'fcm.use_fcmv1', 'fcm.api_key', 'mqtt.tick_interval', 'customize.console_logs',
  'customize.es_debug_level', 'customize.use_custom_notification_sound', 'hook.keep_frame_match_type',
];

const SENSITIVE = [
  'general.escontrol_interface_password', 'fcm.fcm_v1_key', 'fcm.api_key', 'mqtt.password', 'customize.picture_portal_password',
  'database.password', 'zoneminder.password',
];

// Defaults that matter for compatibility or were decided for zmes, pinned by value.
const PINNED_DEFAULTS: Record<string, unknown> = {
  'general.base_data_path': '/var/lib/zmeventnotification',
  'general.restart_interval': 7200,
  'general.log_level': 'info',
  'network.port': 9000,
  'network.address': '[::]',
  'network.max_frame_size': 65536,
  'network.max_connections': 10000,
  'network.max_backpressure': 1048576,
  'network.idle_timeout': 120,
  'auth.enable': true,
  'auth.timeout': 20,
  'auth.max_failures': 10,
  'auth.failure_window': 300,
  'ssl.enable': true,
  'fcm.enable': true,
  'fcm.replace_push_messages': false,
  'fcm.token_file': '${base_data_path}/push/tokens.txt',
  'fcm.date_format': '%I:%M %p, %d-%b',
  'fcm.fcm_android_priority': 'high',
  'fcm.fcm_log_message_id': 'NONE',
  'fcm.fcm_v1_key': null,
  'fcm.fcm_v1_url': null,
  'fcm.use_zm_notifications': true,
  'general.escontrol_interface_file': '${base_data_path}/misc/escontrol_interface.json',
  'mqtt.enable': false,
  'mqtt.server': '127.0.0.1',
  'mqtt.topic': 'zoneminder',
  'mqtt.tick_interval': 15,
  'customize.es_debug_level': 5,
  'customize.event_check_interval': 0.1,
  'customize.monitor_reload_interval': 300,
  'customize.send_event_start_notification': true,
  'customize.send_event_end_notification': false,
  'customize.max_event_age': 600,
  'hook.event_end_notify_if_start_success': true,
  'hook.max_parallel_hooks': 0,
  'hook.keep_frame_match_type': true,
  'database.host': 'localhost',
  'database.port': 3306,
  'database.socket': null,
  'database.name': 'zm',
  'database.user': 'zmuser',
  'database.password': 'zmpass',
  'database.zm_conf': '/etc/zm/zm.conf',
};

describe('the schema', () => {
  it('has exactly the classic sections plus database, zoneminder, status and cluster, in that order', () => {
    assert.deepEqual(SECTIONS, ['general', 'network', 'auth', 'ssl', 'fcm', 'push', 'mqtt', 'customize', 'hook', 'database', 'zoneminder', 'status', 'cluster']);
  });

  it('contains every classic key, with its classic name', () => {
    for (const [section, keys] of Object.entries(CLASSIC_KEYS)) {
      for (const key of keys) {
        const option = OPTIONS.find((o) => o.key === `${section}.${key}`);
        assert.ok(option, `missing ${section}.${key}`);
        assert.equal(option.leaf.classic, `${section}.${key}`);
      }
    }
  });

  it('marks every other key as zmes only (classic: null)', () => {
    const classic = new Set(Object.entries(CLASSIC_KEYS).flatMap(([s, keys]) => keys.map((k) => `${s}.${k}`)));
    for (const option of OPTIONS) if (!classic.has(option.key)) assert.equal(option.leaf.classic, null, option.key);
  });

  it('marks exactly the dead classic keys as ignored', () => {
    assert.deepEqual(OPTIONS.filter((o) => o.leaf.usage === 'ignored').map((o) => o.key).sort(), [...IGNORED].sort());
  });

  it('marks exactly the secrets as sensitive', () => {
    assert.deepEqual(OPTIONS.filter((o) => o.leaf.sensitive).map((o) => o.key).sort(), [...SENSITIVE].sort());
  });

  it('names every env var ZMES_<SECTION>_<KEY>', () => {
    for (const option of OPTIONS) assert.equal(option.leaf.env, `ZMES_${option.section}_${option.name}`.toUpperCase());
  });

  it('documents every option in one sentence', () => {
    for (const option of OPTIONS) {
      const { doc } = option.leaf;
      assert.match(doc, /^[A-Za-z(].*[.)]$/, `${option.key}: ${doc}`);
      assert.ok(doc.length <= 160, `${option.key}: doc too long (${doc.length})`);
    }
  });

  it('has defaults that are valid for their own format', () => {
    for (const option of OPTIONS) {
      const value = option.leaf.default;
      if (value === null) assert.ok(option.leaf.nullable, `${option.key}: null default but not nullable`);
      else assert.ok(FORMATS[option.leaf.format].check(value), `${option.key}: default ${String(value)} invalid`);
    }
  });

  it('keeps the pinned defaults', () => {
    for (const [key, expected] of Object.entries(PINNED_DEFAULTS)) {
      const option = OPTIONS.find((o) => o.key === key);
      assert.ok(option, key);
      assert.deepEqual(option.leaf.default, expected, key);
    }
  });

  it('is accepted by convict, which keeps our classic and usage properties', () => {
    const store = createStore({});
    const properties = store.getSchema() as unknown as {
      _cvtProperties: Record<string, { _cvtProperties: Record<string, { classic: unknown; usage: unknown }> }>;
    };
    const enable = properties._cvtProperties['fcm']?._cvtProperties['enable'];
    assert.equal(enable?.classic, 'fcm.enable');
    assert.equal(enable?.usage, 'setting');
    assert.equal(schema.fcm.enable.format, 'yes-no');
  });

  it('uses no convict built-in Boolean format (it reads "no" as true)', () => {
    for (const option of OPTIONS) assert.ok(Object.hasOwn(FORMATS, option.leaf.format), option.key);
    const store = createStore({ ZMES_FCM_ENABLE: 'no', ZMES_SSL_ENABLE: 'off' });
    assert.equal(store.get('fcm.enable'), false);
    assert.equal(store.get('ssl.enable'), false);
  });
});

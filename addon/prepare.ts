/**
 * From the Supervisor's options to a validated zmes configuration: paths of the container
 * (overridable for tests), options.json, the option mapping, the Supervisor's MQTT broker,
 * loadConfig, and the file checks the init oneshot makes. Used by addon/main.ts.
 */
import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedConfig } from '../src/config/load.js';
import { loadConfigWithEscontrol } from '../src/escontrol/startup-overrides.js';
import { errorMessage, isZmesError, ZmesError } from '../src/errors.js';
import {
  CONTAINER_PATHS,
  CONTAINER_PORT,
  describeOptionError,
  mapOptions,
  mqttServiceOverrides,
  type AddonPaths,
} from '../src/config/addon-options.js';
import { DEFAULT_SUPERVISOR_API, lookupMqttService } from './supervisor.js';

export interface AddonEnvironment {
  readonly optionsFile: string;
  readonly paths: AddonPaths;
  readonly port: number;
  readonly supervisorApi: string;
  readonly supervisorToken: string | undefined;
}

export function addonEnvironment(env: NodeJS.ProcessEnv): AddonEnvironment {
  const paths: AddonPaths = {
    data: env['ZMES_ADDON_DATA_DIR'] || CONTAINER_PATHS.data,
    ssl: env['ZMES_ADDON_SSL_DIR'] || CONTAINER_PATHS.ssl,
    config: env['ZMES_ADDON_CONFIG_DIR'] || CONTAINER_PATHS.config,
  };
  const port = env['ZMES_ADDON_PORT'] ? Number(env['ZMES_ADDON_PORT']) : CONTAINER_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ZmesError('ZMES_CONFIG_INVALID', `ZMES_ADDON_PORT=${env['ZMES_ADDON_PORT']} is not a TCP port`);
  }
  return {
    optionsFile: env['ZMES_ADDON_OPTIONS'] || join(paths.data, 'options.json'),
    paths,
    port,
    supervisorApi: env['SUPERVISOR_API'] || DEFAULT_SUPERVISOR_API,
    supervisorToken: env['SUPERVISOR_TOKEN'] || undefined,
  };
}

export interface PreparedConfig {
  readonly loaded: LoadedConfig;
  /** Lines for the log: where MQTT comes from, options ignored, … */
  readonly notes: readonly string[];
  readonly warnings: readonly string[];
}

/** Reads and maps the options, consults the Supervisor, loads and validates the configuration. */
export async function prepareConfig(addon: AddonEnvironment, env: NodeJS.ProcessEnv): Promise<PreparedConfig> {
  const options = readOptions(addon.optionsFile);
  const mapped = mapOptions(options, addon.paths, addon.port);
  const overrides = { ...mapped.overrides };
  const notes: string[] = [];
  const warnings = [...mapped.warnings];

  if (mapped.mqttFromSupervisor) {
    const lookup = await lookupMqttService({ baseUrl: addon.supervisorApi, token: addon.supervisorToken });
    if (lookup.ok) {
      const service = mqttServiceOverrides(lookup.service);
      Object.assign(overrides, service.overrides);
      warnings.push(...service.warnings);
      const who = lookup.service.username ? ` as ${lookup.service.username}` : '';
      notes.push(`MQTT: using the broker the Supervisor offers, ${String(service.overrides['mqtt.server'])}${who}`);
    } else {
      overrides['mqtt.enable'] = false;
      warnings.push(`MQTT is off: ${lookup.reason}`);
    }
  } else if (options['mqtt_enable'] === true) {
    notes.push(`MQTT: using the broker set in mqtt_server (${String(options['mqtt_server'])})`);
  }

  let loaded: LoadedConfig;
  try {
    // The admin's stored escontrol `edit` overrides apply in the add-on too.
    loaded = loadConfigWithEscontrol({ env, overrides });
  } catch (err) {
    if (isZmesError(err)) throw new ZmesError(err.code, describeOptionError(err.message), { cause: err });
    throw err;
  }
  return { loaded, notes, warnings: [...warnings, ...loaded.warnings] };
}

function readOptions(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ZmesError(
      'ZMES_CONFIG_FILE',
      missing ? `${file} not found: the Supervisor writes it before the add-on starts` : `cannot read ${file}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ZmesError('ZMES_CONFIG_FILE', `${file} is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ZmesError('ZMES_CONFIG_FILE', `${file} does not hold an object of options`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * What the schema cannot check: files that must exist, a writable data folder. Errors stop
 * the add-on (init oneshot); warnings name files that are configured but missing.
 */
export function checkFiles(loaded: LoadedConfig, addon: AddonEnvironment): { errors: string[]; warnings: string[] } {
  const { config } = loaded;
  const errors: string[] = [];
  const warnings: string[] = [];
  const readable = (file: string) => {
    try {
      accessSync(file, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (config.ssl.enable) {
    for (const [option, file] of [['certfile', config.ssl.cert], ['keyfile', config.ssl.key]] as const) {
      if (!file) errors.push(`ssl is on but ${option} is empty`);
      else if (!readable(file)) errors.push(`ssl is on but ${option} ${file} does not exist or is not readable (put certificates in Home Assistant's /ssl folder, or turn ssl off)`);
    }
  }
  const direct = config.fcm.enable ? config.fcm.fcm_service_account_file : null;
  if (direct && !readable(direct)) errors.push(`fcm_mode is direct but fcm_service_account_file ${direct} does not exist or is not readable (copy it into the add-on config folder)`);

  const optional: Array<[string, string | null]> = [
    ['es_rules_file', config.customize.es_rules],
    ['api_push_script', config.push.use_api_push ? config.push.api_push_script : null],
    ['mqtt_tls_ca', config.mqtt.enable ? config.mqtt.tls_ca : null],
    ['mqtt_tls_cert', config.mqtt.enable ? config.mqtt.tls_cert : null],
    ['mqtt_tls_key', config.mqtt.enable ? config.mqtt.tls_key : null],
  ];
  if (config.customize.use_hooks) {
    optional.push(
      ['event_start_hook', config.hook.event_start_hook],
      ['event_start_hook_notify_userscript', config.hook.event_start_hook_notify_userscript],
      ['event_end_hook', config.hook.event_end_hook],
      ['event_end_hook_notify_userscript', config.hook.event_end_hook_notify_userscript],
    );
  }
  for (const [option, file] of optional) if (file && !readable(file)) warnings.push(`${option} ${file} does not exist or is not readable`);

  try {
    mkdirSync(addon.paths.data, { recursive: true });
    const probe = join(addon.paths.data, `.zmes-write-check-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    errors.push(`the data folder ${addon.paths.data} is not writable: ${errorMessage(err)}`);
  }
  return { errors, warnings };
}

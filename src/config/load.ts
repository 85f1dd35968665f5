import { ZmesError, errorMessage, isZmesError } from '../errors.js';
import { parseConfigYaml, suggest } from './config-file.js';
import { urlCredentials } from './credentials.js';
import { FORMATS, describeValue } from './formats.js';
import {
  OPTIONS,
  SECTIONS,
  createStore,
  findOption,
  isSectionName,
  type Config,
  type OptionInfo,
  type OptionKey,
} from './schema.js';
import { readSecretsFile, secretReference } from './secrets.js';
import { hasTemplate, substituteTemplates, type TemplateSource } from './templates.js';
import { readZmConf, zmDatabaseSettings, type ZmDatabaseSettings } from './zm-conf.js';
// The classic files are read through the migration's own mapping, defined once in src/migrate.
import { classicSettings, configFileFormat, readClassicSource, type ConfigFileFormat } from '../migrate/classic-file.js';
import { CHANGED_MEANING } from '../migrate/plan.js';
import { readTextIfExists } from '../state/text-file.js';

export type { Config, OptionKey } from './schema.js';
export type { ConfigFileFormat } from '../migrate/classic-file.js';

/** Where an effective value came from; `secret` means a `!NAME` reference in the file, options, env or command line. */
export type ConfigSource = 'default' | 'file' | 'secret' | 'env' | 'zm.conf' | 'override' | 'command line';

/** One setting from the command line; a later one for the same key wins. */
export interface CommandLineSetting {
  /** `section.key`. */
  readonly key: string;
  readonly value: string;
  /** The flag as given, for messages: `--port`, `--set network.port`, `--no-enable-ssl`. */
  readonly flag: string;
}

export interface LoadOptions {
  /**
   * Configuration file; it must exist. A zmes YAML file, or the classic server's
   * zmeventnotification.ini (told by its content) or zmeventnotification.yml (told by its
   * name), which are read as `zmes migrate-config` reads them. Without it, the other layers apply.
   */
  file?: string;
  /** Where ZMES_<SECTION>_<KEY> variables are read from; process.env when omitted. */
  env?: NodeJS.ProcessEnv;
  /**
   * Values set by a caller such as the add-on, between the file and env in precedence:
   * flat (`{'mqtt.server': 'core-mosquitto'}`) or by section (`{mqtt: {server: …}}`).
   * null and undefined values are skipped.
   */
  overrides?: Record<string, unknown>;
  /** Settings from the command line, above everything else (env included). */
  commandLine?: readonly CommandLineSetting[];
}

export interface LoadedConfig {
  /** The effective configuration, deeply frozen. */
  readonly config: Config;
  readonly sources: ReadonlyMap<OptionKey, ConfigSource>;
  /** Messages for the log: ignored classic keys, legacy names, zm.conf problems, unknown ZMES_ variables. */
  readonly warnings: readonly string[];
  /** How the file was read; null without a file. */
  readonly fileFormat: ConfigFileFormat | null;
}

type ExplicitSource = 'file' | 'override' | 'env' | 'cli';
type Layers = Record<ExplicitSource, Map<OptionKey, Entry>>;

/** Lowest precedence first. */
const LAYER_ORDER: readonly ExplicitSource[] = ['file', 'override', 'env', 'cli'];

const SOURCE_NAME: Readonly<Record<ExplicitSource, ConfigSource>> = { file: 'file', override: 'override', env: 'env', cli: 'command line' };

/** A value set explicitly by one source, before convict merges the sources. */
interface Entry {
  value: unknown;
  readonly source: ExplicitSource;
  /** Where it was set, for error messages: "zmes.yml, line 3", "env ZMES_FCM_ENABLE". */
  readonly origin: string;
  /** The command-line flag that set it. */
  readonly flag?: string;
  secret?: string;
}

/**
 * Builds the effective configuration: defaults ← file ← overrides ← env ← command line, with
 * secret references, `${name}`/`{{name}}` templates and zm.conf applied, every value validated.
 * Throws ZmesError ZMES_CONFIG_FILE, ZMES_CONFIG_INVALID or ZMES_SECRET_MISSING.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const warnings: string[] = [];

  const file = options.file === undefined ? null : readConfigFile(options.file);
  const classic = file === null || file.format === 'zmes' ? null : readClassicSource(file.text, file.path);
  const layers: Layers = {
    file:
      file === null ? new Map()
      : classic === null ? yamlEntries(file.text, file.path)
      // References unchecked for now: which secrets file applies depends on every layer.
      : fileEntries(classicSettings(classic, file.path, null).values, file.path),
    override: overrideEntries(options.overrides ?? {}),
    env: envEntries(env),
    cli: commandLineEntries(options.commandLine ?? []),
  };
  const secrets = findSecrets(layers);
  if (file !== null && classic !== null) {
    const settings = classicSettings(classic, file.path, secrets?.values ?? null);
    layers.file = fileEntries(settings.values, file.path);
    warnings.push(...settings.warnings);
  }
  applySecrets(layers, secrets);
  const explicit = new Map<OptionKey, Entry>();
  for (const source of LAYER_ORDER) for (const [key, entry] of layers[source]) explicit.set(key, entry);

  // convict re-imports env after every load, so what goes in as env wins over the loads: the
  // command line joins it, above it.
  const store = storeOf(createStore(envForConvict(new Map([...layers.env, ...layers.cli]))));
  store.load(nest(layers.file));
  store.load(nest(layers.override));

  const sources = new Map<OptionKey, ConfigSource>();
  for (const { key } of OPTIONS) {
    const entry = explicit.get(key);
    sources.set(key, entry === undefined ? 'default' : entry.secret !== undefined ? 'secret' : SOURCE_NAME[entry.source]);
  }

  applyAliases(store, explicit, sources, warnings);
  applyTemplates(store);
  applyZmConf(store, sources, warnings);
  validate(store, explicit, sources);

  for (const { key, leaf } of OPTIONS) {
    const entry = explicit.get(key);
    if (leaf.usage === 'ignored' && entry !== undefined) {
      warnings.push(`${key}${entry.source === 'cli' ? ` (${entry.origin})` : ''} is a classic setting with no effect in zmes; ignored`);
    }
  }
  warnings.push(...commandLineWarnings(layers.cli));
  warnings.push(...unknownEnvWarnings(env));

  return { config: deepFreeze(store.getProperties()), sources, warnings, fileFormat: file?.format ?? null };
}

/** The string values that must never reach a log: sensitive settings and credentials inside URLs. */
export function secretValues(config: Config): string[] {
  const found = new Set<string>();
  for (const option of OPTIONS) {
    const value = configValue(config, option.key);
    if (typeof value !== 'string' || value === '') continue;
    if (option.leaf.sensitive) found.add(value);
    for (const credential of urlCredentials(value)) found.add(credential);
  }
  return [...found];
}

/** The value of one option by its `section.key` name. */
export function configValue(config: Config, key: OptionKey): unknown {
  const option = findOption(key);
  if (option === undefined) throw new ZmesError('ZMES_INTERNAL', `no such option: ${key}`);
  return (config[option.section] as Record<string, unknown>)[option.name];
}

/** The subset of convict's API we use, untyped by path: we iterate over keys. */
interface Store {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  load(values: object): void;
  validate(options: { allowed: 'strict'; output: (message: string) => void }): void;
  getProperties(): Config;
}

function storeOf(config: ReturnType<typeof createStore>): Store {
  // convict's typed paths cannot express "any key of the schema" chosen at run time.
  return config as unknown as Store;
}

function readConfigFile(path: string): { path: string; text: string; format: ConfigFileFormat } {
  let text: string | null;
  try {
    text = readTextIfExists(path);
  } catch (err) {
    throw new ZmesError('ZMES_CONFIG_FILE', `cannot read configuration file ${path}: ${errorMessage(err)}`, { cause: err });
  }
  if (text === null) throw new ZmesError('ZMES_CONFIG_FILE', `configuration file ${path} not found`);
  return { path, text, format: configFileFormat(path, text) };
}

function yamlEntries(text: string, file: string): Map<OptionKey, Entry> {
  return fileEntries(parseConfigYaml(text, file), file);
}

/** File values as entries, whatever the format they were read from. */
function fileEntries(values: ReadonlyMap<OptionKey, { readonly value: string; readonly line: number }>, file: string): Map<OptionKey, Entry> {
  const entries = new Map<OptionKey, Entry>();
  for (const [key, { value, line }] of values) entries.set(key, { value, source: 'file', origin: `${file}, line ${line}` });
  return entries;
}

function commandLineEntries(settings: readonly CommandLineSetting[]): Map<OptionKey, Entry> {
  const entries = new Map<OptionKey, Entry>();
  for (const { key, value, flag } of settings) {
    const option = findOption(key);
    if (option === undefined) throw unknownOption(key, `on the command line (${flag})`);
    // Deleted first so that the map's order is the order of the last setting of each key.
    entries.delete(option.key);
    entries.set(option.key, { value, source: 'cli', origin: `command line ${flag}`, flag });
  }
  return entries;
}

/** What is worth knowing about settings given on the command line. */
function commandLineWarnings(entries: Map<OptionKey, Entry>): string[] {
  const warnings: string[] = [];
  for (const [key, entry] of entries) {
    const leaf = findOption(key)?.leaf;
    if (leaf === undefined) continue;
    if (leaf.sensitive && entry.secret === undefined && entry.value !== '') {
      warnings.push(`${key} (${entry.origin}): other users of this machine can read the command line; use "!NAME" with general.secrets, or ${leaf.env}`);
    }
    const changed = CHANGED_MEANING.get(key);
    if (changed !== undefined && leaf.classicFlag !== undefined && entry.flag === `--${leaf.classicFlag.name}`) {
      warnings.push(`${key} (${entry.origin}) is used as given, but its meaning changed: ${changed}`);
    }
  }
  return warnings;
}

function overrideEntries(overrides: Record<string, unknown>): Map<OptionKey, Entry> {
  const entries = new Map<OptionKey, Entry>();
  const add = (key: string, value: unknown) => {
    if (value === undefined || value === null) return;
    const option = findOption(key);
    if (option === undefined) throw unknownOption(key, 'in the options');
    if (isPlainObject(value)) {
      throw new ZmesError('ZMES_CONFIG_INVALID', `${option.key}: a mapping is not valid (option ${key}); expected ${FORMATS[option.leaf.format].expected}`);
    }
    entries.set(option.key, { value, source: 'override', origin: `option ${key}` });
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (isSectionName(name) && isPlainObject(value)) {
      for (const [key, inner] of Object.entries(value)) add(`${name}.${key}`, inner);
    } else add(name, value);
  }
  return entries;
}

function envEntries(env: NodeJS.ProcessEnv): Map<OptionKey, Entry> {
  const entries = new Map<OptionKey, Entry>();
  for (const { key, leaf } of OPTIONS) {
    const value = env[leaf.env];
    if (value !== undefined) entries.set(key, { value, source: 'env', origin: `env ${leaf.env}` });
  }
  return entries;
}

function unknownOption(key: string, where: string): ZmesError {
  const [section = '', name = ''] = key.split('.', 2);
  if (!isSectionName(section)) {
    return new ZmesError(
      'ZMES_CONFIG_INVALID',
      `unknown option ${key} ${where}${suggest(section, SECTIONS)}; valid sections: ${SECTIONS.join(', ')}`,
    );
  }
  const valid = OPTIONS.filter((o) => o.section === section).map((o) => o.name);
  return new ZmesError(
    'ZMES_CONFIG_INVALID',
    `unknown option ${key} ${where}${suggest(name, valid, `${section}.`)}; valid keys of ${section}: ${valid.join(', ')}`,
  );
}

/** The entry of the layer with the highest precedence that sets the key. */
function topEntry(layers: Layers, key: OptionKey): Entry | undefined {
  for (const source of [...LAYER_ORDER].reverse()) {
    const entry = layers[source].get(key);
    if (entry !== undefined) return entry;
  }
  return undefined;
}

interface Secrets {
  readonly path: string;
  readonly values: ReadonlyMap<string, string>;
}

/** The secrets file general.secrets names (with every layer's precedence), read; null when none is named. */
function findSecrets(layers: Layers): Secrets | null {
  const secretsEntry = topEntry(layers, 'general.secrets');
  let secretsPath: string | null = null;
  if (secretsEntry !== undefined) {
    if (secretReference(secretsEntry.value) !== null) {
      throw new ZmesError('ZMES_CONFIG_INVALID', `general.secrets (${secretsEntry.origin}) cannot itself be a secret reference`);
    }
    let path = FORMATS.path.coerce(secretsEntry.value);
    if (typeof path === 'string' && hasTemplate(path)) path = substituteTemplates('general.secrets', path, rawTemplateSource(layers));
    if (path !== null && !FORMATS.path.check(path)) {
      throw new ZmesError(
        'ZMES_CONFIG_INVALID',
        `general.secrets: ${describeValue(path, false)} is not valid (${secretsEntry.origin}); expected ${FORMATS.path.expected}`,
      );
    }
    secretsPath = path;
  }
  return secretsPath === null ? null : { path: secretsPath, values: readSecrets(secretsPath, layers) };
}

/** Replaces every `!NAME` value by the secret. */
function applySecrets(layers: Layers, found: Secrets | null): void {
  const secrets = found?.values ?? null;
  const secretsPath = found?.path ?? null;
  for (const layer of Object.values(layers)) {
    for (const [key, entry] of layer) {
      const name = secretReference(entry.value);
      if (name === null) continue;
      if (name === '') throw new ZmesError('ZMES_SECRET_MISSING', `${key}: "!" without a secret name (${entry.origin})`);
      if (secrets === null) {
        throw new ZmesError(
          'ZMES_SECRET_MISSING',
          `${key} refers to secret ${name} (${entry.origin}), but general.secrets names no secrets file`,
        );
      }
      const value = secrets.get(name);
      if (value === undefined) {
        throw new ZmesError(
          'ZMES_SECRET_MISSING',
          `${key} refers to secret ${name} (${entry.origin}), which is not in ${secretsPath}${suggest(name, [...secrets.keys()])}`,
        );
      }
      entry.value = value;
      entry.secret = name;
    }
  }
}

/**
 * Classic: a secrets file that is set must be readable, even if nothing refers to it.
 * When something does, the error names the first key and secret affected.
 */
function readSecrets(path: string, layers: Layers): Map<string, string> {
  try {
    return readSecretsFile(path);
  } catch (err) {
    if (!isZmesError(err, 'ZMES_SECRET_MISSING')) throw err;
    for (const layer of Object.values(layers)) {
      for (const [key, entry] of layer) {
        const name = secretReference(entry.value);
        if (name !== null && name !== '') {
          throw new ZmesError('ZMES_SECRET_MISSING', `${key} refers to secret ${name} (${entry.origin}), but ${err.message}`, { cause: err });
        }
      }
    }
    throw err;
  }
}

/** Template lookups for general.secrets, which is resolved before anything else. */
function rawTemplateSource(layers: Layers): TemplateSource {
  return {
    has: (key) => findOption(key) !== undefined,
    get: (key) => {
      const option = findOption(key);
      if (option === undefined) return undefined;
      const entry = topEntry(layers, option.key);
      if (entry === undefined) return option.leaf.default;
      if (secretReference(entry.value) !== null) {
        throw new ZmesError('ZMES_CONFIG_INVALID', `general.secrets: its template refers to ${key}, which is a secret reference`);
      }
      return FORMATS[option.leaf.format].coerce(entry.value);
    },
    isSensitive: (key) => findOption(key)?.leaf.sensitive ?? false,
  };
}

/** Env vars as convict reads them: secrets resolved, only the schema's variables. */
function envForConvict(entries: Map<OptionKey, Entry>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, entry] of entries) {
    const option = findOption(key);
    if (option !== undefined) env[option.leaf.env] = String(entry.value);
  }
  return env;
}

/** `{section: {key: value}}` for convict's load(), values coerced to their format. */
function nest(entries: Map<OptionKey, Entry>): Record<string, Record<string, unknown>> {
  const nested: Record<string, Record<string, unknown>> = {};
  for (const [key, entry] of entries) {
    const option = findOption(key);
    if (option === undefined) continue;
    // convict coerces strings only; add-on options also bring numbers and booleans.
    (nested[option.section] ??= {})[option.name] = FORMATS[option.leaf.format].coerce(entry.value);
  }
  return nested;
}

/** A legacy key (hook.hook_script) supplies the value of its successor when that is not set. */
function applyAliases(store: Store, explicit: Map<OptionKey, Entry>, sources: Map<OptionKey, ConfigSource>, warnings: string[]) {
  for (const { key, leaf } of OPTIONS) {
    if (leaf.aliasOf === undefined || !explicit.has(key)) continue;
    const target = findOption(leaf.aliasOf);
    if (target === undefined) throw new ZmesError('ZMES_INTERNAL', `${key} is an alias of unknown option ${leaf.aliasOf}`);
    if (explicit.has(target.key)) {
      warnings.push(`${key} is the legacy name of ${target.key}, which is also set; ${key} is ignored`);
      continue;
    }
    store.set(target.key, store.get(key));
    sources.set(target.key, sources.get(key) ?? 'default');
    warnings.push(`${key} is the legacy name of ${target.key}; its value is used for ${target.key}`);
  }
}

function applyTemplates(store: Store): void {
  const source: TemplateSource = {
    has: (key) => findOption(key) !== undefined,
    get: (key) => store.get(key),
    isSensitive: (key) => findOption(key)?.leaf.sensitive ?? false,
  };
  for (const { key } of OPTIONS) {
    const value = store.get(key);
    if (typeof value === 'string' && hasTemplate(value)) store.set(key, substituteTemplates(key, value, source));
  }
}

/**
 * Database keys not set explicitly come from ZoneMinder's zm.conf when it exists. Its
 * socket is not used when host or port is set explicitly: that would silently override
 * the location the user chose.
 */
function applyZmConf(store: Store, sources: Map<OptionKey, ConfigSource>, warnings: string[]): void {
  const path = store.get('database.zm_conf');
  if (typeof path !== 'string' || !FORMATS.path.check(path)) return;
  const zmConf = readZmConf(path);
  warnings.push(...zmConf.warnings);
  if (zmConf.files.length === 0) {
    if (sources.get('database.zm_conf') !== 'default') warnings.push(`database.zm_conf: ${path} not found; ZoneMinder's settings not used`);
    return;
  }
  const { settings, warnings: problems } = zmDatabaseSettings(zmConf.values);
  warnings.push(...problems);
  const isDefault = (key: OptionKey) => sources.get(key) === 'default';
  const apply = (key: OptionKey, value: ZmDatabaseSettings[keyof ZmDatabaseSettings]) => {
    if (value === undefined || !isDefault(key)) return;
    store.set(key, value);
    sources.set(key, 'zm.conf');
  };
  const locationIsDefault = isDefault('database.host') && isDefault('database.port');
  apply('database.host', settings.host);
  apply('database.port', settings.port);
  if (locationIsDefault) apply('database.socket', settings.socket);
  apply('database.name', settings.name);
  apply('database.user', settings.user);
  apply('database.password', settings.password);
}

/** Checks every value with the messages we want (key, value unless secret, origin, expectation), then lets convict confirm. */
function validate(store: Store, explicit: Map<OptionKey, Entry>, sources: Map<OptionKey, ConfigSource>): void {
  const problems: string[] = [];
  for (const option of OPTIONS) {
    problems.push(...checkOption(store, option, explicit.get(option.key), sources.get(option.key) ?? 'default'));
  }
  if (problems.length > 0) {
    const heading = problems.length === 1 ? '' : `${problems.length} invalid settings:\n`;
    throw new ZmesError('ZMES_CONFIG_INVALID', heading + problems.join('\n'));
  }
  try {
    store.validate({ allowed: 'strict', output: () => undefined });
  } catch (err) {
    throw new ZmesError('ZMES_CONFIG_INVALID', errorMessage(err), { cause: err });
  }
}

function checkOption(store: Store, { key, leaf }: OptionInfo, entry: Entry | undefined, source: ConfigSource): string[] {
  const value = store.get(key);
  if (value === null && leaf.nullable) return [];
  const format = FORMATS[leaf.format];
  if (format.check(value)) return [];
  const origin = entry === undefined ? source : entry.secret !== undefined ? `secret ${entry.secret}, ${entry.origin}` : entry.origin;
  // A value taken from the secrets file is treated as secret whatever the key.
  const hidden = leaf.sensitive || entry?.secret !== undefined;
  return [`${key}: ${describeValue(value, hidden)} is not valid (${origin}); expected ${format.expected}`];
}

/** ZMES_<SECTION>_… variables that match no option, most likely typing mistakes. */
function unknownEnvWarnings(env: NodeJS.ProcessEnv): string[] {
  const known = new Set(OPTIONS.map((o) => o.leaf.env));
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (known.has(name)) continue;
    const section = SECTIONS.find((s) => name.startsWith(`ZMES_${s.toUpperCase()}_`));
    if (section === undefined) continue;
    const candidates = OPTIONS.filter((o) => o.section === section).map((o) => o.leaf.env);
    warnings.push(`${name} is not a zmes setting; ignored${suggest(name, candidates)}`);
  }
  return warnings;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

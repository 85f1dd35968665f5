/**
 * Docker-free checks of the add-on: what the Home Assistant add-on linter checks (its JSON
 * schema plus its own rules), what the Supervisor would reject or silently drop (option
 * grammar, translations, ports, stray config files), and the packaging (s6 tree, Dockerfile,
 * images). Each check returns findings; test/addon/ asserts them, and
 *
 *   node --import tsx addon/lint.ts                prints the findings (exit 1 on errors)
 *   node --import tsx addon/lint.ts --write-docs   rewrites the generated tables in DOCS.md
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { isScalar, parseDocument, Scalar } from 'yaml';
import { FORMATS, type FormatName } from '../src/config/formats.js';
import { findOption, OPTIONS, type OptionKey } from '../src/config/schema.js';
import {
  ADDON_DEFAULTS,
  CONTAINER_PATHS,
  CONTAINER_PORT,
  fixedSettings,
  fixedTable,
  mappingTable,
  NOT_OPTIONS,
  OPTION_MAP,
  OPTION_NAMES,
  optionMapping,
  REQUIRED_OPTIONS,
  resolveFile,
  userFacingKeys,
  type OptionMapping,
} from '../src/config/addon-options.js';

export type Level = 'error' | 'warning';

export interface Finding {
  readonly level: Level;
  /** A stable rule name, so tests can assert that one rule fires. */
  readonly rule: string;
  readonly message: string;
}

const error = (rule: string, message: string): Finding => ({ level: 'error', rule, message });
const warning = (rule: string, message: string): Finding => ({ level: 'warning', rule, message });

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------
// config.yaml: the linter's schema and rules

/** config.yaml as the Supervisor reads it (PyYAML, YAML 1.1: `yes` is a boolean, 1.10 a float). */
export function parseManifest(text: string): { data: Record<string, unknown>; versionQuoted: boolean } {
  const doc = parseDocument(text, { version: '1.1' });
  if (doc.errors.length > 0) throw new Error(`config.yaml is not valid YAML: ${doc.errors[0]?.message}`);
  const data = doc.toJS() as unknown;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('config.yaml does not hold a mapping');
  const node = doc.get('version', true);
  const versionQuoted = isScalar(node) && (node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE);
  return { data: data as Record<string, unknown>, versionQuoted };
}

type JsonSchema = { properties: Record<string, { default?: unknown }> } & Record<string, unknown>;

export function loadLinterSchema(): JsonSchema {
  const text = readFileSync(join(ROOT, 'addon', 'linter', 'config.schema.json'), 'utf8');
  // Python named groups (?P<name>…) are not JavaScript syntax.
  return JSON.parse(text.replaceAll('(?P<', '(?<')) as JsonSchema;
}

/** Draft-7 validation as the linter does it: no format checks, every error reported. */
export function checkLinterSchema(config: Record<string, unknown>, schema: JsonSchema = loadLinterSchema()): Finding[] {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const validate = ajv.compile(schema);
  if (validate(config)) return [];
  return (validate.errors ?? []).map((e) =>
    error('schema', `${e.instancePath || '(top level)'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params['additionalProperty'])}` : ''}`),
  );
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The linter's rule: a key set to its schema default "should be removed, it uses a default value". */
export function checkDefaults(config: Record<string, unknown>, schema: JsonSchema = loadLinterSchema()): Finding[] {
  const findings: Finding[] = [];
  for (const [key, property] of Object.entries(schema.properties)) {
    if (!('default' in property) || !(key in config)) continue;
    if (deepEqual(config[key], property.default)) findings.push(error('default-value', `'${key}' should be removed, it uses a default value`));
  }
  return findings;
}

const truthy = (v: unknown) => v !== undefined && v !== null && v !== false && v !== '' && v !== 0;

/** The linter's hand-written rules (ha-addon.md §6.1, item 2). */
export function checkLinterRules(config: Record<string, unknown>): Finding[] {
  const f: Finding[] = [];
  const arch = Array.isArray(config['arch']) ? (config['arch'] as unknown[]) : [];
  for (const a of arch) if (a === 'armhf' || a === 'armv7' || a === 'i386') f.push(warning('deprecated-arch', `architecture ${a} is deprecated`));
  if (truthy(config['webui']) && config['ingress'] === true) f.push(error('webui-ingress', "'webui' should be removed, Ingress is enabled"));
  if (config['ingress_port'] === 0 && config['host_network'] !== true) f.push(error('ingress-port-zero', "'ingress_port' 0 needs 'host_network'"));
  if (config['full_access'] === true) {
    const clash = ['devices', 'gpio', 'uart', 'usb'].filter((k) => truthy(config[k]));
    if (clash.length > 0) f.push(error('full-access-devices', `'full_access' with ${clash.join(', ')}: use only the specific access`));
    else f.push(warning('full-access', "'full_access': consider the specific options instead"));
  }
  if ('advanced' in config) f.push(warning('advanced', "'advanced' is deprecated and ignored"));
  if ('auto_uart' in config) f.push(error('auto-uart', "'auto_uart' is deprecated, use 'uart'"));
  const devices = Array.isArray(config['devices']) ? (config['devices'] as unknown[]) : [];
  for (const d of devices) if (typeof d === 'string' && d.includes(':')) f.push(error('devices-format', `device ${d}: use only the device path, without ':'`));
  if ('tmpfs' in config && typeof config['tmpfs'] !== 'boolean') f.push(error('tmpfs', "'tmpfs' must be a boolean"));
  if (config['backup'] === 'cold' && ('backup_pre' in config || 'backup_post' in config)) f.push(error('backup-cold', "'backup_pre'/'backup_post' are invalid with 'backup: cold'"));
  if (truthy(config['watchdog'])) f.push(error('watchdog', "'watchdog' is obsolete, use a Docker HEALTHCHECK"));
  if ('codenotary' in config) f.push(error('codenotary', "'codenotary' is obsolete"));
  const maps = Array.isArray(config['map']) ? (config['map'] as unknown[]) : [];
  const mapTypes = maps.map((m) => (typeof m === 'string' ? m.split(':')[0] : typeof m === 'object' && m !== null ? String((m as { type?: unknown }).type) : ''));
  if (mapTypes.includes('config')) {
    if (mapTypes.includes('homeassistant_config') || mapTypes.includes('addon_config')) f.push(error('map-config-conflict', "map 'config' cannot be used with 'homeassistant_config' or 'addon_config'"));
    else f.push(warning('map-config', "map 'config' is deprecated, use 'homeassistant_config'"));
  }
  return f;
}

/** What the Supervisor or our own release process needs beyond the linter (ha-addon.md §6.3). */
export function checkManifestExtras(
  config: Record<string, unknown>,
  versionQuoted: boolean,
  context: { packageVersion: string; changelog?: string },
): Finding[] {
  const f: Finding[] = [];
  if (!versionQuoted) f.push(error('version-quoted', "'version' must be a quoted string (YAML 1.1 reads 1.10 as the number 1.1)"));
  if (config['version'] !== context.packageVersion) f.push(error('version-package', `'version' ${String(config['version'])} differs from package.json's ${context.packageVersion}`));
  if (context.changelog !== undefined && !context.changelog.includes(`## [${String(config['version'])}]`) && !context.changelog.includes('## [Unreleased]')) {
    f.push(error('version-changelog', `CHANGELOG.md has no heading for ${String(config['version'])} (nor [Unreleased])`));
  }
  if (typeof config['slug'] === 'string' && !/^[-_.A-Za-z0-9]+$/.test(config['slug'])) f.push(error('slug', `slug ${config['slug']} has characters outside [-_.A-Za-z0-9]`));
  if ('image' in config) {
    const image = String(config['image']);
    const lastPart = image.split('/').pop() ?? '';
    if (lastPart.includes(':') || image.includes('@')) f.push(error('image-tag', `image ${image} must not carry a tag: the Supervisor adds the version`));
    if (image !== image.toLowerCase()) f.push(error('image-lowercase', `image ${image} must be lowercase`));
  }
  if (config['init'] !== false) f.push(error('init-false', "'init: false' is required with the s6-overlay v3 base images"));
  if ('hassio_api' in config || 'hassio_role' in config) f.push(warning('hassio-api', "'hassio_api' is not needed for /services: it costs security points"));
  for (const key of ['privileged', 'full_access', 'docker_api', 'host_network', 'host_pid', 'devices']) {
    if (truthy(config[key])) f.push(warning('security', `'${key}' lowers the security rating`));
  }
  const ports = isRecord(config['ports']) ? config['ports'] : {};
  for (const [key, value] of Object.entries(ports)) {
    if (!/^\d+(\/tcp|\/udp)?$/.test(key)) f.push(error('ports-key', `ports key ${key} is not <port>/tcp or <port>/udp`));
    if (value !== null && !(Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535)) f.push(error('ports-value', `ports ${key}: ${String(value)} is not a port or null`));
  }
  const descriptions = isRecord(config['ports_description']) ? config['ports_description'] : {};
  for (const key of Object.keys(descriptions)) if (!(key in ports)) f.push(error('ports-description', `ports_description ${key} is not in ports`));
  for (const key of Object.keys(ports)) if (!(key in descriptions)) f.push(error('ports-description', `port ${key} has no ports_description`));
  return f;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------
// options and schema grammar (Supervisor apps/options.py, ported from its description)

export interface OptionType {
  readonly base: 'str' | 'password' | 'int' | 'float' | 'bool' | 'port' | 'url' | 'email' | 'match' | 'list' | 'device';
  readonly optional: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly choices?: readonly string[];
}

const TYPE_GRAMMAR =
  /^(?:(?<sized>str|password|int)(?:\((?<smin>\d+)?,(?<smax>\d+)?\))?|float(?:\((?<fmin>\d+(?:\.\d+)?)?,(?<fmax>\d+(?:\.\d+)?)?\))?|(?<plain>bool|port|url|email)|device(?:\(subsystem=(?<subsystem>\w+)\))?|match\((?<match>.*)\)|list\((?<list>[^|)]+(?:\|[^|)]+)*)\))(?<optional>\?)?$/;

/** Parses one schema type string; null when the Supervisor would reject the whole config.yaml. */
export function parseOptionType(text: string): OptionType | null {
  const m = TYPE_GRAMMAR.exec(text);
  if (m === null || m.groups === undefined) return null;
  const g = m.groups;
  const optional = g['optional'] === '?';
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const withRange = (base: OptionType['base'], min?: number, max?: number): OptionType => ({
    base,
    optional,
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
  });
  if (g['sized']) return withRange(g['sized'] as OptionType['base'], num(g['smin']), num(g['smax']));
  if (text.startsWith('float')) return withRange('float', num(g['fmin']), num(g['fmax']));
  if (g['plain']) return { base: g['plain'] as OptionType['base'], optional };
  if (text.startsWith('device')) return { base: 'device', optional };
  if (g['match'] !== undefined) return { base: 'match', optional, pattern: g['match'] };
  if (g['list'] !== undefined) return { base: 'list', optional, choices: g['list'].split('|') };
  return null;
}

/** Would the Supervisor accept this value for this type? (Python re.match: anchored at the start only.) */
export function valueFitsType(value: unknown, type: OptionType): boolean {
  const inRange = (n: number) => (type.min === undefined || n >= type.min) && (type.max === undefined || n <= type.max);
  switch (type.base) {
    case 'str':
    case 'password':
      return typeof value === 'string' && inRange(value.length);
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) && inRange(value);
    case 'float':
      return typeof value === 'number' && inRange(value);
    case 'bool':
      return typeof value === 'boolean';
    case 'port':
      return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
    case 'url':
      return typeof value === 'string' && URL.canParse(value);
    case 'email':
      return typeof value === 'string' && /^[^@\s]+@[^@\s]+$/.test(value);
    case 'match':
      return typeof value === 'string' && new RegExp(`^(?:${type.pattern ?? ''})`).test(value);
    case 'list':
      return (type.choices ?? []).includes(String(value));
    case 'device':
      return typeof value === 'string' && value.startsWith('/dev/');
  }
}

/** The option grammar, the defaults in `options` against their types, options ⊆ schema. */
export function checkOptionsGrammar(config: Record<string, unknown>): Finding[] {
  const f: Finding[] = [];
  const schema = isRecord(config['schema']) ? config['schema'] : {};
  const options = isRecord(config['options']) ? config['options'] : {};
  const types = new Map<string, OptionType>();
  for (const [name, raw] of Object.entries(schema)) {
    if (Array.isArray(raw) || isRecord(raw)) {
      f.push(error('option-nested', `schema ${name}: lists and dicts are not used by this add-on`));
      continue;
    }
    const type = typeof raw === 'string' ? parseOptionType(raw) : null;
    if (type === null) {
      f.push(error('option-grammar', `schema ${name}: ${JSON.stringify(raw)} is not a valid option type (no spaces inside parentheses); the Supervisor would reject the whole config.yaml`));
      continue;
    }
    types.set(name, type);
    if (type.base === 'match') {
      try {
        new RegExp(type.pattern ?? '');
      } catch {
        f.push(error('option-grammar', `schema ${name}: match(${type.pattern}) is not a valid regular expression`));
      }
      if (!(type.pattern ?? '').endsWith('$')) f.push(warning('match-anchor', `schema ${name}: match() is anchored at the start only; end the pattern with $`));
    }
  }
  for (const [name, value] of Object.entries(options)) {
    const type = types.get(name);
    if (!(name in schema)) f.push(error('option-unknown', `options ${name} has no schema entry (the Supervisor drops it)`));
    else if (type !== undefined && !valueFitsType(value, type)) f.push(error('option-default-type', `options ${name}: default ${JSON.stringify(value)} does not fit ${String(schema[name])}`));
    if (type?.optional) f.push(warning('option-optional-default', `options ${name}: an optional option with a default is always set; drop the ? or the default`));
  }
  return f;
}

// ---------------------------------------------------------------------------------------
// translations

export function checkTranslations(config: Record<string, unknown>, translations: unknown, language = 'en'): Finding[] {
  const f: Finding[] = [];
  if (!isRecord(translations)) return [error('translation-file', `translations/${language}.yaml does not hold a mapping`)];
  for (const key of Object.keys(translations)) {
    if (key !== 'configuration' && key !== 'network') f.push(error('translation-key', `translations/${language}.yaml: unknown top-level key ${key}`));
  }
  const schema = isRecord(config['schema']) ? config['schema'] : {};
  const configuration = isRecord(translations['configuration']) ? translations['configuration'] : {};
  for (const name of Object.keys(schema)) {
    const entry = configuration[name];
    if (!isRecord(entry) || typeof entry['name'] !== 'string' || entry['name'].trim() === '') {
      f.push(error('translation-missing', `option ${name} has no name in translations/${language}.yaml`));
    } else if (typeof entry['description'] !== 'string' || entry['description'].trim() === '') {
      f.push(error('translation-description', `option ${name} has no description in translations/${language}.yaml`));
    }
  }
  for (const name of Object.keys(configuration)) {
    if (!(name in schema)) f.push(error('translation-unknown', `translations/${language}.yaml describes ${name}, which is not in the schema`));
  }
  const ports = isRecord(config['ports']) ? config['ports'] : {};
  const network = isRecord(translations['network']) ? translations['network'] : {};
  for (const key of Object.keys(network)) if (!(key in ports)) f.push(error('translation-network', `translations/${language}.yaml network ${key} is not in ports`));
  for (const key of Object.keys(ports)) if (!(key in network)) f.push(error('translation-network', `port ${key} has no network description in translations/${language}.yaml`));
  return f;
}

// ---------------------------------------------------------------------------------------
// options ↔ zmes keys (addon/options.ts ↔ src/config/schema.ts)

/** Add-on option types that can carry each zmes format. */
const TYPES_FOR_FORMAT: Record<FormatName, readonly OptionType['base'][]> = {
  'yes-no': ['bool'],
  'tcp-port': ['port'],
  'positive-int': ['int'],
  'frame-size': ['int'],
  'non-negative-int': ['int'],
  'whole-number': ['int'],
  'positive-number': ['float', 'int'],
  'non-negative-number': ['float', 'int'],
  text: ['str', 'password'],
  path: ['str'],
  host: ['str'],
  'http-url': ['url'],
  'mqtt-server': ['str'],
  'mqtt-topic': ['str'],
  'log-level': ['list'],
  'android-priority': ['list'],
  'monitor-list': ['match'],
  'channel-list': ['match'],
  'address-list': ['match'],
};

/** The smallest value each numeric format accepts. */
const MINIMUM: Partial<Record<FormatName, { min: number; exclusive?: boolean }>> = {
  'positive-int': { min: 1 },
  'frame-size': { min: 1 },
  'non-negative-int': { min: 0 },
  'whole-number': { min: 0 },
  'positive-number': { min: 0, exclusive: true },
  'non-negative-number': { min: 0 },
  'tcp-port': { min: 1 },
};

/** The Supervisor's `ingress_port` when config.yaml leaves it out. */
const DEFAULT_INGRESS_PORT = 8099;

/**
 * The sidebar panel reaches the status page: ingress on, its port the one the add-on gives
 * status.port, the page on and answering only the Supervisor's proxy, and a panel to click.
 */
export function checkIngress(config: Record<string, unknown>, fixed: Readonly<Partial<Record<OptionKey, unknown>>>): Finding[] {
  const f: Finding[] = [];
  if (config['ingress'] !== true) return [error('ingress', "'ingress: true' is expected: the status page is the add-on's panel")];
  const port = config['ingress_port'] ?? DEFAULT_INGRESS_PORT;
  if (port !== fixed['status.port']) f.push(error('ingress-port', `ingress_port ${String(port)} differs from the status page's port ${String(fixed['status.port'])} (fixedSettings)`));
  if (port === CONTAINER_PORT) f.push(error('ingress-port', `ingress_port must not be the WebSocket port ${CONTAINER_PORT}`));
  if (fixed['status.enable'] !== true) f.push(error('ingress-status', 'fixedSettings must turn status.enable on: ingress shows the status page'));
  if (typeof fixed['status.allowed_clients'] !== 'string' || fixed['status.allowed_clients'] === '') {
    f.push(error('ingress-status', "fixedSettings must limit status.allowed_clients to the Supervisor's ingress proxy"));
  }
  if (typeof config['panel_icon'] !== 'string' || typeof config['panel_title'] !== 'string') f.push(error('ingress-panel', "'panel_icon' and 'panel_title' name the sidebar entry"));
  return f;
}

/**
 * Drift between config.yaml and the zmes schema, in both directions: every option is mapped
 * and every mapping is an option; every user-facing zmes key has an option or a documented
 * reason not to; every fixed key is set by the add-on; option types fit the zmes formats;
 * secrets are passwords; the add-on's defaults equal zmes's unless documented.
 */
export function checkMapping(config: Record<string, unknown>, translations?: unknown): Finding[] {
  const f: Finding[] = [];
  const schema = isRecord(config['schema']) ? config['schema'] : {};
  const options = isRecord(config['options']) ? config['options'] : {};

  for (const name of Object.keys(schema)) if (optionMapping(name) === undefined) f.push(error('mapping-missing', `option ${name} has no entry in OPTION_MAP (addon/options.ts)`));
  for (const name of OPTION_NAMES) if (!(name in schema)) f.push(error('mapping-stale', `OPTION_MAP has ${name}, which config.yaml's schema lacks`));

  const targets = new Map<OptionKey, string[]>();
  for (const name of OPTION_NAMES) {
    const mapping: OptionMapping = OPTION_MAP[name];
    if (findOption(mapping.key) === undefined) f.push(error('mapping-key', `option ${name} maps to ${mapping.key}, which is not a zmes key`));
    // Only an option the user can actually set (in config.yaml's schema) makes a key reachable.
    if (name in schema) targets.set(mapping.key, [...(targets.get(mapping.key) ?? []), name]);
  }
  const userFacing = new Set(userFacingKeys());
  for (const key of userFacing) {
    const names = targets.get(key) ?? [];
    const excluded = key in NOT_OPTIONS;
    if (names.length === 0 && !excluded) f.push(error('unreachable-key', `zmes key ${key} is user-facing but no add-on option sets it (add an option, or list it in NOT_OPTIONS with a reason)`));
    if (names.length > 0 && excluded) f.push(error('unreachable-key', `zmes key ${key} is set by ${names.join(', ')} but also listed in NOT_OPTIONS`));
    if (names.length > 1) f.push(error('mapping-duplicate', `zmes key ${key} is set by several options: ${names.join(', ')}`));
  }
  for (const [key, names] of targets) if (!userFacing.has(key)) f.push(error('mapping-not-user-facing', `option ${names.join(', ')} sets ${key}, which is fixed by the add-on or has no effect`));
  for (const key of Object.keys(NOT_OPTIONS)) if (!userFacing.has(key as OptionKey)) f.push(error('not-options-stale', `NOT_OPTIONS lists ${key}, which is not a user-facing zmes key`));
  const fixed = fixedSettings(CONTAINER_PATHS);
  for (const o of OPTIONS) if (o.leaf.usage === 'fixed' && !(o.key in fixed)) f.push(error('fixed-missing', `zmes key ${o.key} is fixed in the add-on but fixedSettings does not set it`));
  f.push(...checkIngress(config, fixed));

  for (const name of OPTION_NAMES) {
    const mapping: OptionMapping = OPTION_MAP[name];
    const option = findOption(mapping.key);
    const raw = schema[name];
    const type = typeof raw === 'string' ? parseOptionType(raw) : null;
    if (option === undefined || type === null) continue;
    const format = option.leaf.format;
    if (mapping.transform === 'fcm-mode') {
      if (type.base !== 'list') f.push(error('option-type', `option ${name} must be a list(...)`));
      continue;
    }
    if (option.leaf.sensitive && type.base !== 'password') f.push(error('option-password', `option ${name} sets the secret ${mapping.key}: its type must be password`));
    if (!option.leaf.sensitive && type.base === 'password') f.push(error('option-password', `option ${name} is a password but ${mapping.key} is not secret`));
    if (!option.leaf.sensitive && !TYPES_FOR_FORMAT[format].includes(type.base)) {
      f.push(error('option-type', `option ${name} is ${String(raw)} but ${mapping.key} is ${format} (expected ${TYPES_FOR_FORMAT[format].join(' or ')})`));
    }
    const minimum = MINIMUM[format];
    if (minimum !== undefined && (type.base === 'int' || type.base === 'float')) {
      const low = type.min;
      if (low === undefined || low < minimum.min || (minimum.exclusive && low <= minimum.min)) {
        f.push(error('option-range', `option ${name}: ${String(raw)} admits values that ${mapping.key} (${format}) rejects; give it a minimum`));
      }
    }
    if (type.base === 'list') {
      for (const choice of type.choices ?? []) {
        if (!FORMATS[format].check(FORMATS[format].coerce(choice))) f.push(error('option-type', `option ${name}: choice ${choice} is not valid for ${mapping.key}`));
      }
    }
    // The add-on's default, through the mapping, against zmes's default.
    if (name in options) {
      let value = options[name];
      if (mapping.file !== undefined && typeof value === 'string') value = resolveFile(value, mapping.file, CONTAINER_PATHS);
      const coerced = FORMATS[format].coerce(value);
      const same = deepEqual(coerced, option.leaf.default);
      const documented = name in ADDON_DEFAULTS;
      if (!same && !documented) f.push(error('option-default', `option ${name}: default ${JSON.stringify(options[name])} differs from ${mapping.key}'s ${JSON.stringify(option.leaf.default)} (align it or explain it in ADDON_DEFAULTS)`));
      if (same && documented) f.push(error('option-default', `option ${name} is in ADDON_DEFAULTS but its default equals zmes's`));
    } else if (!type.optional && !(REQUIRED_OPTIONS as readonly string[]).includes(name)) {
      f.push(error('option-required', `option ${name} has no default and no ?, but is not in REQUIRED_OPTIONS`));
    }
  }
  for (const name of REQUIRED_OPTIONS) {
    const raw = schema[name];
    const type = typeof raw === 'string' ? parseOptionType(raw) : null;
    if (name in options || type?.optional) f.push(error('option-required', `required option ${name} must have neither a default nor ?`));
  }
  for (const name of Object.keys(ADDON_DEFAULTS)) if (!(name in options)) f.push(error('option-default', `ADDON_DEFAULTS lists ${name}, which has no default in config.yaml`));

  // "(default X)" in a translation must be zmes's default.
  const configuration = isRecord(translations) && isRecord(translations['configuration']) ? translations['configuration'] : {};
  for (const [name, entry] of Object.entries(configuration)) {
    const mapping = optionMapping(name);
    const leaf = mapping === undefined ? undefined : findOption(mapping.key)?.leaf;
    if (!isRecord(entry) || typeof entry['description'] !== 'string' || leaf === undefined) continue;
    const m = /\(default "?([^")]+)"?\)/.exec(entry['description']);
    if (m === null) continue;
    const stated = m[1]!;
    const actual = leaf.default === true ? 'on' : leaf.default === false ? 'off' : String(leaf.default);
    if (stated !== actual) f.push(error('translation-default', `translation of ${name} says (default ${stated}) but ${mapping!.key} defaults to ${actual}`));
  }
  return f;
}

// ---------------------------------------------------------------------------------------
// s6-overlay tree, scripts

/** Paths (relative to root) of files git tracks with their index mode, or null outside git. */
export function gitModes(root: string): Map<string, string> | null {
  try {
    const out = execFileSync('git', ['ls-files', '-s', '--', 'rootfs'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const modes = new Map<string, string>();
    for (const line of out.split('\n')) {
      const m = /^(\d{6}) [0-9a-f]+ \d\t(.+)$/.exec(line);
      if (m) modes.set(m[2]!, m[1]!);
    }
    return modes;
  } catch {
    return null;
  }
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

/** Every script of the rootfs: s6 run/up/finish files and anything starting with #!. */
export function rootfsScripts(root: string): string[] {
  const base = join(root, 'rootfs');
  if (!existsSync(base)) return [];
  return walk(base).filter((file) => readFileSync(file, 'utf8').startsWith('#!'));
}

export function checkRootfs(root: string): Finding[] {
  const f: Finding[] = [];
  const s6 = join(root, 'rootfs', 'etc', 's6-overlay', 's6-rc.d');
  if (!existsSync(s6)) return [error('s6-layout', 'rootfs/etc/s6-overlay/s6-rc.d is missing')];
  const services = readdirSync(s6).filter((name) => statSync(join(s6, name)).isDirectory());
  for (const service of services) {
    const dir = join(s6, service);
    // `user` is s6-overlay's own bundle: add-ons only add to its contents.d.
    if (service === 'user') {
      const contents = join(dir, 'contents.d');
      for (const name of existsSync(contents) ? readdirSync(contents) : []) {
        if (!services.includes(name)) f.push(error('s6-dependency', `user/contents.d/${name}: no such service`));
      }
      continue;
    }
    const typeFile = join(dir, 'type');
    if (!existsSync(typeFile)) {
      f.push(error('s6-type', `${service}: no type file`));
      continue;
    }
    const type = readFileSync(typeFile, 'utf8').trim();
    if (!['longrun', 'oneshot', 'bundle'].includes(type)) f.push(error('s6-type', `${service}: type ${type} is not longrun, oneshot or bundle`));
    if (type === 'longrun' && !existsSync(join(dir, 'run'))) f.push(error('s6-run', `${service}: a longrun needs a run script`));
    if (type === 'oneshot') {
      const up = join(dir, 'up');
      if (!existsSync(up)) f.push(error('s6-up', `${service}: a oneshot needs an up file`));
      else {
        const target = readFileSync(up, 'utf8').trim();
        const local = join(root, 'rootfs', target);
        if (target.includes('\n')) f.push(error('s6-up', `${service}/up: one command line expected`));
        else if (target.startsWith('/') && !existsSync(local)) f.push(error('s6-up', `${service}/up runs ${target}, which rootfs does not have`));
      }
    }
    for (const sub of ['dependencies.d', 'contents.d']) {
      const deps = join(dir, sub);
      if (!existsSync(deps)) continue;
      for (const name of readdirSync(deps)) {
        if (name !== 'base' && !services.includes(name)) f.push(error('s6-dependency', `${service}/${sub}/${name}: no such service`));
      }
    }
  }
  if (!services.includes('user') || !existsSync(join(s6, 'user', 'contents.d'))) f.push(error('s6-user', 'no user bundle enabling the services (user/contents.d)'));

  const modes = gitModes(root);
  for (const file of rootfsScripts(root)) {
    const rel = relative(root, file).split(sep).join('/');
    const text = readFileSync(file, 'utf8');
    if (text.includes('\r')) f.push(error('crlf', `${rel} has CR characters (CRLF line endings break the shebang)`));
    if (!text.startsWith('#!/command/with-contenv ')) f.push(error('with-contenv', `${rel}: the shebang must use /command/with-contenv, or the service gets an empty environment`));
    if ((statSync(file).mode & 0o111) !== 0o111) f.push(error('executable', `${rel} is not executable (chmod 755)`));
    const mode = modes?.get(rel);
    if (mode !== undefined && mode !== '100755') f.push(error('executable', `${rel} is committed with mode ${mode}, not 100755 (git update-index --chmod=+x)`));
  }
  return f;
}

// ---------------------------------------------------------------------------------------
// Dockerfile, images, repository files, stray manifests

export function checkDockerfile(text: string, packageVersion?: string): Finding[] {
  const f: Finding[] = [];
  const version = /^ARG\s+BUILD_VERSION=(\S+)/m.exec(text)?.[1];
  if (packageVersion !== undefined && version !== undefined && version !== packageVersion) {
    f.push(error('docker-version', `ARG BUILD_VERSION=${version} differs from package.json's ${packageVersion}`));
  }
  const lines = text.split('\n').map((l) => l.trim());
  const from = lines.filter((l) => /^FROM\s/i.test(l));
  if (from.length === 0) f.push(error('docker-from', 'no FROM line'));
  const buildFrom = lines.find((l) => /^ARG\s+BUILD_FROM\b/i.test(l));
  if (buildFrom !== undefined && !/^ARG\s+BUILD_FROM=\S+/i.test(buildFrom)) f.push(error('docker-build-from', 'ARG BUILD_FROM needs a default: the Supervisor no longer passes one'));
  if (!/ghcr\.io\/home-assistant\/base-debian:trixie/.test(text)) f.push(error('docker-base', 'the runtime base must be ghcr.io/home-assistant/base-debian:trixie (glibc >= 2.38 for uWebSockets.js)'));
  if (!lines.some((l) => /^HEALTHCHECK\s/i.test(l))) f.push(error('docker-healthcheck', 'no HEALTHCHECK (the linter rejects watchdog; use a health check)'));
  if (from.length < 2) f.push(error('docker-multistage', 'a build stage with dev dependencies and a runtime stage are expected'));
  if (!/npm ci[^\n]*--omit=dev/.test(text)) f.push(error('docker-omit-dev', 'the runtime dependencies must be installed with npm ci --omit=dev'));
  if (!/^LABEL\s/im.test(text)) f.push(error('docker-labels', 'no LABEL'));
  return f;
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(bytes: Buffer): { width: number; height: number } | null {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(signature) || bytes.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

export function checkImages(root: string): Finding[] {
  const f: Finding[] = [];
  const read = (name: string) => (existsSync(join(root, name)) ? pngSize(readFileSync(join(root, name))) : null);
  const icon = read('icon.png');
  if (icon === null) f.push(error('icon', 'icon.png is missing or not a PNG'));
  else if (icon.width !== icon.height || icon.width < 96 || icon.width > 256) f.push(error('icon', `icon.png is ${icon.width}x${icon.height}; a square of about 128 px is expected`));
  const logo = read('logo.png');
  if (logo === null) f.push(error('logo', 'logo.png is missing or not a PNG'));
  else if (logo.width < 200 || logo.width > 500 || logo.width / logo.height < 2 || logo.width / logo.height > 3) f.push(error('logo', `logo.png is ${logo.width}x${logo.height}; about 250x100 is expected`));
  return f;
}

export const REQUIRED_FILES = ['config.yaml', 'repository.yaml', 'README.md', 'DOCS.md', 'CHANGELOG.md', 'Dockerfile', 'icon.png', 'logo.png', 'translations/en.yaml'];

export function checkRepositoryFiles(root: string): Finding[] {
  const f: Finding[] = [];
  for (const file of REQUIRED_FILES) if (!existsSync(join(root, file))) f.push(error('required-file', `${file} is missing`));
  if (existsSync(join(root, 'build.yaml')) || existsSync(join(root, 'build.json'))) f.push(error('build-yaml', 'build.yaml is deprecated: put the base image in the Dockerfile'));
  if (existsSync(join(root, 'repository.yaml'))) {
    const repo = parseDocument(readFileSync(join(root, 'repository.yaml'), 'utf8'), { version: '1.1' }).toJS() as unknown;
    if (!isRecord(repo) || typeof repo['name'] !== 'string') f.push(error('repository-yaml', 'repository.yaml needs a name'));
  }
  const apparmor = join(root, 'apparmor.txt');
  if (existsSync(apparmor)) {
    const profiles = readFileSync(apparmor, 'utf8').split('\n').filter((l) => /^profile\s/.test(l));
    if (profiles.length !== 1) f.push(error('apparmor', `apparmor.txt needs exactly one top-level profile line, found ${profiles.length}`));
  }
  return f;
}

/**
 * Files the Supervisor would read as further add-ons: config.{yaml,yml,json} anywhere but
 * the root, outside dot-folders and paths containing "rootfs". Checks what git would commit
 * (tracked and untracked, not ignored).
 */
export function strayManifests(paths: readonly string[]): string[] {
  return paths.filter((p) => {
    const parts = p.split('/');
    const name = parts[parts.length - 1] ?? '';
    if (!/^config\.(ya?ml|json)$/.test(name) || parts.length === 1) return false;
    if (parts.some((part) => part.startsWith('.')) || p.includes('rootfs')) return false;
    return true;
  });
}

export function committablePaths(root: string): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

// ---------------------------------------------------------------------------------------
// DOCS.md generated tables

/** Per group: option | type | default | description, from config.yaml and translations/en.yaml. */
export function optionsReference(root: string = ROOT): string {
  const { data } = parseManifest(readFileSync(join(root, 'config.yaml'), 'utf8'));
  const translations = parseDocument(readFileSync(join(root, 'translations', 'en.yaml'), 'utf8'), { version: '1.1' }).toJS() as unknown;
  const schema = isRecord(data['schema']) ? data['schema'] : {};
  const options = isRecord(data['options']) ? data['options'] : {};
  const configuration = isRecord(translations) && isRecord(translations['configuration']) ? translations['configuration'] : {};
  const groups = new Map<string, string[]>();
  for (const name of OPTION_NAMES) {
    const mapping: OptionMapping = OPTION_MAP[name];
    const type = typeof schema[name] === 'string' ? parseOptionType(schema[name]) : null;
    const entry = isRecord(configuration[name]) ? configuration[name] : {};
    const shownType = type === null ? '?' : type.base === 'list' ? (type.choices ?? []).join(' \\| ') : type.base;
    const fallback = (REQUIRED_OPTIONS as readonly string[]).includes(name) ? '**required**' : type?.optional ? '(not set)' : '';
    const shownDefault = name in options ? `\`${String(options[name])}\`` : fallback;
    const text = `${String(entry['name'] ?? name)}: ${String(entry['description'] ?? '')}`.replaceAll('|', '\\|');
    const rows = groups.get(mapping.group) ?? ['| option | type | default | meaning |', '| --- | --- | --- | --- |'];
    rows.push(`| \`${name}\` | ${shownType} | ${shownDefault} | ${text} |`);
    groups.set(mapping.group, rows);
  }
  return [...groups].map(([group, rows]) => `#### ${group}\n\n${rows.join('\n')}`).join('\n\n');
}

const TABLES = {
  options: { begin: '<!-- BEGIN GENERATED: options reference (addon/lint.ts --write-docs) -->', end: '<!-- END GENERATED: options reference -->', render: optionsReference },
  mapping: { begin: '<!-- BEGIN GENERATED: option mapping (addon/lint.ts --write-docs) -->', end: '<!-- END GENERATED: option mapping -->', render: () => mappingTable() },
  fixed: { begin: '<!-- BEGIN GENERATED: fixed keys (addon/lint.ts --write-docs) -->', end: '<!-- END GENERATED: fixed keys -->', render: () => fixedTable() },
} as const;

/** DOCS.md with each generated table replaced by the current rendering. */
export function renderDocs(text: string, root: string = ROOT): string {
  let out = text;
  for (const { begin, end, render } of Object.values(TABLES)) {
    const start = out.indexOf(begin);
    const stop = out.indexOf(end);
    if (start < 0 || stop < start) throw new Error(`DOCS.md lacks the markers ${begin} … ${end}`);
    out = `${out.slice(0, start + begin.length)}\n${render(root)}\n${out.slice(stop)}`;
  }
  return out;
}

export function checkDocs(root: string): Finding[] {
  const file = join(root, 'DOCS.md');
  if (!existsSync(file)) return [error('docs', 'DOCS.md is missing')];
  const text = readFileSync(file, 'utf8');
  try {
    if (renderDocs(text, root) !== text) return [error('docs-table', 'DOCS.md tables differ from addon/options.ts: run node --import tsx addon/lint.ts --write-docs')];
  } catch (err) {
    return [error('docs-table', (err as Error).message)];
  }
  return [];
}

// ---------------------------------------------------------------------------------------

/** Every check over the repository. */
export function lintAddon(root: string = ROOT): Finding[] {
  const manifestText = readFileSync(join(root, 'config.yaml'), 'utf8');
  const { data, versionQuoted } = parseManifest(manifestText);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const changelogFile = join(root, 'CHANGELOG.md');
  const translations = parseDocument(readFileSync(join(root, 'translations', 'en.yaml'), 'utf8'), { version: '1.1' }).toJS() as unknown;
  const findings = [
    ...checkLinterSchema(data),
    ...checkDefaults(data),
    ...checkLinterRules(data),
    ...checkManifestExtras(data, versionQuoted, {
      packageVersion: pkg.version,
      ...(existsSync(changelogFile) ? { changelog: readFileSync(changelogFile, 'utf8') } : {}),
    }),
    ...checkOptionsGrammar(data),
    ...checkTranslations(data, translations),
    ...checkMapping(data, translations),
    ...checkRootfs(root),
    ...(existsSync(join(root, 'Dockerfile')) ? checkDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'), pkg.version) : [error('required-file', 'Dockerfile is missing')]),
    ...checkImages(root),
    ...checkRepositoryFiles(root),
    ...checkDocs(root),
  ];
  for (const path of strayManifests(committablePaths(root))) findings.push(error('stray-manifest', `${path} would be read by the Supervisor as another add-on`));
  return findings;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write-docs')) {
    const file = join(ROOT, 'DOCS.md');
    writeFileSync(file, renderDocs(readFileSync(file, 'utf8')));
    console.log('DOCS.md tables written');
  }
  const findings = lintAddon();
  for (const finding of findings) console.log(`${finding.level.toUpperCase()} [${finding.rule}] ${finding.message}`);
  const errors = findings.filter((x) => x.level === 'error').length;
  console.log(`${errors} errors, ${findings.length - errors} warnings`);
  process.exitCode = errors > 0 ? 1 : 0;
}

// Data-driven over the schema, as table tests: one table per value format (every format,
// present and future, must have samples in helpers.ts), then the facts that hold per option
// (reachable by its YAML key, env var and override, a valid default, the classic key mapped),
// each checked for every option in one test that lists every option that fails.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FORMATS, type FormatName } from '../../../src/config/formats.js';
import { configValue, loadConfig, type Config } from '../../../src/config/load.js';
import { OPTIONS, findOption, type OptionInfo, type OptionKey } from '../../../src/config/schema.js';
import { readIni } from '../../../src/migrate/ini-reader.js';
import { buildPlan, type SkipReason } from '../../../src/migrate/plan.js';
import { renderZmesYaml } from '../../../src/migrate/zmes-yaml.js';
import { SAMPLES, configError, nonDefaultSample, tempDir, yamlOf } from './helpers.js';

const BASE = '/var/lib/zmeventnotification';
// Defaults that contain a template, with the value they resolve to.
const RESOLVED_DEFAULTS: Record<string, string> = {
  'fcm.token_file': `${BASE}/push/tokens.txt`,
  'general.escontrol_interface_file': `${BASE}/misc/escontrol_interface.json`,
};

// Classic keys that migrate-config does not carry over, on purpose (see src/migrate/plan.ts).
const CLASSIC_NOT_CARRIED: Record<string, SkipReason> = {
  'general.escontrol_interface_file': 'not-portable',
  'customize.event_check_interval': 'changed-meaning',
};

const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];
// A ZoneMinder host would feed the database keys from its zm.conf.
const zmConfPresent = existsSync('/etc/zm/zm.conf');

type Source = 'file' | 'env' | 'override';
const SOURCES: readonly Source[] = ['file', 'env', 'override'];

const dir = tempDir();
let fileCount = 0;
// Options whose samples need more than their format (general.secrets must name a readable file).
let specialSamples: Record<string, string> = {};

before(() => {
  specialSamples = { 'general.secrets': dir.write('secrets.yml', 'secrets:\n  UNUSED: x\n') };
});
after(() => dir.remove());

/** Loads the configuration with `values` (by `section.key`) given by one source. */
function loadFrom(source: Source, values: Record<string, unknown>) {
  if (source === 'file') {
    const texts = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, String(value)]));
    return loadConfig({ file: dir.write(`c${++fileCount}.yml`, yamlOf(texts)), env: {} });
  }
  if (source === 'env') {
    const env = Object.fromEntries(Object.entries(values).map(([key, value]) => [findOption(key)!.leaf.env, String(value)]));
    return loadConfig({ env });
  }
  return loadConfig({ env: {}, overrides: values });
}

/** The options of a format that take any of its samples (not those with special samples). */
const optionsOf = (format: FormatName) => OPTIONS.filter((o) => o.leaf.format === format && !(o.key in specialSamples));

/** Collects per-option failures so that one test names every option that fails, not just the first. */
function failures(check: (fail: (message: string) => void) => void): void {
  const found: string[] = [];
  check((message) => found.push(message));
  assert.deepEqual(found, [], `\n${found.join('\n')}`);
}

/** Loads `value` for every option of the format at once from `source`; checks value and source of each. */
function assertAccepted(format: FormatName, source: Source, input: unknown, expected: unknown) {
  const options = optionsOf(format);
  const { config, sources } = loadFrom(source, Object.fromEntries(options.map((o) => [o.key, input])));
  failures((fail) => {
    for (const { key } of options) {
      const value = configValue(config, key);
      if (!isDeepStrictEqual(value, expected)) fail(`${key} from ${source} ${JSON.stringify(input)}: got ${JSON.stringify(value)}, expected ${JSON.stringify(expected)}`);
      if (sources.get(key) !== source) fail(`${key} from ${source}: source ${sources.get(key)}`);
    }
  });
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

describe('every value format', () => {
  it('has samples (a format added without samples fails here) and is used by an option', () => {
    assert.deepEqual(Object.keys(SAMPLES).sort(), [...FORMAT_NAMES].sort());
    for (const format of FORMAT_NAMES) {
      assert.ok(optionsOf(format).length > 0, `${format}: no option uses it`);
      assert.ok(SAMPLES[format].coerced.some(([input]) => typeof input === 'string'), `${format}: no text coercion sample`);
    }
  });

  it('has samples that are valid, and invalid ones invalid, for their format', () => {
    for (const [name, samples] of Object.entries(SAMPLES)) {
      const format = FORMATS[name as FormatName];
      assert.ok(samples.valid.length >= 2 && new Set(samples.valid.map((t) => JSON.stringify(format.coerce(t)))).size === samples.valid.length, `${name}: two different valid samples`);
      for (const text of samples.valid) assert.ok(format.check(format.coerce(text)), `${name}: ${text} should be valid`);
      if (samples.invalid !== null) assert.ok(!format.check(format.coerce(samples.invalid)), `${name}: ${samples.invalid} should be invalid`);
      for (const [input, value] of samples.coerced) {
        assert.deepEqual(format.coerce(input), value, `${name}: ${JSON.stringify(input)}`);
        assert.ok(format.check(value), `${name}: coerced ${JSON.stringify(value)} should be valid`);
      }
    }
  });
});

for (const format of FORMAT_NAMES) {
  describe(`the ${format} format`, () => {
    const samples = SAMPLES[format] ?? { valid: [], invalid: null, coerced: [] };
    const { coerce, expected } = FORMATS[format];

    it('accepts every valid sample from the YAML file, env vars and overrides, for every option of the format', () => {
      for (const text of samples.valid) for (const source of SOURCES) assertAccepted(format, source, text, coerce(text));
    });

    it('coerces what YAML files and env vars hold (text), and the add-on options (also numbers, booleans, lists)', () => {
      for (const [input, value] of samples.coerced) {
        for (const source of typeof input === 'string' ? SOURCES : (['override'] as const)) assertAccepted(format, source, input, value);
      }
    });

    it('rejects an invalid value from the YAML file, env vars and overrides, naming the key, the format and the value (unless secret)', () => {
      const { invalid } = samples;
      failures((fail) => {
        for (const option of OPTIONS.filter((o) => o.leaf.format === format)) {
          const { key, leaf } = option;
          const cases: { source: Source; run: () => unknown; named: 'format' | 'key only' }[] =
            invalid === null
              ? // Free text: any text is valid, so only a mapping is invalid (an env var cannot carry one).
                [
                  { source: 'file', run: () => loadConfig({ file: dir.write(`c${++fileCount}.yml`, `${option.section}:\n  ${option.name}:\n    nested: 1\n`), env: {} }), named: 'key only' },
                  { source: 'override', run: () => loadConfig({ env: {}, overrides: { [key]: { nested: 1 } } }), named: 'format' },
                ]
              : SOURCES.map((source) => ({ source, run: () => loadFrom(source, { [key]: invalid }), named: 'format' as const }));
          for (const { source, run, named } of cases) {
            let message: string;
            try {
              message = configError(run, 'ZMES_CONFIG_INVALID').message;
            } catch (err) {
              fail(`${key} from ${source}: ${(err as Error).message}`);
              continue;
            }
            if (!new RegExp(`(^|[^\\w.])${key.replace('.', '\\.')}\\b`).test(message)) fail(`${key} from ${source}: key not named in: ${message}`);
            if (named === 'format' && !message.includes(expected)) fail(`${key} from ${source}: format not named in: ${message}`);
            if (invalid !== null) {
              // Shown as written, JSON-escaped (quoted when text, bare when it reads as a number); a secret never.
              const shown = message.includes(JSON.stringify(invalid).slice(1, -1));
              if (shown !== !leaf.sensitive) fail(`${key} from ${source}: value ${leaf.sensitive ? 'shown' : 'missing'} in: ${message}`);
            }
          }
        }
      });
    });
  });
}

describe('every option', () => {
  /** The options whose value follows from `option`'s: its alias target, and defaults with a template naming it. */
  function dependants(option: OptionInfo): Set<OptionKey> {
    const keys = new Set<OptionKey>([option.key]);
    if (option.leaf.aliasOf !== undefined) keys.add(option.leaf.aliasOf as OptionKey);
    for (const other of OPTIONS) {
      const { default: value } = other.leaf;
      if (typeof value !== 'string') continue;
      for (const [, name] of value.matchAll(/\$\{\s*(\w+)\s*\}/g)) {
        const target = findOption(`general.${name}`) ?? findOption(`${other.section}.${name}`);
        if (target?.key === option.key) keys.add(other.key);
      }
    }
    return keys;
  }

  const changedKeys = (a: Config, b: Config) => OPTIONS.filter(({ key }) => !isDeepStrictEqual(configValue(a, key), configValue(b, key))).map((o) => o.key);

  for (const source of SOURCES) {
    const by = { file: 'its YAML key', env: 'its env var ZMES_<SECTION>_<KEY>', override: 'its key in the overrides' }[source];
    it(`is set by ${by}, and that changes no other option`, () => {
      const defaults = loadConfig({ env: {} }).config;
      failures((fail) => {
        for (const option of OPTIONS) {
          const { text, value } = nonDefaultSample(option, specialSamples);
          let loaded;
          try {
            loaded = loadFrom(source, { [option.key]: text });
          } catch (err) {
            fail(`${option.key}: ${(err as Error).message}`);
            continue;
          }
          const got = configValue(loaded.config, option.key);
          if (!isDeepStrictEqual(got, value)) fail(`${option.key}: got ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`);
          if (loaded.sources.get(option.key) !== source) fail(`${option.key}: source ${loaded.sources.get(option.key)}`);
          const allowed = dependants(option);
          const stray = changedKeys(defaults, loaded.config).filter((key) => !allowed.has(key) && !(zmConfPresent && key.startsWith('database.')));
          if (stray.length > 0) fail(`${option.key}: also changed ${stray.join(', ')}`);
        }
      });
    });
  }

  it('has a default, valid for its format, when nothing sets it', () => {
    const { config, sources } = loadConfig({ env: {} });
    failures((fail) => {
      for (const { key, leaf } of OPTIONS) {
        if (zmConfPresent && key.startsWith('database.')) continue;
        const value = configValue(config, key);
        if (sources.get(key) !== 'default') fail(`${key}: source ${sources.get(key)}`);
        if (!isDeepStrictEqual(value, RESOLVED_DEFAULTS[key] ?? leaf.default)) fail(`${key}: default ${JSON.stringify(value)}, schema says ${JSON.stringify(leaf.default)}`);
        if (value === null ? !leaf.nullable : !FORMATS[leaf.format].check(value)) fail(`${key}: default ${JSON.stringify(value)} is not ${FORMATS[leaf.format].expected}`);
      }
    });
  });

  it('with a classic key is carried over by migrate-config from a classic INI file, and loads from the result', () => {
    failures((fail) => {
      for (const option of OPTIONS.filter((o) => o.leaf.classic !== null)) {
        const { text, value } = nonDefaultSample(option, specialSamples);
        const [section, name] = (option.leaf.classic ?? '').split('.');
        const plan = buildPlan(readIni(`[${section}]\n${name} = ${text}\n`), { secrets: null });
        const skipped = plan.skipped.find((s) => s.id === option.leaf.classic);
        const expectedSkip = option.leaf.usage === 'ignored' ? 'ignored' : CLASSIC_NOT_CARRIED[option.key];
        if (expectedSkip !== undefined) {
          if (skipped?.reason !== expectedSkip) fail(`${option.key}: expected skipped as ${expectedSkip}, got ${JSON.stringify(skipped ?? plan.carried)}`);
          continue;
        }
        const target = (option.leaf.aliasOf ?? option.key) as OptionKey;
        const carried = plan.carried.find((c) => c.key === target);
        if (carried?.value !== text) {
          fail(`${option.key}: not carried to ${target}: ${JSON.stringify(skipped ?? plan.carried)}`);
          continue;
        }
        const file = dir.write(`migrated${++fileCount}.yml`, renderZmesYaml(plan, { source: 'test.ini', format: 'ini' }));
        try {
          const got = configValue(loadConfig({ file, env: {} }).config, target);
          if (!isDeepStrictEqual(got, value)) fail(`${option.key}: migrated file gives ${target} = ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`);
        } catch (err) {
          fail(`${option.key}: migrated file does not load: ${(err as Error).message}`);
        }
      }
    });
  });
});

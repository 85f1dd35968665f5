// Data-driven over the schema: every option, present and future, gets these checks.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FORMATS } from '../../../src/config/formats.js';
import { configValue, loadConfig } from '../../../src/config/load.js';
import { OPTIONS } from '../../../src/config/schema.js';
import { SAMPLES, configError, nonDefaultSample, tempDir, yamlOf } from './helpers.js';

const BASE = '/var/lib/zmeventnotification';
// Defaults that contain a template, with the value they resolve to.
const RESOLVED_DEFAULTS: Record<string, string> = {
  'fcm.token_file': `${BASE}/push/tokens.txt`,
  'general.escontrol_interface_file': `${BASE}/misc/escontrol_interface.json`,
};

const dir = tempDir();
let specialSamples: Record<string, string> = {};

before(() => {
  // general.secrets must name a readable secrets file.
  specialSamples = { 'general.secrets': dir.write('secrets.yml', 'secrets:\n  UNUSED: x\n') };
});
after(() => dir.remove());

describe('every option', () => {
  // A ZoneMinder host would feed the database keys from its zm.conf.
  const zmConfPresent = existsSync('/etc/zm/zm.conf');

  for (const option of OPTIONS) {
    describe(option.key, () => {
      it('has its documented default when nothing sets it', { skip: zmConfPresent && option.section === 'database' }, () => {
        const { config, sources } = loadConfig({ env: {} });
        const expected = RESOLVED_DEFAULTS[option.key] ?? option.leaf.default;
        assert.deepEqual(configValue(config, option.key), expected);
        assert.equal(sources.get(option.key), 'default');
      });

      it('takes a value from the YAML file', () => {
        const { text, value } = nonDefaultSample(option, specialSamples);
        const file = dir.write(`${option.key}.yml`, yamlOf({ [option.key]: text }));
        const { config, sources } = loadConfig({ file, env: {} });
        assert.deepEqual(configValue(config, option.key), value);
        assert.equal(sources.get(option.key), 'file');
      });

      it(`takes a value from the env var ${option.leaf.env}`, () => {
        const { text, value } = nonDefaultSample(option, specialSamples);
        const { config, sources } = loadConfig({ env: { [option.leaf.env]: text } });
        assert.deepEqual(configValue(config, option.key), value);
        assert.equal(sources.get(option.key), 'env');
      });

      it('takes a value from the overrides', () => {
        const { text, value } = nonDefaultSample(option, specialSamples);
        const { config, sources } = loadConfig({ env: {}, overrides: { [option.key]: text } });
        assert.deepEqual(configValue(config, option.key), value);
        assert.equal(sources.get(option.key), 'override');
      });

      it('rejects a bad value in the YAML file, naming the key', () => {
        const invalid = SAMPLES[option.leaf.format].invalid;
        const yaml = invalid === null ? `${option.section}:\n  ${option.name}:\n    nested: 1\n` : yamlOf({ [option.key]: invalid });
        const file = dir.write(`bad-${option.key}.yml`, yaml);
        const err = configError(() => loadConfig({ file, env: {} }), 'ZMES_CONFIG_INVALID');
        assert.match(err.message, new RegExp(`\\b${option.key.replace('.', '\\.')}\\b`));
      });

      const invalid = SAMPLES[option.leaf.format].invalid;
      // Free-text formats have no invalid text (an env var cannot carry a nested mapping): no test.
      if (invalid !== null) it(
        'rejects a bad value in its env var, naming the key and the expected format',
        () => {
          const err = configError(() => loadConfig({ env: { [option.leaf.env]: invalid } }), 'ZMES_CONFIG_INVALID');
          assert.ok(err.message.includes(option.key), err.message);
          if (option.key !== 'general.secrets') assert.ok(err.message.includes(FORMATS[option.leaf.format].expected), err.message);
          if (!option.leaf.sensitive && option.key !== 'general.secrets') {
            // Shown as written, JSON-escaped (quoted when text, bare when it reads as a number).
            assert.ok(err.message.includes(JSON.stringify(invalid).slice(1, -1)), `value missing from: ${err.message}`);
          }
        },
      );
    });
  }
});

describe('the samples used above', () => {
  it('are valid, and the invalid ones invalid, for their format', () => {
    for (const [name, samples] of Object.entries(SAMPLES)) {
      const format = FORMATS[name as keyof typeof FORMATS];
      for (const text of samples.valid) assert.ok(format.check(format.coerce(text)), `${name}: ${text} should be valid`);
      if (samples.invalid !== null) assert.ok(!format.check(format.coerce(samples.invalid)), `${name}: ${samples.invalid} should be invalid`);
    }
  });
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FORMATS, type FormatName } from '../../../src/config/formats.js';
import type { OptionInfo } from '../../../src/config/schema.js';
import { isZmesError, type ZmesError, type ZmesErrorCode } from '../../../src/errors.js';

/**
 * Sample values per format, written as text the way a YAML file or env var holds them.
 * A format added to the schema without samples here makes the data-driven tests fail,
 * so every new option is covered automatically.
 */
export interface FormatSamples {
  /** At least two valid values that differ from each other, so one differs from any default. */
  readonly valid: readonly string[];
  /** A value rejected after coercion; null when every text is valid (use a YAML mapping then). */
  readonly invalid: string | null;
  /**
   * What the loader turns an input into: text inputs as a YAML file, an env var or the
   * overrides hold them; other inputs (numbers, booleans, lists) only come from the overrides
   * (add-on options). At least one text input per format.
   */
  readonly coerced: readonly (readonly [input: unknown, value: unknown])[];
}

export const SAMPLES: Record<FormatName, FormatSamples> = {
  'yes-no': { valid: ['yes', 'no'], invalid: 'maybe', coerced: [[' YES ', true], ['Off', false], ['true', true], ['0', false], [true, true], [0, false]] },
  'tcp-port': { valid: ['9123', '9124'], invalid: '70000', coerced: [[' 9125 ', 9125], ['+80', 80], [8080, 8080]] },
  'positive-int': { valid: ['7', '8'], invalid: '0', coerced: [[' 9 ', 9], ['007', 7], [12, 12]] },
  'frame-size': { valid: ['4096', '8192'], invalid: '1048577', coerced: [[' 1024 ', 1024], [2048, 2048]] },
  'non-negative-int': { valid: ['7', '8'], invalid: '-1', coerced: [[' 0 ', 0], ['+9', 9], [3, 3]] },
  'whole-number': { valid: ['-3', '4'], invalid: '2.5', coerced: [[' -5 ', -5], ['+6', 6], [-1, -1]] },
  'positive-number': { valid: ['2.5', '3'], invalid: '0', coerced: [['.5', 0.5], [' 1.50 ', 1.5], [4, 4]] },
  'non-negative-number': { valid: ['2.5', '3'], invalid: '-0.5', coerced: [['0', 0], [' 1. ', 1], [0.25, 0.25]] },
  text: { valid: ['sample text', 'other text'], invalid: null, coerced: [['  padded text  ', 'padded text'], [42, '42'], [false, 'false']] },
  path: { valid: ['/tmp/zmes-sample/file', '/tmp/zmes-sample/other'], invalid: 'first line\nsecond line', coerced: [['  /tmp/zmes-sample/padded  ', '/tmp/zmes-sample/padded']] },
  host: { valid: ['db.example.net', '192.0.2.7'], invalid: 'bad host!', coerced: [[' Db.Example.NET ', 'Db.Example.NET'], ['[fd00::1]', '[fd00::1]']] },
  'http-url': {
    valid: ['https://zm.example/zm/index.php?view=image&eid=EVENTID', 'http://other.example/'],
    invalid: 'ftp://zm.example/x',
    coerced: [[' http://padded.example/ ', 'http://padded.example/']],
  },
  'mqtt-server': { valid: ['broker.example:1884', 'broker.example'], invalid: 'mqtt://broker:1883', coerced: [[' broker.example:1885 ', 'broker.example:1885']] },
  'mqtt-topic': { valid: ['home/zm', 'other'], invalid: 'zm/#', coerced: [[' home/padded ', 'home/padded']] },
  'log-level': { valid: ['debug', 'warn'], invalid: 'loud', coerced: [['WARNING', 'warn'], [' Error ', 'error']] },
  'android-priority': { valid: ['normal', 'high'], invalid: 'urgent', coerced: [[' NORMAL ', 'normal']] },
  'monitor-list': { valid: ['1,2,5', '7'], invalid: '1,x', coerced: [[' 1 , 2,5 ', '1,2,5'], [7, '7'], [['1', 2], '1,2']] },
  'address-list': {
    valid: ['172.30.32.2,10.0.0.0/8', 'fd00::/8'],
    invalid: '10.0.0.0/33',
    coerced: [[' 10.0.0.0/8 , FD00::/8 ', '10.0.0.0/8,fd00::/8'], [['192.0.2.1', '10.0.0.0/8'], '192.0.2.1,10.0.0.0/8']],
  },
  'channel-list': { valid: ['fcm,web', 'all'], invalid: 'fcm,sms', coerced: [[' FCM, web ', 'fcm,web'], ['NONE', 'none'], [['mqtt', 'api'], 'mqtt,api']] },
};

/** A valid text for the option whose coerced value differs from the option's default. */
export function nonDefaultSample(option: OptionInfo, overrides: Partial<Record<string, string>> = {}): { text: string; value: unknown } {
  const format = FORMATS[option.leaf.format];
  const special = overrides[option.key];
  if (special !== undefined) return { text: special, value: format.coerce(special) };
  for (const text of SAMPLES[option.leaf.format].valid) {
    const value = format.coerce(text);
    if (value !== option.leaf.default) return { text, value };
  }
  throw new Error(`no non-default sample for ${option.key}`);
}

/** YAML for `{section: {key: text}}`, each value double-quoted (JSON strings are valid YAML). */
export function yamlOf(values: Record<string, string>): string {
  const bySection = new Map<string, string[]>();
  for (const [key, text] of Object.entries(values)) {
    const [section = '', name = ''] = key.split('.');
    const lines = bySection.get(section) ?? [];
    lines.push(`  ${name}: ${JSON.stringify(text)}`);
    bySection.set(section, lines);
  }
  return [...bySection].map(([section, lines]) => `${section}:\n${lines.join('\n')}\n`).join('');
}

/** A temporary directory with helpers to write files into it; remove() when done. */
export function tempDir(): { path: string; write(name: string, text: string): string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'zmes-config-'));
  return {
    path,
    write(name, text) {
      const file = join(path, name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** Runs fn, asserts it throws a ZmesError with that code, and returns the error. */
export function configError(fn: () => unknown, code: ZmesErrorCode): ZmesError {
  try {
    fn();
  } catch (err) {
    assert.ok(isZmesError(err), `expected a ZmesError, got ${String(err)}`);
    assert.equal(err.code, code, `wrong code for: ${err.message}`);
    return err;
  }
  return assert.fail(`expected ${code}, but nothing was thrown`);
}

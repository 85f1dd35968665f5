import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readIni } from '../../../src/migrate/ini-reader.js';
import { readYaml } from '../../../src/migrate/yaml-reader.js';
import { detectFormat } from '../../../src/migrate/source.js';

const value = (file: ReturnType<typeof readIni>, id: string) => file.entries.find((e) => `${e.section}.${e.key}` === id)?.value;

describe('the classic INI reader', () => {
  test('only whole-line comments are comments: an inline comment stays in the value, as Config::IniFiles read it', () => {
    const file = readIni('; top\n# also\n[network]\n  ; indented comment\nport = 9000 ; ws port\naddress=[::]\n');
    assert.deepEqual(file.entries.map((e) => [e.section, e.key, e.value, e.line]), [
      ['network', 'port', '9000 ; ws port', 5],
      ['network', 'address', '[::]', 6],
    ]);
    assert.deepEqual(file.problems, []);
  });

  test('a key outside any section, a line that is not key = value, and a multi-line value are problems, not entries', () => {
    const file = readIni('orphan = 1\n[general]\njust some words\nbig = <<EOT\nline one\nline two\nEOT\nafter = yes\n');
    assert.deepEqual(file.entries.map((e) => `${e.section}.${e.key}=${e.value}`), ['general.after=yes']);
    assert.deepEqual(file.problems.map((p) => [p.line, p.what]), [[1, 'orphan'], [3, 'line 3'], [4, 'general.big']]);
    assert.ok(!file.problems.some((p) => p.detail.includes('just some words')), 'a malformed line is not echoed: it may hold a password');
  });

  test('a key set twice keeps the last value and is reported; matching quotes are removed and flagged', () => {
    const file = readIni('[fcm]\nenable = no\nenable = yes\ndate_format = "%H:%M"\nother = \'it"s\n');
    assert.equal(value(file, 'fcm.enable'), 'yes');
    assert.deepEqual(file.duplicates.map((d) => [d.what, d.line]), [['fcm.enable', 3]]);
    assert.equal(value(file, 'fcm.date_format'), '%H:%M');
    assert.equal(file.entries.find((e) => e.key === 'date_format')?.unquoted, true);
    assert.equal(value(file, 'fcm.other'), '\'it"s', 'unmatched quotes stay');
  });

  test('a byte-order mark and CRLF line ends are read like plain text', () => {
    const file = readIni('\uFEFF[auth]\r\nenable = yes\r\n');
    assert.equal(value(file, 'auth.enable'), 'yes');
  });
});

describe('the classic v7 YAML reader', () => {
  test('keeps every value a string, reads an unquoted !NAME as a secret reference, and reports what is not a single value', () => {
    const file = readYaml('general:\n  port: 0123\n  flag: no\nmqtt:\n  password: !MQTT_PASSWORD\n  list: [1, 2]\n  empty:\n', 'zmes.yml');
    const values = Object.fromEntries(file.entries.map((e) => [`${e.section}.${e.key}`, e.value]));
    assert.deepEqual(values, { 'general.port': '0123', 'general.flag': 'no', 'mqtt.password': '!MQTT_PASSWORD', 'mqtt.empty': '' });
    assert.equal(file.entries.find((e) => e.key === 'password')?.secretTag, true);
    assert.deepEqual(file.problems.map((p) => p.what), ['mqtt.list']);
  });

  test('an unknown section or key is an entry for the migration to report, not an error', () => {
    const file = readYaml('ml:\n  enable: yes\n', 'zmes.yml');
    assert.deepEqual(file.entries.map((e) => [e.section, e.key]), [['ml', 'enable']]);
  });
});

test('the format is told by the first meaningful line: a [section] header means INI', () => {
  assert.equal(detectFormat('# comment\n; another\n\n[general]\nx = 1\n'), 'ini');
  assert.equal(detectFormat('# comment\ngeneral:\n  x: "1"\n'), 'yaml');
  assert.equal(detectFormat(''), 'yaml');
});

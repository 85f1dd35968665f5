import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inferClientKind, parseTokenFile, serializeTokenFile } from '../../../src/tokens/token-file.js';

const MONTH = 2;

test('a classic JSON file is read with every field, extra fields defaulted', () => {
  const text = JSON.stringify({
    tokens: {
      tokA: { platform: 'android', monlist: '1,2,3', intlist: '0,120,0', pushstate: 'enabled', appversion: '1.8.001', invocations: { count: 135, at: 2 } },
      tokB: { platform: 'ios', monlist: '', intlist: '', pushstate: 'disabled', appversion: '1.2.3', invocations: { count: 1, at: 1 }, profile: 'Home' },
    },
  });
  const parsed = parseTokenFile(text, MONTH);
  assert.equal(parsed.kind, 'json');
  assert.deepEqual(parsed.warnings, []);
  assert.deepEqual(parsed.records[0], {
    token: 'tokA',
    platform: 'android',
    monlist: '1,2,3',
    intlist: '0,120,0',
    pushstate: 'enabled',
    appversion: '1.8.001',
    invocations: { count: 135, at: 2 },
    profile: undefined,
    clientKind: 'zmninja',
    badge: 0,
    lastSent: {},
    zmUser: undefined,
  });
  assert.equal(parsed.records[1]?.clientKind, 'zmninjang');
  assert.equal(parsed.records[1]?.pushstate, 'disabled');
});

test('lenient: numbers as strings, missing fields, odd values are repaired', () => {
  const text = JSON.stringify({
    tokens: {
      t1: { invocations: { count: '17', at: '4' }, monlist: 5, pushstate: 'weird' },
      t2: { platform: ['android'], invocations: 'lots', badge: '3', last_sent: { '1': 1000, x: 5, '2': 'nope' } },
    },
  });
  const parsed = parseTokenFile(text, MONTH);
  const [t1, t2] = parsed.records;
  assert.deepEqual(t1, {
    token: 't1',
    platform: 'unknown',
    monlist: '5',
    intlist: '',
    pushstate: 'enabled',
    appversion: 'unknown',
    invocations: { count: 17, at: 4 },
    profile: undefined,
    clientKind: 'unknown',
    badge: 0,
    lastSent: {},
    zmUser: undefined,
  });
  assert.equal(t2?.platform, 'unknown');
  assert.deepEqual(t2?.invocations, { count: 0, at: MONTH });
  assert.equal(t2?.badge, 3);
  assert.deepEqual(t2?.lastSent, { '1': 1000 });
  assert.equal(parsed.warnings.length, 2);
});

test('one malformed entry is skipped and logged, the others are kept', () => {
  const text = '{"tokens":{"good1":{"platform":"android"},"bad":"oops","nul":null,"":{"platform":"ios"},"good2":{"platform":"ios"}}}';
  const parsed = parseTokenFile(text, MONTH);
  assert.deepEqual(parsed.records.map((r) => r.token), ['good1', 'good2']);
  assert.equal(parsed.warnings.length, 3);
  assert.ok(parsed.warnings.every((w) => !w.includes('good')));
});

test('the old line format splits from the right, last duplicate wins, unknown state becomes enabled', () => {
  const text = [
    'fWx0:APA91b:abc:1,2:0,120:android:enabled',
    'other:3:60:ios:disabled',
    'fWx0:APA91b:abc:4:0:android:bogus',
    '',
  ].join('\n');
  const parsed = parseTokenFile(text, MONTH);
  assert.equal(parsed.kind, 'lines');
  assert.deepEqual(
    parsed.records.map((r) => [r.token, r.monlist, r.intlist, r.platform, r.pushstate]),
    [
      ['other', '3', '60', 'ios', 'disabled'],
      ['fWx0:APA91b:abc', '4', '0', 'android', 'enabled'],
    ],
  );
});

test('a damaged JSON file is corrupt, not mistaken for the line format', () => {
  const parsed = parseTokenFile('{"tokens":{"abc":{"platform":"android","monlist":"1,2"', MONTH);
  assert.equal(parsed.kind, 'corrupt');
  assert.match(parsed.error ?? '', /invalid JSON/);
  assert.equal(parseTokenFile('random garbage without structure', MONTH).kind, 'corrupt');
  assert.equal(parseTokenFile('{"tokens":[1,2]}', MONTH).kind, 'corrupt');
  assert.equal(parseTokenFile('[]', MONTH).kind, 'corrupt');
});

test('an empty file and a file without a tokens map give no records', () => {
  assert.equal(parseTokenFile('  \n', MONTH).kind, 'empty');
  const noMap = parseTokenFile('{}', MONTH);
  assert.equal(noMap.kind, 'json');
  assert.equal(noMap.records.length, 0);
});

test('serialize → parse round-trips every field, including a "__proto__" token', () => {
  const text = JSON.stringify({ tokens: { __proto__: { platform: 'ios', profile: 'P' }, n: { platform: 'android', badge: 2, client_kind: 'zmninjang', last_sent: { '7': 123 } } } });
  // JSON.stringify drops a literal __proto__ key, so build the text by hand:
  const raw = text.replace('{"tokens":{', '{"tokens":{"__proto__":{"platform":"ios","profile":"P"},');
  const parsed = parseTokenFile(raw, MONTH);
  const again = parseTokenFile(serializeTokenFile(parsed.records), MONTH);
  assert.deepEqual(again.records, parsed.records);
  assert.ok(again.records.some((r) => r.token === '__proto__'));
  assert.deepEqual(again.records.find((r) => r.token === 'n')?.lastSent, { '7': 123 });
});

test('client kind for classic entries: profile → zmNinjaNg, known appversion → zmNinja, else unknown', () => {
  assert.equal(inferClientKind('Home', 'unknown'), 'zmninjang');
  assert.equal(inferClientKind(undefined, '1.8.001'), 'zmninja');
  assert.equal(inferClientKind(undefined, 'unknown'), 'unknown');
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientFrame, clientKindFromSignals, mergeSignals, NO_SIGNALS, parseBadge, nestingExceeds, frameShapeProblem, type ClientMessage, type ClientSignals, type ProtocolError } from '../../../src/ws/protocol.js';
import { sanitiseEcho } from '../../../src/domain/json.js';

const LIMITS = { maxBytes: 64 * 1024 };

function parsed(raw: string): ClientMessage {
  const result = parseClientFrame(raw, LIMITS);
  assert.ok(result.ok, `expected a message, got ${JSON.stringify(result)}`);
  return result.value;
}

function failed(raw: string, limits = LIMITS): ProtocolError {
  const result = parseClientFrame(raw, limits);
  assert.ok(!result.ok, `expected BADJSON, got ${JSON.stringify(result)}`);
  return result.error;
}

function signals(partial: Partial<ClientSignals>): ClientSignals {
  return { ...NO_SIGNALS, ...partial };
}

describe('auth frames', () => {
  test('the exact zmNinja auth frame parses to a normal auth with its filter and a zmNinja signal', () => {
    const raw =
      '{"event":"auth","data":{"user":"admin","password":"secret","monlist":"1,2","intlist":"0,0","appversion":"1.8.001"},"token":"fcm-token-1"}';
    assert.deepEqual(parsed(raw), {
      kind: 'auth',
      event: 'auth',
      user: 'admin',
      password: 'secret',
      appversion: '1.8.001',
      monlist: '1,2',
      intlist: '0,0',
      signals: signals({ topLevelToken: true }),
      topLevelToken: 'fcm-token-1',
    });
  });

  test('the zmNinja auth frame with an empty top-level token still counts as the zmNinja signal', () => {
    const msg = parsed('{"event":"auth","data":{"user":"admin","password":"secret","monlist":"","intlist":"","appversion":"1.8.001"},"token":""}');
    assert.equal(msg.topLevelToken, undefined);
    assert.equal(msg.signals.topLevelToken, true);
    assert.equal(clientKindFromSignals(msg.signals), 'zmninja');
  });

  test('the exact zmNinjaNg auth frame parses to a normal auth without lists and a zmNinjaNg signal', () => {
    const raw = '{"event":"auth","data":{"user":"admin","password":"secret","appversion":"1.2.3"},"category":"normal"}';
    const msg = parsed(raw);
    assert.deepEqual(msg, {
      kind: 'auth',
      event: 'auth',
      user: 'admin',
      password: 'secret',
      appversion: '1.2.3',
      monlist: undefined,
      intlist: undefined,
      signals: signals({ category: true }),
      topLevelToken: undefined,
    });
    assert.equal(clientKindFromSignals(msg.signals), 'zmninjang');
  });

  test('the escontrol admin login parses to an escontrol auth with its password', () => {
    assert.deepEqual(parsed('{"event":"auth","category":"escontrol","data":{"password":"adminpw"}}'), {
      kind: 'auth-escontrol',
      event: 'auth',
      password: 'adminpw',
      signals: signals({ category: true }),
      topLevelToken: undefined,
    });
  });

  test('a category other than normal or escontrol is a normal login', () => {
    for (const category of ['"foo"', '"ESCONTROL"', '""', 'null']) {
      const msg = parsed(`{"event":"auth","category":${category},"data":{"user":"u","password":"p"}}`);
      assert.equal(msg.kind, 'auth', category);
    }
  });

  test('a category or top-level token that is not a string is BADJSON naming the field', () => {
    for (const category of ['5', '{}', '[]', 'true']) {
      const error = failed(`{"event":"auth","category":${category},"data":{"user":"u","password":"p"}}`);
      assert.equal(error.cause, 'bad-field', category);
      assert.equal(error.field, 'category', category);
      assert.equal(error.event, 'auth');
    }
    for (const token of ['5', '{"t":1}', '["T"]', 'false']) {
      const error = failed(`{"event":"push","data":{"type":"badge","badge":0},"token":${token}}`);
      assert.equal(error.field, 'token', token);
      assert.equal(error.event, 'push');
    }
  });

  test('an auth frame without data is an auth with no credentials, for the server to refuse', () => {
    for (const raw of ['{"event":"auth"}', '{"event":"auth","data":null}', '{"event":"auth","data":{}}']) {
      const msg = parsed(raw);
      assert.equal(msg.kind, 'auth');
      assert.equal(msg.kind === 'auth' && msg.user, undefined);
      assert.equal(msg.kind === 'auth' && msg.password, undefined);
    }
  });

  test('a number in a text field is BADJSON naming the field: the apps send every text field as a string', () => {
    for (const [data, field] of [
      ['{"user":1234,"password":"p"}', 'data.user'],
      ['{"user":"u","password":5678}', 'data.password'],
      ['{"user":"u","password":"p","monlist":1,"intlist":"0"}', 'data.monlist'],
      ['{"user":"u","password":"p","monlist":"1","intlist":30}', 'data.intlist'],
      ['{"user":"u","password":"p","appversion":2}', 'data.appversion'],
    ] as const) {
      const error = failed(`{"event":"auth","data":${data}}`);
      assert.equal(error.cause, 'bad-field', data);
      assert.equal(error.field, field, data);
      assert.match(error.detail, new RegExp(`auth: ${field.replace('.', '\\.')} must be string`), data);
    }
  });

  test('null credentials count as absent', () => {
    const msg = parsed('{"event":"auth","data":{"user":null,"password":null}}');
    assert.equal(msg.kind === 'auth' && msg.user, undefined);
    assert.equal(msg.kind === 'auth' && msg.password, undefined);
  });

  test('a credential of the wrong type is BADJSON naming the field', () => {
    for (const [value, field] of [
      ['{"user":{}}', 'data.user'],
      ['{"user":"u","password":["p"]}', 'data.password'],
      ['{"user":true}', 'data.user'],
      ['{"monlist":[1,2]}', 'data.monlist'],
      ['{"intlist":false}', 'data.intlist'],
    ] as const) {
      const error = failed(`{"event":"auth","data":${value}}`);
      assert.equal(error.code, 'BADJSON');
      assert.equal(error.cause, 'bad-field');
      assert.equal(error.field, field);
      assert.equal(error.event, 'auth');
    }
  });
});

describe('control frames', () => {
  test('the exact zmNinja filter frame parses with its lists and the zmNinja signals', () => {
    const raw =
      '{"event":"control","data":{"type":"filter","monlist":"1,2","intlist":"0,0","token":"fcm","appversion":"1.8.001"},"token":"fcm"}';
    assert.deepEqual(parsed(raw), {
      kind: 'control-filter',
      event: 'control',
      monlist: '1,2',
      intlist: '0,0',
      signals: signals({ topLevelToken: true, appversionOutsideAuth: true }),
      topLevelToken: 'fcm',
    });
  });

  test('the exact zmNinjaNg filter frame parses with its lists and no signal', () => {
    assert.deepEqual(parsed('{"event":"control","data":{"type":"filter","monlist":"1,3","intlist":"60,60"}}'), {
      kind: 'control-filter',
      event: 'control',
      monlist: '1,3',
      intlist: '60,60',
      signals: NO_SIGNALS,
      topLevelToken: undefined,
    });
  });

  test('a filter with empty lists is accepted (all monitors)', () => {
    const msg = parsed('{"event":"control","data":{"type":"filter","monlist":"","intlist":""}}');
    assert.equal(msg.kind, 'control-filter');
  });

  test('a filter without monlist is rejected with MISSINGMONITORLIST', () => {
    for (const data of ['{"type":"filter","intlist":"0"}', '{"type":"filter"}', '{"type":"filter","monlist":null,"intlist":"0"}']) {
      const msg = parsed(`{"event":"control","data":${data}}`);
      assert.equal(msg.kind, 'rejected');
      assert.equal(msg.kind === 'rejected' && msg.reason, 'MISSINGMONITORLIST');
      assert.equal(msg.kind === 'rejected' && msg.event, 'control');
      assert.equal(msg.kind === 'rejected' && msg.type, 'filter');
    }
  });

  test('a filter without intlist is rejected with MISSINGINTERVALLIST', () => {
    const msg = parsed('{"event":"control","data":{"type":"filter","monlist":"1"}}');
    assert.equal(msg.kind === 'rejected' && msg.reason, 'MISSINGINTERVALLIST');
  });

  test('the version request parses to control-version', () => {
    assert.deepEqual(parsed('{"event":"control","data":{"type":"version"}}'), {
      kind: 'control-version',
      event: 'control',
      signals: NO_SIGNALS,
      topLevelToken: undefined,
    });
  });

  test('an unknown or missing control subtype parses to control-unknown for silent ignoring', () => {
    const unknown = parsed('{"event":"control","data":{"type":"reboot"}}');
    assert.equal(unknown.kind, 'control-unknown');
    assert.equal(unknown.kind === 'control-unknown' && unknown.subtype, 'reboot');
    const missing = parsed('{"event":"control","data":{}}');
    assert.equal(missing.kind === 'control-unknown' && missing.subtype, '');
    const noData = parsed('{"event":"control"}');
    assert.equal(noData.kind, 'control-unknown');
  });

  test('a control type or filter list of the wrong type is BADJSON', () => {
    assert.equal(failed('{"event":"control","data":{"type":{"x":1}}}').field, 'data.type');
    assert.equal(failed('{"event":"control","data":{"type":7}}').field, 'data.type');
    assert.equal(failed('{"event":"control","data":{"type":"filter","monlist":1,"intlist":"0"}}').field, 'data.monlist');
    assert.equal(failed('{"event":"control","data":{"type":"filter","monlist":"1","intlist":[0]}}').field, 'data.intlist');
    assert.equal(failed('{"event":"control","data":{"type":"filter","monlist":"1","intlist":true}}').field, 'data.intlist');
  });
});

describe('push frames', () => {
  test('the exact zmNinja token frame parses with the zmNinja signals and lists', () => {
    const raw =
      '{"event":"push","data":{"type":"token","platform":"android","token":"T1","monlist":"1,2","intlist":"0,0","state":"enabled","appversion":"1.8.001"},"token":"T1"}';
    assert.deepEqual(parsed(raw), {
      kind: 'push-token',
      event: 'push',
      token: 'T1',
      platform: 'android',
      state: 'enabled',
      monlist: '1,2',
      intlist: '0,0',
      profile: undefined,
      signals: signals({ topLevelToken: true, appversionOutsideAuth: true }),
      topLevelToken: 'T1',
    });
  });

  test('the exact zmNinjaNg token frames parse with profile and state', () => {
    const enabled = parsed(
      '{"event":"push","data":{"type":"token","token":"T2","platform":"ios","monlist":"1,2","intlist":"0,60","state":"enabled","profile":"Home"}}',
    );
    assert.deepEqual(enabled, {
      kind: 'push-token',
      event: 'push',
      token: 'T2',
      platform: 'ios',
      state: 'enabled',
      monlist: '1,2',
      intlist: '0,60',
      profile: 'Home',
      signals: signals({ profile: true }),
      topLevelToken: undefined,
    });
    assert.equal(clientKindFromSignals(enabled.signals), 'zmninjang');
    const disabled = parsed('{"event":"push","data":{"type":"token","token":"T2","platform":"ios","state":"disabled","profile":"Home"}}');
    assert.equal(disabled.kind === 'push-token' && disabled.state, 'disabled');
    assert.equal(disabled.kind === 'push-token' && disabled.monlist, undefined);
  });

  test('a token frame without lists, or with "" or "-1", keeps the stored lists', () => {
    for (const lists of ['', ',"monlist":"","intlist":""', ',"monlist":"-1","intlist":"-1"', ',"monlist":null']) {
      const msg = parsed(`{"event":"push","data":{"type":"token","token":"T","platform":"android"${lists}}}`);
      assert.equal(msg.kind, 'push-token', lists);
      assert.equal(msg.kind === 'push-token' && msg.monlist, undefined, lists);
      assert.equal(msg.kind === 'push-token' && msg.intlist, undefined, lists);
    }
  });

  test('a token frame state of "", missing, null or "enabled" is enabled', () => {
    for (const state of [',"state":""', '', ',"state":"enabled"', ',"state":null']) {
      const msg = parsed(`{"event":"push","data":{"type":"token","token":"T","platform":"android"${state}}}`);
      assert.equal(msg.kind === 'push-token' && msg.state, 'enabled', state);
    }
  });

  test('any other state is refused with BADSTATE rather than guessed (a phone that opted out must not get pushes)', () => {
    for (const state of ['on', 'Disabled', 'DISABLED', 'off', ' disabled', '0']) {
      const msg = parsed(JSON.stringify({ event: 'push', data: { type: 'token', token: 'T', platform: 'android', state } }));
      assert.equal(msg.kind === 'rejected' && msg.reason, 'BADSTATE', state);
      assert.equal(msg.kind === 'rejected' && msg.type, 'token');
    }
  });

  test('a platform other than android or ios is refused with BADPLATFORM, naming it in the log detail', () => {
    for (const platform of ['desktop', 'foo', 'Android', 'IOS', 'web', 'unknown', ' ios']) {
      const msg = parsed(JSON.stringify({ event: 'push', data: { type: 'token', token: 'T', platform } }));
      assert.equal(msg.kind, 'rejected', platform);
      assert.equal(msg.kind === 'rejected' && msg.reason, 'BADPLATFORM', platform);
      assert.equal(msg.kind === 'rejected' && msg.type, 'token');
      assert.match(msg.kind === 'rejected' ? msg.detail : '', /data\.platform ".*" is not android or ios/);
    }
    const hostile = parsed(JSON.stringify({ event: 'push', data: { type: 'token', token: 'T', platform: 'x\n'.repeat(100) } }));
    assert.ok(hostile.kind === 'rejected' && hostile.detail.length < 80 && !hostile.detail.includes('\n'));
  });

  test('a token frame without platform is rejected with MISSINGPLATFORM, before the token check', () => {
    for (const data of [
      '{"type":"token","token":"T"}',
      '{"type":"token","token":"T","platform":""}',
      '{"type":"token","token":"T","platform":null}',
      '{"type":"token"}',
    ]) {
      const msg = parsed(`{"event":"push","data":${data}}`);
      assert.equal(msg.kind === 'rejected' && msg.reason, 'MISSINGPLATFORM', data);
      assert.equal(msg.kind === 'rejected' && msg.type, 'token');
    }
  });

  test('a token frame with an empty or missing token is a silent EMPTYTOKEN rejection', () => {
    for (const token of ['', ',"token":""', ',"token":null']) {
      const msg = parsed(`{"event":"push","data":{"type":"token","platform":"android"${token}}}`);
      assert.equal(msg.kind === 'rejected' && msg.reason, 'EMPTYTOKEN', token);
    }
  });

  test('a profile longer than 128 characters is cut at 128 code points without splitting a surrogate pair', () => {
    const long = 'p'.repeat(127) + '😀😀😀';
    const msg = parsed(JSON.stringify({ event: 'push', data: { type: 'token', token: 'T', platform: 'ios', profile: long } }));
    assert.equal(msg.kind === 'push-token' && msg.profile, 'p'.repeat(127) + '😀');
    const short = parsed(JSON.stringify({ event: 'push', data: { type: 'token', token: 'T', platform: 'ios', profile: 'x'.repeat(128) } }));
    assert.equal(short.kind === 'push-token' && short.profile, 'x'.repeat(128));
  });

  test('every token frame field of the wrong type is BADJSON naming it, numbers included', () => {
    for (const [extra, field] of [
      ['"token":12345,"platform":"android"', 'data.token'],
      ['"token":"T","platform":["ios"]', 'data.platform'],
      ['"token":"T","platform":1', 'data.platform'],
      ['"token":"T","platform":"ios","state":true', 'data.state'],
      ['"token":"T","platform":"ios","state":0', 'data.state'],
      ['"token":"T","platform":"ios","profile":42', 'data.profile'],
      ['"token":"T","platform":"ios","profile":{"name":"Home"}', 'data.profile'],
      ['"token":"T","platform":"ios","monlist":1,"intlist":"0"', 'data.monlist'],
      ['"token":"T","platform":"ios","monlist":"1","intlist":false', 'data.intlist'],
    ] as const) {
      const error = failed(`{"event":"push","data":{"type":"token",${extra}}}`);
      assert.equal(error.cause, 'bad-field', extra);
      assert.equal(error.field, field, extra);
    }
  });

  test('the exact badge frames of both apps parse to their badge numbers', () => {
    assert.deepEqual(parsed('{"event":"push","data":{"type":"badge","badge":0,"appversion":"1.8.001"},"token":"T"}'), {
      kind: 'push-badge',
      event: 'push',
      badge: 0,
      signals: signals({ topLevelToken: true, appversionOutsideAuth: true }),
      topLevelToken: 'T',
    });
    assert.deepEqual(parsed('{"event":"push","data":{"type":"badge","badge":7}}'), {
      kind: 'push-badge',
      event: 'push',
      badge: 7,
      signals: NO_SIGNALS,
      topLevelToken: undefined,
    });
  });

  test('a badge given as a numeric string is accepted', () => {
    for (const [badge, expected] of [['"0"', 0], ['"7"', 7], ['" 12 "', 12], ['3.0', 3]] as const) {
      const msg = parsed(`{"event":"push","data":{"type":"badge","badge":${badge}}}`);
      assert.equal(msg.kind === 'push-badge' && msg.badge, expected, badge);
    }
  });

  test('a badge of the wrong type (boolean, object, array) is BADJSON like any other field', () => {
    for (const badge of ['{}', '[1]', 'true']) {
      const error = failed(`{"event":"push","data":{"type":"badge","badge":${badge}}}`);
      assert.equal(error.field, 'data.badge', badge);
    }
  });

  test('a badge that is not a non-negative integer is a BADBADGE rejection the server can log', () => {
    for (const badge of ['-1', '1.5', '"abc"', '""', 'null', '"-1"', '"1e3"', '1e10', '"0x10"']) {
      const msg = parsed(`{"event":"push","data":{"type":"badge","badge":${badge}}}`);
      assert.equal(msg.kind, 'rejected', badge);
      assert.equal(msg.kind === 'rejected' && msg.reason, 'BADBADGE', badge);
      assert.equal(msg.kind === 'rejected' && msg.type, 'badge');
    }
    const missing = parsed('{"event":"push","data":{"type":"badge"}}');
    assert.equal(missing.kind === 'rejected' && missing.detail, 'badge is not a non-negative integer: missing');
  });

  test('parseBadge accepts exactly the non-negative integers up to 2^31-1', () => {
    assert.equal(parseBadge(2147483647), 2147483647);
    assert.equal(parseBadge(2147483648), undefined);
    assert.equal(parseBadge(Number.NaN), undefined);
    assert.equal(parseBadge(Number.POSITIVE_INFINITY), undefined);
    assert.equal(parseBadge('00042'), 42);
  });

  test('an unknown push subtype parses to push-unknown for silent ignoring', () => {
    const msg = parsed('{"event":"push","data":{"type":"logout"}}');
    assert.equal(msg.kind === 'push-unknown' && msg.subtype, 'logout');
    assert.equal(parsed('{"event":"push"}').kind, 'push-unknown');
  });
});

describe('escontrol frames', () => {
  test('an escontrol command keeps the command and the whole data object', () => {
    const msg = parsed('{"event":"escontrol","data":{"command":"mute","monitors":[2,4]}}');
    assert.deepEqual(msg, {
      kind: 'escontrol',
      event: 'escontrol',
      command: 'mute',
      data: { command: 'mute', monitors: [2, 4] },
      signals: NO_SIGNALS,
      topLevelToken: undefined,
    });
    const edit = parsed('{"event":"escontrol","data":{"command":"edit","key":"use_hooks","val":"no"}}');
    assert.deepEqual(edit.kind === 'escontrol' && edit.data, { command: 'edit', key: 'use_hooks', val: 'no' });
  });

  test('escontrol without data is rejected with NODATA', () => {
    for (const raw of ['{"event":"escontrol"}', '{"event":"escontrol","data":null}']) {
      const msg = parsed(raw);
      assert.equal(msg.kind === 'rejected' && msg.reason, 'NODATA', raw);
      assert.equal(msg.kind === 'rejected' && msg.event, 'escontrol');
    }
  });

  test('escontrol with an empty data object has no command', () => {
    const msg = parsed('{"event":"escontrol","data":{}}');
    assert.equal(msg.kind, 'escontrol');
    assert.equal(msg.kind === 'escontrol' && msg.command, undefined);
  });

  test('an escontrol command that is not a string is BADJSON', () => {
    assert.equal(failed('{"event":"escontrol","data":{"command":{"x":1}}}').field, 'data.command');
  });
});

describe('unknown events and malformed frames', () => {
  test('an unknown event is unsupported and echoes the event name', () => {
    const msg = parsed('{"event":"alarm","data":{}}');
    assert.equal(msg.kind, 'unsupported');
    assert.equal(msg.kind === 'unsupported' && msg.echo, 'alarm');
    assert.equal(msg.event, null);
  });

  test('the echo is cut to 32 characters and reduced to printable ASCII', () => {
    const long = parsed(JSON.stringify({ event: 'x'.repeat(1000) }));
    assert.equal(long.kind === 'unsupported' && long.echo, 'x'.repeat(32));
    const hostile = parsed(JSON.stringify({ event: 'a\u0000b\nc<é>😀"\\' }));
    assert.equal(hostile.kind === 'unsupported' && hostile.echo, 'a?b?c<?>?"\\');
  });

  test('a missing or non-string event is unsupported with a short echo', () => {
    assert.equal(sanitiseEcho(undefined), '');
    const missing = parsed('{"data":{}}');
    assert.equal(missing.kind === 'unsupported' && missing.echo, '');
    const numeric = parsed('{"event":5}');
    assert.equal(numeric.kind === 'unsupported' && numeric.echo, '5');
    const object = parsed('{"event":{"a":1}}');
    assert.equal(object.kind === 'unsupported' && object.echo, '');
  });

  test('event names are case-sensitive as in the classic server', () => {
    assert.equal(parsed('{"event":"Auth","data":{}}').kind, 'unsupported');
  });

  test('text that is not JSON is BADJSON not-json', () => {
    for (const raw of ['', 'hello', '{', '{"event":"auth",}', "{'event':'auth'}", '\u0000', '{"event":"auth"} trailing']) {
      assert.equal(failed(raw).cause, 'not-json', JSON.stringify(raw));
    }
  });

  test('a top level that is not an object is BADJSON not-object', () => {
    for (const raw of ['[]', '[{"event":"auth"}]', '5', '"auth"', 'null', 'true']) {
      assert.equal(failed(raw).cause, 'not-object', raw);
    }
  });

  test('a data member that is not an object is BADJSON data-not-object', () => {
    for (const data of ['[]', '"x"', '5', 'true', '[{"user":"a"}]']) {
      const error = failed(`{"event":"auth","data":${data}}`);
      assert.equal(error.cause, 'data-not-object', data);
      assert.equal(error.event, 'auth');
    }
  });

  test('a frame larger than the limit is BADJSON too-large, counting UTF-8 bytes', () => {
    const frame = '{"event":"control","data":{"type":"version"}}';
    assert.equal(parseClientFrame(frame, { maxBytes: frame.length }).ok, true);
    assert.equal(failed(frame, { maxBytes: frame.length - 1 }).cause, 'too-large');
    // 30 euro signs are 30 UTF-16 units but 90 bytes.
    const euro = JSON.stringify({ event: 'auth', data: { user: '€'.repeat(30) } });
    assert.equal(failed(euro, { maxBytes: euro.length + 10 }).cause, 'too-large');
    assert.equal(parseClientFrame(euro, { maxBytes: Buffer.byteLength(euro) }).ok, true);
  });

  test('a frame nested deeper than the limit is BADJSON too-deep, brackets inside strings do not count', () => {
    const deep = '{"event":"escontrol","data":{"command":"x","v":' + '['.repeat(40) + ']'.repeat(40) + '}}';
    assert.equal(failed(deep).cause, 'too-deep');
    const stringy = JSON.stringify({ event: 'auth', data: { user: '[[[[[[[[[[{{{{{{{{{{'.repeat(10), password: '\\"[[' } });
    assert.equal(parsed(stringy).kind, 'auth');
    assert.equal(nestingExceeds('[[[]]]', 3), false);
    assert.equal(nestingExceeds('[[[[]]]]', 3), true);
  });

  test('a frame with more values than the limit is BADJSON too-many-items, before it is parsed; commas in strings do not count', () => {
    const wide = JSON.stringify({ event: 'escontrol', data: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])) });
    assert.equal(failed(wide, { maxBytes: 1 << 20 }).cause, 'too-many-items');
    const long = JSON.stringify({ event: 'auth', data: { user: 'u', password: 'p', v: Array.from({ length: 2000 }, () => 0) } });
    assert.equal(failed(long, { maxBytes: 1 << 20 }).cause, 'too-many-items');
    const commas = JSON.stringify({ event: 'auth', data: { user: ','.repeat(5000), password: 'p' } });
    const ok = parseClientFrame(commas, { maxBytes: 1 << 20 });
    assert.ok(ok.ok && ok.value.kind === 'auth');
    assert.equal(frameShapeProblem('[1,2,3,4]', 5, 3), 'too-many-items');
    assert.equal(frameShapeProblem('[1,2]', 5, 3), null);
  });

  test('unknown extra keys are ignored at the top level and in data for every frame kind', () => {
    const frames = [
      '{"event":"auth","data":{"user":"u","password":"p","monlist":"1","intlist":"0","appversion":"1"}}',
      '{"event":"auth","category":"escontrol","data":{"password":"p"}}',
      '{"event":"control","data":{"type":"filter","monlist":"1","intlist":"0"}}',
      '{"event":"control","data":{"type":"version"}}',
      '{"event":"push","data":{"type":"token","token":"T","platform":"ios","profile":"Home"}}',
      '{"event":"push","data":{"type":"badge","badge":3}}',
      '{"event":"push","data":{"type":"token","token":"T"}}',
    ];
    for (const frame of frames) {
      const plain = parsed(frame);
      const withExtras = frame
        .replace('{"event"', '{"zzz":{"deep":[1,{"a":null}]},"version":2,"event"')
        .replace('"data":{', '"data":{"unknownKey":[true],"another":{"x":"y"},');
      assert.notEqual(withExtras, frame);
      assert.deepEqual(parsed(withExtras), plain, frame);
    }
  });
});

describe('prototype pollution', () => {
  test('__proto__, constructor and prototype keys are dropped and Object.prototype stays clean', () => {
    const frames = [
      '{"__proto__":{"polluted":1},"event":"auth","data":{"user":"u","password":"p"}}',
      '{"event":"auth","data":{"__proto__":{"polluted":1},"user":"u","password":"p"}}',
      '{"event":"escontrol","data":{"command":"get","__proto__":{"polluted":1},"x":{"constructor":{"prototype":{"polluted":1}}}}}',
      '{"event":"escontrol","data":{"command":"get","\\u005f\\u005fproto\\u005f\\u005f":{"polluted":1}}}',
      '{"event":"escontrol","data":{"command":"get","constr\\u0075ctor":{"prototype":{"polluted":1}}}}',
    ];
    for (const frame of frames) {
      const msg = parsed(frame);
      const copy: Record<string, unknown> = {};
      if (msg.kind === 'escontrol') {
        Object.assign(copy, msg.data);
        assert.equal(Object.hasOwn(msg.data, '__proto__'), false, frame);
        assert.equal(Object.hasOwn(msg.data, 'constructor'), false, frame);
        assert.equal(msg.data['command'], 'get');
      }
      assert.equal(Object.getPrototypeOf(copy), Object.prototype);
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined, frame);
    }
    const nested = parsed('{"event":"escontrol","data":{"command":"get","x":{"constructor":{"prototype":{"polluted":1}},"keep":1}}}');
    assert.deepEqual(nested.kind === 'escontrol' && nested.data['x'], { keep: 1 });
  });
});

describe('client kind', () => {
  test('the signals of zmNinja frames and zmNinjaNg frames give opposite kinds, a mix gives unknown', () => {
    const ninja = signals({ topLevelToken: true });
    const ng = signals({ category: true });
    assert.equal(clientKindFromSignals(ninja), 'zmninja');
    assert.equal(clientKindFromSignals(signals({ appversionOutsideAuth: true })), 'zmninja');
    assert.equal(clientKindFromSignals(ng), 'zmninjang');
    assert.equal(clientKindFromSignals(signals({ profile: true })), 'zmninjang');
    assert.equal(clientKindFromSignals(NO_SIGNALS), 'unknown');
    assert.equal(clientKindFromSignals(mergeSignals(ninja, ng)), 'unknown');
    assert.deepEqual(mergeSignals(ng, signals({ profile: true })), signals({ category: true, profile: true }));
  });

  test('appversion in auth data is not a zmNinja signal, since both apps send it there', () => {
    const msg = parsed('{"event":"auth","data":{"user":"u","password":"p","appversion":"1.2.3"}}');
    assert.equal(msg.signals.appversionOutsideAuth, false);
  });
});

describe('typical wire sequences (protocol.md §16)', () => {
  test('zmNinja on Android sends auth, token and badge frames that parse in order', () => {
    const kinds = [
      '{"event":"auth","data":{"user":"U","password":"P","monlist":"1,2","intlist":"0,0","appversion":"1.8.001"},"token":"T"}',
      '{"event":"push","data":{"type":"token","platform":"android","token":"T","state":"enabled","appversion":"1.8.001"},"token":"T"}',
      '{"event":"push","data":{"type":"badge","badge":0,"appversion":"1.8.001"},"token":"T"}',
    ].map((frame) => {
      const msg = parsed(frame);
      assert.equal(clientKindFromSignals(msg.signals), 'zmninja');
      return msg.kind;
    });
    assert.deepEqual(kinds, ['auth', 'push-token', 'push-badge']);
  });

  test('zmNinjaNg on Android sends auth, filter, token, badge and version frames that parse in order', () => {
    const kinds = [
      '{"event":"auth","data":{"user":"U","password":"P","appversion":"1.2.3"},"category":"normal"}',
      '{"event":"control","data":{"type":"filter","monlist":"1,3","intlist":"60,60"}}',
      '{"event":"push","data":{"type":"token","token":"T","platform":"android","monlist":"1,3","intlist":"60,60","state":"enabled","profile":"Home"}}',
      '{"event":"push","data":{"type":"badge","badge":3}}',
      '{"event":"control","data":{"type":"version"}}',
    ].map((frame) => parsed(frame).kind);
    assert.deepEqual(kinds, ['auth', 'control-filter', 'push-token', 'push-badge', 'control-version']);
  });
});

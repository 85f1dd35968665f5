// Push payloads (src/push/fcm-payload.ts) beyond test/unit/push/fcm-payload.test.ts: the byte
// count behind FCM's size limit character class by character class, fitting a message exactly
// to the limit, the proxy's own budget, and the picture URL's best frame.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bestMatchFrame,
  buildData,
  buildDirectMessage,
  buildProxyBody,
  buildPushContent,
  FCM_MAX_PAYLOAD_BYTES,
  payloadOptionsFromConfig,
  prefixWithinBytes,
  shortenText,
} from '../../../src/push/fcm-payload.js';
import type { Config } from '../../../src/config/schema.js';
import { makeNotification, makePayloadOptions, makeTarget } from '../../helpers/push-fixtures.js';

const options = makePayloadOptions();
/** What firebase-admin may add by respelling keys; the direct message keeps room for it. */
const WIRE_SPELLING_SLACK = 16;
/** What the classic proxy adds to the message it builds from our body. */
const PROXY_ADDITIONS_BYTES = 96;
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');
const jsonBytes = (text: string) => bytes(text) - 2;

describe('prefixWithinBytes counts each character as it is sent (JSON-escaped UTF-8)', () => {
  test('backslash and quote take 2 bytes', () => {
    assert.equal(prefixWithinBytes('\\\\\\', 3), '\\');
    assert.equal(prefixWithinBytes('\\\\\\', 4), '\\\\');
  });

  test('\\b \\t \\n \\f \\r take 2 bytes, other control characters 6', () => {
    for (const c of ['\b', '\t', '\n', '\f', '\r']) {
      assert.equal(prefixWithinBytes(c.repeat(3), 4), c.repeat(2), JSON.stringify(c));
      assert.equal(prefixWithinBytes(c.repeat(3), 5), c.repeat(2), JSON.stringify(c));
    }
    assert.equal(prefixWithinBytes('\u0001\u0001', 11), '\u0001');
    assert.equal(prefixWithinBytes('\u001f\u001f', 12), '\u001f\u001f');
  });

  test('UTF-8 lengths change at U+0080, U+0800 and U+10000', () => {
    assert.equal(prefixWithinBytes('\u007f\u007f', 2), '\u007f\u007f');
    assert.equal(prefixWithinBytes('\u0080\u0080', 3), '\u0080');
    assert.equal(prefixWithinBytes('\u07ff\u07ff', 4), '\u07ff\u07ff');
    assert.equal(prefixWithinBytes('\u0800\u0800', 5), '\u0800');
    assert.equal(prefixWithinBytes('\uffff\uffff', 6), '\uffff\uffff');
    assert.equal(prefixWithinBytes('\u{10000}\u{10000}', 7), '\u{10000}');
  });

  test('a character of the last 16-bit plane is one code unit, not a pair', () => {
    assert.equal(prefixWithinBytes('\uffffab', 4), '\uffffa');
  });

  test('a lone surrogate takes 6 bytes, as JSON.stringify writes it', () => {
    for (const s of ['\ud800', '\udbff', '\udc00', '\udfff']) {
      assert.equal(jsonBytes(s), 6);
      assert.equal(prefixWithinBytes(s + s, 11), s, s.charCodeAt(0).toString(16));
    }
  });

  test('a text that fits is returned whole; no room gives nothing', () => {
    assert.equal(prefixWithinBytes('abc', 3), 'abc');
    assert.equal(prefixWithinBytes('abc', 100), 'abc');
    assert.equal(prefixWithinBytes('abc', 0), '');
  });

  test('one character longer than the look-around window is cut between code points', () => {
    const zalgo = 'Z' + '\u0336'.repeat(500);
    // 1 + 2 × 150 bytes: the cut is 151 code units in, far from the character's start.
    assert.equal(prefixWithinBytes(zalgo, 301), zalgo.slice(0, 151));
  });
});

describe('shortenText', () => {
  test('a text of exactly the limit is kept; a longer one is cut, trailing spaces and all, before the ellipsis', () => {
    assert.equal(shortenText('abcdef', 6), 'abcdef');
    assert.equal(shortenText('ab   cdefgh', 6), 'ab…');
  });
});

describe('buildPushContent', () => {
  test('only a leading frame-match prefix is removed, with or without its space', () => {
    const cause = (text: string) => buildPushContent(makeNotification({ cause: text }), options).cause;
    assert.equal(cause('[a]detected:person'), 'detected:person');
    assert.equal(cause('[s] detected:car'), 'detected:car');
    assert.equal(cause('Motion [a] zone1'), 'Motion [a] zone1');
    assert.equal(cause('  Motion  '), 'Motion');
    assert.equal(cause('[a] '), 'Alarm');
    assert.equal(cause(''), 'Alarm');
  });

  test('an empty picture URL is no picture', () => {
    assert.equal(buildPushContent(makeNotification({ picture: '' }), options).picture, undefined);
    assert.equal(buildPushContent(makeNotification({ picture: 'https://zm/p.jpg' }), options).picture, 'https://zm/p.jpg');
    assert.equal(buildPushContent(makeNotification(), options).picture, undefined);
  });
});

describe('buildData', () => {
  test('an empty profile is not sent', () => {
    const withProfiles = makePayloadOptions({ includeProfile: true });
    const content = buildPushContent(makeNotification(), withProfiles);
    assert.equal('profile' in buildData(content, makeTarget({ profile: '' }), withProfiles), false);
    assert.equal('profile' in buildData(content, makeTarget({ profile: undefined }), withProfiles), false);
    assert.equal(buildData(content, makeTarget({ profile: 'Home' }), withProfiles)['profile'], 'Home');
  });
});

describe('payloadOptionsFromConfig', () => {
  const config = (fcm: Record<string, unknown>) =>
    ({
      fcm: {
        date_locale: '',
        date_format: '%H:%M %B',
        fcm_android_priority: 'normal',
        fcm_android_ttl: 60,
        replace_push_messages: true,
        include_profile_in_push: true,
        fcm_log_message_id: 'id',
        fcm_log_raw_message: false,
        ...fcm,
      },
      customize: { tag_alarm_event_id: false },
    }) as unknown as Pick<Config, 'fcm' | 'customize'>;
  const at = new Date(Date.UTC(2026, 0, 10, 23, 30));

  test('the time is formatted in the given time zone and locale', () => {
    assert.equal(payloadOptionsFromConfig(config({}), 'UTC').options.formatTime(at), '23:30 January');
    assert.equal(payloadOptionsFromConfig(config({}), 'Asia/Tokyo').options.formatTime(at), '08:30 January');
    const german = payloadOptionsFromConfig(config({ date_locale: 'de_DE.UTF-8' }), 'UTC');
    assert.deepEqual(german.warnings, []);
    assert.equal(german.options.formatTime(at), '23:30 Januar');
  });

  test('an unknown locale is reported once and the default names are used', () => {
    const { options: unknown, warnings } = payloadOptionsFromConfig(config({ date_locale: 'xx_!!' }), 'UTC');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /date_locale "xx_!!" is not a known locale/);
    assert.equal(unknown.formatTime(at), '23:30 January');
  });
});

describe('fitting a message to the limit', () => {
  /** A target whose token makes the message `extra` bytes longer than with a one-character token. */
  const target = (platform: 'android' | 'ios', extra: number) => makeTarget({ platform, token: 't'.repeat(1 + extra), clientKind: 'zmninja' });
  const cause = (n: number) => makeNotification({ cause: 'x'.repeat(n) });

  for (const platform of ['android', 'ios'] as const) {
    test(`${platform}: a message of exactly ${FCM_MAX_PAYLOAD_BYTES} bytes on the wire is sent whole`, () => {
      const small = buildDirectMessage(buildPushContent(cause(100), options), target(platform, 0), options);
      const perChar = bytes(buildDirectMessage(buildPushContent(cause(101), options), target(platform, 0), options)) - bytes(small);
      const room = FCM_MAX_PAYLOAD_BYTES - WIRE_SPELLING_SLACK - bytes(small);
      const chars = 100 + Math.floor(room / perChar);
      const message = buildDirectMessage(buildPushContent(cause(chars), options), target(platform, room % perChar), options);
      assert.equal(bytes(message) + WIRE_SPELLING_SLACK, FCM_MAX_PAYLOAD_BYTES);
      assert.equal(message.data!['cause'], 'x'.repeat(chars));
    });

    test(`${platform}: a cut cause keeps as much as fits`, () => {
      for (let extra = 0; extra < 4; extra++) {
        const message = buildDirectMessage(buildPushContent(cause(6000), options), target(platform, extra), options);
        const size = bytes(message) + WIRE_SPELLING_SLACK;
        assert.ok(size <= FCM_MAX_PAYLOAD_BYTES, `${size}`);
        const perChar = platform === 'android' ? 2 : 3; // the cause is in the body(s) and data.cause
        assert.ok(size > FCM_MAX_PAYLOAD_BYTES - perChar, `${size} bytes with a token of ${1 + extra}: one more character would have fit`);
        assert.match(message.data!['cause']!, /^x+…$/);
      }
    });
  }

  test('a cut never leaves spaces before the ellipsis', () => {
    for (let extra = 0; extra < 6; extra++) {
      const content = buildPushContent(makeNotification({ cause: 'ab '.repeat(3000) }), options);
      for (const message of [buildDirectMessage(content, target('android', extra), options), buildProxyBody(content, target('ios', extra), options)]) {
        assert.match(message.data!['cause']!, /[ab]…$/);
      }
    }
  });

  test('the picture stays only when at least one character of the cause fits beside it', () => {
    for (let length = 3700; length < 4100; length += 3) {
      const picture = `https://zm/p?x=${'p'.repeat(length)}`;
      const content = buildPushContent(makeNotification({ cause: '👨‍👩‍👧‍👦 family at the door', picture }), options);
      for (const platform of ['android', 'ios'] as const) {
        const direct = buildDirectMessage(content, target(platform, 0), options);
        assert.ok(bytes(direct) + WIRE_SPELLING_SLACK <= FCM_MAX_PAYLOAD_BYTES);
        if (direct.notification?.imageUrl !== undefined) assert.notEqual(direct.data!['cause'], '…', `picture of ${length}: cause gone, picture kept`);
        const proxy = buildProxyBody(content, target(platform, 0), options);
        if (proxy.image_url !== undefined) assert.notEqual(proxy.data['cause'], '…', `proxy, picture of ${length}`);
      }
    }
  });

  test('a message that cannot fit at all still goes out, with the cause cut to an ellipsis and no picture', () => {
    const content = buildPushContent(makeNotification({ cause: 'Motion', picture: 'https://zm/p.jpg' }), options);
    const message = buildDirectMessage(content, makeTarget({ token: 'k'.repeat(FCM_MAX_PAYLOAD_BYTES) }), options);
    assert.equal(message.data!['cause'], '…');
    assert.equal(message.notification?.imageUrl, undefined);
    const proxy = buildProxyBody(content, makeTarget({ token: 'k'.repeat(FCM_MAX_PAYLOAD_BYTES) }), options);
    assert.equal(proxy.data['cause'], '…');
    assert.equal('image_url' in proxy, false);
  });

  test('the proxy body leaves room for what the proxy adds, and for the picture it repeats', () => {
    const picture = `https://zm/p?x=${'p'.repeat(500)}`;
    const content = buildPushContent(makeNotification({ cause: 'y'.repeat(6000), picture }), options);
    const body = buildProxyBody(content, makeTarget(), options);
    assert.equal(body.image_url, picture);
    const limit = FCM_MAX_PAYLOAD_BYTES - PROXY_ADDITIONS_BYTES - jsonBytes(picture);
    assert.ok(bytes(body) <= limit, `${bytes(body)} > ${limit}`);
    assert.ok(bytes(body) > limit - 10, 'and uses that room');
  });
});

describe('proxy body for iOS', () => {
  test('collapse id, subtitle and picture only when asked for or present', () => {
    const plain = buildProxyBody(buildPushContent(makeNotification(), options), makeTarget({ platform: 'ios', profile: 'Home' }), options);
    assert.deepEqual(plain.ios, { thread_id: 'zmninja_alarm', headers: { 'apns-priority': '10', 'apns-push-type': 'alert' } });
    assert.equal('image_url' in plain, false);
    const all = makePayloadOptions({ replacePushMessages: true, includeProfile: true });
    const full = buildProxyBody(buildPushContent(makeNotification({ picture: 'https://zm/p.jpg' }), all), makeTarget({ platform: 'ios', profile: 'Home' }), all);
    assert.deepEqual(full.ios, {
      thread_id: 'zmninja_alarm',
      headers: { 'apns-priority': '10', 'apns-push-type': 'alert', 'apns-collapse-id': 'zmninjapush' },
      subtitle: 'Home',
    });
    assert.equal(full.image_url, 'https://zm/p.jpg');
  });
});

describe('bestMatchFrame', () => {
  test('frame_id from the hook: a frame number, alarm or snapshot, trimmed', () => {
    assert.equal(bestMatchFrame('Motion', { frame_id: 7 }), '7');
    assert.equal(bestMatchFrame('Motion', { frame_id: ' 12 ' }), '12');
    assert.equal(bestMatchFrame('[a] x', { frame_id: 'snapshot' }), 'snapshot');
    assert.equal(bestMatchFrame('Motion', { frame_id: 'alarm' }), 'alarm');
    assert.equal(bestMatchFrame('Motion', { frame_id: '123456789' }), '123456789');
  });

  test('anything else in frame_id is ignored for the cause prefix', () => {
    for (const frameId of ['x12', '12x', '1234567890', -3, 1.5, null, true, ['1'], { id: 1 }, '']) {
      assert.equal(bestMatchFrame('[a] person', { frame_id: frameId }), 'alarm', JSON.stringify(frameId));
    }
  });

  test('a detection JSON that is not an object is ignored', () => {
    for (const json of [null, 'alarm', 7, ['alarm'], true]) {
      assert.equal(bestMatchFrame('[A] person', json), 'alarm', JSON.stringify(json));
      assert.equal(bestMatchFrame('person', json), 'snapshot', JSON.stringify(json));
    }
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildData,
  buildDirectMessage,
  buildPictureUrl,
  buildProxyBody,
  buildPushContent,
  FCM_MAX_PAYLOAD_BYTES,
  maskPictureUrl,
  prefixWithinBytes,
  shortenText,
  payloadOptionsFromConfig,
  uriEscape,
  type PictureUrlInput,
} from '../../../src/push/fcm-payload.js';
import { loadConfig } from '../../../src/config/load.js';
import { makeNotification, makePayloadOptions, makeTarget } from '../../helpers/push-fixtures.js';

const options = makePayloadOptions();
const picture = 'https://zm.example/zm/index.php?view=image&eid=4242&fid=snapshot&width=600';

function allStrings(record: Record<string, unknown>): boolean {
  return Object.values(record).every((v) => typeof v === 'string');
}

test('title is "<Monitor> Alarm" and body "<cause> at <time>" with the classic date format', () => {
  const content = buildPushContent(makeNotification(), options);
  assert.equal(content.title, 'Front Door Alarm');
  assert.equal(content.body, 'Motion: zone1 at 02:07 PM, 05-Mar');
  assert.equal(content.eventId, '4242');
  assert.equal(content.monitorId, '1');
  assert.equal(content.dataCause, 'Motion: zone1');
});

test('tag_alarm_event_id appends the event id; an end notification says Ended: and " ended"', () => {
  const tagged = makePayloadOptions({ tagAlarmEventId: true, dateFormat: '%H:%M' });
  const start = buildPushContent(makeNotification(), tagged);
  assert.equal(start.title, 'Front Door Alarm (4242)');
  const end = buildPushContent(makeNotification({ phase: 'end', cause: 'Motion: zone1' }), tagged);
  assert.equal(end.title, 'Ended:Front Door Alarm (4242)');
  assert.equal(end.body, 'Motion: zone1 ended at 14:07');
  assert.equal(end.dataCause, 'End:Motion: zone1');
});

test('a v6 frame-match prefix is removed from the pushed cause', () => {
  const content = buildPushContent(makeNotification({ cause: '[a] detected:person:97%' }), options);
  assert.equal(content.body, 'detected:person:97% at 02:07 PM, 05-Mar');
});

test('fcm.date_format from the configuration formats the body time', () => {
  const { config } = loadConfig({ env: {}, overrides: { 'fcm.date_format': '%Y-%m-%d %H:%M:%S' } });
  const { options: fromConfig, warnings } = payloadOptionsFromConfig(config, 'UTC');
  assert.deepEqual(warnings, []);
  assert.equal(buildPushContent(makeNotification(), fromConfig).body, 'Motion: zone1 at 2026-03-05 14:07:09');
  assert.equal(fromConfig.androidPriority, 'high');
  assert.equal(fromConfig.androidTtlSeconds, null);
});

test('Android message for zmNinja: exact keys, channel zmninja, icon, sound, string data', () => {
  const content = buildPushContent(makeNotification(), options);
  const message = buildDirectMessage(content, makeTarget({ token: 'T1' }), options);
  assert.deepEqual(message, {
    token: 'T1',
    notification: { title: 'Front Door Alarm', body: 'Motion: zone1 at 02:07 PM, 05-Mar' },
    data: { mid: '1', eid: '4242', monitorName: 'Front Door', cause: 'Motion: zone1', notification_foreground: 'true' },
    android: { priority: 'high', notification: { icon: 'ic_stat_notification', sound: 'default', channelId: 'zmninja' } },
  });
  assert.ok(allStrings(message.data!));
});

test('Android channel follows the app: zmninja-ng for zmNinjaNg, none when unknown', () => {
  const content = buildPushContent(makeNotification(), options);
  const ng = buildDirectMessage(content, makeTarget({ clientKind: 'zmninjang' }), options);
  assert.equal(ng.android?.notification?.channelId, 'zmninja-ng');
  const unknown = buildDirectMessage(content, makeTarget({ clientKind: 'unknown' }), options);
  assert.ok(unknown.android?.notification !== undefined);
  assert.equal('channelId' in unknown.android!.notification!, false);
});

test('Android priority, ttl and the replace tag come from the options', () => {
  const o = makePayloadOptions({ androidPriority: 'normal', androidTtlSeconds: 60, replacePushMessages: true });
  const message = buildDirectMessage(buildPushContent(makeNotification(), o), makeTarget(), o);
  assert.equal(message.android?.priority, 'normal');
  // firebase-admin takes milliseconds and sends "60s"
  assert.equal(message.android?.ttl, 60_000);
  assert.equal(message.android?.notification?.tag, 'zmninjapush');
});

test('iOS message: aps alert, badge, sound, thread-id, APNs headers; no android block', () => {
  const content = buildPushContent(makeNotification(), options);
  const message = buildDirectMessage(content, makeTarget({ token: 'I1', platform: 'ios', badge: 5, clientKind: 'zmninjang' }), options);
  assert.deepEqual(message, {
    token: 'I1',
    notification: { title: 'Front Door Alarm', body: 'Motion: zone1 at 02:07 PM, 05-Mar' },
    data: { mid: '1', eid: '4242', monitorName: 'Front Door', cause: 'Motion: zone1', notification_foreground: 'true' },
    apns: {
      headers: { 'apns-priority': '10', 'apns-push-type': 'alert' },
      payload: {
        aps: {
          alert: { title: 'Front Door Alarm', body: 'Motion: zone1 at 02:07 PM, 05-Mar' },
          badge: 5,
          sound: 'default',
          threadId: 'zmninja_alarm',
        },
      },
    },
  });
});

test('iOS with replace_push_messages collapses by apns-collapse-id', () => {
  const o = makePayloadOptions({ replacePushMessages: true });
  const message = buildDirectMessage(buildPushContent(makeNotification(), o), makeTarget({ platform: 'ios' }), o);
  assert.equal(message.apns?.headers?.['apns-collapse-id'], 'zmninjapush');
});

test('a picture sets notification image, and on iOS mutable-content, fcm_options.image and data.image_url_jpg', () => {
  const content = buildPushContent(makeNotification({ picture }), options);
  const android = buildDirectMessage(content, makeTarget(), options);
  assert.equal(android.notification?.imageUrl, picture);
  assert.equal(android.data?.['image_url_jpg'], undefined);
  const ios = buildDirectMessage(content, makeTarget({ platform: 'ios' }), options);
  assert.equal(ios.notification?.imageUrl, picture);
  assert.equal(ios.apns?.payload?.aps.mutableContent, true);
  assert.deepEqual(ios.apns?.fcmOptions, { imageUrl: picture });
  assert.equal(ios.data?.['image_url_jpg'], picture);
});

test('include_profile_in_push: data.profile, iOS subtitle, Android body suffix', () => {
  const o = makePayloadOptions({ includeProfile: true });
  const content = buildPushContent(makeNotification(), o);
  const android = buildDirectMessage(content, makeTarget({ profile: 'Home' }), o);
  assert.equal(android.data?.['profile'], 'Home');
  assert.equal(android.notification?.body, 'Motion: zone1 at 02:07 PM, 05-Mar — Home');
  const ios = buildDirectMessage(content, makeTarget({ platform: 'ios', profile: 'Home' }), o);
  assert.equal(ios.data?.['profile'], 'Home');
  assert.equal(ios.apns?.payload?.aps.alert && typeof ios.apns.payload.aps.alert === 'object' ? ios.apns.payload.aps.alert.subtitle : undefined, 'Home');
  assert.equal(ios.notification?.body, 'Motion: zone1 at 02:07 PM, 05-Mar');
  // Without the option the profile stays out.
  const off = buildData(content, makeTarget({ profile: 'Home' }), options);
  assert.equal('profile' in off, false);
});

test('an unknown platform gets only the common notification and data', () => {
  const message = buildDirectMessage(buildPushContent(makeNotification(), options), makeTarget({ platform: 'unknown' }), options);
  assert.deepEqual(Object.keys(message).sort(), ['data', 'notification', 'token']);
});

test('proxy body for Android has the classic shape and key order', () => {
  const o = makePayloadOptions({ androidTtlSeconds: 300, replacePushMessages: true, logMessageId: 'abc' });
  const content = buildPushContent(makeNotification({ picture }), o);
  const body = buildProxyBody(content, makeTarget({ token: 'T1', badge: 3 }), o);
  assert.deepEqual(body, {
    token: 'T1',
    title: 'Front Door Alarm',
    body: 'Motion: zone1 at 02:07 PM, 05-Mar',
    sound: 'default',
    badge: 3,
    log_message_id: 'abc',
    data: { mid: '1', eid: '4242', monitorName: 'Front Door', cause: 'Motion: zone1', notification_foreground: 'true' },
    android: { icon: 'ic_stat_notification', priority: 'high', ttl: '300', tag: 'zmninjapush', channel: 'zmninja' },
    image_url: picture,
  });
  assert.deepEqual(Object.keys(body), ['token', 'title', 'body', 'sound', 'badge', 'log_message_id', 'data', 'android', 'image_url']);
  assert.ok(allStrings(body.data));
});

test('proxy body for iOS carries thread_id, headers, subtitle; log_raw_message when asked', () => {
  const o = makePayloadOptions({ includeProfile: true, logRawMessage: true });
  const body = buildProxyBody(buildPushContent(makeNotification(), o), makeTarget({ platform: 'ios', profile: 'Cabin', badge: 9 }), o);
  assert.deepEqual(body.ios, { thread_id: 'zmninja_alarm', headers: { 'apns-priority': '10', 'apns-push-type': 'alert' }, subtitle: 'Cabin' });
  assert.equal(body.android, undefined);
  assert.equal(body.badge, 9);
  assert.equal(body.log_raw_message, 'yes');
  assert.equal(body.data['profile'], 'Cabin');
});

test('proxy body leaves out the Android channel for an unknown client', () => {
  const body = buildProxyBody(buildPushContent(makeNotification(), options), makeTarget({ clientKind: 'unknown' }), options);
  assert.deepEqual(body.android, { icon: 'ic_stat_notification', priority: 'high' });
});

// ---------------------------------------------------------------------------------------------
// Picture URL

const base: PictureUrlInput = {
  template: 'https://zm.example/zm/index.php?view=image&eid=EVENTID&fid=BESTMATCH&width=600',
  eventId: 4242n,
  cause: 'Motion',
  detectionJson: [],
  hook: 'off',
  username: null,
  password: null,
};

test('EVENTID is replaced; BESTMATCH follows frame_id, then the [a]/[s] prefix, else snapshot', () => {
  assert.equal(buildPictureUrl(base), 'https://zm.example/zm/index.php?view=image&eid=4242&fid=snapshot&width=600');
  assert.match(buildPictureUrl({ ...base, detectionJson: { frame_id: 'alarm', labels: ['person'] } }), /fid=alarm&/);
  assert.match(buildPictureUrl({ ...base, detectionJson: { frame_id: '17' } }), /fid=17&/);
  assert.match(buildPictureUrl({ ...base, cause: '[a] detected:person' }), /fid=alarm&/);
  assert.match(buildPictureUrl({ ...base, cause: '[s] detected:car' }), /fid=snapshot&/);
  assert.match(buildPictureUrl({ ...base, detectionJson: { frame_id: 'bogus' }, cause: '[a] x' }), /fid=alarm&/);
});

test('objdetect frames: all replaced when the hook failed, only suffixed ones when hooks are off', () => {
  const t = (fid: string) => ({ ...base, template: `https://zm.example/zm/index.php?view=image&eid=EVENTID&fid=${fid}` });
  assert.match(buildPictureUrl({ ...t('objdetect'), hook: 'failed' }), /fid=snapshot$/);
  assert.match(buildPictureUrl({ ...t('objdetect_mp4'), hook: 'failed' }), /fid=snapshot$/);
  assert.match(buildPictureUrl({ ...t('objdetect'), hook: 'off' }), /fid=objdetect$/); // classic quirk kept
  assert.match(buildPictureUrl({ ...t('objdetect_gif'), hook: 'off' }), /fid=snapshot$/);
  assert.match(buildPictureUrl({ ...t('objdetect_jpg'), hook: 'success' }), /fid=objdetect_jpg$/);
});

test('portal credentials are appended URL-escaped, and masked for logs', () => {
  const url = buildPictureUrl({ ...base, username: 'zm user', password: 'p&ss=w0rd!' });
  assert.ok(url.endsWith('&username=zm%20user&password=p%26ss%3Dw0rd%21'));
  assert.equal(maskPictureUrl(url), 'https://zm.example/zm/index.php?view=image&eid=4242&fid=snapshot&width=600&username=zm%20user&password=***');
  assert.equal(uriEscape("a'b(c)*~._-"), 'a%27b%28c%29%2A~._-');
});

test('a password containing BESTMATCH or EVENTID is not altered', () => {
  const url = buildPictureUrl({ ...base, password: 'EVENTIDBESTMATCH' });
  assert.ok(url.endsWith('&password=EVENTIDBESTMATCH'));
});

// ---------------------------------------------------------------------------------------------
// FCM's 4096-byte limit

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');
/** 60 KB of Notes, the size that made a 131 KB request before. */
const HUGE_NOTES = 'Motion: zone1 zone2 ' + 'lorem ipsum dolor sit amet '.repeat(60 * 1024 / 27);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Text that survives a UTF-8 round trip unchanged has no split sequence and no lone surrogate. */
const wellFormed = (text: string) => !LONE_SURROGATE.test(text) && Buffer.from(text, 'utf8').toString('utf8') === text;
const everything = makePayloadOptions({ includeProfile: true, replacePushMessages: true, androidTtlSeconds: 3600, tagAlarmEventId: true, logMessageId: 'zmes-log-id', logRawMessage: true });
const fcmToken = 'f'.repeat(22) + ':APA91b' + 'x'.repeat(134); // the length of a real FCM token
const targets = [
  makeTarget({ token: fcmToken, platform: 'android', clientKind: 'zmninjang', profile: 'Ferienhaus 🏠', badge: 12 }),
  makeTarget({ token: fcmToken, platform: 'ios', clientKind: 'zmninja', profile: 'Ferienhaus 🏠', badge: 12 }),
];

const multiByteNotes = [
  ['emoji with ZWJ sequences and flags', '👨‍👩‍👧‍👦 🇩🇪 😀 '.repeat(3000)],
  ['CJK', '前门检测到移动。'.repeat(4000)],
  ['combining accents', 'e\u0301a\u0300o\u0308 '.repeat(6000)],
  ['quotes, backslashes and control characters that JSON escapes', '"\\\u0001\n\t'.repeat(8000)],
] as const;

for (const phase of ['start', 'end'] as const) {
  test(`60 KB of Notes (${phase}): direct and proxy messages stay within ${FCM_MAX_PAYLOAD_BYTES} bytes, cause and body cut with an ellipsis`, () => {
    const content = buildPushContent(makeNotification({ phase, cause: HUGE_NOTES, picture }), everything);
    for (const target of targets) {
      const direct = buildDirectMessage(content, target, everything);
      const proxy = buildProxyBody(content, target, everything);
      assert.ok(bytes(direct) <= FCM_MAX_PAYLOAD_BYTES, `${target.platform} direct: ${bytes(direct)} bytes`);
      assert.ok(bytes(proxy) <= FCM_MAX_PAYLOAD_BYTES, `${target.platform} proxy: ${bytes(proxy)} bytes`);
      // cut no more than needed: most of the budget is used
      assert.ok(bytes(direct) > FCM_MAX_PAYLOAD_BYTES - 200, `${target.platform} direct: only ${bytes(direct)} bytes`);
      for (const message of [direct, proxy]) {
        const cause = message.data!['cause']!;
        assert.match(cause, phase === 'end' ? /^End:Motion: zone1 zone2 lorem ipsum.*…$/ : /^Motion: zone1 zone2 lorem ipsum.*…$/);
        const shown = cause.replace(/^End:/, '');
        assert.ok(HUGE_NOTES.startsWith(shown.slice(0, -1)));
        // the body keeps its tail (" ended", the time, the profile) after the cut cause
        const body = 'body' in message && typeof message.body === 'string' ? message.body : (message as { notification?: { body?: string } }).notification?.body;
        assert.ok(body?.startsWith(shown), `${target.platform} body starts with the cut cause`);
        assert.match(body ?? '', phase === 'end' ? / ended at 02:07 PM, 05-Mar/ : / at 02:07 PM, 05-Mar/);
      }
      assert.equal(direct.token, fcmToken);
      assert.equal(direct.notification?.imageUrl, picture, 'the picture is kept when the cause can make room');
    }
    const ios = buildDirectMessage(content, targets[1]!, everything);
    assert.equal(ios.apns?.payload?.aps?.alert && typeof ios.apns.payload.aps.alert === 'object' ? ios.apns.payload.aps.alert.body : undefined, ios.notification?.body);
  });
}

for (const [what, notes] of multiByteNotes) {
  test(`multi-byte Notes (${what}) are cut between characters, both modes, within ${FCM_MAX_PAYLOAD_BYTES} bytes`, () => {
    assert.ok(Buffer.byteLength(notes) > 20_000);
    const content = buildPushContent(makeNotification({ phase: 'end', cause: notes }), everything);
    for (const target of targets) {
      const direct = buildDirectMessage(content, target, everything);
      const proxy = buildProxyBody(content, target, everything);
      assert.ok(bytes(direct) <= FCM_MAX_PAYLOAD_BYTES, `${target.platform} direct: ${bytes(direct)} bytes`);
      assert.ok(bytes(proxy) <= FCM_MAX_PAYLOAD_BYTES, `${target.platform} proxy: ${bytes(proxy)} bytes`);
      for (const text of [direct.data!['cause']!, direct.notification!.body!, proxy.data['cause']!, proxy.body]) {
        assert.ok(wellFormed(text), `${target.platform}: ${JSON.stringify(text.slice(-12))} is not well-formed`);
      }
      const kept = direct.data!['cause']!.replace(/^End:/, '').slice(0, -1);
      assert.ok(notes.startsWith(kept), 'a prefix of the Notes');
      // the cut falls between user-perceived characters: the rest of the Notes starts a new one
      const rest = notes.slice(kept.length);
      assert.doesNotMatch(rest, /^[\u0300-\u036f\u200d\ufe0f\udc00-\udfff]|^[\udde6-\uddff]/u, `cut inside a character: ${JSON.stringify(rest.slice(0, 6))}`);
    }
  });
}

test('prefixWithinBytes counts JSON-escaped UTF-8 bytes and never splits a character', () => {
  assert.equal(prefixWithinBytes('abc', 2), 'ab');
  assert.equal(prefixWithinBytes('a"b', 2), 'a', 'a quote takes 2 bytes escaped');
  assert.equal(prefixWithinBytes('a\u0001b', 6), 'a', 'a control character takes 6');
  assert.equal(prefixWithinBytes('€€', 5), '€');
  assert.equal(prefixWithinBytes('😀😀', 7), '😀', 'a surrogate pair is 4 bytes and stays whole');
  assert.equal(prefixWithinBytes('😀', 3), '');
  const family = '👨‍👩‍👧';
  assert.equal(prefixWithinBytes(`ab${family}cd`, 12), 'ab', 'a ZWJ sequence is kept whole or left out');
  assert.equal(prefixWithinBytes(`ab${family}cd`, 2 + Buffer.byteLength(family)), `ab${family}`);
  assert.equal(prefixWithinBytes('ce\u0301', 3), 'c', 'an accent is not separated from its letter');
  // one letter under more combining marks than fit: cut between code points rather than nothing
  const zalgo = 'Z' + '\u0336'.repeat(500);
  assert.equal(prefixWithinBytes(zalgo, 101), 'Z' + '\u0336'.repeat(50));
  assert.equal(shortenText('short', 10), 'short');
  assert.equal(shortenText('a long cause', 9), 'a long…', 'the ellipsis takes 3 of the 9 bytes');
});

test('a short cause is never touched, and the size check does not change a message that fits', () => {
  const content = buildPushContent(makeNotification(), everything);
  const direct = buildDirectMessage(content, targets[1]!, everything);
  assert.equal(direct.data!['cause'], 'Motion: zone1');
  assert.ok(bytes(direct) < 1500);
});

test('when even a one-character cause does not fit beside a huge picture URL, the picture is left out', () => {
  const hugePicture = `https://zm.example/zm/index.php?view=image&eid=4242&fid=snapshot&token=${'t'.repeat(4000)}`;
  const content = buildPushContent(makeNotification({ cause: HUGE_NOTES, picture: hugePicture }), everything);
  for (const target of targets) {
    const direct = buildDirectMessage(content, target, everything);
    const proxy = buildProxyBody(content, target, everything);
    assert.ok(bytes(direct) <= FCM_MAX_PAYLOAD_BYTES && bytes(proxy) <= FCM_MAX_PAYLOAD_BYTES, `${bytes(direct)} / ${bytes(proxy)}`);
    assert.equal(direct.notification?.imageUrl, undefined);
    assert.equal(proxy.image_url, undefined);
    assert.match(direct.data!['cause']!, /^Motion: zone1.*…$/);
  }
});

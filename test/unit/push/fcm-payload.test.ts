import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildData,
  buildDirectMessage,
  buildPictureUrl,
  buildProxyBody,
  buildPushContent,
  maskPictureUrl,
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

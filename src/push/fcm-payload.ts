/**
 * Pure builders for push messages (protocol.md §13): the texts shared by every device of one
 * notification, the direct FCM HTTP v1 message (firebase-admin's `Message`), the classic proxy's
 * request body, and the event picture URL (classic-config.md §8.5). No I/O and no clock: the
 * caller passes the notification, the device and the options.
 *
 * Every message is cut to FCM's size limit (FCM_MAX_PAYLOAD_BYTES): FCM refuses a bigger one
 * and the alarm is lost, and an end notification's cause is the event's Notes, which ZoneMinder
 * does not bound (64 KB of Notes made a 131 KB request).
 */
import type { TokenMessage } from 'firebase-admin/messaging';
import type { Config } from '../config/schema.js';
import { maskUrlCredentials } from '../config/credentials.js';
import type { ClientKind } from '../domain/device.js';
import type { JsonObject, JsonValue } from '../domain/json.js';
import type { Notification, Phase } from '../domain/notification.js';
import { createStrftime, resolveDateLocale, type Strftime } from './strftime.js';

/** Identifiers the apps and the OS know; keep them byte-identical (protocol.md §15.10). */
export const ANDROID_ICON = 'ic_stat_notification';
export const REPLACE_TAG = 'zmninjapush';
export const IOS_THREAD_ID = 'zmninja_alarm';
/** The Android notification channel each app creates (importance high). */
export const ANDROID_CHANNELS: Readonly<Record<ClientKind, string | undefined>> = {
  zmninja: 'zmninja',
  zmninjang: 'zmninja-ng',
  // An unknown channel id falls back to FCM's default channel, so better none than a wrong one.
  unknown: undefined,
};

export interface PayloadOptions {
  readonly androidPriority: 'high' | 'normal';
  /** Seconds; null = not sent. */
  readonly androidTtlSeconds: number | null;
  readonly replacePushMessages: boolean;
  readonly tagAlarmEventId: boolean;
  readonly includeProfile: boolean;
  /** Proxy only: free text the proxy logs with the message. */
  readonly logMessageId: string;
  /** Proxy only: ask the proxy to log the whole message. */
  readonly logRawMessage: boolean;
  /** Formats the time in the body with `fcm.date_format`. */
  readonly formatTime: (at: Date) => string;
}

/**
 * Options from the configuration. `warnings` holds what the caller should log once (an unusable
 * date_locale). `timeZone` is for tests; production uses the process's local time like the classic.
 */
export function payloadOptionsFromConfig(
  config: Pick<Config, 'fcm' | 'customize'>,
  timeZone?: string,
): { options: PayloadOptions; warnings: string[] } {
  const { locale, warning } = resolveDateLocale(config.fcm.date_locale);
  const strftime: Strftime = createStrftime({ locale, timeZone });
  const format = config.fcm.date_format;
  return {
    options: {
      androidPriority: config.fcm.fcm_android_priority,
      androidTtlSeconds: config.fcm.fcm_android_ttl,
      replacePushMessages: config.fcm.replace_push_messages,
      tagAlarmEventId: config.customize.tag_alarm_event_id,
      includeProfile: config.fcm.include_profile_in_push,
      logMessageId: config.fcm.fcm_log_message_id,
      logRawMessage: config.fcm.fcm_log_raw_message,
      formatTime: (at) => strftime(format, at),
    },
    warnings: warning === undefined ? [] : [warning],
  };
}

/**
 * FCM's limit on one message (notification, data and the android/apns blocks). We count the
 * whole serialized message, token included, so the bound holds however FCM counts.
 */
export const FCM_MAX_PAYLOAD_BYTES = 4096;
/**
 * firebase-admin respells some keys on the wire (channelId → channel_id, threadId → thread-id,
 * fcmOptions → fcm_options, mutableContent → "mutable-content"); each grows by at most one byte.
 */
const WIRE_SPELLING_SLACK = 16;
/**
 * The proxy builds the FCM message from our body and adds to it (protocol.md §13: a default
 * channel, mutable_content, and the picture once more as fcm_options.image); room is kept for
 * that so the message it sends fits too.
 */
const PROXY_ADDITIONS_BYTES = 96;
const ELLIPSIS = '…';

/** What every device gets for one notification; built once per notification, not per device. */
export interface PushContent {
  readonly phase: Phase;
  readonly monitorId: string;
  readonly eventId: string;
  readonly monitorName: string;
  /** The cause as shown; `body` starts with it and `dataCause` ends with it (see withCause). */
  readonly cause: string;
  /** data.cause: the cause, `End:`-prefixed for end notifications like the WebSocket `Cause`. */
  readonly dataCause: string;
  readonly title: string;
  /** Without the per-device profile suffix. */
  readonly body: string;
  /** Public picture URL (may carry portal credentials: never log it unmasked). */
  readonly picture: string | undefined;
}

/** One device as the builders need it. */
export interface PushTarget {
  readonly token: string;
  /** "android", "ios", or anything else a token file held (then only the common part is sent). */
  readonly platform: string;
  readonly clientKind: ClientKind;
  /** The badge to show (iOS): the stored badge + 1, as already persisted by the caller. */
  readonly badge: number;
  readonly profile: string | undefined;
}

/** One device to push to: the notification's shared texts and this device's details. */
export interface PushRequest {
  readonly content: PushContent;
  readonly target: PushTarget;
}

/** The v6 `[a] `/`[s] `/`[x] ` frame-match prefix the classic server stripped before pushing. */
const FRAME_MATCH_PREFIX = /^\[[a-z]\]\s?/i;

/** Title and body texts, in the classic server's wording (protocol.md §13, §15.10). */
export function buildPushContent(notification: Notification, options: PayloadOptions): PushContent {
  const { event, phase } = notification;
  const end = phase === 'end';
  const eventId = event.eventId.toString();
  const fullCause = notification.cause.replace(FRAME_MATCH_PREFIX, '').trim() || 'Alarm';
  // No message can hold more than this of it; cutting here keeps the per-device fitting cheap.
  const cause = shortenText(fullCause, FCM_MAX_PAYLOAD_BYTES);
  let title = `${event.monitorName} Alarm`;
  if (options.tagAlarmEventId) title += ` (${eventId})`;
  if (end) title = `Ended:${title}`;
  // The classic server formatted `localtime` at send time; detection time is the same moment
  // without depending on how ZoneMinder's database stores its time zone.
  const body = `${cause}${end ? ' ended' : ''} at ${options.formatTime(new Date(notification.detectedAt))}`;
  return {
    phase,
    monitorId: String(event.monitorId),
    eventId,
    monitorName: event.monitorName,
    cause,
    dataCause: end ? `End:${cause}` : cause,
    title,
    body,
    picture: notification.picture === undefined || notification.picture === '' ? undefined : notification.picture,
  };
}

function profileOf(target: PushTarget, options: PayloadOptions): string | undefined {
  return options.includeProfile && target.profile !== undefined && target.profile !== '' ? target.profile : undefined;
}

/** FCM `data`: every value a string (the apps parse them). */
export function buildData(content: PushContent, target: PushTarget, options: PayloadOptions): Record<string, string> {
  const data: Record<string, string> = {
    mid: content.monitorId,
    eid: content.eventId,
    monitorName: content.monitorName,
    cause: content.dataCause,
    notification_foreground: 'true',
  };
  const profile = profileOf(target, options);
  if (profile !== undefined) data['profile'] = profile;
  // zmNinja's iOS notification extension only looks here for the picture.
  if (target.platform === 'ios' && content.picture !== undefined) data['image_url_jpg'] = content.picture;
  return data;
}

/** Android shows the profile appended to the body; iOS shows it as the subtitle. */
function androidBody(content: PushContent, profile: string | undefined): string {
  return profile === undefined ? content.body : `${content.body} — ${profile}`;
}

// ---------------------------------------------------------------------------------------------
// Size limit

let graphemes: Intl.Segmenter | undefined;

/** Bytes a string adds inside a JSON string literal (escapes included), as UTF-8. */
function jsonTextBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;
}

/** jsonTextBytes of one code point, without building strings (this runs per character). */
function codePointJsonBytes(point: number): number {
  if (point === 0x22 || point === 0x5c) return 2; // \" and \\
  if (point < 0x20) return point === 0x08 || point === 0x09 || point === 0x0a || point === 0x0c || point === 0x0d ? 2 : 6;
  if (point < 0x80) return 1;
  if (point < 0x800) return 2;
  if (point >= 0xd800 && point <= 0xdfff) return 6; // a lone surrogate: JSON.stringify writes \udxxx
  return point < 0x10000 ? 3 : 4;
}

/** Context looked at on each side of a cut to find the grapheme it falls in. */
const GRAPHEME_WINDOW = 64;

/**
 * The longest prefix of `text` that takes at most `maxBytes` inside a JSON string. Cut between
 * code points, so neither a UTF-8 sequence nor a surrogate pair is split, and then moved back
 * to the start of the user-perceived character it falls in (an emoji sequence, a letter with
 * its accents). Only a window around the cut is segmented: segmenting whole texts for every
 * device of a fan-out cost milliseconds each.
 */
export function prefixWithinBytes(text: string, maxBytes: number): string {
  let used = 0;
  let end = 0;
  while (end < text.length) {
    const point = text.codePointAt(end)!;
    const cost = codePointJsonBytes(point);
    if (used + cost > maxBytes) break;
    used += cost;
    end += point > 0xffff ? 2 : 1;
  }
  if (end === 0 || end === text.length) return text.slice(0, end);
  let from = Math.max(0, end - GRAPHEME_WINDOW);
  const unit = text.charCodeAt(from);
  if (unit >= 0xdc00 && unit <= 0xdfff) from++; // never start the window inside a pair
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  let boundary = -1;
  for (const { index } of graphemes.segment(text.slice(from, Math.min(text.length, end + GRAPHEME_WINDOW)))) {
    const at = from + index;
    if (at > end) break;
    // The window's own start is a boundary only when it is the text's start.
    if (index > 0 || from === 0) boundary = at;
  }
  // No boundary in the window: one "character" longer than it (a letter under a pile of
  // combining marks) is cut between code points rather than dropped whole.
  return text.slice(0, boundary > 0 ? boundary : end);
}

/** `text` unchanged when it fits in `maxBytes` (JSON-escaped UTF-8), else cut with an ellipsis. */
export function shortenText(text: string, maxBytes: number): string {
  if (jsonTextBytes(text) <= maxBytes) return text;
  return prefixWithinBytes(text, Math.max(0, maxBytes - jsonTextBytes(ELLIPSIS))).trimEnd() + ELLIPSIS;
}

/** The same content with another cause, in the body and in data.cause alike. */
function withCause(content: PushContent, cause: string): PushContent {
  const tail = content.body.slice(content.cause.length);
  return { ...content, cause, body: cause + tail, dataCause: content.phase === 'end' ? `End:${cause}` : cause };
}

/**
 * The message for `content`, with the cause (and so the body) shortened until the message is
 * at most `limit` bytes. Every other text is bounded already (monitor names, profiles), except
 * a picture URL, which is left out when even a one-character cause does not fit beside it.
 * The size grows by the same amount for each byte of cause, so two probes give the budget.
 */
function fitted<T>(content: PushContent, build: (c: PushContent) => T, size: (message: T) => number, limit: (c: PushContent) => number): T {
  const attempt = (c: PushContent): T | undefined => {
    const whole = build(c);
    if (size(whole) <= limit(c)) return whole;
    const empty = size(build(withCause(c, '')));
    const perByte = size(build(withCause(c, 'x'))) - empty;
    const budget = Math.floor((limit(c) - empty) / Math.max(1, perByte));
    const ellipsis = jsonTextBytes(ELLIPSIS);
    let keep = budget - ellipsis;
    while (keep > 0) {
      const cut = prefixWithinBytes(c.cause, keep).trimEnd();
      if (cut === '') return undefined;
      const shortened = build(withCause(c, cut + ELLIPSIS));
      if (size(shortened) <= limit(c)) return shortened;
      // Unreachable while the size is linear in the cause and the byte count exact; a way down
      // that always ends if either ever is not.
      keep = Math.min(keep, jsonTextBytes(cut)) - 1;
    }
    return undefined;
  };
  const shortened = attempt(content);
  if (shortened !== undefined) return shortened;
  if (content.picture !== undefined) {
    const withoutPicture = { ...content, picture: undefined };
    const smaller = attempt(withoutPicture);
    if (smaller !== undefined) return smaller;
    return build(withCause(withoutPicture, ELLIPSIS));
  }
  return build(withCause(content, ELLIPSIS));
}

/** Bytes of the direct message as firebase-admin sends it (with room for its respellings). */
function directMessageBytes(message: TokenMessage): number {
  return Buffer.byteLength(JSON.stringify(message), 'utf8') + WIRE_SPELLING_SLACK;
}

/** Bytes of the proxy's request body as sent. */
function proxyBodyBytes(body: ProxyBody): number {
  return Buffer.byteLength(JSON.stringify(body), 'utf8');
}

/** The proxy body's budget: the FCM limit less what the proxy adds when it builds the message. */
function proxyBodyLimit(picture: string | undefined): number {
  return FCM_MAX_PAYLOAD_BYTES - PROXY_ADDITIONS_BYTES - (picture === undefined ? 0 : jsonTextBytes(picture));
}

/**
 * The FCM HTTP v1 message for firebase-admin (its camelCase spelling: it renames `threadId` to
 * `thread-id`, `channelId` to `channel_id`, turns `ttl` milliseconds into `"<N>s"`, etc.).
 * Unlike the classic direct mode it also sets `mutable-content` and `fcm_options.image` when a
 * picture exists, so the iOS notification extensions can attach it. At most
 * FCM_MAX_PAYLOAD_BYTES on the wire (see `fitted`).
 */
export function buildDirectMessage(content: PushContent, target: PushTarget, options: PayloadOptions): TokenMessage {
  return fitted(content, (c) => directMessage(c, target, options), directMessageBytes, () => FCM_MAX_PAYLOAD_BYTES);
}

function directMessage(content: PushContent, target: PushTarget, options: PayloadOptions): TokenMessage {
  const profile = profileOf(target, options);
  const picture = content.picture;
  const message: TokenMessage = {
    token: target.token,
    notification: {
      title: content.title,
      body: target.platform === 'android' ? androidBody(content, profile) : content.body,
      ...(picture === undefined ? {} : { imageUrl: picture }),
    },
    data: buildData(content, target, options),
  };
  if (target.platform === 'android') {
    const channelId = ANDROID_CHANNELS[target.clientKind];
    message.android = {
      priority: options.androidPriority,
      ...(options.androidTtlSeconds === null ? {} : { ttl: options.androidTtlSeconds * 1000 }),
      notification: {
        icon: ANDROID_ICON,
        sound: 'default',
        ...(options.replacePushMessages ? { tag: REPLACE_TAG } : {}),
        ...(channelId === undefined ? {} : { channelId }),
      },
    };
  } else if (target.platform === 'ios') {
    message.apns = {
      headers: {
        'apns-priority': '10',
        'apns-push-type': 'alert',
        ...(options.replacePushMessages ? { 'apns-collapse-id': REPLACE_TAG } : {}),
      },
      payload: {
        aps: {
          alert: { title: content.title, body: content.body, ...(profile === undefined ? {} : { subtitle: profile }) },
          badge: target.badge,
          sound: 'default',
          threadId: IOS_THREAD_ID,
          ...(picture === undefined ? {} : { mutableContent: true }),
        },
      },
      ...(picture === undefined ? {} : { fcmOptions: { imageUrl: picture } }),
    };
  }
  return message;
}

/** The classic proxy's compact request (protocol.md §13 "Proxy"); the proxy builds the v1 message. */
export interface ProxyBody {
  readonly token: string;
  readonly title: string;
  readonly body: string;
  readonly sound: 'default';
  readonly badge: number;
  readonly log_message_id: string;
  readonly data: Readonly<Record<string, string>>;
  readonly android?: {
    readonly icon: string;
    readonly priority: 'high' | 'normal';
    /** Seconds as the classic sent them (the raw config value, a string). */
    readonly ttl?: string;
    readonly tag?: string;
    readonly channel?: string;
  };
  readonly ios?: {
    readonly thread_id: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly subtitle?: string;
  };
  readonly image_url?: string;
  readonly log_raw_message?: 'yes';
}

/** The proxy's request body, within `proxyBodyLimit` bytes (see `fitted`). */
export function buildProxyBody(content: PushContent, target: PushTarget, options: PayloadOptions): ProxyBody {
  return fitted(content, (c) => proxyBody(c, target, options), proxyBodyBytes, (c) => proxyBodyLimit(c.picture));
}

function proxyBody(content: PushContent, target: PushTarget, options: PayloadOptions): ProxyBody {
  const profile = profileOf(target, options);
  const channel = ANDROID_CHANNELS[target.clientKind];
  const android = target.platform === 'android';
  const ios = target.platform === 'ios';
  return {
    token: target.token,
    title: content.title,
    body: android ? androidBody(content, profile) : content.body,
    sound: 'default',
    badge: target.badge,
    log_message_id: options.logMessageId,
    // The proxy adds data.image_url_jpg itself for iOS; ours is the same value, so harmless.
    data: buildData(content, target, options),
    ...(android
      ? {
          android: {
            icon: ANDROID_ICON,
            priority: options.androidPriority,
            ...(options.androidTtlSeconds === null ? {} : { ttl: String(options.androidTtlSeconds) }),
            ...(options.replacePushMessages ? { tag: REPLACE_TAG } : {}),
            ...(channel === undefined ? {} : { channel }),
          },
        }
      : {}),
    ...(ios
      ? {
          ios: {
            thread_id: IOS_THREAD_ID,
            headers: {
              'apns-priority': '10',
              'apns-push-type': 'alert',
              ...(options.replacePushMessages ? { 'apns-collapse-id': REPLACE_TAG } : {}),
            },
            ...(profile === undefined ? {} : { subtitle: profile }),
          },
        }
      : {}),
    ...(content.picture === undefined ? {} : { image_url: content.picture }),
    ...(options.logRawMessage ? { log_raw_message: 'yes' as const } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Picture URL (classic-config.md §8.5)

/** How the start hook went, for the `objdetect` rules. */
export type HookOutcome = 'off' | 'success' | 'failed';

export interface PictureUrlInput {
  /** customize.picture_url */
  readonly template: string;
  readonly eventId: bigint | number | string;
  /** The cause as the hook produced it (a v6 hook starts it with `[a]`/`[s]`). */
  readonly cause: string;
  /** The hook's JSON (v7: `frame_id` names the best frame). */
  readonly detectionJson: JsonValue;
  /** `off` when hooks are disabled or no start hook is configured. */
  readonly hook: HookOutcome;
  readonly username: string | null | undefined;
  readonly password: string | null | undefined;
}

/** Like Perl's URI::Escape default: everything but A–Z a–z 0–9 - . _ ~ is escaped. */
export function uriEscape(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function isJsonObject(value: JsonValue): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `alarm`, `snapshot` or a frame number: the frame that best shows the detection. */
export function bestMatchFrame(cause: string, detectionJson: JsonValue): string {
  if (isJsonObject(detectionJson)) {
    const frameId = detectionJson['frame_id'];
    const text = typeof frameId === 'number' ? String(frameId) : typeof frameId === 'string' ? frameId.trim() : '';
    if (text === 'alarm' || text === 'snapshot' || /^\d{1,9}$/.test(text)) return text;
  }
  const prefix = cause.slice(0, 3).toLowerCase();
  if (prefix === '[a]') return 'alarm';
  if (prefix === '[s]') return 'snapshot';
  // The classic left "BESTMATCH" in the URL here (a broken link); ZoneMinder's snapshot frame
  // is the event's highest-scoring one, so it is the best guess.
  return 'snapshot';
}

/**
 * The picture URL: `EVENTID` and `BESTMATCH` replaced; `objdetect…` frames (which only exist when
 * the detection hook stored them) replaced by `snapshot` when the hook failed (plain and suffixed
 * forms) or is off (only suffixed forms: a classic quirk kept); then `&username=`/`&password=`
 * appended, URL-escaped. Placeholders are replaced before the credentials are appended so a
 * password can never be altered by them.
 */
export function buildPictureUrl(input: PictureUrlInput): string {
  let url = input.template.replace(/EVENTID/g, String(input.eventId));
  if (input.hook === 'failed') url = url.replace(/objdetect(_\w{3})?/g, 'snapshot');
  else if (input.hook === 'off') url = url.replace(/objdetect_\w{3}/g, 'snapshot');
  url = url.replace(/BESTMATCH/g, bestMatchFrame(input.cause, input.detectionJson));
  if (input.username) url += `&username=${uriEscape(input.username)}`;
  if (input.password) url += `&password=${uriEscape(input.password)}`;
  return url;
}

/** The picture URL safe for a log line (password and tokens replaced by `***`). */
export function maskPictureUrl(url: string): string {
  return maskUrlCredentials(url);
}

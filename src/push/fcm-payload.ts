/**
 * Pure builders for push messages (protocol.md §13): the texts shared by every device of one
 * notification, the direct FCM HTTP v1 message (firebase-admin's `Message`), the classic proxy's
 * request body, and the event picture URL (classic-config.md §8.5). No I/O and no clock: the
 * caller passes the notification, the device and the options.
 */
import type { TokenMessage } from 'firebase-admin/messaging';
import type { Config } from '../config/schema.js';
import { maskUrlCredentials } from '../config/credentials.js';
import type { ClientKind, JsonObject, JsonValue } from '../ws/protocol.js';
import type { Notification, Phase } from '../notify/types.js';
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

/** What every device gets for one notification; built once per notification, not per device. */
export interface PushContent {
  readonly phase: Phase;
  readonly monitorId: string;
  readonly eventId: string;
  readonly monitorName: string;
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
  const cause = notification.cause.replace(FRAME_MATCH_PREFIX, '').trim() || 'Alarm';
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

/**
 * The FCM HTTP v1 message for firebase-admin (its camelCase spelling: it renames `threadId` to
 * `thread-id`, `channelId` to `channel_id`, turns `ttl` milliseconds into `"<N>s"`, etc.).
 * Unlike the classic direct mode it also sets `mutable-content` and `fcm_options.image` when a
 * picture exists, so the iOS notification extensions can attach it.
 */
export function buildDirectMessage(content: PushContent, target: PushTarget, options: PayloadOptions): TokenMessage {
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

export function buildProxyBody(content: PushContent, target: PushTarget, options: PayloadOptions): ProxyBody {
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

/**
 * Server → client frames (protocol.md §4, §5), as the exact JSON text to send. Key order is
 * fixed by construction (object literals, or hand-joined text for the alarm) so the bytes are
 * stable and testable. Fixed frames are built once at module load; the alarm frame is built
 * once per event and phase and never mutated (classic defect #12 mutated a shared object).
 */
import { PROTOCOL_VERSION, ZMES_VERSION } from '../version.js';
import { type RejectionReason } from './protocol.js';
import { sanitiseEcho, type JsonObject, type JsonValue } from '../domain/json.js';

type Status = 'Success' | 'Fail';

function reply(event: string, type: string, status: Status, reason: string, extra?: Record<string, JsonValue>): string {
  return JSON.stringify({ event, type, status, reason, ...extra });
}

/** Extra key naming our server; both apps ignore unknown keys (§11). */
export const SERVER_ID = `zmes ${ZMES_VERSION}`;

// ---------------------------------------------------------------------------------------------
// auth

/** `version` is the classic protocol level as a string (zmNinja requires ≥ "6.0"), never our 0.x. */
export const AUTH_SUCCESS = reply('auth', '', 'Success', '', { version: PROTOCOL_VERSION, server: SERVER_ID });
export const AUTH_BADAUTH = reply('auth', '', 'Fail', 'BADAUTH');
/** Sent when no auth frame arrived in time, then the socket is closed. */
export const AUTH_NOAUTH = reply('auth', '', 'Fail', 'NOAUTH');
/** Answer to an escontrol login while the admin interface is off. */
export const AUTH_ESCONTROLDISABLED = reply('auth', '', 'Fail', 'ESCONTROLDISABLED');

// ---------------------------------------------------------------------------------------------
// generic

/** Not JSON, top level not an object, `data` not an object, or a field of the wrong type. */
export const MALFORMED_BADJSON = reply('malformed', '', 'Fail', 'BADJSON');

/** Unknown `event`; the echo is re-sanitised here so no caller can send an unbounded string. */
export function notSupportedFrame(event: string): string {
  return reply(sanitiseEcho(event), '', 'Fail', 'NOTSUPPORTED');
}

// ---------------------------------------------------------------------------------------------
// push

/** Any push frame while FCM is off (checked before everything else on push frames). */
export const PUSH_PUSHDISABLED = reply('push', '', 'Fail', 'PUSHDISABLED');
/** A push frame on a connection that has not authenticated. */
export const PUSH_NOAUTH = reply('push', '', 'Fail', 'NOAUTH');
export const PUSH_MISSINGPLATFORM = reply('push', 'token', 'Fail', 'MISSINGPLATFORM');
/** A platform other than `android`/`ios`: such a token would get pushes without either block. */
export const PUSH_BADPLATFORM = reply('push', 'token', 'Fail', 'BADPLATFORM');
/** A state other than `enabled`, `disabled` or `""`: guessing could push to a phone that opted out. */
export const PUSH_BADSTATE = reply('push', 'token', 'Fail', 'BADSTATE');
/** The user already holds `fcm.max_devices_per_user` devices; the token is not stored. */
export const PUSH_TOKENQUOTA = reply('push', 'token', 'Fail', 'TOKENQUOTA');
/** The connection sent more than `fcm.max_token_frames` token frames in a minute. */
export const PUSH_TOKENRATE = reply('push', 'token', 'Fail', 'TOKENRATE');
/** The token store holds its maximum of devices; it never evicts anyone to make room. */
export const PUSH_TOKENSTOREFULL = reply('push', 'token', 'Fail', 'TOKENSTOREFULL');

// ---------------------------------------------------------------------------------------------
// control

export const FILTER_MISSINGMONITORLIST = reply('control', 'filter', 'Fail', 'MISSINGMONITORLIST');
export const FILTER_MISSINGINTERVALLIST = reply('control', 'filter', 'Fail', 'MISSINGINTERVALLIST');
/** A filter frame before auth (both apps ignore control Fail frames). */
export const FILTER_NOAUTH = reply('control', 'filter', 'Fail', 'NOAUTH');
/** zmNinjaNg's keep-alive/liveness answer; it matches on `event` and `type` (§3.5). */
export const VERSION_REPLY = reply('control', 'version', 'Success', '', { version: PROTOCOL_VERSION, server: SERVER_ID });

// ---------------------------------------------------------------------------------------------
// escontrol (admin tools only)

export const ESCONTROL_DISABLED = reply('escontrol', '', 'Fail', 'ESCONTROLDISABLED');
export const ESCONTROL_NOTCONTROL = reply('escontrol', 'command', 'Fail', 'NOTCONTROL');
export const ESCONTROL_NODATA = reply('escontrol', 'command', 'Fail', 'NODATA');

/** `get`: the override map travels as a JSON *string* in `response` (classic double encoding). */
export function escontrolGetFrame(request: JsonObject, overrides: JsonObject): string {
  return JSON.stringify({ event: 'escontrol', type: '', status: 'Success', request, response: JSON.stringify(overrides) });
}

/** `mute`/`unmute`/`edit` answer with type "", `restart`/`reset` with type "command". */
export function escontrolSuccessFrame(request: JsonObject, type: '' | 'command'): string {
  return JSON.stringify({ event: 'escontrol', type, status: 'Success', request });
}

export function escontrolNotSupportedFrame(request: JsonObject): string {
  return JSON.stringify({ event: 'escontrol', type: 'command', status: 'Fail', reason: 'NOTSUPPORTED', request });
}

// ---------------------------------------------------------------------------------------------
// parser rejections

/** The reply for a parser rejection, or `undefined` when the protocol wants silence. */
export function rejectionFrame(reason: RejectionReason): string | undefined {
  switch (reason) {
    case 'MISSINGPLATFORM':
      return PUSH_MISSINGPLATFORM;
    case 'BADPLATFORM':
      return PUSH_BADPLATFORM;
    case 'BADSTATE':
      return PUSH_BADSTATE;
    case 'MISSINGMONITORLIST':
      return FILTER_MISSINGMONITORLIST;
    case 'MISSINGINTERVALLIST':
      return FILTER_MISSINGINTERVALLIST;
    case 'NODATA':
      return ESCONTROL_NODATA;
    case 'EMPTYTOKEN':
    case 'BADBADGE':
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// alarm (§5)

/** Largest value of ZoneMinder's `Events.Id` (BIGINT UNSIGNED). */
const BIGINT_UNSIGNED_MAX = (1n << 64n) - 1n;

/**
 * A non-negative integer as a JSON number literal, exact for bigint of any size (JSON.stringify
 * throws on bigint, and converting to number loses precision above 2^53).
 */
export function jsonUnsignedInteger(value: bigint | number, max: bigint = BIGINT_UNSIGNED_MAX): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a non-negative safe integer: ${value}`);
    value = BigInt(value);
  }
  if (value < 0n || value > max) throw new RangeError(`integer out of range: ${value}`);
  return value.toString(10);
}

export interface AlarmFrameInput {
  /** Monitor name: goes into both `Name` (classic) and `MonitorName` (read by zmNinjaNg). */
  readonly monitorName: string;
  readonly monitorId: number;
  /** ZoneMinder's Events.Id; bigint because the column is BIGINT UNSIGNED. */
  readonly eventId: bigint;
  /** The cause as detected or described by a hook, without any `End:` prefix. */
  readonly cause: string;
  /** `end` prefixes the cause with `End:` (the websocket end-notification quirk, §5). */
  readonly phase: 'start' | 'end';
  /** What the hook printed after `--SPLIT--`; `[]` when none. */
  readonly detectionJson?: JsonValue;
  /** `{}` or e.g. `{"notification_type":"critical"}`. */
  readonly rulesObject?: JsonObject;
  /** Picture URL, only with include_picture. */
  readonly picture?: string;
}

export interface AlarmFrames {
  /** For a socket without a push token (or with pushes disabled). */
  readonly normal: string;
  /** For a live socket whose device also got the FCM push (`"supplementary":"true"`, a string). */
  readonly supplementary: string;
}

const END_PREFIX = 'End:';

/**
 * Both variants of one alarm, built once. Throws RangeError on ids that cannot be ZoneMinder
 * ids (negative, fractional, above BIGINT UNSIGNED): that is a bug upstream, not client input.
 */
export function buildAlarmFrames(input: AlarmFrameInput): AlarmFrames {
  const cause = input.phase === 'end' ? END_PREFIX + input.cause : input.cause;
  const element =
    '{"Name":' + JSON.stringify(input.monitorName) +
    ',"MonitorName":' + JSON.stringify(input.monitorName) +
    ',"MonitorId":' + jsonUnsignedInteger(input.monitorId) +
    ',"EventId":' + jsonUnsignedInteger(input.eventId) +
    ',"Cause":' + JSON.stringify(cause) +
    ',"DetectionJson":' + JSON.stringify(input.detectionJson ?? []) +
    ',"RulesObject":' + JSON.stringify(input.rulesObject ?? {}) +
    (input.picture === undefined ? '' : ',"Picture":' + JSON.stringify(input.picture)) +
    '}';
  const head = '{"event":"alarm","type":"","status":"Success"';
  return Object.freeze({
    normal: `${head},"events":[${element}]}`,
    supplementary: `${head},"supplementary":"true","events":[${element}]}`,
  });
}

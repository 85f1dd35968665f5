/**
 * Client → server frames (protocol.md §3): one raw text frame in, one typed message or one
 * typed protocol error out. This is the only place that looks at untrusted JSON; everything
 * behind it works with the `ClientMessage` union. Pure: no I/O, no clock, never throws.
 *
 * One validation rule for every field we read (docs/protocol.md "Validation"):
 * - Type: a field must have the JSON type the protocol documents for it, or be `null`, which
 *   counts as absent (the classic Perl server saw null as undef). Text fields take strings only:
 *   the apps send every value as a string except `badge`, so a number, boolean, object or array
 *   in a text field is not a client we know, and guessing a meaning for it could store a token
 *   or filter nobody asked for. The whole frame is refused with BADJSON (`cause: 'bad-field'`,
 *   the field named for the log). `badge` is documented as number or numeric string, so those
 *   two types pass the type check (a boolean, object or array badge is BADJSON).
 * - Value: a field whose value must come from a set is refused with its own reason instead of
 *   being stored or reinterpreted: `platform` outside android/ios → BADPLATFORM, `state`
 *   outside enabled/disabled/"" → BADSTATE, a badge that is not a non-negative integer →
 *   BADBADGE (logged, no reply), a missing platform → MISSINGPLATFORM, an empty token →
 *   EMPTYTOKEN (ignored silently, like the classic server).
 * - Keys we do not read (`data.appversion` outside auth, `data.token` in filter frames, any
 *   unknown key) are never validated and never cause a rejection.
 */
import { Ajv, type JSONSchemaType, type ValidateFunction, type ErrorObject } from 'ajv';
import { sanitiseEcho, type JsonObject } from '../domain/json.js';
import { isPushPlatform, type ClientKind, type DeviceRegistration } from '../domain/device.js';

// ---------------------------------------------------------------------------------------------
// Public types

/** Frame-shape clues that tell zmNinja from zmNinjaNg (protocol.md §12). */
export interface ClientSignals {
  /** A top-level `token` key is present (any value): zmNinja puts it on every frame. */
  readonly topLevelToken: boolean;
  /** A top-level `category` key is present: zmNinjaNg's auth frame (admin tools too). */
  readonly category: boolean;
  /** `data.appversion` on a frame other than auth: zmNinja. */
  readonly appversionOutsideAuth: boolean;
  /** `data.profile` on a push token frame: zmNinjaNg. */
  readonly profile: boolean;
}


interface MessageBase {
  readonly signals: ClientSignals;
  /**
   * The top-level `token` when it is a non-empty string (zmNinja's FCM token; used to find
   * the entry a badge frame belongs to). Not an auth token.
   */
  readonly topLevelToken: string | undefined;
}

/** `auth` with category `normal` (also any category other than `escontrol`). */
export interface AuthMessage extends MessageBase {
  readonly kind: 'auth';
  readonly event: 'auth';
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly appversion: string | undefined;
  /** Raw list as sent; `undefined` or `""` or `"-1"` mean all monitors (see parseMonitorFilter). */
  readonly monlist: string | undefined;
  readonly intlist: string | undefined;
}

/** `auth` with category `escontrol` (admin login, §3.3). */
export interface EscontrolAuthMessage extends MessageBase {
  readonly kind: 'auth-escontrol';
  readonly event: 'auth';
  readonly password: string | undefined;
}

/** `control`/`filter` with both lists present (either may be `""` = all monitors). */
export interface FilterMessage extends MessageBase {
  readonly kind: 'control-filter';
  readonly event: 'control';
  readonly monlist: string;
  readonly intlist: string;
}

export interface VersionMessage extends MessageBase {
  readonly kind: 'control-version';
  readonly event: 'control';
}

/** A `control` subtype we do not know: ignored without a reply (§3.1). */
export interface UnknownControlMessage extends MessageBase {
  readonly kind: 'control-unknown';
  readonly event: 'control';
  /** Sanitised for logs. */
  readonly subtype: string;
}

/** `push`/`token` with a non-empty token and a platform. */
/** A token frame: the device registration (domain/device.ts) as the protocol carries it. */
export interface PushTokenMessage extends MessageBase, DeviceRegistration {
  readonly kind: 'push-token';
  readonly event: 'push';
}

export interface PushBadgeMessage extends MessageBase {
  readonly kind: 'push-badge';
  readonly event: 'push';
  /** Non-negative integer ≤ BADGE_MAX. */
  readonly badge: number;
}

/** A `push` subtype we do not know: ignored without a reply. */
export interface UnknownPushMessage extends MessageBase {
  readonly kind: 'push-unknown';
  readonly event: 'push';
  readonly subtype: string;
}

/** An `escontrol` command frame; interpreted by the admin handler. */
export interface EscontrolMessage extends MessageBase {
  readonly kind: 'escontrol';
  readonly event: 'escontrol';
  readonly command: string | undefined;
  /** The whole `data` object (prototype-polluting keys removed), echoed back as `request`. */
  readonly data: JsonObject;
}

/** An `event` we do not know: answered with NOTSUPPORTED echoing `echo`. */
export interface UnsupportedMessage extends MessageBase {
  readonly kind: 'unsupported';
  readonly event: null;
  /** The client's `event`, reduced to a short printable-ASCII string safe to send and log. */
  readonly echo: string;
}

/**
 * Reasons a frame of a known event is refused after parsing. The server applies its
 * event-level checks (PUSHDISABLED, NOAUTH, ESCONTROLDISABLED, NOTCONTROL) first, then
 * answers the reason (see `rejectionFrame` in frames.ts; EMPTYTOKEN and BADBADGE get no reply).
 */
export type RejectionReason =
  | 'MISSINGPLATFORM'
  | 'BADPLATFORM'
  | 'BADSTATE'
  | 'MISSINGMONITORLIST'
  | 'MISSINGINTERVALLIST'
  | 'NODATA'
  | 'EMPTYTOKEN'
  | 'BADBADGE';

export interface RejectedMessage extends MessageBase {
  readonly kind: 'rejected';
  readonly event: 'control' | 'push' | 'escontrol';
  readonly type: 'filter' | 'token' | 'badge' | 'command';
  readonly reason: RejectionReason;
  /** For the log line; contains no secret (field names and short sanitised values only). */
  readonly detail: string;
}

export type ClientMessage =
  | AuthMessage
  | EscontrolAuthMessage
  | FilterMessage
  | VersionMessage
  | UnknownControlMessage
  | PushTokenMessage
  | PushBadgeMessage
  | UnknownPushMessage
  | EscontrolMessage
  | UnsupportedMessage
  | RejectedMessage;

export type ClientMessageKind = ClientMessage['kind'];

export type ProtocolErrorCause =
  | 'too-large'
  | 'too-deep'
  | 'too-many-items'
  | 'not-json'
  | 'not-object'
  | 'data-not-object'
  | 'bad-field';

/** Every protocol error is answered with BADJSON (`event:"malformed"`); `cause` is for logs. */
export interface ProtocolError {
  readonly code: 'BADJSON';
  readonly cause: ProtocolErrorCause;
  readonly detail: string;
  /** The frame's event when known (bad-field, data-not-object). */
  readonly event?: string;
  /** The offending field for bad-field, e.g. `data.user`. */
  readonly field?: string;
}

export type ParseResult = { readonly ok: true; readonly value: ClientMessage } | { readonly ok: false; readonly error: ProtocolError };

export interface FrameLimits {
  /** Largest accepted frame in UTF-8 bytes. */
  readonly maxBytes: number;
  /** Deepest accepted nesting of objects/arrays; the apps never exceed 2. Default 32. */
  readonly maxDepth?: number;
  /** Most values (object members and array elements) in a frame; the apps send under 30. Default 1000. */
  readonly maxItems?: number;
}

export const DEFAULT_MAX_DEPTH = 32;
export const DEFAULT_MAX_ITEMS = 1000;
export const PROFILE_MAX_CHARS = 128;
/** APNs stores the badge in a 32-bit integer; larger values are refused as BADBADGE. */
export const BADGE_MAX = 0x7fffffff;

// ---------------------------------------------------------------------------------------------
// Schemas: compiled once at module load. Extra keys are always allowed (additionalProperties:
// true) and never removed; the schemas only pin the types of the fields we read.

/** A text field: a string, or null (= absent). Nothing else, see the field rule above. */
type Text = string | null;

interface EnvelopeShape {
  data?: Record<string, unknown> | null;
  token?: Text;
  category?: Text;
}
interface AuthDataShape {
  user?: Text;
  password?: Text;
  appversion?: Text;
  monlist?: Text;
  intlist?: Text;
}
interface TypedDataShape {
  type?: Text;
}
interface FilterDataShape {
  monlist?: Text;
  intlist?: Text;
}
interface TokenDataShape {
  token?: Text;
  platform?: Text;
  state?: Text;
  profile?: Text;
  monlist?: Text;
  intlist?: Text;
}
interface BadgeDataShape {
  /** The one field that may be a number: the apps send the badge as one (§3.7). */
  badge?: string | number | null;
}
interface EscontrolDataShape {
  command?: Text;
}

const text = { type: 'string', nullable: true } as const;

const envelopeSchema: JSONSchemaType<EnvelopeShape> = {
  type: 'object',
  properties: {
    data: { type: 'object', nullable: true, required: [], additionalProperties: true },
    token: text,
    category: text,
  },
  required: [],
  additionalProperties: true,
};
const authDataSchema: JSONSchemaType<AuthDataShape> = {
  type: 'object',
  properties: { user: text, password: text, appversion: text, monlist: text, intlist: text },
  required: [],
  additionalProperties: true,
};
const typedDataSchema: JSONSchemaType<TypedDataShape> = {
  type: 'object',
  properties: { type: text },
  required: [],
  additionalProperties: true,
};
const filterDataSchema: JSONSchemaType<FilterDataShape> = {
  type: 'object',
  properties: { monlist: text, intlist: text },
  required: [],
  additionalProperties: true,
};
const tokenDataSchema: JSONSchemaType<TokenDataShape> = {
  type: 'object',
  properties: { token: text, platform: text, state: text, profile: text, monlist: text, intlist: text },
  required: [],
  additionalProperties: true,
};
const badgeDataSchema: JSONSchemaType<BadgeDataShape> = {
  type: 'object',
  properties: { badge: { type: ['string', 'number'], nullable: true } },
  required: [],
  additionalProperties: true,
};
const escontrolDataSchema: JSONSchemaType<EscontrolDataShape> = {
  type: 'object',
  properties: { command: text },
  required: [],
  additionalProperties: true,
};

const ajv = new Ajv({
  allErrors: false,
  removeAdditional: false,
  useDefaults: false,
  coerceTypes: false,
  allowUnionTypes: true,
  strict: true,
});
const validateEnvelope = ajv.compile(envelopeSchema);
const validateAuthData = ajv.compile(authDataSchema);
const validateTypedData = ajv.compile(typedDataSchema);
const validateFilterData = ajv.compile(filterDataSchema);
const validateTokenData = ajv.compile(tokenDataSchema);
const validateBadgeData = ajv.compile(badgeDataSchema);
const validateEscontrolData = ajv.compile(escontrolDataSchema);

// ---------------------------------------------------------------------------------------------
// Safe JSON parsing

/** Keys that could reach Object.prototype through a later merge or assignment. */
const POLLUTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function dropPollutingKeys(key: string, value: unknown): unknown {
  return POLLUTING_KEYS.has(key) ? undefined : value;
}

/**
 * JSON.parse itself never sets a prototype, but an own `__proto__` key is a trap for any later
 * Object.assign/merge, so such keys are dropped. The reviver is slower, so it only runs when the
 * text could contain one: the key literally, or spelt with a \u escape.
 */
function parseJsonSafely(raw: string): { ok: true; value: unknown } | { ok: false } {
  const suspicious =
    raw.includes('__proto__') || raw.includes('constructor') || raw.includes('prototype') || raw.includes('\\u');
  try {
    return { ok: true, value: suspicious ? JSON.parse(raw, dropPollutingKeys) : JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}

/**
 * Whether the text nests objects/arrays deeper than `max`, by a linear scan that skips strings.
 * Done before JSON.parse because a reviver and later recursive walkers (JSON.stringify of an
 * echoed escontrol request) would otherwise hit the stack limit on hostile nesting.
 */
export function nestingExceeds(raw: string, max: number): boolean {
  return frameShapeProblem(raw, max, Number.MAX_SAFE_INTEGER) === 'too-deep';
}

/**
 * The same scan also counts the items of every object and array (commas plus containers). Real
 * frames have fewer than 30; a 1 MiB frame of 100,000 tiny keys costs JSON.parse over 100 ms of
 * one loop turn, during which no other client is served, so such frames are refused unparsed.
 */
export function frameShapeProblem(raw: string, maxDepth: number, maxItems: number): 'too-deep' | 'too-many-items' | null {
  let depth = 0;
  let items = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return 'too-deep';
      if (++items > maxItems) return 'too-many-items';
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */) {
      if (++items > maxItems) return 'too-many-items';
    }
  }
  return null;
}

function utf8LengthExceeds(raw: string, maxBytes: number): boolean {
  // Each UTF-16 unit is 1–3 UTF-8 bytes, so the exact count is only needed in between.
  if (raw.length > maxBytes) return true;
  if (raw.length * 3 <= maxBytes) return false;
  return Buffer.byteLength(raw, 'utf8') > maxBytes;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Helpers

function toText(value: Text | undefined): string | undefined {
  return value ?? undefined;
}

function truncateCodePoints(text: string, max: number): string {
  if (text.length <= max) return text;
  const points = Array.from(text);
  return points.length <= max ? text : points.slice(0, max).join('');
}

/** The JSON values in a JSON.parse result; the assertion is safe because nothing else is there. */
function asJsonObject(value: Record<string, unknown>): JsonObject {
  return value as JsonObject;
}

function fieldError(errors: ErrorObject[] | null | undefined, event: string, root = 'data'): ProtocolError {
  const first = errors?.[0];
  const path = first?.instancePath ?? '';
  const field = root === '' ? path.slice(1).replaceAll('/', '.') : root + path.replaceAll('/', '.');
  return {
    code: 'BADJSON',
    cause: 'bad-field',
    detail: `${event}: ${field} ${first?.message ?? 'has the wrong type'}`,
    event,
    field,
  };
}

function validate<T>(validator: ValidateFunction<T>, data: Record<string, unknown>, event: string): { ok: true; value: T } | { ok: false; error: ProtocolError } {
  if (validator(data)) return { ok: true, value: data };
  return { ok: false, error: fieldError(validator.errors, event) };
}

function readSignals(top: Record<string, unknown>, data: Record<string, unknown>, event: string, subtype: string): ClientSignals {
  return {
    topLevelToken: Object.hasOwn(top, 'token'),
    category: Object.hasOwn(top, 'category'),
    appversionOutsideAuth: event !== 'auth' && Object.hasOwn(data, 'appversion'),
    profile: event === 'push' && subtype === 'token' && Object.hasOwn(data, 'profile'),
  };
}

/**
 * Best guess of the app from one frame's (or several frames' merged) signals. Conflicting
 * clues give 'unknown' rather than a wrong Android channel.
 */
export function clientKindFromSignals(signals: ClientSignals): ClientKind {
  const ninja = signals.topLevelToken || signals.appversionOutsideAuth;
  const ng = signals.category || signals.profile;
  if (ninja === ng) return 'unknown';
  return ninja ? 'zmninja' : 'zmninjang';
}

/** Signals accumulated over a connection's frames. */
export function mergeSignals(a: ClientSignals, b: ClientSignals): ClientSignals {
  return {
    topLevelToken: a.topLevelToken || b.topLevelToken,
    category: a.category || b.category,
    appversionOutsideAuth: a.appversionOutsideAuth || b.appversionOutsideAuth,
    profile: a.profile || b.profile,
  };
}

export const NO_SIGNALS: ClientSignals = Object.freeze({
  topLevelToken: false,
  category: false,
  appversionOutsideAuth: false,
  profile: false,
});

/** Badge as number or numeric string (§3.7); `undefined` when it is anything else. */
export function parseBadge(value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*\d{1,10}\s*$/.test(value)) n = Number(value);
  else return undefined;
  return Number.isInteger(n) && n >= 0 && n <= BADGE_MAX ? n : undefined;
}

// ---------------------------------------------------------------------------------------------
// The parser

type Result = ParseResult;
const fail = (error: ProtocolError): Result => ({ ok: false, error });
const ok = (value: ClientMessage): Result => ({ ok: true, value });

/**
 * Parses one client text frame. Never throws: every input gives a message or a BADJSON error.
 */
export function parseClientFrame(raw: string, limits: FrameLimits): ParseResult {
  if (utf8LengthExceeds(raw, limits.maxBytes)) {
    return fail({ code: 'BADJSON', cause: 'too-large', detail: `frame larger than ${limits.maxBytes} bytes` });
  }
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxItems = limits.maxItems ?? DEFAULT_MAX_ITEMS;
  const shape = frameShapeProblem(raw, maxDepth, maxItems);
  if (shape === 'too-deep') return fail({ code: 'BADJSON', cause: 'too-deep', detail: `frame nested deeper than ${maxDepth}` });
  if (shape === 'too-many-items') return fail({ code: 'BADJSON', cause: 'too-many-items', detail: `frame has more than ${maxItems} values` });
  const parsed = parseJsonSafely(raw);
  if (!parsed.ok) return fail({ code: 'BADJSON', cause: 'not-json', detail: 'frame is not JSON' });
  const top = parsed.value;
  if (!isPlainObject(top)) {
    return fail({ code: 'BADJSON', cause: 'not-object', detail: `top level is ${describe(top)}, not an object` });
  }

  const rawEvent = top['event'];
  const event = typeof rawEvent === 'string' ? rawEvent : undefined;
  if (!validateEnvelope(top)) {
    const path = validateEnvelope.errors?.[0]?.instancePath ?? '';
    if (path === '/data') {
      return fail({
        code: 'BADJSON',
        cause: 'data-not-object',
        detail: `data is ${describe(top['data'])}, not an object`,
        event: sanitiseEcho(rawEvent),
      });
    }
    return fail({ ...fieldError(validateEnvelope.errors, sanitiseEcho(rawEvent), ''), event: sanitiseEcho(rawEvent) });
  }
  // Missing and null `data` are the same: the classic server read fields of an undef hash.
  const envelope: EnvelopeShape = top;
  const dataPresent = envelope.data !== undefined && envelope.data !== null;
  const data: Record<string, unknown> = envelope.data ?? {};
  const topLevelToken = envelope.token === undefined || envelope.token === null || envelope.token === '' ? undefined : envelope.token;

  switch (event) {
    case 'auth':
      return parseAuth(top, data, topLevelToken);
    case 'control':
      return parseControl(top, data, topLevelToken);
    case 'push':
      return parsePush(top, data, topLevelToken);
    case 'escontrol':
      return parseEscontrol(top, data, dataPresent, topLevelToken);
    default:
      return ok({
        kind: 'unsupported',
        event: null,
        echo: sanitiseEcho(rawEvent),
        signals: readSignals(top, data, '', ''),
        topLevelToken,
      });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function parseAuth(top: Record<string, unknown>, data: Record<string, unknown>, topLevelToken: string | undefined): Result {
  const checked = validate(validateAuthData, data, 'auth');
  if (!checked.ok) return fail(checked.error);
  const d = checked.value;
  const signals = readSignals(top, data, 'auth', '');
  // Any category other than exactly "escontrol" is a normal login (§3.1).
  if (top['category'] === 'escontrol') {
    return ok({ kind: 'auth-escontrol', event: 'auth', password: toText(d.password), signals, topLevelToken });
  }
  return ok({
    kind: 'auth',
    event: 'auth',
    user: toText(d.user),
    password: toText(d.password),
    appversion: toText(d.appversion),
    monlist: toText(d.monlist),
    intlist: toText(d.intlist),
    signals,
    topLevelToken,
  });
}

function readSubtype(data: Record<string, unknown>, event: string): { ok: true; value: string } | { ok: false; error: ProtocolError } {
  const checked = validate(validateTypedData, data, event);
  if (!checked.ok) return checked;
  return { ok: true, value: toText(checked.value.type) ?? '' };
}

function parseControl(top: Record<string, unknown>, data: Record<string, unknown>, topLevelToken: string | undefined): Result {
  const subtype = readSubtype(data, 'control');
  if (!subtype.ok) return fail(subtype.error);
  const type = subtype.value;
  const signals = readSignals(top, data, 'control', type);
  if (type === 'version') return ok({ kind: 'control-version', event: 'control', signals, topLevelToken });
  if (type !== 'filter') {
    return ok({ kind: 'control-unknown', event: 'control', subtype: sanitiseEcho(type), signals, topLevelToken });
  }
  const checked = validate(validateFilterData, data, 'control');
  if (!checked.ok) return fail(checked.error);
  const monlist = toText(checked.value.monlist);
  const intlist = toText(checked.value.intlist);
  if (monlist === undefined) {
    return ok({ kind: 'rejected', event: 'control', type: 'filter', reason: 'MISSINGMONITORLIST', detail: 'filter without monlist', signals, topLevelToken });
  }
  if (intlist === undefined) {
    return ok({ kind: 'rejected', event: 'control', type: 'filter', reason: 'MISSINGINTERVALLIST', detail: 'filter without intlist', signals, topLevelToken });
  }
  return ok({ kind: 'control-filter', event: 'control', monlist, intlist, signals, topLevelToken });
}

/** In a token frame `""` and `"-1"` mean "keep the stored list" (§3.6). */
function listUpdate(value: Text | undefined): string | undefined {
  const text = toText(value);
  return text === undefined || text === '' || text.trim() === '-1' ? undefined : text;
}

function parsePush(top: Record<string, unknown>, data: Record<string, unknown>, topLevelToken: string | undefined): Result {
  const subtype = readSubtype(data, 'push');
  if (!subtype.ok) return fail(subtype.error);
  const type = subtype.value;
  const signals = readSignals(top, data, 'push', type);

  if (type === 'badge') {
    const checked = validate(validateBadgeData, data, 'push');
    if (!checked.ok) return fail(checked.error);
    const badge = parseBadge(checked.value.badge);
    if (badge === undefined) {
      return ok({
        kind: 'rejected',
        event: 'push',
        type: 'badge',
        reason: 'BADBADGE',
        detail: `badge is not a non-negative integer: ${describeBadge(checked.value.badge)}`,
        signals,
        topLevelToken,
      });
    }
    return ok({ kind: 'push-badge', event: 'push', badge, signals, topLevelToken });
  }
  if (type !== 'token') {
    return ok({ kind: 'push-unknown', event: 'push', subtype: sanitiseEcho(type), signals, topLevelToken });
  }

  const checked = validate(validateTokenData, data, 'push');
  if (!checked.ok) return fail(checked.error);
  const d = checked.value;
  // The classic server tested `!platform` first, so "" is missing too.
  if (d.platform === undefined || d.platform === null || d.platform === '') {
    return ok({ kind: 'rejected', event: 'push', type: 'token', reason: 'MISSINGPLATFORM', detail: 'token frame without platform', signals, topLevelToken });
  }
  if (!isPushPlatform(d.platform)) {
    return ok({
      kind: 'rejected',
      event: 'push',
      type: 'token',
      reason: 'BADPLATFORM',
      detail: `data.platform ${JSON.stringify(sanitiseEcho(d.platform))} is not android or ios`,
      signals,
      topLevelToken,
    });
  }
  const state = d.state ?? '';
  if (state !== '' && state !== 'enabled' && state !== 'disabled') {
    return ok({
      kind: 'rejected',
      event: 'push',
      type: 'token',
      reason: 'BADSTATE',
      detail: `data.state ${JSON.stringify(sanitiseEcho(state))} is not enabled, disabled or ""`,
      signals,
      topLevelToken,
    });
  }
  if (d.token === undefined || d.token === null || d.token === '') {
    return ok({ kind: 'rejected', event: 'push', type: 'token', reason: 'EMPTYTOKEN', detail: 'token frame with an empty token', signals, topLevelToken });
  }
  const profile = toText(d.profile);
  return ok({
    kind: 'push-token',
    event: 'push',
    token: d.token,
    platform: d.platform,
    state: state === 'disabled' ? 'disabled' : 'enabled',
    monlist: listUpdate(d.monlist),
    intlist: listUpdate(d.intlist),
    profile: profile === undefined ? undefined : truncateCodePoints(profile, PROFILE_MAX_CHARS),
    signals,
    topLevelToken,
  });
}

function describeBadge(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(sanitiseEcho(value, 16));
  if (typeof value === 'number') return String(value);
  return value === undefined ? 'missing' : describe(value);
}

function parseEscontrol(
  top: Record<string, unknown>,
  data: Record<string, unknown>,
  dataPresent: boolean,
  topLevelToken: string | undefined,
): Result {
  const signals = readSignals(top, data, 'escontrol', '');
  if (!dataPresent) {
    return ok({ kind: 'rejected', event: 'escontrol', type: 'command', reason: 'NODATA', detail: 'escontrol without data', signals, topLevelToken });
  }
  const checked = validate(validateEscontrolData, data, 'escontrol');
  if (!checked.ok) return fail(checked.error);
  return ok({
    kind: 'escontrol',
    event: 'escontrol',
    command: checked.value.command ?? undefined,
    data: asJsonObject(data),
    signals,
    topLevelToken,
  });
}

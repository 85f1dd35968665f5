import { BlockList, isIP } from 'node:net';
import { LOG_LEVELS, type LogLevel } from '../log/logger.js';

/**
 * Value formats of the configuration schema. Each is registered with convict under its
 * name (see schema.ts) and used by the loader to word errors.
 *
 * `coerce` is lenient: it converts what YAML files, env vars and add-on options hold
 * (strings, numbers, booleans) and returns anything it cannot convert unchanged, so that
 * `check` rejects it with a message naming the key. It never throws, because convict
 * calls it while importing env vars, where a throw would lose the key name.
 */
export interface ValueFormat<T> {
  /** What a valid value looks like, completing "expected …" in errors and the docs. */
  readonly expected: string;
  /** The value in a command-line synopsis: `--network.port=PORT`. */
  readonly placeholder: string;
  coerce(value: unknown): unknown;
  check(value: unknown): value is T;
}

function defineFormat<T>(format: ValueFormat<T>): ValueFormat<T> {
  return format;
}

// Classic files hold every value as a string, so "yes"/"no" must be real booleans here;
// convict's own Boolean turns "no" into true (deps.md §7).
const TRUE_WORDS = new Set(['yes', 'true', 'on', '1']);
const FALSE_WORDS = new Set(['no', 'false', 'off', '0']);

function coerceBoolean(value: unknown): unknown {
  if (value === 1) return true;
  if (value === 0) return false;
  if (typeof value !== 'string') return value;
  const word = value.trim().toLowerCase();
  if (word === '') return null;
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return value.trim();
}

// Plain decimal only: parseInt would read "9000abc" as 9000 and hide the mistake.
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function coerceNumber(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text === '') return null;
  return DECIMAL.test(text) ? Number(text) : text;
}

/** Strings are trimmed and an empty string means "not set" (null), as in the classic server. */
function coerceText(value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value !== 'string') return value;
  const text = value.trim();
  return text === '' ? null : text;
}

function coerceWord(value: unknown): unknown {
  const text = coerceText(value);
  return typeof text === 'string' ? text.toLowerCase() : text;
}

/** Comma lists keep the classic string syntax; whitespace around items is dropped. */
function coerceList(value: unknown, lowerCase: boolean): unknown {
  let text: string;
  if (typeof value === 'number' || typeof value === 'bigint') text = String(value);
  else if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) {
    text = value.join(',');
  } else if (typeof value === 'string') text = value;
  else return value;
  const trimmed = text.trim();
  if (trimmed === '') return '';
  const joined = trimmed
    .split(',')
    .map((item) => item.trim())
    .join(',');
  return lowerCase ? joined.toLowerCase() : joined;
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

function integerIn(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: unknown): value is number =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

/** A host name or IP address; an IPv6 address may be written in brackets. */
export function isHost(value: string): boolean {
  if (value.startsWith('[') && value.endsWith(']')) return isIP(value.slice(1, -1)) === 6;
  return isIP(value) !== 0 || HOST_NAME.test(value);
}

/** The address to hand to a socket API: `[::]` becomes `::`. */
export function bindHost(address: string): string {
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}

export interface HostPort {
  host: string;
  port: number | undefined;
}

/** Splits `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address; null when malformed. */
export function parseHostPort(value: string): HostPort | null {
  const text = value.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) {
    const [, host = '', port] = bracketed;
    if (isIP(host) !== 6) return null;
    return withPort(host, port);
  }
  if (isIP(text) === 6) return { host: text, port: undefined };
  const plain = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(text);
  if (!plain) return null;
  const [, host = '', port] = plain;
  if (!isHost(host)) return null;
  return withPort(host, port);
}

function withPort(host: string, port: string | undefined): HostPort | null {
  if (port === undefined) return { host, port: undefined };
  const n = Number(port);
  return n >= 1 && n <= 65535 ? { host, port: n } : null;
}

/** Parses a validated monitor list such as `1, 2,3` into ids; an empty string gives []. */
export function parseMonitorList(value: string): number[] {
  const text = value.trim();
  if (text === '') return [];
  return text.split(',').map((item) => {
    const id = item.trim();
    if (!/^\d+$/.test(id)) throw new RangeError(`not a monitor id: ${JSON.stringify(id)}`);
    return Number(id);
  });
}

/** One IP address or CIDR block (`10.0.0.0/8`, `fd00::/8`); false for anything else. */
export function isAddressOrCidr(value: string): boolean {
  const [address = '', prefix, extra] = value.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** A BlockList of a validated address list (see the `address-list` format). */
export function parseAddressList(value: string): BlockList {
  const list = new BlockList();
  for (const item of value.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const [address = '', prefix] = item.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** The hard cap on network.max_frame_size: parsing one frame this large takes a few ms, not seconds. */
export const MAX_FRAME_SIZE_CAP = 1_048_576;

export const CHANNELS = ['web', 'fcm', 'mqtt', 'api'] as const;
export type Channel = (typeof CHANNELS)[number];

function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

/** Parses a validated channel list: `all`, `none`/empty, or a comma list of channels. */
export function parseChannelList(value: string): ReadonlySet<Channel> {
  const text = value.trim().toLowerCase();
  if (text === 'all') return new Set(CHANNELS);
  if (text === '' || text === 'none') return new Set();
  const channels = new Set<Channel>();
  for (const item of text.split(',')) {
    const name = item.trim();
    if (!isChannel(name)) throw new RangeError(`not a channel: ${JSON.stringify(name)}`);
    channels.add(name);
  }
  return channels;
}

export const ANDROID_PRIORITIES = ['high', 'normal'] as const;
export type AndroidPriority = (typeof ANDROID_PRIORITIES)[number];

/** Every format of the schema, by the name it is registered under with convict. */
export const FORMATS = {
  'yes-no': defineFormat<boolean>({
    placeholder: 'yes|no',
    expected: 'yes or no (also true/false, on/off, 1/0)',
    coerce: coerceBoolean,
    check: (v): v is boolean => typeof v === 'boolean',
  }),
  'tcp-port': defineFormat<number>({
    placeholder: 'PORT',
    expected: 'a port number from 0 to 65535',
    coerce: coerceNumber,
    check: integerIn(0, 65535),
  }),
  'positive-int': defineFormat<number>({
    placeholder: 'N',
    expected: 'a whole number of at least 1',
    coerce: coerceNumber,
    check: integerIn(1),
  }),
  'frame-size': defineFormat<number>({
    placeholder: 'BYTES',
    expected: `a whole number of bytes from 1 to ${MAX_FRAME_SIZE_CAP} (1 MiB)`,
    coerce: coerceNumber,
    check: integerIn(1, MAX_FRAME_SIZE_CAP),
  }),
  'non-negative-int': defineFormat<number>({
    placeholder: 'N',
    expected: 'a whole number of at least 0',
    coerce: coerceNumber,
    check: integerIn(0),
  }),
  'whole-number': defineFormat<number>({
    placeholder: 'N',
    expected: 'a whole number',
    coerce: coerceNumber,
    check: integerIn(Number.MIN_SAFE_INTEGER),
  }),
  'positive-number': defineFormat<number>({
    placeholder: 'NUMBER',
    expected: 'a number greater than 0 (fractions allowed)',
    coerce: coerceNumber,
    check: (v): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0,
  }),
  'non-negative-number': defineFormat<number>({
    placeholder: 'NUMBER',
    expected: 'a number of at least 0 (fractions allowed)',
    coerce: coerceNumber,
    check: (v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0,
  }),
  text: defineFormat<string>({
    placeholder: 'TEXT',
    expected: 'a non-empty text',
    coerce: coerceText,
    check: isString,
  }),
  path: defineFormat<string>({
    placeholder: 'FILE',
    expected: 'a file path on one line',
    coerce: coerceText,
    check: (v): v is string => isString(v) && !/[\0\r\n]/.test(v),
  }),
  host: defineFormat<string>({
    placeholder: 'HOST',
    expected: 'a host name or IP address (IPv6 may be in brackets)',
    coerce: coerceText,
    check: (v): v is string => isString(v) && isHost(v),
  }),
  'http-url': defineFormat<string>({
    placeholder: 'URL',
    expected: 'an http:// or https:// URL',
    coerce: coerceText,
    check: (v): v is string => isString(v) && URL.canParse(v) && /^https?:$/.test(new URL(v).protocol),
  }),
  'mqtt-server': defineFormat<string>({
    placeholder: 'HOST[:PORT]',
    expected: 'a broker as host or host:port (no URL scheme)',
    coerce: coerceText,
    check: (v): v is string => isString(v) && parseHostPort(v) !== null,
  }),
  'mqtt-topic': defineFormat<string>({
    placeholder: 'TOPIC',
    expected: 'an MQTT topic without the wildcards + and #',
    coerce: coerceText,
    check: (v): v is string => isString(v) && !/[+#\0]/.test(v),
  }),
  'log-level': defineFormat<LogLevel>({
    placeholder: 'LEVEL',
    expected: `one of ${LOG_LEVELS.join(', ')}`,
    coerce: (v) => {
      const word = coerceWord(v);
      return word === 'warning' ? 'warn' : word;
    },
    check: (v): v is LogLevel => typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v),
  }),
  'android-priority': defineFormat<AndroidPriority>({
    placeholder: 'high|normal',
    expected: `one of ${ANDROID_PRIORITIES.join(', ')}`,
    coerce: coerceWord,
    check: (v): v is AndroidPriority => typeof v === 'string' && (ANDROID_PRIORITIES as readonly string[]).includes(v),
  }),
  'monitor-list': defineFormat<string>({
    placeholder: 'IDS',
    expected: 'a comma-separated list of monitor ids (e.g. 1,2,5), or empty',
    coerce: (v) => coerceList(v, false),
    check: (v): v is string => typeof v === 'string' && /^(\d+(,\d+)*)?$/.test(v),
  }),
  'address-list': defineFormat<string>({
    placeholder: 'ADDRESSES',
    expected: 'a comma-separated list of IP addresses or CIDR blocks (e.g. 172.30.32.2,10.0.0.0/8), or empty',
    coerce: (v) => coerceList(v, true),
    check: (v): v is string => typeof v === 'string' && (v === '' || v.split(',').every((item) => isAddressOrCidr(item))),
  }),
  'channel-list': defineFormat<string>({
    placeholder: 'CHANNELS',
    expected: `all, none, or a comma-separated list of ${CHANNELS.join(', ')} (empty means none)`,
    coerce: (v) => coerceList(v, true),
    check: (v): v is string =>
      typeof v === 'string' &&
      (v === '' || v === 'all' || v === 'none' || v.split(',').every((item) => isChannel(item))),
  }),
} as const;

export type FormatName = keyof typeof FORMATS;

/** The TypeScript type of a value of format F. */
export type FormatValue<F extends FormatName> = (typeof FORMATS)[F] extends ValueFormat<infer T> ? T : never;

/** Describes a value for an error message without ever showing a secret. */
export function describeValue(value: unknown, sensitive: boolean): string {
  if (value === null || value === undefined || value === '') return 'an empty value';
  if (sensitive) return 'the given value (hidden)';
  if (typeof value === 'string') {
    const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'a list' : 'a mapping';
}

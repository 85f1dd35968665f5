/**
 * What a failed push means for the token, from firebase-admin's error codes (direct mode) or the
 * classic proxy's replies (protocol.md §13). Pure. The distinction that matters most: only an
 * answer that is about the *token* may remove it; an answer about our payload or our credentials
 * must never cost every device its registration.
 */
import { maskUrlCredentials } from '../config/credentials.js';

export type PushStatus =
  /** FCM accepted the message. */
  | 'ok'
  /** FCM says the token is dead or not a token: remove it from the store. */
  | 'invalid-token'
  /** Worth retrying later (network, 5xx, rate limits). */
  | 'transient'
  /** Our side is wrong (credentials, payload, project): retrying will not help, the token is fine. */
  | 'fatal';

export interface PushOutcome {
  readonly status: PushStatus;
  /** Short reason for logs (never the token, key or picture credentials). */
  readonly detail: string;
  /** FCM message name/id on success. */
  readonly messageId?: string;
  /** Groups fatal reasons so each is logged once (e.g. "proxy-401", "messaging/mismatched-credential"). */
  readonly key?: string;
  /** Server-requested delay before a retry (Retry-After), ms. */
  readonly retryAfterMs?: number;
}

const INVALID_TOKEN_CODES = new Set([
  'messaging/registration-token-not-registered',
  'messaging/invalid-registration-token',
  'messaging/invalid-recipient',
]);

const TRANSIENT_CODES = new Set([
  'messaging/server-unavailable',
  'messaging/internal-error',
  'messaging/unknown-error',
  'messaging/message-rate-exceeded',
  'messaging/device-message-rate-exceeded',
  'messaging/topics-message-rate-exceeded',
  'app/network-error',
  'app/network-timeout',
]);

/** FCM's wording when INVALID_ARGUMENT is about the token rather than the message. */
const TOKEN_ARGUMENT = /registration token|not a valid FCM/i;
/** Network trouble while fetching the OAuth token: transient, unlike a bad key. */
const NETWORK_TEXT = /ENOTFOUND|EAI_AGAIN|ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up|network|timeout/i;

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}

/**
 * The first line of an error message, without firebase-admin's "Raw server response" dump, and
 * with any URL credentials masked (an error may quote the picture URL).
 */
function shortMessage(text: string): string {
  return maskUrlCredentials((text.split(/ Raw server response:|\n/)[0] ?? '').trim().slice(0, 200));
}

/** Classifies an error firebase-admin reported for one message of sendEach(). */
export function classifyFirebaseError(err: unknown): PushOutcome {
  const code = codeOf(err);
  const message = messageOf(err);
  const detail = `${code || 'error'}: ${shortMessage(message)}`;
  if (INVALID_TOKEN_CODES.has(code)) return { status: 'invalid-token', detail };
  if (code === 'messaging/invalid-argument' && TOKEN_ARGUMENT.test(message)) return { status: 'invalid-token', detail };
  if (TRANSIENT_CODES.has(code)) return { status: 'transient', detail };
  if (code === 'app/invalid-credential' && NETWORK_TEXT.test(message)) return { status: 'transient', detail };
  // authentication-error, mismatched-credential (token of another Firebase project: it may be
  // valid for the app's own project, so it is not removed), third-party-auth-error (APNs),
  // invalid-argument/invalid-payload about our message, payload-size-limit-exceeded …
  return { status: 'fatal', detail, key: code || 'unknown' };
}

/** The classic proxy's `{"Error":"token:<tail>=><Firebase error>"}` wording for a dead token. */
const PROXY_DEAD_TOKEN =
  /not a valid FCM|entity was not found|not registered|registration-token-not-registered|invalid-registration-token|UNREGISTERED/i;

function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The proxy reply's JSON field, or the raw text when it is not the expected shape. */
function proxyField(body: string, field: 'Success' | 'Error'): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const value = (parsed as Record<string, unknown>)[field];
      if (typeof value === 'string') return value;
      if (value !== undefined) return JSON.stringify(value);
    }
  } catch {
    // not JSON: fall through
  }
  return undefined;
}

/** Drops the `token:<last 10 chars>=>` prefix the proxy puts in front of Firebase's message. */
function proxyErrorText(body: string): string {
  const text = proxyField(body, 'Error') ?? body;
  return maskUrlCredentials(text.replace(/^token:[^=]*=>\s*/, '').trim().slice(0, 200));
}

/** Classifies the proxy's HTTP reply. */
export function classifyProxyResponse(status: number, body: string, retryAfter?: string, now: number = Date.now()): PushOutcome {
  if (status >= 200 && status < 300) {
    const id = proxyField(body, 'Success');
    return { status: 'ok', detail: `HTTP ${status}`, ...(id === undefined ? {} : { messageId: id }) };
  }
  const text = proxyErrorText(body);
  const detail = `HTTP ${status}${text === '' ? '' : `: ${text}`}`;
  if (status === 400 || status === 404) {
    if (PROXY_DEAD_TOKEN.test(text)) return { status: 'invalid-token', detail };
    return { status: 'fatal', detail, key: `proxy-${status}` };
  }
  if (status === 401 || status === 403) {
    return { status: 'fatal', detail: `${detail} (check fcm.fcm_v1_key)`, key: `proxy-${status}` };
  }
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter, now);
    return { status: 'transient', detail, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  return { status: 'fatal', detail, key: `proxy-${status}` };
}

/** A request that got no HTTP answer at all (refused, reset, DNS, timeout): retry. */
export function classifyProxyNetworkError(err: unknown): PushOutcome {
  const code = codeOf(err);
  const detail = `${code || 'network error'}: ${shortMessage(messageOf(err))}`;
  // A certificate the proxy's host does not match or we do not trust will not fix itself.
  if (/CERT|TLS|SSL|SIGNATURE/.test(code)) return { status: 'fatal', detail, key: `proxy-tls-${code}` };
  return { status: 'transient', detail };
}

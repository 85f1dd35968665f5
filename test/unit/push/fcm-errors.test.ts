import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyFirebaseError,
  classifyProxyNetworkError,
  classifyProxyResponse,
} from '../../../src/push/fcm-errors.js';

const fbError = (code: string, message: string) => Object.assign(new Error(message), { code });

test('firebase: a not-registered or invalid token is classified invalid-token', () => {
  assert.equal(classifyFirebaseError(fbError('messaging/registration-token-not-registered', 'Requested entity was not found.')).status, 'invalid-token');
  assert.equal(classifyFirebaseError(fbError('messaging/invalid-registration-token', 'bad')).status, 'invalid-token');
  assert.equal(
    classifyFirebaseError(fbError('messaging/invalid-argument', 'The registration token is not a valid FCM registration token')).status,
    'invalid-token',
  );
});

test('firebase: INVALID_ARGUMENT about the message itself is fatal, never a token removal', () => {
  const outcome = classifyFirebaseError(fbError('messaging/invalid-argument', "Invalid value at 'message.android.ttl'"));
  assert.equal(outcome.status, 'fatal');
  assert.equal(outcome.key, 'messaging/invalid-argument');
});

test('firebase: 5xx, rate limits and network failures are transient', () => {
  for (const code of ['messaging/server-unavailable', 'messaging/internal-error', 'messaging/unknown-error', 'messaging/message-rate-exceeded', 'app/network-error']) {
    assert.equal(classifyFirebaseError(fbError(code, 'x')).status, 'transient', code);
  }
  assert.equal(classifyFirebaseError(fbError('app/invalid-credential', 'Error fetching access token: getaddrinfo ENOTFOUND oauth2.googleapis.com')).status, 'transient');
});

test('firebase: credential and project problems are fatal', () => {
  for (const code of ['messaging/authentication-error', 'messaging/mismatched-credential', 'messaging/third-party-auth-error', 'app/invalid-credential']) {
    assert.equal(classifyFirebaseError(fbError(code, 'invalid_grant')).status, 'fatal', code);
  }
});

test('firebase: the raw server response is cut from the detail', () => {
  const outcome = classifyFirebaseError(fbError('messaging/internal-error', 'Internal error. Raw server response: "{...}". Status code: 500.'));
  assert.equal(outcome.detail, 'messaging/internal-error: Internal error.');
});

test('proxy: 200 Success carries the message id', () => {
  assert.deepEqual(classifyProxyResponse(200, '{"Success":"projects/p/messages/1"}'), { status: 'ok', detail: 'HTTP 200', messageId: 'projects/p/messages/1' });
});

test('proxy: 400 with a dead-token Firebase error is invalid-token; other 400s are fatal', () => {
  assert.equal(classifyProxyResponse(400, '{"Error":"token:abcdefghij=>Requested entity was not found."}').status, 'invalid-token');
  assert.equal(classifyProxyResponse(400, '{"Error":"token:abcdefghij=>The registration token is not a valid FCM registration token"}').status, 'invalid-token');
  const other = classifyProxyResponse(400, '{"Error":"token:abcdefghij=>Invalid JSON payload"}');
  assert.equal(other.status, 'fatal');
  assert.equal(other.detail, 'HTTP 400: Invalid JSON payload');
});

test('proxy: 401 is a fatal configuration error pointing at the key', () => {
  const outcome = classifyProxyResponse(401, '{"Error":"Invalid credentials: jwt expired"}');
  assert.equal(outcome.status, 'fatal');
  assert.equal(outcome.key, 'proxy-401');
  assert.match(outcome.detail, /fcm_v1_key/);
});

test('proxy: 429 and 5xx are transient and honour Retry-After', () => {
  assert.deepEqual(classifyProxyResponse(503, 'Service Unavailable', '7'), { status: 'transient', detail: 'HTTP 503: Service Unavailable', retryAfterMs: 7000 });
  assert.equal(classifyProxyResponse(429, '').status, 'transient');
  assert.equal(classifyProxyResponse(500, '{"Error":"boom"}').status, 'transient');
});

test('proxy: network errors are transient, certificate errors fatal', () => {
  assert.equal(classifyProxyNetworkError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).status, 'transient');
  assert.equal(classifyProxyNetworkError(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })).status, 'fatal');
});

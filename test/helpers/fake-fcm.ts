/**
 * A fake FCM HTTP v1 endpoint on loopback (deps.md §5.2/5.3): HTTPS with a certificate for
 * fcm.googleapis.com, serving HTTP/2 and HTTP/1.1, recording every request, answering with
 * FCM-shaped errors for configured tokens. `connectFakeFcm()` builds a firebase-admin App that
 * reaches it through firebase-admin's own code, including the production HTTP/2 path of
 * sendEach(): http2.connect is wrapped for the App's lifetime (TLS verification stays on).
 */
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { deleteApp, initializeApp, type App, type Credential } from 'firebase-admin/app';
import { generateCertificate, type TestCertificate } from './certs.js';

export const FCM_HOST = 'fcm.googleapis.com';

export interface TransientRule {
  /** 503 UNAVAILABLE (firebase-admin retries it itself) or 500 INTERNAL (it does not). */
  readonly status: 500 | 503;
  /** How many requests for the token fail before it succeeds; Infinity = always. */
  readonly times: number;
}

export interface FakeFcmOptions {
  readonly accessToken?: string;
  readonly unregistered?: Iterable<string>;
  readonly invalid?: Iterable<string>;
  readonly transient?: ReadonlyMap<string, TransientRule>;
  /** Delay before each answer (ms). */
  readonly delayMs?: number;
}

export interface RecordedFcmRequest {
  readonly method: string;
  readonly path: string;
  readonly httpVersion: string;
  readonly headers: http2.IncomingHttpHeaders;
  /** The parsed JSON body (`{message:{…}}` from firebase-admin). */
  readonly body: unknown;
  /** body.message.token when present. */
  readonly token: string | undefined;
  readonly status: number;
  /** performance.now() when the request was complete. */
  readonly at: number;
}

export interface FakeFcm {
  readonly port: number;
  readonly ca: Buffer;
  readonly accessToken: string;
  readonly requests: RecordedFcmRequest[];
  /** Resolves once `count` requests were recorded (rejects after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

type Json = { [key: string]: unknown };

function fcmError(code: number, status: string, message: string, errorCode?: string): Json {
  return {
    error: {
      code,
      message,
      status,
      ...(errorCode === undefined
        ? {}
        : { details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] }),
    },
  };
}

function tokenOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const message = (body as Json)['message'];
  if (typeof message !== 'object' || message === null) return undefined;
  const token = (message as Json)['token'];
  return typeof token === 'string' ? token : undefined;
}

export async function startFakeFcm(options: FakeFcmOptions = {}): Promise<FakeFcm> {
  const cert: TestCertificate = generateCertificate({ commonName: FCM_HOST, altNames: `DNS:${FCM_HOST}` });
  const accessToken = options.accessToken ?? 'test-access-token';
  const unregistered = new Set(options.unregistered ?? []);
  const invalid = new Set(options.invalid ?? []);
  const failuresSoFar = new Map<string, number>();
  const requests: RecordedFcmRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let seq = 0;

  const answer = (token: string | undefined, path: string, auth: string | undefined): [number, Json] => {
    const route = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(path);
    if (!route) return [404, fcmError(404, 'NOT_FOUND', 'Not Found')];
    if (auth !== `Bearer ${accessToken}`) {
      return [401, fcmError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.')];
    }
    if (token !== undefined && unregistered.has(token)) {
      return [404, fcmError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED')];
    }
    if (token !== undefined && invalid.has(token)) {
      return [400, fcmError(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', 'INVALID_ARGUMENT')];
    }
    const rule = token === undefined ? undefined : options.transient?.get(token);
    if (token !== undefined && rule !== undefined) {
      const failed = failuresSoFar.get(token) ?? 0;
      if (failed < rule.times) {
        failuresSoFar.set(token, failed + 1);
        return rule.status === 503
          ? [503, fcmError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE')]
          : [500, fcmError(500, 'INTERNAL', 'Internal error encountered.', 'INTERNAL')];
      }
    }
    return [200, { name: `projects/${route[1]}/messages/0:${Date.now()}%${++seq}` }];
  };

  const server = http2.createSecureServer({ key: cert.key, cert: cert.cert, allowHTTP1: true }, (req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      let body: unknown = null;
      try {
        body = raw === '' ? null : JSON.parse(raw);
      } catch {
        body = raw;
      }
      const token = tokenOf(body);
      const auth = req.headers['authorization'];
      const [status, reply] =
        req.method === 'POST' ? answer(token, req.url, typeof auth === 'string' ? auth : undefined) : [405, fcmError(405, 'METHOD', 'POST only')];
      const send = () => {
        requests.push({ method: req.method, path: req.url, httpVersion: req.httpVersion, headers: req.headers, body, token, status, at: performance.now() });
        for (const w of [...waiters]) {
          if (requests.length >= w.count) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        }
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify(reply));
      };
      if (options.delayMs) setTimeout(send, options.delayMs);
      else send();
    });
  });
  // Sessions a client keeps alive would hold close() open: track them to end them.
  const serverSessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    serverSessions.add(session);
    session.once('close', () => serverSessions.delete(session));
  });
  // HTTP/1.1 keep-alive sockets likewise.
  const sockets = new Set<tls.TLSSocket>();
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    ca: cert.cert,
    accessToken,
    requests,
    waitForRequests(count, timeoutMs = 10_000) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fake FCM saw ${requests.length} of ${count} requests`)), timeoutMs);
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    async close() {
      // Sessions kept alive by a client would hold close() open; end them.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of serverSessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      });
      cert.cleanup();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Routing firebase-admin to the fake

type Connect = typeof http2.connect;
const realConnect: Connect = http2.connect;
/** The fakes currently routed to, newest last (normally just one per test file). */
const routes: FakeFcm[] = [];

function wrappedConnect(
  authority: string | URL,
  options?: http2.ClientSessionOptions | http2.SecureClientSessionOptions | ((session: http2.ClientHttp2Session, socket: unknown) => void),
  listener?: (session: http2.ClientHttp2Session, socket: unknown) => void,
): http2.ClientHttp2Session {
  const target = routes[routes.length - 1];
  if (target === undefined || !String(authority).startsWith(`https://${FCM_HOST}`) || typeof options === 'function') {
    return (realConnect as (a: string | URL, o?: unknown, l?: unknown) => http2.ClientHttp2Session)(authority, options, listener);
  }
  const session = realConnect(authority, {
    ...options,
    createConnection: () =>
      tls.connect({ host: '127.0.0.1', port: target.port, servername: FCM_HOST, ALPNProtocols: ['h2'], ca: target.ca }),
  }, listener);
  // firebase-admin sends ':scheme: https:' (from URL.protocol); Google accepts it, Node's http2
  // server resets the stream, so rewrite it to 'https'.
  const request = session.request.bind(session);
  session.request = ((headers?: http2.OutgoingHttpHeaders, requestOptions?: http2.ClientSessionRequestOptions) =>
    request(headers !== undefined && headers[':scheme'] === 'https:' ? { ...headers, ':scheme': 'https' } : headers, requestOptions)) as typeof session.request;
  return session;
}

export interface FakeFcmApp {
  readonly app: App;
  /** Deletes the App and stops routing to the fake. */
  dispose(): Promise<void>;
}

let appCount = 0;

/**
 * A firebase-admin App whose FCM requests reach `fake`: sendEach() over HTTP/2 (http2.connect
 * wrapped), send() and the legacy transport over HTTP/1.1 (an agent connecting to the fake).
 * Credentials are a fixed access token: no OAuth round trip.
 */
export function connectFakeFcm(fake: FakeFcm, options: { projectId?: string; accessToken?: string } = {}): FakeFcmApp {
  routes.push(fake);
  if (routes.length === 1) (http2 as { connect: Connect }).connect = wrappedConnect as Connect;
  const agent = new https.Agent({ keepAlive: true, ca: fake.ca });
  agent.createConnection = (opts) =>
    tls.connect({ ...(opts as tls.ConnectionOptions), host: '127.0.0.1', port: fake.port, servername: FCM_HOST, ca: fake.ca });
  const accessToken = options.accessToken ?? fake.accessToken;
  const credential: Credential = { getAccessToken: async () => ({ access_token: accessToken, expires_in: 3600 }) };
  const app = initializeApp({ credential, projectId: options.projectId ?? 'demo-zmes', httpAgent: agent }, `fake-fcm-${process.pid}-${++appCount}`);
  let disposed = false;
  return {
    app,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await deleteApp(app).catch(() => undefined);
      agent.destroy();
      routes.splice(routes.indexOf(fake), 1);
      if (routes.length === 0) (http2 as { connect: Connect }).connect = realConnect;
    },
  };
}

/**
 * A fake of the classic FCM proxy (protocol.md §13): accepts the compact JSON by POST, checks the
 * Authorization header against the expected key, and answers like the proxy does —
 * 200 {"Success":"<id>"}, 400 {"Error":"token:<last 10>=><Firebase error>"},
 * 401 {"Error":"Invalid credentials: …"}, or a configured 500/503. Plain HTTP or HTTPS.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { generateCertificate, type TestCertificate } from './certs.js';

export interface FakeProxyOptions {
  /** The key the proxy accepts in Authorization. */
  readonly key: string;
  /** Serve HTTPS with a fresh certificate for 127.0.0.1 (trust it with `ca`). */
  readonly tls?: boolean;
  readonly unregistered?: Iterable<string>;
  readonly invalid?: Iterable<string>;
  /** Token → how many of its requests fail with this status before one succeeds. */
  readonly transient?: ReadonlyMap<string, { status: 500 | 503; times: number }>;
  /** Address to listen on (default 127.0.0.1), e.g. a bridge address that network namespaces reach. */
  readonly host?: string;
}

export interface RecordedProxyRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: unknown;
  readonly token: string | undefined;
  readonly status: number;
}

export interface FakeProxy {
  readonly url: string;
  /** The certificate to trust (HTTPS only). */
  readonly ca: Buffer | undefined;
  readonly requests: RecordedProxyRequest[];
  close(): Promise<void>;
}

export async function startFakeFcmProxy(options: FakeProxyOptions): Promise<FakeProxy> {
  const cert: TestCertificate | undefined = options.tls ? generateCertificate() : undefined;
  const unregistered = new Set(options.unregistered ?? []);
  const invalid = new Set(options.invalid ?? []);
  const failures = new Map<string, number>();
  const requests: RecordedProxyRequest[] = [];

  const answer = (token: string | undefined, auth: string | undefined): [number, unknown] => {
    if (auth !== options.key) return [401, { Error: 'Invalid credentials: token verification failed' }];
    if (token === undefined) return [400, { Error: 'Missing token' }];
    const tail = token.slice(-10);
    if (unregistered.has(token)) return [400, { Error: `token:${tail}=>Requested entity was not found.` }];
    if (invalid.has(token)) return [400, { Error: `token:${tail}=>The registration token is not a valid FCM registration token` }];
    const rule = options.transient?.get(token);
    if (rule !== undefined && (failures.get(token) ?? 0) < rule.times) {
      failures.set(token, (failures.get(token) ?? 0) + 1);
      return [rule.status, { Error: `token:${tail}=>The service is currently unavailable.` }];
    }
    return [200, { Success: `projects/zmninja/messages/${Date.now()}${requests.length}` }];
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // keep the raw text for the assertion message
      }
      const token =
        typeof body === 'object' && body !== null && typeof (body as Record<string, unknown>)['token'] === 'string'
          ? ((body as Record<string, unknown>)['token'] as string)
          : undefined;
      const auth = req.headers['authorization'];
      const [status, reply] = answer(token, auth);
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: auth,
        contentType: req.headers['content-type'],
        body,
        token,
        status,
      });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply));
    });
  };

  const server = cert ? https.createServer({ key: cert.key, cert: cert.cert }, handler) : http.createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${cert ? 'https' : 'http'}://${host}:${port}/sendPushNotification`,
    ca: cert?.cert,
    requests,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      cert?.cleanup();
    },
  };
}

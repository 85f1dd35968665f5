/**
 * The status page's own HTTP server (node:http), apart from the WebSocket port:
 *
 *   GET  /                        the page (plain HTML, status.css, status.js)
 *   GET  /api/status              the snapshot as JSON
 *   GET  /api/stream              server-sent events: a snapshot at once and after every change
 *   POST /api/devices/<id>/test   a test notification to one registered device
 *
 * Who may ask: clients in `allowedClients` (in the add-on only the Supervisor's ingress proxy),
 * or anyone who reaches `address` when it is empty. Without an allow-list a request must name the
 * server by IP address or `localhost`, so a web page elsewhere cannot rebind a name of its own to
 * 127.0.0.1 and read the page. The POST is refused from other sites: it needs the page's
 * per-process token in the X-Zmes-Csrf header (a cross-site form cannot set a header, a
 * cross-site script cannot read the token) and a Sec-Fetch-Site of same-origin where the browser
 * sends one. Paths are relative, so the page works under ingress's /api/hassio_ingress/… prefix.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { BlockList, Socket } from 'node:net';
import { isIP } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock, Timer } from '../clock.js';
import { parseAddressList } from '../config/formats.js';
import type { Config } from '../config/load.js';
import { ZmesError, errorMessage } from '../errors.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import { renderPage, STATUS_SCRIPT, STATUS_STYLE } from './status-page.js';
import type { StatusSnapshot, TestPushAnswer } from './status-types.js';

export interface StatusServerOptions {
  readonly address: string;
  readonly port: number;
  /** The `address-list` of status.allowed_clients; empty: every client that reaches `address`. */
  readonly allowedClients: string;
  /** Open event streams at most; more get 503. */
  readonly maxStreams?: number;
  /** A snapshot is pushed at most this often while things change. */
  readonly minPushIntervalMs?: number;
  /** ...and at least this often (last poll, connection states), with a keep-alive for proxies. */
  readonly refreshIntervalMs?: number;
}

export function statusServerOptionsFrom(config: Config): StatusServerOptions {
  return { address: config.status.address, port: config.status.port, allowedClients: config.status.allowed_clients };
}

/** What the server serves; StatusBoard and the test push provide it. */
export interface StatusApi {
  readonly version: string;
  snapshot(): StatusSnapshot;
  onChange(listener: () => void): () => void;
  testPush(deviceId: string): Promise<TestPushAnswer>;
  /** The picture of an event through ZoneMinder's API; absent when the API is not configured. */
  picture?(eventId: bigint): Promise<Buffer | null>;
}

/** `/api/picture/<EventId>`: the picture of a monitor's last event (with ZoneMinder's API). */
const PICTURE_PATH = /^\/api\/picture\/([1-9]\d{0,19})$/;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

const TEST_PATH = /^\/api\/devices\/([A-Za-z0-9_-]{1,64})\/test$/;
const ANSWER_STATUS: Readonly<Record<TestPushAnswer['result'], number>> = {
  sent: 200,
  failed: 502,
  pending: 202,
  'unknown-device': 404,
  'push-off': 409,
  busy: 429,
};

export class StatusServer implements Service {
  readonly name = 'status page';
  /** Sent in the page and required on every POST. */
  readonly csrfToken = randomBytes(24).toString('base64url');
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly streams = new Set<ServerResponse>();
  private readonly allowed: BlockList | undefined;
  private boundPort = 0;
  private disposeChange: (() => void) | undefined;
  private pushTimer: Timer | undefined;
  private refreshTimer: Timer | undefined;
  private lastPush = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly options: StatusServerOptions,
    private readonly api: StatusApi,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {
    this.allowed = options.allowedClients.trim() === '' ? undefined : parseAddressList(options.allowedClients);
  }

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const host = bindHost(this.options.address);
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new ZmesError('ZMES_LISTEN_FAILED', `status page: cannot listen on ${this.options.address}:${this.options.port}: ${err.code ?? err.message} (status.address, status.port)`)),
      );
      server.listen({ host, port: this.options.port, exclusive: true }, () => resolve());
    });
    this.server = server;
    const address = server.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : 0;
    const who = this.allowed ? `only ${this.options.allowedClients}` : 'every client that reaches it';
    this.log.info(`status page on http://${this.options.address}:${this.boundPort}/ (answers ${who})`);
    if (!this.allowed && !isLoopback(host)) {
      this.log.warn(`the status page listens on ${this.options.address} without a login and answers ${who}: set status.allowed_clients or status.address 127.0.0.1`);
    }
    this.disposeChange = this.api.onChange(() => this.schedulePush());
    const refreshMs = this.options.refreshIntervalMs ?? 5000;
    this.refreshTimer = this.clock.setInterval(() => this.pushNow(true), refreshMs);
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.disposeChange?.();
    this.pushTimer?.cancel();
    this.refreshTimer?.cancel();
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Idle keep-alive sockets would hold close() open.
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  // --- requests ---------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      const refusal = this.refusal(req);
      if (refusal !== undefined) {
        this.log.debug(() => `status page: refused ${req.method ?? '?'} ${req.url ?? ''} from ${peerAddress(req)}: ${refusal}`);
        res.shouldKeepAlive = false;
        return send(res, 403, 'text/plain; charset=utf-8', `${refusal}\n`);
      }
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (req.method === 'GET' || req.method === 'HEAD') return this.get(path, req, res);
      if (req.method === 'POST') return this.post(path, req, res);
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD, POST' });
    } catch (err) {
      this.log.error(`status page: ${req.method ?? '?'} ${req.url ?? ''} failed: ${errorMessage(err)}`);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
    }
  }

  /** Why this client may not ask at all, or undefined. */
  private refusal(req: IncomingMessage): string | undefined {
    const peer = peerAddress(req);
    if (this.allowed) {
      const type = isIP(peer) === 6 ? 'ipv6' : 'ipv4';
      return isIP(peer) !== 0 && this.allowed.check(peer, type) ? undefined : 'this address may not open the status page (status.allowed_clients)';
    }
    const host = hostName(req.headers.host);
    if (host === undefined || !(host === 'localhost' || isIP(host) !== 0)) {
      return 'open the status page by IP address or localhost, or list the clients allowed in status.allowed_clients';
    }
    return undefined;
  }

  private get(path: string, req: IncomingMessage, res: ServerResponse): void {
    switch (path) {
      case '/':
      case '/index.html':
        return send(res, 200, 'text/html; charset=utf-8', renderPage({ csrfToken: this.csrfToken, version: this.api.version, pictures: this.api.picture !== undefined }));
      case '/status.js':
        return send(res, 200, 'text/javascript; charset=utf-8', STATUS_SCRIPT);
      case '/status.css':
        return send(res, 200, 'text/css; charset=utf-8', STATUS_STYLE);
      case '/api/status':
        return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(this.api.snapshot()));
      case '/api/stream':
        return req.method === 'GET' ? this.openStream(req, res) : send(res, 200, 'text/event-stream; charset=utf-8', '');
      default: {
        const picture = PICTURE_PATH.exec(path);
        if (picture && this.api.picture) return this.sendPicture(BigInt(picture[1]!), res);
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      }
    }
  }

  private sendPicture(eventId: bigint, res: ServerResponse): void {
    this.api.picture!(eventId).then(
      (jpeg) => {
        if (jpeg === null) return send(res, 404, 'text/plain; charset=utf-8', 'no picture of this event\n');
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'image/jpeg', 'content-length': jpeg.length, 'cache-control': 'private, max-age=300' });
        res.end(res.req.method === 'HEAD' ? undefined : jpeg);
      },
      (err: unknown) => send(res, 502, 'text/plain; charset=utf-8', `no picture: ${errorMessage(err)}\n`),
    );
  }

  private post(path: string, req: IncomingMessage, res: ServerResponse): void {
    const match = TEST_PATH.exec(path);
    if (!match) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    const crossSite = this.crossSite(req);
    if (crossSite !== undefined) {
      this.log.warn(`status page: refused a test notification request from ${peerAddress(req)}: ${crossSite}`);
      return sendJson(res, 403, { result: 'refused', detail: crossSite });
    }
    // The body is not used; read it so the connection can be reused.
    req.resume();
    const id = match[1]!;
    this.api.testPush(id).then(
      (answer) => {
        this.log.info(`status page: test notification to device ${id}: ${answer.result} (${answer.detail})`);
        sendJson(res, ANSWER_STATUS[answer.result], answer);
      },
      (err: unknown) => {
        this.log.error(`status page: test notification to device ${id} failed: ${errorMessage(err)}`);
        sendJson(res, 500, { result: 'failed', detail: 'internal error' });
      },
    );
  }

  /** Why this POST looks like it came from another site, or undefined. */
  private crossSite(req: IncomingMessage): string | undefined {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return `Sec-Fetch-Site is ${site}`;
    const given = req.headers['x-zmes-csrf'];
    if (typeof given !== 'string') return 'the X-Zmes-Csrf header is missing';
    const expected = Buffer.from(this.csrfToken);
    const actual = Buffer.from(given);
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return 'the X-Zmes-Csrf header does not match (reload the page)';
    return undefined;
  }

  // --- server-sent events ----------------------------------------------------------------------

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    if (this.streams.size >= (this.options.maxStreams ?? 20)) {
      return send(res, 503, 'text/plain; charset=utf-8', 'too many open status pages\n', { 'retry-after': '10' });
    }
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' });
    res.write('retry: 3000\n\n');
    this.streams.add(res);
    const forget = () => this.streams.delete(res);
    req.on('close', forget);
    res.on('error', forget);
    res.write(frame(this.api.snapshot()));
  }

  /** Coalesces bursts of changes into one push per minPushIntervalMs. */
  private schedulePush(): void {
    if (this.streams.size === 0 || this.pushTimer !== undefined) return;
    const wait = Math.max(0, this.lastPush + (this.options.minPushIntervalMs ?? 250) - this.clock.now());
    this.pushTimer = this.clock.setTimeout(() => {
      this.pushTimer = undefined;
      this.pushNow(false);
    }, wait);
  }

  private pushNow(refresh: boolean): void {
    if (this.streams.size === 0) return;
    if (refresh && this.clock.now() - this.lastPush < (this.options.refreshIntervalMs ?? 5000) / 2) return;
    this.lastPush = this.clock.now();
    const data = frame(this.api.snapshot());
    for (const stream of this.streams) stream.write(data);
  }
}

function frame(snapshot: StatusSnapshot): string {
  return `event: status\ndata: ${JSON.stringify(snapshot)}\n\n`;
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: object): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

/** The TCP peer, IPv4-mapped IPv6 addresses written as IPv4. */
export function peerAddress(req: IncomingMessage): string {
  const raw = req.socket.remoteAddress ?? '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(raw);
  return mapped ? mapped[1]! : raw;
}

/** The host name of a Host header (`name`, `name:port`, `[v6]:port`), lower-case; undefined when absent. */
export function hostName(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(header);
  if (bracketed) return bracketed[1]!.toLowerCase();
  if (isIP(header) === 6) return header.toLowerCase();
  return header.replace(/:\d+$/, '').toLowerCase();
}

/** `[::]` → `::`; a bracketed IPv6 address loses its brackets. */
function bindHost(address: string): string {
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

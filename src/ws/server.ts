import net from 'node:net';
import { watchFile, unwatchFile, type Stats } from 'node:fs';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocketBehavior, us_listen_socket, us_socket_context_t } from 'uWebSockets.js';
import type { Logger } from '../log/logger.js';
import type { Service } from '../lifecycle.js';
import { ZmesError, errorMessage } from '../errors.js';
import { loadUws } from './uws.js';
import { TLS12_CIPHERS, checkTlsFiles, type TlsFiles } from './tls-files.js';
import { Connection, clientAddress, formatRemoteAddress } from './connection.js';
import { bindHost } from '../config/formats.js';
import { Pacer } from '../pacer.js';

export type { TlsFiles } from './tls-files.js';

export interface WsServerOptions {
  /** Bind address; brackets of an IPv6 literal are accepted (`[::]`). */
  address: string;
  /** 0 picks a free port (tests); read the chosen one from `port` after start. */
  port: number;
  tls: TlsFiles | null;
  maxPayloadLength: number;
  maxConnections: number;
  maxBackpressure: number;
  /** Seconds without traffic before uWS closes a socket; uWS pings well before that. */
  idleTimeout: number;
  /** How often the certificate files are checked for changes, in ms. */
  certificateCheckIntervalMs?: number;
  /** Peers whose X-Forwarded-For gives the client address (network.trusted_proxies); none when absent. */
  trustedProxies?: net.BlockList;
  /**
   * Spreads upgrades, frames and closes over event-loop turns (see Pacer); the session handler
   * shares it for the work that follows a login. Default: DEFAULT_TURN_BUDGET_MS per turn.
   */
  pacer?: Pacer;
}

/** A plain HTTP answer of the server's own endpoints. */
export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * The plain HTTP endpoints beside the WebSocket: liveness (`/health`, 200 while the process is
 * sound, with the state of its parts), readiness (`/ready`, 503 while ZoneMinder's database is
 * unreachable) and the signed event pictures (`/picture/<EventId>?exp=…&sig=…`).
 */
export interface HttpEndpoints {
  health(): object;
  ready(): { ready: boolean; reason?: string };
  picture?(idText: string, query: string): Promise<HttpAnswer>;
}

/** What the protocol layer does with connections; the server only moves bytes. */
export interface ConnectionHandler<Session> {
  createSession(remoteAddress: string): Session;
  onOpen(connection: Connection<Session>): void;
  onMessage(connection: Connection<Session>, text: string, isBinary: boolean): void;
  onClose(connection: Connection<Session>, code: number, reason: string): void;
}

interface UserData<Session> {
  connection: Connection<Session>;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** What an upgrade needs of its request, copied while the request is valid. */
interface UpgradeRequest {
  readonly rawAddress: string;
  readonly forwardedFor: string | undefined;
  readonly key: string;
  readonly protocol: string;
  readonly extensions: string;
}

/** Enough for about a hundred frames or logins per turn, short enough that no timer waits noticeably. */
export const DEFAULT_TURN_BUDGET_MS = 2;

/** Closes for going away (server stop); both apps reconnect on it. */
const CLOSE_GOING_AWAY = 1001;

/**
 * The uWebSockets.js listener: plain WS or WSS on any path and any Origin, with limits on
 * frame size, connections and per-socket backpressure. A changed certificate is picked up
 * without a restart by starting a second listener on the same port and closing the old one
 * (existing connections stay on the old context until they end).
 */
export class WsServer<Session> implements Service {
  readonly name = 'websocket server';
  private readonly connections = new Set<Connection<Session>>();
  private listenSocket: us_listen_socket | undefined;
  private app: TemplatedApp | undefined;
  private nextId = 1;
  private boundPort = 0;
  private stopping = false;
  private certWatch: { files: string[]; listener: (curr: Stats, prev: Stats) => void } | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  /** Upgrades, frames and closes in arrival order, a few milliseconds of them per loop turn. */
  private readonly pacer: Pacer;

  constructor(
    private readonly options: WsServerOptions,
    private readonly handler: ConnectionHandler<Session>,
    private readonly log: Logger,
    private readonly endpoints: HttpEndpoints = { health: () => ({}), ready: () => ({ ready: true }) },
  ) {
    this.pacer = options.pacer ?? new Pacer(DEFAULT_TURN_BUDGET_MS);
  }

  get port(): number {
    return this.boundPort;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Live connections, for fan-out. */
  liveConnections(): Iterable<Connection<Session>> {
    return this.connections;
  }

  async start(): Promise<void> {
    const host = bindHost(this.options.address);
    if (this.options.tls) checkTlsFiles(this.options.tls);
    // uWS listens with SO_REUSEPORT, so a second zmes on the same port would silently share
    // the traffic; a plain exclusive bind first turns that into a clear startup error.
    // Port 0 is resolved to a concrete free port first: uWS only shares a port with a second
    // listener (certificate reload) when it was bound by number.
    const port = this.options.port === 0 ? await pickFreePort(host) : this.options.port;
    if (this.options.port !== 0) await assertPortFree(host, port);
    this.app = this.buildApp();
    this.listenSocket = await listen(this.app, host, port);
    this.boundPort = loadUws().us_socket_local_port(this.listenSocket);
    const scheme = this.options.tls ? 'wss' : 'ws';
    this.log.info(`listening for ${scheme}:// connections on ${this.options.address}:${this.boundPort}`);
    if (this.options.tls) this.watchCertificates(this.options.tls);
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unwatchCertificates();
    if (this.listenSocket) {
      loadUws().us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
    for (const connection of this.connections) connection.end(CLOSE_GOING_AWAY, 'server stopping');
    const deadline = Date.now() + 2000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const connection of this.connections) connection.terminate();
    if (this.connections.size > 0) this.log.warn(`${this.connections.size} connections did not close in time`);
  }

  private buildApp(): TemplatedApp {
    const uWS = loadUws();
    const app = this.options.tls
      ? uWS.SSLApp({ cert_file_name: this.options.tls.cert, key_file_name: this.options.tls.key, ssl_ciphers: TLS12_CIPHERS })
      : uWS.App();
    const behavior: WebSocketBehavior<UserData<Session>> = {
      maxPayloadLength: this.options.maxPayloadLength,
      maxBackpressure: this.options.maxBackpressure,
      // A reader that stays behind by more than maxBackpressure is dropped, so one slow phone
      // never makes the server hold unbounded memory or delay anybody else.
      closeOnBackpressureLimit: 1,
      idleTimeout: this.options.idleTimeout,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => {
        const { connection } = ws.getUserData();
        connection.attach(ws);
        this.connections.add(connection);
        this.guard('open', () => this.handler.onOpen(connection));
      },
      message: (ws, message, isBinary) => {
        // The ArrayBuffer is only valid during this call: copy before anything else.
        const text = Buffer.from(message).toString('utf8');
        const { connection } = ws.getUserData();
        this.pacer.run(() => this.guard('message', () => this.handler.onMessage(connection, text, isBinary)));
      },
      drain: (ws) => ws.getUserData().connection.drained(),
      close: (ws, code, message) => {
        const reason = Buffer.from(message).toString('utf8');
        const { connection } = ws.getUserData();
        // The socket is gone now; the protocol layer hears of it after the frames still waiting.
        connection.markClosed();
        this.connections.delete(connection);
        this.pacer.run(() => this.guard('close', () => this.handler.onClose(connection, code, reason)));
      },
    };
    app.ws('/*', behavior);
    app.get('/health', (res) => {
      const body = JSON.stringify({ status: 'ok', ...this.endpoints.health() });
      res.writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store').end(body);
    });
    app.get('/ready', (res) => {
      const { ready, reason } = this.endpoints.ready();
      res.writeStatus(ready ? '200 OK' : '503 Service Unavailable').writeHeader('content-type', 'application/json');
      res.writeHeader('cache-control', 'no-store').end(JSON.stringify(ready ? { status: 'ready' } : { status: 'not ready', reason }));
    });
    const picture = this.endpoints.picture;
    if (picture) app.get('/picture/:id', (res, req) => this.answerLater(res, picture(req.getParameter(0) ?? '', req.getQuery() ?? '')));
    app.any('/*', (res) => {
      res.writeStatus('426 Upgrade Required').writeHeader('content-type', 'text/plain').end('zmes: WebSocket endpoint\n');
    });
    return app;
  }

  /** Answers an HTTP request once `answer` settles; uWS forbids touching `res` after the client left. */
  private answerLater(res: HttpResponse, answer: Promise<HttpAnswer>): void {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    answer
      .catch((err: unknown): HttpAnswer => {
        this.log.error(`HTTP endpoint failed: ${err instanceof Error ? err.message : String(err)}`);
        return { status: 500, contentType: 'text/plain', body: 'internal error\n' };
      })
      .then((result) => {
        if (aborted) return;
        res.cork(() => {
          res.writeStatus(`${result.status} ${STATUS_TEXT[result.status] ?? ''}`.trim()).writeHeader('content-type', result.contentType);
          for (const [name, value] of Object.entries(result.headers ?? {})) res.writeHeader(name, value);
          res.end(result.body);
        });
      }, () => undefined);
  }

  /**
   * Accepts a WebSocket, at once or (in a burst) on a later loop turn: the request is only
   * valid during this call, so what the upgrade needs is copied first, and a client that
   * leaves meanwhile is noticed through onAborted.
   */
  private upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    const request: UpgradeRequest = {
      rawAddress: Buffer.from(res.getRemoteAddressAsText()).toString('utf8'),
      forwardedFor: req.getHeader('x-forwarded-for') || undefined,
      key: req.getHeader('sec-websocket-key'),
      protocol: req.getHeader('sec-websocket-protocol'),
      extensions: req.getHeader('sec-websocket-extensions'),
    };
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    this.pacer.run((deferred) => {
      if (aborted) return;
      // Outside uWS's own callback a response must be corked to be written in one go.
      if (deferred) res.cork(() => this.accept(res, request, context));
      else this.accept(res, request, context);
    });
  }

  private accept(res: HttpResponse, request: UpgradeRequest, context: us_socket_context_t): void {
    const remoteAddress = formatRemoteAddress(request.rawAddress);
    if (this.stopping || this.connections.size >= this.options.maxConnections) {
      this.log.warn(`refusing connection from ${remoteAddress}: ${this.stopping ? 'server stopping' : `connection limit ${this.options.maxConnections} reached`}`);
      res.writeStatus('503 Service Unavailable').end('too many connections\n', true);
      return;
    }
    const forwardedFor = request.forwardedFor;
    const client = clientAddress(remoteAddress, forwardedFor, this.options.trustedProxies);
    const connection = new Connection<Session>(
      this.nextId++,
      client,
      forwardedFor,
      this.handler.createSession(client),
      (c) => this.log.warn(`connection #${c.id} from ${c.remoteAddress} is not reading: dropping frames (backpressure)`),
      remoteAddress,
    );
    res.upgrade<UserData<Session>>({ connection }, request.key, request.protocol, request.extensions, context);
  }

  /** Every uWS callback is a boundary: a throw inside would take the process down. */
  private guard(where: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error(`unexpected error in websocket ${where} handler: ${errorMessage(err)}`);
    }
  }

  private watchCertificates(files: TlsFiles): void {
    const interval = this.options.certificateCheckIntervalMs ?? 10_000;
    const listener = (curr: Stats, prev: Stats) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size) return;
      // cert and key are usually replaced together: wait for both writes to land.
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => void this.reloadCertificates(files), Math.min(1000, interval));
    };
    const watched = [files.cert, files.key];
    for (const file of watched) watchFile(file, { interval, persistent: false }, listener);
    this.certWatch = { files: watched, listener };
  }

  private unwatchCertificates(): void {
    clearTimeout(this.reloadTimer);
    if (!this.certWatch) return;
    for (const file of this.certWatch.files) unwatchFile(file, this.certWatch.listener);
    this.certWatch = undefined;
  }

  private async reloadCertificates(files: TlsFiles): Promise<void> {
    if (this.stopping) return;
    try {
      checkTlsFiles(files);
    } catch (err) {
      this.log.error(`certificate changed but cannot be used, keeping the current one: ${errorMessage(err)}`);
      return;
    }
    try {
      const app = this.buildApp();
      const host = bindHost(this.options.address);
      const old = this.listenSocket;
      // Both listeners share the port (SO_REUSEPORT), so no connection is refused meanwhile.
      const listenSocket = await listen(app, host, this.boundPort);
      if (old) loadUws().us_listen_socket_close(old);
      if (this.stopping) {
        loadUws().us_listen_socket_close(listenSocket);
        return;
      }
      this.app = app;
      this.listenSocket = listenSocket;
      this.log.info(`TLS certificate reloaded from ${files.cert}`);
    } catch (err) {
      this.log.error(`TLS certificate reload failed, keeping the current one: ${errorMessage(err)}`);
    }
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function listen(app: TemplatedApp, host: string, port: number): Promise<us_listen_socket> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => {
      if (socket) resolve(socket);
      else reject(new ZmesError('ZMES_LISTEN_FAILED', `cannot listen on ${hostPort(host, port)} (address in use or not available)`));
    });
  });
}

function pickFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ZmesError('ZMES_LISTEN_FAILED', `cannot listen on ${hostPort(host, port)}: ${err.code ?? err.message}`)),
    );
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * Delivery through an FCM proxy (`fcm.fcm_v1_url` + `fcm.fcm_v1_key`): one HTTP POST per device
 * with the classic compact body, the key sent verbatim as the Authorization header (the proxy
 * verifies it and builds the FCM v1 message with the app's own credentials). http:// or https://,
 * keep-alive connections, a bounded number of sockets, a timeout per request.
 */
import http from 'node:http';
import https from 'node:https';
import { classifyProxyNetworkError, classifyProxyResponse, type PushOutcome } from './fcm-errors.js';
import { buildProxyBody, type PayloadOptions, type ProxyBody, type PushRequest } from './fcm-payload.js';
import type { PushTransport } from './push-transport.js';

export interface ProxyTransportOptions {
  readonly url: string;
  /** Sent verbatim as `Authorization`; never logged. */
  readonly key: string;
  /** Per-request limit; a slower answer counts as transient. */
  readonly timeoutMs?: number;
  /** Parallel connections to the proxy. */
  readonly maxSockets?: number;
  /** For tests (a CA for a self-signed proxy) or a corporate proxy; built from the URL otherwise. */
  readonly agent?: http.Agent;
}

/** Largest reply body read (the proxy answers a few hundred bytes). */
const MAX_REPLY = 64 * 1024;

export class ProxyTransport implements PushTransport {
  readonly mode = 'proxy' as const;
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly ownsAgent: boolean;
  private readonly timeoutMs: number;

  constructor(private readonly options: ProxyTransportOptions) {
    this.url = new URL(options.url);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') {
      throw new TypeError(`fcm.fcm_v1_url must be http:// or https://, not ${this.url.protocol}`);
    }
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 32 };
    this.agent = options.agent ?? (this.url.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions));
    this.ownsAgent = options.agent === undefined;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** The URL without credentials or query, for log lines. */
  get endpoint(): string {
    return `${this.url.protocol}//${this.url.host}${this.url.pathname}`;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    if (this.ownsAgent) this.agent.destroy();
  }

  describe(): string {
    return `through the proxy at ${this.endpoint}`;
  }

  deliver(requests: readonly PushRequest[], payload: PayloadOptions, onOutcome: (index: number, outcome: PushOutcome) => void): Promise<void> {
    return this.deliverBodies(requests.map((r) => buildProxyBody(r.content, r.target, payload)), onOutcome);
  }

  /** One POST per body, all concurrently (the agent bounds the sockets); outcomes as they arrive. */
  async deliverBodies(bodies: readonly ProxyBody[], onOutcome: (index: number, outcome: PushOutcome) => void): Promise<void> {
    await Promise.all(bodies.map((body, i) => this.post(body).then((outcome) => onOutcome(i, outcome))));
  }

  private post(body: ProxyBody): Promise<PushOutcome> {
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    const client = this.url.protocol === 'https:' ? https : http;
    return new Promise<PushOutcome>((resolve) => {
      let settled = false;
      const done = (outcome: PushOutcome) => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      const req = client.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': String(payload.length),
            Authorization: this.options.key,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_REPLY) chunks.push(chunk);
          });
          res.on('end', () => {
            const retryAfter = res.headers['retry-after'];
            done(classifyProxyResponse(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), typeof retryAfter === 'string' ? retryAfter : undefined));
          });
          res.on('error', (err) => done(classifyProxyNetworkError(err)));
        },
      );
      req.setTimeout(this.timeoutMs, () => {
        req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      req.on('error', (err) => done(classifyProxyNetworkError(err)));
      req.end(payload);
    });
  }
}

/**
 * One HTTP(S) request to ZoneMinder's web server, with what fetch() on Node 20 cannot give
 * without an extra package: a CA file or no certificate check per request, a hard cap on the
 * body (a picture must not fill the memory), and a deadline on the whole exchange.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface TlsOptions {
  /** Check the server's certificate (zoneminder.verify_tls). */
  readonly verify: boolean;
  /** PEM of the CA that signed it (zoneminder.ca_file), or undefined for the system's CAs. */
  readonly ca?: string | Buffer;
}

export interface HttpRequestOptions {
  readonly method?: 'GET' | 'POST';
  /** application/x-www-form-urlencoded body (POST). */
  readonly form?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Bytes of body kept; beyond that the request fails with `too-large`. */
  readonly maxBytes: number;
  readonly tls: TlsOptions;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Why a request got no response: the message is safe to log (no URL, which may carry a token). */
export class HttpRequestError extends Error {
  constructor(
    readonly kind: 'network' | 'timeout' | 'too-large' | 'tls',
    message: string,
  ) {
    super(message);
    this.name = 'HttpRequestError';
  }
}

const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_|ERR_SSL_|EPROTO)/;

export function sendRequest(url: URL, options: HttpRequestOptions): Promise<HttpResponse> {
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: HttpRequestError) => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(err);
    };
    const req = send(
      url,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers: {
          accept: '*/*',
          'user-agent': 'zmes',
          ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }),
        },
        ...(url.protocol === 'https:' ? { rejectUnauthorized: options.tls.verify, ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca }) } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            fail(new HttpRequestError('too-large', `the response is larger than ${options.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => fail(new HttpRequestError('network', err.message)));
      },
    );
    const timer = setTimeout(() => fail(new HttpRequestError('timeout', `no complete answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    timer.unref();
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = err.code ?? '';
      fail(new HttpRequestError(TLS_CODES.test(code) ? 'tls' : 'network', code ? `${code}: ${err.message}` : err.message));
    });
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}

/** Plain HTTP and server-sent-events clients for the status page (node:http, so any header can be sent). */
import http from 'node:http';
import type { StatusSnapshot } from '../../src/status/status-types.js';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs?: number;
}

export function request(port: number, path: string, options: RequestOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: options.timeoutMs ?? 15_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path} within the timeout`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export async function fetchStatus(port: number): Promise<StatusSnapshot> {
  const answer = await request(port, '/api/status');
  if (answer.status !== 200) throw new Error(`GET /api/status answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as StatusSnapshot;
}

/** The per-process token the page carries for POST requests. */
export async function pageToken(port: number): Promise<string> {
  const page = await request(port, '/');
  const token = /<meta name="zmes-csrf" content="([^"]+)">/.exec(page.body)?.[1];
  if (token === undefined) throw new Error('the page has no zmes-csrf meta tag');
  return token;
}

export interface StatusStream {
  readonly snapshots: StatusSnapshot[];
  readonly headers: http.IncomingHttpHeaders;
  /** The first snapshot received from now on (or already received after the last match) that matches. */
  next(predicate: (snapshot: StatusSnapshot) => boolean, timeoutMs?: number): Promise<StatusSnapshot>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/** Opens /api/stream and parses every `status` event. */
export function openStream(port: number): Promise<StatusStream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/stream', agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET /api/stream answered ${res.statusCode}`));
        return;
      }
      const snapshots: StatusSnapshot[] = [];
      const wakers = new Set<() => void>();
      let buffer = '';
      let cursor = 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n');
          if (!lines.includes('event: status')) continue;
          const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          snapshots.push(JSON.parse(data) as StatusSnapshot);
        }
        for (const wake of wakers) wake();
      });
      res.on('error', () => undefined);
      const ended = new Promise<void>((done) => res.on('close', () => done()));
      resolve({
        ended,
        snapshots,
        headers: res.headers,
        next(predicate, timeoutMs = 10_000) {
          return new Promise((done, fail) => {
            const check = () => {
              while (cursor < snapshots.length) {
                const snapshot = snapshots[cursor++]!;
                if (predicate(snapshot)) {
                  cleanup();
                  done(snapshot);
                  return;
                }
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              fail(new Error(`no matching status snapshot within ${timeoutMs} ms (${snapshots.length} received)`));
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              wakers.delete(check);
            };
            wakers.add(check);
            check();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

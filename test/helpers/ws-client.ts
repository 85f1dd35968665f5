import WebSocket from 'ws';

export interface TestClient {
  ws: WebSocket;
  /** Every frame received so far, parsed. */
  frames: Array<Record<string, unknown>>;
  /** Raw text of every frame received so far. */
  raw: string[];
  send(frame: unknown): void;
  /** Resolves with the first frame (from now or already received after `fromIndex`) matching the predicate. */
  next(predicate?: (frame: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
  close(code?: number): Promise<{ code: number; reason: string }>;
}

export interface ConnectOptions {
  ca?: Buffer;
  path?: string;
  headers?: Record<string, string>;
}

/** A real `ws` client over a real socket, recording every frame it receives. */
export function connectClient(url: string, options: ConnectOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(url + (options.path ?? ''), { ca: options.ca, headers: options.headers });
  const frames: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  let cursor = 0;
  ws.on('message', (data) => {
    const text = data.toString();
    raw.push(text);
    try {
      frames.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      frames.push({ __unparsable: text });
    }
    for (const wake of waiters) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of waiters) wake();
    });
  });
  ws.on('error', () => undefined);
  const client: TestClient = {
    ws,
    frames,
    raw,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next(predicate = () => true, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          while (cursor < frames.length) {
            const frame = frames[cursor++]!;
            if (predicate(frame)) {
              cleanup();
              resolve(frame);
              return;
            }
          }
          if (ws.readyState === WebSocket.CLOSED) {
            cleanup();
            reject(new Error(`connection closed while waiting for a frame; got ${summary(frames)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching frame within ${timeoutMs} ms; got ${summary(frames)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close(code = 1000) {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code);
      return closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
  });
}

/** The frames received, cut short so that a failing test's message stays readable. */
function summary(frames: unknown[]): string {
  const text = JSON.stringify(frames);
  return text.length > 2000 ? `${text.slice(0, 2000)}… (${frames.length} frames)` : text;
}

/** Connects and logs in as `user` (password `pw`, zmNinja's frame), asserting the login succeeded. */
export async function loggedInClient(url: string, user: string, data: Record<string, string> = {}): Promise<TestClient> {
  const c = await connectClient(url);
  c.send({ event: 'auth', data: { user, password: 'pw', appversion: '1.8.001', ...data }, token: '' });
  const reply = await c.next((f) => f['event'] === 'auth');
  if (reply['status'] !== 'Success') throw new Error(`login of ${user} refused: ${JSON.stringify(reply)}`);
  return c;
}

/** Resolves once the server answered a version request: every frame it queued for `c` before has arrived. */
export async function flushed(c: TestClient): Promise<void> {
  c.send({ event: 'control', data: { type: 'version' } });
  await c.next((f) => f['event'] === 'control' && f['type'] === 'version');
}

import type { WebSocket } from 'uWebSockets.js';

/** Outcome of a send, from uWS's 0/1/2 return code, plus our own "closed". */
export type SendResult = 'sent' | 'buffered' | 'dropped' | 'closed';

/**
 * One WebSocket connection as the rest of zmes sees it. It hides the uWS socket so that
 * no code path can touch a socket after uWS closed it (which throws), and counts what
 * backpressure dropped so the log gets one line per burst instead of one per frame.
 */
export class Connection<Session> {
  private socket: WebSocket<{ connection: Connection<Session> }> | undefined;
  private closedFlag = false;
  private droppedInBurst = 0;
  droppedTotal = 0;
  readonly openedAt = Date.now();

  constructor(
    readonly id: number,
    readonly remoteAddress: string,
    /** From X-Forwarded-For, only logged: it is whatever the client or a proxy claims. */
    readonly forwardedFor: string | undefined,
    readonly session: Session,
    private readonly onDropped: (connection: Connection<Session>, droppedInBurst: number) => void,
  ) {}

  /** Called by the server from uWS's open handler. */
  attach(socket: WebSocket<{ connection: Connection<Session> }>): void {
    this.socket = socket;
  }

  /** Called by the server from uWS's close handler; afterwards every send is a no-op. */
  markClosed(): void {
    this.closedFlag = true;
    this.socket = undefined;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Bytes waiting in the socket's send buffer (0 once closed). */
  get bufferedAmount(): number {
    return this.socket?.getBufferedAmount() ?? 0;
  }

  send(text: string): SendResult {
    const socket = this.socket;
    if (this.closedFlag || socket === undefined) return 'closed';
    const status = socket.send(text, false, false);
    if (status === 1) {
      if (this.droppedInBurst > 0) this.droppedInBurst = 0;
      return 'sent';
    }
    if (status === 0) return 'buffered';
    this.droppedTotal++;
    if (this.droppedInBurst++ === 0) this.onDropped(this, 1);
    return 'dropped';
  }

  /** Several frames to one socket in one syscall / TLS record. */
  cork(fn: () => void): void {
    const socket = this.socket;
    if (this.closedFlag || socket === undefined) return;
    socket.cork(fn);
  }

  /** Graceful close with a close frame, after what is already queued. */
  end(code: number, reason: string): void {
    const socket = this.socket;
    if (this.closedFlag || socket === undefined) return;
    socket.end(code, reason);
  }

  /** Immediate close without a close frame. */
  terminate(): void {
    const socket = this.socket;
    if (this.closedFlag || socket === undefined) return;
    socket.close();
  }

  /** The backpressure burst is over (uWS drain event). */
  drained(): void {
    this.droppedInBurst = 0;
  }
}

/**
 * uWS gives remote addresses as full IPv6 text, IPv4 clients as mapped addresses
 * (`0000:…:ffff:7f00:0001`); logs and the per-address login limiter want the usual forms.
 */
export function formatRemoteAddress(raw: string): string {
  const mapped = /^(?:0{1,4}:){5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(raw) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(raw);
  if (mapped) {
    const high = parseInt(mapped[1]!, 16);
    const low = parseInt(mapped[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  if (!raw.includes(':')) return raw;
  try {
    return new URL(`http://[${raw}]/`).hostname.slice(1, -1);
  } catch {
    return raw;
  }
}

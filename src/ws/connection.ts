import { isIP, type BlockList } from 'node:net';
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
    /** The client: the TCP peer, or what a trusted proxy reported (see clientAddress); for logs and login limits. */
    readonly remoteAddress: string,
    /** The X-Forwarded-For header as received; beyond clientAddress's use, only logged. */
    readonly forwardedFor: string | undefined,
    readonly session: Session,
    private readonly onDropped: (connection: Connection<Session>, droppedInBurst: number) => void,
    /** The TCP peer; differs from remoteAddress when a trusted proxy forwarded the connection. */
    readonly peerAddress: string = remoteAddress,
  ) {}

  get viaProxy(): boolean {
    return this.peerAddress !== this.remoteAddress;
  }

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

  /** A frame as text, or already UTF-8 encoded (one buffer shared by many sockets). */
  send(frame: string | Uint8Array): SendResult {
    const socket = this.socket;
    if (this.closedFlag || socket === undefined) return 'closed';
    const status = socket.send(frame, false, false);
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

/**
 * The client address of a connection from `peer`: when the peer is a trusted proxy, the
 * rightmost X-Forwarded-For entry that is not itself a trusted proxy. Entries left of it are
 * whatever the client chose to send, so they are never used. An entry that is not an IP address
 * means the chain cannot be followed, and the peer is kept.
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trustedProxies: BlockList | undefined): string {
  if (forwardedFor === undefined || trustedProxies === undefined || !isTrusted(peer, trustedProxies)) return peer;
  const hops = forwardedFor.split(',').map((hop) => hop.trim());
  let client: string | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const address = normaliseIp(hops[i]!);
    if (address === undefined) return peer;
    client = address;
    if (!isTrusted(address, trustedProxies)) break;
  }
  // Every hop trusted: the leftmost, the furthest a trusted proxy vouched for.
  return client ?? peer;
}

function isTrusted(address: string, list: BlockList): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** An IP address in the form formatRemoteAddress gives, or undefined for anything else. */
function normaliseIp(text: string): string | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family !== 6 || bare.includes('%')) return undefined;
  // Compressed first, so an IPv4-mapped address in any spelling becomes dotted IPv4.
  return formatRemoteAddress(formatRemoteAddress(bare));
}

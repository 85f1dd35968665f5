/**
 * Picture links zmes signs itself, so a phone can show an event's picture without reaching
 * ZoneMinder or holding its credentials: `<public_url>/picture/<EventId>?exp=<unix s>&sig=<hmac>`,
 * the HMAC-SHA256 of "<EventId>.<exp>" under a key only this zmes knows. Pure: no I/O, no clock.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const PICTURE_PATH = '/picture/';

export interface PictureLinkOptions {
  /** Where phones reach zmes (network.public_url), without a trailing slash. */
  readonly baseUrl: string;
  /** zoneminder.picture_link_lifetime, in seconds. */
  readonly lifetimeSec: number;
  /** Read on first use (it may come from a file), then kept. */
  readonly key: () => Uint8Array;
}

export type LinkVerdict = { readonly ok: true; readonly eventId: bigint } | { readonly ok: false; readonly reason: 'malformed' | 'signature' | 'expired' };

export class PictureLinks {
  private key: Uint8Array | undefined;

  constructor(private readonly options: PictureLinkOptions) {}

  /** The link to the picture of `eventId`, valid from `nowMs` for the configured lifetime. */
  sign(eventId: bigint, nowMs: number): string {
    const exp = Math.floor(nowMs / 1000) + this.options.lifetimeSec;
    return `${this.options.baseUrl}${PICTURE_PATH}${eventId}?exp=${exp}&sig=${this.signature(String(eventId), String(exp))}`;
  }

  /** Checks a request's path part after /picture/ and its query string. */
  verify(idText: string, query: string, nowMs: number): LinkVerdict {
    const params = new URLSearchParams(query);
    const exp = params.get('exp') ?? '';
    const sig = params.get('sig') ?? '';
    if (!/^[1-9]\d{0,19}$/.test(idText) || !/^\d{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return { ok: false, reason: 'malformed' };
    const expected = Buffer.from(this.signature(idText, exp));
    if (!timingSafeEqual(expected, Buffer.from(sig))) return { ok: false, reason: 'signature' };
    if (Number(exp) * 1000 < nowMs) return { ok: false, reason: 'expired' };
    return { ok: true, eventId: BigInt(idText) };
  }

  private signature(eventId: string, exp: string): string {
    this.key ??= this.options.key();
    return createHmac('sha256', this.key).update(`${eventId}.${exp}`).digest('base64url');
  }
}

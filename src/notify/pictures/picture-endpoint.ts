/**
 * `GET /picture/<EventId>?exp=…&sig=…` on zmes's own port: the event picture behind a link zmes
 * signed (picture-links.ts), fetched through ZoneMinder's API, so the phone never needs
 * ZoneMinder's address or credentials. Unsigned, altered or expired links get 403.
 */
import type { Clock } from '../../clock.js';
import type { Logger } from '../../log/logger.js';
import { ZmApiError } from '../../zm/api/zm-api-client.js';
import type { EventPictures } from './event-pictures.js';
import type { PictureLinks } from './picture-links.js';

export interface PictureAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

const text = (status: number, body: string): PictureAnswer => ({ status, contentType: 'text/plain', body: `${body}\n` });

export function pictureEndpoint(
  links: Pick<PictureLinks, 'verify'>,
  pictures: Pick<EventPictures, 'forLink'>,
  clock: Pick<Clock, 'now'>,
  log: Logger,
): (idText: string, query: string) => Promise<PictureAnswer> {
  return async (idText, query) => {
    const verdict = links.verify(idText, query, clock.now());
    if (!verdict.ok) {
      log.debug(() => `picture link refused (${verdict.reason})`);
      return text(403, 'forbidden');
    }
    try {
      const jpeg = await pictures.forLink(verdict.eventId);
      if (jpeg === null) return text(404, 'no picture of this event');
      return { status: 200, contentType: 'image/jpeg', body: jpeg, headers: { 'cache-control': 'private, max-age=300' } };
    } catch (err) {
      const down = err instanceof ZmApiError && err.kind === 'down';
      log.debug(() => `picture of event ${verdict.eventId} unavailable: ${err instanceof Error ? err.message : String(err)}`);
      return text(down ? 503 : 502, down ? 'ZoneMinder is unreachable' : 'ZoneMinder did not give the picture');
    }
  };
}

/**
 * Event pictures from ZoneMinder's API, for Home Assistant's image entity and for the picture
 * links zmes signs. At an event's start it fetches the first alarmed frame (else the snapshot);
 * at its end the hook's detection frame (else the snapshot, by then the highest-scoring frame),
 * and announces it only when it differs. A frame ZoneMinder has not written yet is tried again
 * a few times; then the event goes without a picture, logged. None of this delays the alarm:
 * it runs beside the notification pipeline, not in it.
 */
import { LRUCache } from 'lru-cache';
import type { Clock, Timer } from '../../clock.js';
import type { EventBus } from '../../event-bus.js';
import { errorMessage } from '../../errors.js';
import type { Service } from '../../lifecycle.js';
import type { Logger } from '../../log/logger.js';
import type { EventPicture, ZmesEvents } from '../../domain/bus-events.js';
import type { ZmEvent } from '../../domain/zm-event.js';
import { ZmApiError, type PictureFrame, type ZmApiClient } from '../../zm/api/zm-api-client.js';

export interface EventPicturesOptions {
  /** Waits before the 2nd, 3rd… attempt when no frame is there yet or ZoneMinder failed. */
  readonly retryDelaysMs: readonly number[];
  /** Events whose latest picture is kept for the picture links. */
  readonly maxCached: number;
}

export const DEFAULT_PICTURE_OPTIONS: EventPicturesOptions = { retryDelaysMs: [1000, 2000, 4000], maxCached: 64 };

/** Bytes of pictures each cache keeps. */
const CACHE_BYTES = 16 * 1024 * 1024;

const START_FRAMES: readonly PictureFrame[] = ['alarm', 'snapshot'];
const END_FRAMES: readonly PictureFrame[] = ['objdetect', 'snapshot'];
const LINK_FRAMES: readonly PictureFrame[] = ['objdetect', 'alarm', 'snapshot'];

export class EventPictures implements Service {
  readonly name = 'event pictures';
  private readonly latest: LRUCache<bigint, EventPicture>;
  /** Pictures fetched for links of events this process did not see (older ones, after a restart). */
  private readonly fetchedForLinks: LRUCache<bigint, Buffer>;
  private readonly timers = new Set<Timer>();
  private readonly inflight = new Set<Promise<unknown>>();
  private dispose: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly bus: EventBus<ZmesEvents>,
    private readonly api: Pick<ZmApiClient, 'eventPicture'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: EventPicturesOptions = DEFAULT_PICTURE_OPTIONS,
  ) {
    // Bounded in bytes too: a picture may be up to zoneminder.max_picture_size.
    this.latest = new LRUCache({ max: options.maxCached, maxSize: CACHE_BYTES, sizeCalculation: (p) => Math.max(1, p.jpeg.length) });
    this.fetchedForLinks = new LRUCache({ max: options.maxCached, maxSize: CACHE_BYTES, sizeCalculation: (jpeg) => Math.max(1, jpeg.length) });
  }

  start(): Promise<void> {
    this.stopped = false;
    this.dispose ??= this.bus.on('zm:event', (change) => {
      if (change.kind === 'start') this.fetch(change.event, 'start', START_FRAMES, 0);
      else if (change.kind === 'end' && change.how === 'ended') this.fetch(change.event, 'end', END_FRAMES, 0);
    });
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.dispose?.();
    this.dispose = undefined;
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
    await Promise.allSettled([...this.inflight]);
  }

  /** Resolves when no fetch is running (tests). Scheduled retries do not count. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** The best picture of an event for a picture link: the latest fetched, else fetched now. */
  async forLink(eventId: bigint): Promise<Buffer | null> {
    const cached = this.latest.get(eventId)?.jpeg ?? this.fetchedForLinks.get(eventId);
    if (cached) return cached;
    for (const frame of LINK_FRAMES) {
      const jpeg = await this.api.eventPicture(eventId, frame);
      if (jpeg !== null) {
        // Several phones open the same link: ask ZoneMinder once.
        this.fetchedForLinks.set(eventId, jpeg);
        return jpeg;
      }
    }
    return null;
  }

  private fetch(event: ZmEvent, phase: 'start' | 'end', frames: readonly PictureFrame[], attempt: number): void {
    if (this.stopped) return;
    const work = this.attempt(event, phase, frames, attempt);
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  private async attempt(event: ZmEvent, phase: 'start' | 'end', frames: readonly PictureFrame[], attempt: number): Promise<void> {
    const what = `event ${event.eventId} (monitor ${event.monitorId})`;
    let problem: string;
    try {
      for (const frame of frames) {
        const jpeg = await this.api.eventPicture(event.eventId, frame);
        if (jpeg !== null) {
          this.announce({ monitorId: event.monitorId, eventId: event.eventId, phase, frame, jpeg });
          return;
        }
      }
      problem = 'ZoneMinder has no picture of it yet';
    } catch (err) {
      // Retrying cannot help a refused login, a disabled API or a picture over the size limit.
      if (err instanceof ZmApiError && (err.kind === 'refused' || err.kind === 'disabled' || err.kind === 'too-large')) {
        this.log.warn(`no ${phase} picture for ${what}: ${err.message}`);
        return;
      }
      problem = errorMessage(err);
    }
    const delay = this.options.retryDelaysMs[attempt];
    if (delay === undefined || this.stopped) {
      this.log.warn(`no ${phase} picture for ${what} after ${attempt + 1} attempts: ${problem}`);
      return;
    }
    this.log.debug(() => `${phase} picture for ${what}: ${problem}; trying again in ${delay} ms`);
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      this.fetch(event, phase, frames, attempt + 1);
    }, delay);
    this.timers.add(timer);
  }

  private announce(picture: EventPicture): void {
    const previous = this.latest.get(picture.eventId);
    if (previous && previous.jpeg.equals(picture.jpeg)) {
      this.log.debug(() => `${picture.phase} picture of event ${picture.eventId}: unchanged`);
      return;
    }
    this.latest.set(picture.eventId, picture);
    this.log.debug(() => `${picture.phase} picture of event ${picture.eventId}: ${picture.frame}, ${picture.jpeg.length} bytes`);
    this.bus.emit('zm:picture', picture);
  }
}

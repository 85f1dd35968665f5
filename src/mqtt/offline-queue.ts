/**
 * Event messages held while the broker is unreachable, sent in order after the reconnect.
 *
 * Only messages that a later re-send cannot restore belong here (the classic per-monitor message,
 * the Home Assistant `event` entity): retained state is re-published whole after every connect,
 * where the last value is all that matters.
 *
 * Bounded two ways, whichever is hit first: a number of messages and an age. When full, the
 * oldest message makes room for the new one; a message older than the age limit is dropped
 * (old alarms sent long after the fact mislead more than they help). Pure: the caller passes
 * the time, so the bounds are tested without waiting.
 */

export interface OfflineQueueLimits {
  /** Messages held at most; the oldest is dropped first. */
  readonly maxMessages: number;
  /** A message older than this is dropped instead of sent. */
  readonly maxAgeMs: number;
}

export const DEFAULT_OFFLINE_QUEUE: OfflineQueueLimits = { maxMessages: 1000, maxAgeMs: 10 * 60_000 };

export interface QueuedMessage {
  readonly topic: string;
  readonly payload: string | Buffer;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  /** When it was queued (caller's clock, ms). */
  readonly queuedAt: number;
}

/** Messages lost from the queue since the last drain, by cause. */
export interface QueueLosses {
  /** Dropped to make room (the queue was full). */
  readonly overflowed: number;
  /** Dropped for age. */
  readonly expired: number;
}

export class OfflineQueue {
  // A ring buffer: dropping the oldest of 1,000 messages must not shift the other 999.
  private readonly slots: Array<QueuedMessage | undefined>;
  private head = 0;
  private count = 0;
  private overflowed = 0;
  private expired = 0;

  constructor(readonly limits: OfflineQueueLimits = DEFAULT_OFFLINE_QUEUE) {
    if (!Number.isInteger(limits.maxMessages) || limits.maxMessages < 1) throw new RangeError(`maxMessages must be a positive integer, not ${limits.maxMessages}`);
    if (!(limits.maxAgeMs > 0)) throw new RangeError(`maxAgeMs must be positive, not ${limits.maxAgeMs}`);
    this.slots = new Array<QueuedMessage | undefined>(limits.maxMessages);
  }

  get size(): number {
    return this.count;
  }

  /** Losses since the last drain(), without resetting them. */
  get losses(): QueueLosses {
    return { overflowed: this.overflowed, expired: this.expired };
  }

  push(message: QueuedMessage): void {
    this.prune(message.queuedAt);
    if (this.count === this.slots.length) {
      this.shift();
      this.overflowed++;
    }
    this.slots[(this.head + this.count) % this.slots.length] = message;
    this.count++;
  }

  /** Every message still young enough, oldest first; empties the queue and resets the losses. */
  drain(now: number): { messages: QueuedMessage[]; losses: QueueLosses } {
    this.prune(now);
    const messages: QueuedMessage[] = [];
    while (this.count > 0) messages.push(this.shift());
    const losses = this.losses;
    this.overflowed = 0;
    this.expired = 0;
    return { messages, losses };
  }

  /** Drops the messages that are too old by now (counted in `losses`). */
  prune(now: number): void {
    // Queued in time order, so the expired ones are all at the head.
    while (this.count > 0 && now - this.peek().queuedAt > this.limits.maxAgeMs) {
      this.shift();
      this.expired++;
    }
  }

  private peek(): QueuedMessage {
    const message = this.slots[this.head];
    if (message === undefined) throw new Error('offline queue: empty slot at the head');
    return message;
  }

  private shift(): QueuedMessage {
    const message = this.peek();
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    return message;
  }
}

/**
 * The outcome of the last push to each device, and of pushes overall, for the status page. It
 * sees the results by standing between the FCM channel and the sender (`observe`), so neither
 * knows of it; the test-notification action records its own.
 */
import { LRUCache } from 'lru-cache';
import { maskToken } from '../log/logger.js';
import type { FcmSender, PushResult, PushStatus } from '../push/fcm-sender.js';

export interface RecordedPush {
  /** Unix ms. */
  readonly at: number;
  readonly status: PushStatus;
  readonly detail: string;
  readonly test: boolean;
}

export interface PushHappening {
  readonly at: number;
  readonly text: string;
}

type Sender = Pick<FcmSender, 'send'>;

export class PushResults {
  /** Token → last result; as many as the token store may hold. */
  private readonly byToken: LRUCache<string, RecordedPush>;
  private success: PushHappening | undefined;
  private failure: PushHappening | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly now: () => number = Date.now,
    maxDevices = 10_000,
  ) {
    this.byToken = new LRUCache({ max: maxDevices });
  }

  record(result: Pick<PushResult, 'token' | 'status' | 'detail'>, test = false): void {
    const at = this.now();
    this.byToken.set(result.token, { at, status: result.status, detail: result.detail, test });
    const what = `${test ? 'test push' : 'push'} to ${maskToken(result.token)}`;
    if (result.status === 'ok') this.success = { at, text: `${what} accepted` };
    else this.failure = { at, text: `${what}: ${result.status} (${result.detail})` };
    for (const listener of [...this.listeners]) listener();
  }

  /** `sender` with every result recorded before the caller's own `onResult` sees it. */
  observe(sender: Sender): Sender {
    return {
      send: (batch, onResult) =>
        sender.send(batch, (result) => {
          this.record(result);
          onResult?.(result);
        }),
    };
  }

  lastFor(token: string): RecordedPush | undefined {
    return this.byToken.get(token);
  }

  get lastSuccess(): PushHappening | undefined {
    return this.success;
  }

  get lastFailure(): PushHappening | undefined {
    return this.failure;
  }

  onRecord(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

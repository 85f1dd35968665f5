/**
 * What FcmSender needs from a delivery path: one attempt per device, outcomes reported per
 * device as they arrive. Retries, logging and result bookkeeping stay in the sender, so a
 * transport only knows its wire format.
 */
import type { PushOutcome } from './fcm-errors.js';
import type { PayloadOptions, PushRequest } from './fcm-payload.js';

export interface PushTransport {
  readonly mode: 'direct' | 'proxy';
  /** May throw ZmesError (ZMES_CONFIG_INVALID) for unusable credentials. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Where pushes go, for the startup log line (no secrets). */
  describe(): string;
  /**
   * Tries each request once. `onOutcome(i, …)` must be called exactly once per index; the
   * promise settles after the last one.
   */
  deliver(requests: readonly PushRequest[], payload: PayloadOptions, onOutcome: (index: number, outcome: PushOutcome) => void): Promise<void>;
}

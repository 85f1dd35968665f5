/**
 * The per-device push bookkeeping around FcmSender.send(), in the classic order: monthly cap,
 * badge + 1 (persisted before sending), send; then, per result, remove a dead token or record
 * the send for the monitor's interval (start notifications only: end notifications never start
 * an interval, protocol.md §6). Who gets a push (filters, intervals, duplicates, pushstate) is
 * decided before this, by the caller.
 */
import { maskToken, type Logger } from '../log/logger.js';
import type { TokenRecord, TokenStore } from '../tokens/token-store.js';
import type { PushContent, PushRequest } from './fcm-payload.js';
import type { FcmSender, PushResult } from './fcm-sender.js';

export interface PushDispatchDeps {
  readonly store: TokenStore;
  readonly sender: Pick<FcmSender, 'send'>;
  readonly log: Logger;
}

export interface DispatchOptions {
  /** Unix ms used for the monthly cap and last-sent times. */
  readonly now: number;
  /** Called once per device as soon as its outcome is final (e.g. to send the supplementary WebSocket frame). */
  readonly onResult?: (result: PushResult) => void;
}

/** Pushes `content` to each record; resolves with the results of the devices actually tried. */
export async function dispatchPush(
  deps: PushDispatchDeps,
  content: PushContent,
  records: readonly TokenRecord[],
  options: DispatchOptions,
): Promise<PushResult[]> {
  const { store, sender, log } = deps;
  const requests: PushRequest[] = [];
  for (const record of records) {
    // Refused: the monthly cap (the store logs it once) or a token removed meanwhile.
    if (!store.tryConsume(record.token, options.now)) {
      log.debug(() => `push to ${maskToken(record.token)} skipped (monthly limit or no longer registered)`);
      continue;
    }
    const badge = store.nextBadge(record.token) ?? record.badge + 1;
    requests.push({
      content,
      target: { token: record.token, platform: record.platform, clientKind: record.clientKind, badge, profile: record.profile },
    });
  }
  const monitorId = Number(content.monitorId);
  return sender.send(requests, (result) => {
    if (result.status === 'invalid-token') store.remove(result.token, `FCM rejected it (${result.detail})`);
    else if (result.status === 'ok' && content.phase === 'start') store.recordSent(result.token, monitorId, options.now);
    options.onResult?.(result);
  });
}

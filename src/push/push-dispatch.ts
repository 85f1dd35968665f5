/**
 * The per-device push bookkeeping around FcmSender.send(), in the classic order: monthly cap and
 * badge + 1 (persisted before sending), send; then, per result, forget a dead token or record the
 * send — each through the registry the device came from (push-registry.ts). Who gets a push
 * (filters, intervals, duplicates, pushstate) is decided before this, by the caller.
 */
import { errorMessage } from '../errors.js';
import { maskToken, type Logger } from '../log/logger.js';
import type { PushContent, PushRequest } from './fcm-payload.js';
import type { FcmSender, PushResult } from './fcm-sender.js';
import type { PushDevice } from './push-registry.js';

export interface PushDispatchDeps {
  readonly sender: Pick<FcmSender, 'send'>;
  readonly log: Logger;
}

export interface DispatchOptions {
  /** Unix ms used for the monthly cap and last-sent times. */
  readonly now: number;
  /** Called once per device as soon as its outcome is final (e.g. to send the supplementary WebSocket frame). */
  readonly onResult?: (result: PushResult, device: PushDevice) => void;
}

/** Pushes `content` to each device; resolves with the results of the devices actually tried. */
export async function dispatchPush(
  deps: PushDispatchDeps,
  content: PushContent,
  devices: readonly PushDevice[],
  options: DispatchOptions,
): Promise<PushResult[]> {
  const { sender, log } = deps;
  const requests: PushRequest[] = [];
  const deviceOf = new Map<string, PushDevice>();
  for (const device of devices) {
    let badge: number | undefined;
    try {
      badge = await device.registry.prepare(device, options.now);
    } catch (err) {
      log.warn(`push to ${maskToken(device.token)} skipped: ${device.registry.name} could not be updated (${errorMessage(err)})`);
      continue;
    }
    // Refused: the monthly cap (the registry logs it once) or a token removed meanwhile.
    if (badge === undefined) {
      log.debug(() => `push to ${maskToken(device.token)} skipped (monthly limit or no longer registered)`);
      continue;
    }
    deviceOf.set(device.token, device);
    requests.push({
      content,
      target: { token: device.token, platform: device.platform, clientKind: device.clientKind, badge, profile: device.profile },
    });
  }
  const monitorId = Number(content.monitorId);
  const bookkeeping: Promise<void>[] = [];
  const results = await sender.send(requests, (result) => {
    const device = deviceOf.get(result.token)!;
    const { registry } = device;
    const done =
      result.status === 'invalid-token'
        ? registry.forget(device, `FCM rejected it (${result.detail})`)
        : result.status === 'ok'
          ? registry.delivered(device, monitorId, content.phase, options.now)
          : Promise.resolve();
    bookkeeping.push(done.catch((err: unknown) => log.warn(`${registry.name}: push to ${maskToken(result.token)} not recorded (${errorMessage(err)})`)));
    options.onResult?.(result, device);
  });
  await Promise.all(bookkeeping);
  return results;
}

import type { EventBus } from '../../event-bus.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { PayloadOptions } from '../../push/fcm-payload.js';
import { buildPushContent } from '../../push/fcm-payload.js';
import type { FcmSender } from '../../push/fcm-sender.js';
import { dispatchPush } from '../../push/push-dispatch.js';
import type { PushDevices } from './push-devices.js';
import { mergeDevices, type PushDevice, type PushRegistry } from '../../push/push-registry.js';
import type { MonitorVisibility } from '../../zm/auth/permissions.js';
import { decide } from '../recipients.js';
import { routedTo, type Channel } from './channel.js';
import type { Notification, Phase } from '../../domain/notification.js';
import type { ZmesEvents } from '../../domain/bus-events.js';

/**
 * Once-only pushes when several nodes share the work (src/cluster): only the lease holder
 * pushes, with every registry fresh, and claims each (event, phase, device) in the push ledger
 * first so that no push is repeated or lost when the lease changes hands.
 */
export interface SharedPushing {
  /** The lease epoch while this node may push; undefined otherwise. */
  epoch(): number | undefined;
  /** Reads what other nodes changed in the shared registry. */
  refresh(): Promise<void>;
  claim(eventId: bigint, phase: Phase, devices: readonly PushDevice[], epoch: number): Promise<{ mine: readonly PushDevice[]; resumed: number; done: number }>;
  settle(eventId: bigint, phase: Phase, outcomes: ReadonlyMap<string, 'sent' | 'failed' | 'skipped' | 'invalid'>): Promise<void>;
}

/** The monitor permissions of the ZoneMinder user a token was registered by. */
export type VisibilityOf = (zmUser: string | undefined) => Promise<MonitorVisibility>;

/**
 * Delivers notifications by Firebase push to every registered device (of every registry, one
 * push per token) whose filter, interval and ZoneMinder permissions allow it, whether or not the
 * app is connected; a connected owner socket
 * then gets the alarm frame too (`supplementary` after a successful push, the normal frame when
 * the push could not be sent), so a phone is alerted exactly once.
 */
export class FcmChannel implements Channel {
  readonly name = 'push channel';
  readonly channel = 'fcm';
  private dispose: (() => void) | undefined;
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly bus: EventBus<ZmesEvents>,
    private readonly registries: readonly PushRegistry[],
    private readonly sender: Pick<FcmSender, 'send'>,
    private readonly devices: PushDevices,
    private readonly payload: PayloadOptions,
    private readonly visibilityOf: VisibilityOf,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly shared?: SharedPushing,
  ) {}

  start(): Promise<void> {
    this.dispose ??= this.bus.on('notification', (n) => this.track(this.deliver(n)));
    return Promise.resolve();
  }

  /** Unsubscribes and waits for pushes under way (their retries are bounded by the sender). */
  async stop(): Promise<void> {
    this.dispose?.();
    this.dispose = undefined;
    await Promise.allSettled([...this.inflight]);
  }

  async deliver(notification: Notification): Promise<void> {
    if (!routedTo(notification, this)) return;
    const { event, phase } = notification;
    const epoch = this.shared?.epoch();
    if (this.shared && epoch === undefined) return;
    await this.shared?.refresh();
    // With several nodes, decide by the time of detection, so that a holder re-delivering after
    // a takeover reaches the verdict the previous holder reached.
    const now = this.shared ? Math.min(notification.detectedAt, this.now()) : this.now();
    const eligible: PushDevice[] = [];
    for (const device of await this.allDevices()) {
      if (device.pushstate !== 'enabled') continue;
      const visibility = await this.visibilityOf(device.zmUser);
      const verdict = decide({ visibility, filter: device.filter, lastSentAt: device.lastSentAt(event.monitorId) }, event.monitorId, phase, now);
      if (verdict === 'send') eligible.push(device);
    }
    if (eligible.length === 0) return;
    let targets: readonly PushDevice[] = eligible;
    if (this.shared && epoch !== undefined) {
      const claims = await this.shared.claim(event.eventId, phase, eligible, epoch);
      targets = claims.mine;
      if (claims.resumed > 0) {
        this.log.warn(`event ${event.eventId} ${phase}: ${claims.resumed} push(es) the previous lease holder claimed but did not finish are sent again`);
      }
      if (targets.length === 0) return;
    }
    const content = buildPushContent(notification, this.payload);
    const outcomes = new Map<string, 'sent' | 'failed' | 'skipped' | 'invalid'>();
    let ok = 0;
    let failed = 0;
    let removed = 0;
    await dispatchPush({ sender: this.sender, log: this.log }, content, targets, {
      now,
      onResult: (result) => {
        if (result.status === 'ok') ok++;
        else if (result.status === 'invalid-token') removed++;
        else failed++;
        outcomes.set(result.token, result.status === 'ok' ? 'sent' : result.status === 'invalid-token' ? 'invalid' : 'failed');
        this.devices.afterPush(result.token, notification, result.status === 'ok');
      },
    });
    // Devices skipped before sending (monthly cap) still get the alarm on their open socket.
    for (const device of targets) {
      if (outcomes.has(device.token)) continue;
      outcomes.set(device.token, 'skipped');
      this.devices.afterPush(device.token, notification, false);
    }
    await this.shared?.settle(event.eventId, phase, outcomes);
    this.log.info(
      `event ${event.eventId} ${phase} on monitor ${event.monitorName} (${event.monitorId}): push sent to ${ok} of ${targets.length} device(s)` +
        (failed + removed > 0 ? ` (${failed} failed, ${removed} invalid token(s) removed)` : ''),
    );
  }

  /** Every registry's devices, one per token; a registry that cannot be read adds none this time. */
  private async allDevices(): Promise<PushDevice[]> {
    const lists = await Promise.all(
      this.registries.map((registry) =>
        registry.devices().catch((err: unknown) => {
          this.log.warn(`${registry.name} could not be read: ${errorMessage(err)}`);
          return [];
        }),
      ),
    );
    return mergeDevices(lists);
  }

  private track(work: Promise<void>): void {
    const guarded = work.catch((err: unknown) => this.log.error(`push delivery failed: ${errorMessage(err)}`));
    this.inflight.add(guarded);
    void guarded.finally(() => this.inflight.delete(guarded));
  }
}

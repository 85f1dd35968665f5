/**
 * The notifications of the last minute on this node. Every node runs detection and the pipeline
 * for its own clients, so when the lease passes to this node it already holds what the previous
 * holder may not have finished: it delivers them through the push channel again, and the push
 * ledger lets through only what was not done. It also finds the notification a ledger row from
 * another node refers to (push-outcomes.ts).
 */
import type { EventBus } from '../event-bus.js';
import type { Service } from '../lifecycle.js';
import type { ZmesEvents } from '../domain/bus-events.js';
import type { Notification, Phase } from '../domain/notification.js';

const MAX_KEPT = 2000;

export class RecentNotifications implements Service {
  readonly name = 'recent notifications';
  private readonly kept: Notification[] = [];
  private dispose: (() => void) | undefined;

  constructor(
    private readonly bus: EventBus<ZmesEvents>,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  start(): Promise<void> {
    this.dispose ??= this.bus.on('notification', (n) => this.add(n));
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.dispose?.();
    this.dispose = undefined;
    return Promise.resolve();
  }

  add(notification: Notification): void {
    this.kept.push(notification);
    this.trim();
  }

  /** Oldest first. */
  all(): readonly Notification[] {
    this.trim();
    return [...this.kept];
  }

  find(eventId: bigint, phase: Phase): Notification | undefined {
    for (let i = this.kept.length - 1; i >= 0; i--) {
      const n = this.kept[i]!;
      if (n.event.eventId === eventId && n.phase === phase) return n;
    }
    return undefined;
  }

  private trim(): void {
    const oldest = this.now() - this.windowMs;
    let drop = Math.max(0, this.kept.length - MAX_KEPT);
    while (drop < this.kept.length && this.kept[drop]!.detectedAt < oldest) drop++;
    if (drop > 0) this.kept.splice(0, drop);
  }
}

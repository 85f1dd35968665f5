import type { Logger } from './log/logger.js';
import { errorMessage } from './errors.js';

/**
 * Typed in-process events. `on` returns a disposer; a listener that throws (or rejects) is
 * logged and contained, so one failing channel never stops the others.
 */
export class EventBus<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => unknown>>();

  constructor(private readonly log: Logger) {}

  on<K extends keyof Events>(name: K, listener: (payload: Events[K]) => unknown): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as (payload: never) => unknown);
    return () => set.delete(listener as (payload: never) => unknown);
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        const result = (listener as (payload: Events[K]) => unknown)(payload);
        if (result instanceof Promise) {
          result.catch((err: unknown) => this.log.error(`listener of ${String(name)} failed: ${errorMessage(err)}`));
        }
      } catch (err) {
        this.log.error(`listener of ${String(name)} failed: ${errorMessage(err)}`);
      }
    }
  }

  listenerCount(name: keyof Events): number {
    return this.listeners.get(name)?.size ?? 0;
  }
}

import type { Logger } from './log/logger.js';
import { errorMessage } from './errors.js';

/**
 * Every stateful module implements this. Constructors do no I/O; `start` does, and
 * `stop` is idempotent, safe after a failed start, and clears the module's own timers.
 */
export interface Service {
  readonly name: string;
  start(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/** Starts services in order and stops the started ones in reverse, each stop bounded in time. */
export class ServiceRunner {
  private readonly started: Service[] = [];
  private readonly abort = new AbortController();

  constructor(
    private readonly log: Logger,
    private readonly stopTimeoutMs = 5000,
  ) {}

  async start(services: readonly Service[]): Promise<void> {
    for (const service of services) {
      this.log.debug(() => `starting ${service.name}`);
      this.started.push(service);
      await service.start(this.abort.signal);
    }
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('stopping'));
    while (this.started.length > 0) {
      const service = this.started.pop()!;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.stopTimeoutMs);
      });
      try {
        const result = await Promise.race([service.stop().then(() => 'ok' as const), timeout]);
        if (result === 'timeout') this.log.warn(`${service.name} did not stop within ${this.stopTimeoutMs} ms`);
      } catch (err) {
        this.log.error(`${service.name} failed to stop cleanly: ${errorMessage(err)}`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

/**
 * Runs a service only while this node holds the cluster lease: MQTT (one publisher of events
 * and Home Assistant entities), the API-push script, event pictures. Started when the lease is
 * taken, stopped when it is lost; transitions run one after another.
 */
import { errorMessage } from '../errors.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { LeaderLease } from './leader-lease.js';

export class LeaderGated implements Service {
  readonly name: string;
  private running = false;
  private innerStarted = false;
  private transitions: Promise<void> = Promise.resolve();
  private dispose: (() => void) | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly inner: Service,
    private readonly lease: Pick<LeaderLease, 'isLeader' | 'onChange'>,
    private readonly log: Logger,
  ) {
    this.name = `${inner.name} (on the lease holder)`;
  }

  async start(): Promise<void> {
    this.running = true;
    this.dispose = this.lease.onChange((leader) => void this.follow(leader));
    await this.follow(this.lease.isLeader);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.dispose?.();
    this.dispose = undefined;
    this.abort.abort();
    await this.follow(false);
  }

  private follow(leader: boolean): Promise<void> {
    this.transitions = this.transitions.then(async () => {
      const want = leader && this.running;
      if (want === this.innerStarted) return;
      try {
        if (want) {
          await this.inner.start(this.abort.signal);
          this.innerStarted = true;
        } else {
          this.innerStarted = false;
          await this.inner.stop();
        }
      } catch (err) {
        this.log.error(`${this.inner.name}: could not ${want ? 'start' : 'stop'} (${errorMessage(err)})`);
      }
    });
    return this.transitions;
  }
}

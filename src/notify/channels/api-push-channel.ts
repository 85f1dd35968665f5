/**
 * The `api` channel: push.api_push_script run once per notification (start, and end when end
 * notifications are on), so users can push through services zmes does not speak (the upstream
 * sample sends Pushover messages). Arguments, each passed literally (no shell):
 *
 *   <EventId> <MonitorId> <MonitorName> <Cause> event_start|event_end [<EventPath>]
 *
 * The path comes only with hook.hook_pass_image_path. The script shares the hooks' parallel limit
 * (max_parallel_hooks) and time limit (hook_timeout); its exit code alone decides success, and a
 * failure is logged, never retried: the script may already have pushed.
 */
import type { Config } from '../../config/load.js';
import { errorMessage } from '../../errors.js';
import type { EventBus } from '../../event-bus.js';
import type { Logger } from '../../log/logger.js';
import type { Notification } from '../../domain/notification.js';
import type { ZmesEvents } from '../../domain/bus-events.js';
import type { ZmEvent } from '../../domain/zm-event.js';
import { scriptCommand, type HookCommand, type HookStage } from '../hooks/hooks.js';
import { routedTo, type Channel } from './channel.js';

export interface ApiPushOptions {
  readonly script: HookCommand;
  /** hook.hook_pass_image_path: add the event folder as the last argument. */
  readonly passImagePath: boolean;
}

/** What the channel needs from the hook runner (HookStage). */
export type ScriptRunner = Pick<HookStage, 'execute' | 'folderOf'>;

/**
 * The channel's options, or null when push.use_api_push is off or no script is set (then with a
 * warning, as the classic server logs an error). Throws ZmesError for a script line that cannot be split.
 */
export function apiPushOptionsFrom(config: Config): { options: ApiPushOptions | null; warnings: string[] } {
  const warnings: string[] = [];
  if (!config.push.use_api_push) return { options: null, warnings };
  const script = scriptCommand('push.api_push_script', config.push.api_push_script, warnings);
  if (script === null) {
    warnings.push('push.use_api_push is on but push.api_push_script is not set: the api channel sends nothing');
    return { options: null, warnings };
  }
  return { options: { script, passImagePath: config.hook.hook_pass_image_path }, warnings };
}

export class ApiPushChannel implements Channel {
  readonly name = 'api push channel';
  readonly channel = 'api';
  private dispose: (() => void) | undefined;
  private abort = new AbortController();
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly bus: EventBus<ZmesEvents>,
    private readonly scripts: ScriptRunner,
    private readonly options: ApiPushOptions,
    private readonly log: Logger,
  ) {}

  start(): Promise<void> {
    if (this.dispose === undefined) {
      this.abort = new AbortController();
      this.dispose = this.bus.on('notification', (n) => this.track(this.deliver(n)));
      this.log.info(`api channel: ${JSON.stringify(this.options.script.text)} runs once per notification`);
    }
    return Promise.resolve();
  }

  /** Unsubscribes, ends scripts still running (TERM, then KILL) and waits for them. */
  async stop(): Promise<void> {
    this.dispose?.();
    this.dispose = undefined;
    this.abort.abort(new Error('stopping'));
    await Promise.allSettled([...this.inflight]);
  }

  /** Resolves when no script of this channel is running or waiting. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  async deliver(notification: Notification): Promise<void> {
    if (!routedTo(notification, this)) return;
    const { event, phase, cause } = notification;
    const folder = this.options.passImagePath ? await this.scripts.folderOf(event) : null;
    const args = apiPushArguments(event, cause, phase, folder);
    const run = await this.scripts.execute(`api push script (${phase})`, this.options.script, args, event, { signal: this.abort.signal, plain: true });
    if (run === 'overflow') this.log.warn(`event ${event.eventId} (monitor ${event.monitorId}): api push script not run, too many scripts running and waiting (max_parallel_hooks)`);
  }

  private track(work: Promise<void>): void {
    const done: Promise<void> = work
      .catch((err: unknown) => this.log.error(`api push script failed: ${errorMessage(err)}`))
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }
}

/** The classic argument list of the API push script. */
export function apiPushArguments(event: ZmEvent, cause: string, phase: Notification['phase'], folder: string | null): string[] {
  const args = [String(event.eventId), String(event.monitorId), event.monitorName, cause, phase === 'start' ? 'event_start' : 'event_end'];
  if (folder !== null) args.push(folder);
  return args;
}

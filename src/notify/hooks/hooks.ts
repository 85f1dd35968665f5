/**
 * Hooks (classic-config.md §8) as a pipeline stage: the start and end scripts with their result
 * contract, the user scripts after them, channel routing by the result, the hook description in
 * the cause and in ZoneMinder's Notes, and `max_parallel_hooks` as a bounded queue.
 *
 * What differs from the classic server, on purpose:
 * - arguments are passed literally, never through a shell (defect #15);
 * - invalid JSON after `--SPLIT--` is a failed hook with detection `[]`, not a lost event (#14);
 * - the end cause carries the hook text once (#13), and the Notes prefix is restored once;
 * - events over `max_parallel_hooks` wait in a bounded queue; when it is full, the event is
 *   notified as if its hook had failed, with a warning (#16: the classic server dropped them);
 * - user scripts run after the notification went on, not before it (their result changes nothing).
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config/load.js';
import { parseChannelList, parseMonitorList } from '../../config/formats.js';
import { ZmesError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { buildPictureUrl, type HookOutcome } from '../../push/fcm-payload.js';
import type { SqlReader } from '../../zm/db.js';
import type { JsonValue } from '../../domain/json.js';
import { CommandLineError, shellLookingWords, splitCommandLine } from './command-line.js';
import { clampDescription, mergeDescription, prefixNotes, withDescription, type NotesWriter } from './event-notes.js';
import { DEFAULT_EVENTS_DIR, lookupEventFolder } from './event-path.js';
import { HookLimiter, type LimiterStats } from './hook-limiter.js';
import { parseHookOutput, resultCode, type HookOutput } from './hook-output.js';
import { DEFAULT_LIMITS, runHook, signalNumber, type RunLimits } from './hook-runner.js';
import type { DraftNotification, NotificationStage } from '../pipeline.js';
import type { ChannelName, Phase } from '../../domain/notification.js';
import type { ZmEvent } from '../../domain/zm-event.js';

/** A configured script, split once into argv. */
export interface HookCommand {
  readonly argv: readonly string[];
  /** As configured, for log lines. */
  readonly text: string;
}

export interface PhaseHooks {
  readonly hook: HookCommand | null;
  readonly userscript: HookCommand | null;
  readonly onSuccess: ReadonlySet<ChannelName>;
  readonly onFail: ReadonlySet<ChannelName>;
}

export interface PictureTemplate {
  readonly template: string;
  readonly username: string | null;
  readonly password: string | null;
}

export interface HookOptions {
  /** customize.use_hooks */
  readonly enabled: boolean;
  readonly start: PhaseHooks;
  readonly end: PhaseHooks;
  readonly endNotifyIfStartSuccess: boolean;
  readonly useHookDescription: boolean;
  readonly skipMonitors: ReadonlySet<number>;
  readonly passImagePath: boolean;
  /** 0 = unlimited. */
  readonly maxParallel: number;
  /** Hooks that may wait for a slot beyond maxParallel. */
  readonly maxQueued: number;
  readonly limits: RunLimits;
  /** customize.picture_url etc. when include_picture is on: the picture is rebuilt after the hook. */
  readonly picture: PictureTemplate | null;
  /** Events whose start result is remembered for their end. */
  readonly memoryLimit: number;
}

export interface HookDeps {
  /** For Notes (use_hook_description) and the event folder (hook_pass_image_path); null: neither. */
  readonly db: (NotesWriter & SqlReader) | null;
  readonly log: Logger;
  readonly clock: Clock;
  /** The event folder for hook_pass_image_path; default: computed from the database. */
  readonly eventFolder?: (event: ZmEvent) => Promise<string | null>;
  /** ZM_DIR_EVENTS for events on StorageId 0 (default folder computation only). */
  readonly defaultEventsDir?: () => string;
}

/** Default bound of the waiting queue: enough for a burst on every monitor, small enough to notice. */
export const DEFAULT_MAX_QUEUED = 100;

// ---------------------------------------------------------------------------------------------
// Configuration

/** A script setting split into argv (no shell); null when unset. Throws ZmesError when it cannot be split. */
export function scriptCommand(key: string, value: string | null, warnings: string[]): HookCommand | null {
  if (value === null || value.trim() === '') return null;
  let argv: string[];
  try {
    argv = splitCommandLine(value);
  } catch (err) {
    if (!(err instanceof CommandLineError)) throw err;
    throw new ZmesError('ZMES_CONFIG_INVALID', `${key}: ${err.message} in ${JSON.stringify(value)}`);
  }
  const odd = shellLookingWords(argv);
  if (odd.length > 0) {
    warnings.push(`${key}: hooks run without a shell, so ${odd.map((w) => JSON.stringify(w)).join(', ')} reach the script as plain arguments`);
  }
  return { argv, text: value };
}

function channels(key: string, value: string, used: boolean, warnings: string[]): ReadonlySet<ChannelName> {
  const set = parseChannelList(value);
  // Empty means none (classic: only listed channels are notified); easy to miss, so say it.
  if (used && set.size === 0 && value.trim().toLowerCase() !== 'none') {
    warnings.push(`${key} is empty: no channel is notified in that case (set it to all, none or a list)`);
  }
  return set;
}

/** Hook options from the configuration; throws ZmesError for a command line that cannot be split. */
export function hookOptionsFromConfig(config: Config): { options: HookOptions; warnings: string[] } {
  const h = config.hook;
  const c = config.customize;
  const warnings: string[] = [];
  const enabled = c.use_hooks;
  const startHook = scriptCommand('hook.event_start_hook', h.event_start_hook, warnings);
  const endHook = scriptCommand('hook.event_end_hook', h.event_end_hook, warnings);
  const options: HookOptions = {
    enabled,
    start: {
      hook: startHook,
      userscript: scriptCommand('hook.event_start_hook_notify_userscript', h.event_start_hook_notify_userscript, warnings),
      onSuccess: channels('hook.event_start_notify_on_hook_success', h.event_start_notify_on_hook_success, enabled && startHook !== null, warnings),
      onFail: channels('hook.event_start_notify_on_hook_fail', h.event_start_notify_on_hook_fail, false, warnings),
    },
    end: {
      hook: endHook,
      userscript: scriptCommand('hook.event_end_hook_notify_userscript', h.event_end_hook_notify_userscript, warnings),
      onSuccess: channels(
        'hook.event_end_notify_on_hook_success',
        h.event_end_notify_on_hook_success,
        enabled && endHook !== null && c.send_event_end_notification,
        warnings,
      ),
      onFail: channels('hook.event_end_notify_on_hook_fail', h.event_end_notify_on_hook_fail, false, warnings),
    },
    endNotifyIfStartSuccess: h.event_end_notify_if_start_success,
    useHookDescription: h.use_hook_description,
    skipMonitors: new Set(parseMonitorList(h.hook_skip_monitors)),
    passImagePath: h.hook_pass_image_path,
    maxParallel: h.max_parallel_hooks,
    maxQueued: DEFAULT_MAX_QUEUED,
    limits: { ...DEFAULT_LIMITS, timeoutMs: Math.round(h.hook_timeout * 1000) },
    picture:
      c.include_picture && c.picture_url
        ? { template: c.picture_url, username: c.picture_portal_username, password: c.picture_portal_password }
        : null,
    memoryLimit: 10_000,
  };
  if (!enabled) return { options, warnings: [] };
  if (startHook === null && endHook === null) warnings.push('customize.use_hooks is on but neither hook.event_start_hook nor hook.event_end_hook is set');
  return { options, warnings };
}

// ---------------------------------------------------------------------------------------------
// The stage

/** What one phase's hook came to. */
interface PhaseResult {
  /** ran: the script ran; skipped: hook_skip_monitors; overflow: queue full; stopped: server stopping. */
  readonly kind: 'ran' | 'skipped' | 'overflow' | 'stopped';
  readonly success: boolean;
  /** hookValue: the result code (0 success). */
  readonly code: number;
  readonly output: HookOutput;
  /** Event folder passed to the scripts, if any. */
  readonly folder: string | null;
}

/** What the end of an event needs to know about its start. */
interface StartRecord {
  readonly success: boolean;
  /** The description written into Notes (use_hook_description), or null. */
  readonly description: string | null;
  readonly pictureOutcome: HookOutcome;
  readonly cause: string;
  readonly detectionJson: JsonValue;
}

/** How to run a script: `signal` ends it early; `plain`: the exit code alone decides (no hook output contract). */
export interface RunHow {
  readonly signal?: AbortSignal;
  readonly plain?: boolean;
}

/** How a script run ended (a hook, a user script or the API push script). */
export interface ScriptResult {
  readonly success: boolean;
  readonly code: number;
  readonly output: HookOutput;
}

const NO_OUTPUT: HookOutput = { text: '', jsonText: '[]', json: [], jsonError: null };

export class HookStage {
  /** The pipeline stage; bound, so it can be handed over as a function. */
  readonly stage: NotificationStage = (draft) => (draft.phase === 'start' ? this.onStart(draft) : this.onEnd(draft));

  private readonly limiter: HookLimiter;
  /**
   * Per event, its start's outcome until its end. Bounded: ZoneMinder leaves events open forever
   * when a capture process dies (zoneminder.md §3), and such leftovers must not pile up.
   */
  private readonly starts: LRUCache<bigint, StartRecord>;
  private readonly abort = new AbortController();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly log: Logger;

  constructor(
    private readonly deps: HookDeps,
    private readonly options: HookOptions,
  ) {
    this.log = deps.log;
    this.limiter = new HookLimiter(options.maxParallel, options.maxQueued);
    this.starts = new LRUCache({ max: options.memoryLimit });
  }

  get stats(): LimiterStats {
    return this.limiter.stats;
  }

  /** Whether this stage may change the draft's cause (the rules stage waits for it then). */
  causeMayChange(draft: DraftNotification): boolean {
    const phase = draft.phase === 'start' ? this.options.start : this.options.end;
    if (!this.options.enabled || phase.hook === null || this.options.skipMonitors.has(draft.event.monitorId)) return false;
    return draft.phase === 'end' || this.options.useHookDescription;
  }

  /** Resolves when no hook, user script or Notes write is running or waiting. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Ends running hooks (TERM, then KILL), fails waiting ones, and waits for all of them. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('stopping'));
    this.limiter.close(new Error('stopping'));
    await this.idle();
  }

  // -------------------------------------------------------------------------------------------

  private async onStart(draft: DraftNotification): Promise<DraftNotification> {
    const phase = this.options.start;
    if (!this.options.enabled || phase.hook === null) return draft;
    const event = draft.event;
    const result = await this.runPhase('start', phase.hook, event, draft.cause);
    this.route(draft, result, phase);

    let description: string | null = null;
    if (result.kind === 'ran' && result.success) {
      draft.detectionJson = result.output.json;
      if (this.options.useHookDescription) {
        description = clampDescription(result.output.text);
        draft.cause = `${description} ${draft.cause}`;
        await this.track(this.writeNotes(event, description, 'start'));
      }
    }
    // No objdetect image exists unless the hook ran and succeeded (skipped, refused or failed).
    const pictureOutcome: HookOutcome = result.kind === 'ran' && result.success ? 'success' : 'failed';
    this.refreshPicture(draft, draft.cause, draft.detectionJson, pictureOutcome);
    this.starts.set(event.eventId, {
      success: result.success,
      description,
      pictureOutcome,
      cause: draft.cause,
      detectionJson: draft.detectionJson,
    });
    this.userscript('start', phase.userscript, event, result);
    return draft;
  }

  private async onEnd(draft: DraftNotification): Promise<DraftNotification | null> {
    if (!this.options.enabled) return draft;
    const event = draft.event;
    const start = this.starts.get(event.eventId);
    this.starts.delete(event.eventId);

    if (start?.description) {
      // ZoneMinder rewrites Notes while an event runs, dropping the prefix: put it back, once.
      if (!event.notes.includes(start.description)) await this.track(this.writeNotes(event, start.description, 'end'));
      draft.cause = withDescription(draft.cause, start.description);
    }
    if (start) this.refreshPicture(draft, start.cause, start.detectionJson, start.pictureOutcome);

    const phase = this.options.end;
    if (phase.hook !== null) {
      const result = await this.runPhase('end', phase.hook, event, draft.cause);
      this.route(draft, result, phase);
      if (result.kind === 'ran') {
        draft.detectionJson = result.output.json;
        if (result.success) {
          const text = clampDescription(result.output.text);
          // Classic: the end cause is the end hook's text; with use_hook_description the text is prefixed, once.
          draft.cause = this.options.useHookDescription ? mergeDescription(text, draft.cause) : text;
        }
      }
      this.userscript('end', phase.userscript, event, result);
    }

    if (this.options.start.hook !== null && this.options.endNotifyIfStartSuccess && start !== undefined && !start.success) {
      this.log.info(`${describe(event)}: no end notification, the start hook failed (event_end_notify_if_start_success)`);
      return null;
    }
    return draft;
  }

  /** hookValue and the channels the result allows (only channels still allowed stay). */
  private route(draft: DraftNotification, result: PhaseResult, phase: PhaseHooks): void {
    draft.hookValue = result.code;
    const allowed = result.success ? phase.onSuccess : phase.onFail;
    draft.channels = new Set([...draft.channels].filter((c) => allowed.has(c)));
  }

  private refreshPicture(draft: DraftNotification, cause: string, detectionJson: JsonValue, outcome: HookOutcome): void {
    const picture = this.options.picture;
    if (picture === null) return;
    draft.picture = buildPictureUrl({ template: picture.template, eventId: draft.event.eventId, cause, detectionJson, hook: outcome, username: picture.username, password: picture.password });
  }

  private async runPhase(phase: Phase, hook: HookCommand, event: ZmEvent, cause: string): Promise<PhaseResult> {
    if (this.options.skipMonitors.has(event.monitorId)) {
      this.log.debug(() => `${describe(event)}: monitor in hook_skip_monitors, ${phase} hook not run (counts as success)`);
      return { kind: 'skipped', success: true, code: 0, output: NO_OUTPUT, folder: null };
    }
    const folder = this.options.passImagePath ? await this.folderOf(event) : null;
    const args = [String(event.eventId), String(event.monitorId), event.monitorName, cause, ...(folder !== null ? [folder] : [])];
    const run = await this.execute(`${phase} hook`, hook, args, event);
    if (run === 'overflow') {
      this.log.warn(
        `${describe(event)}: ${phase} hook not run, ${this.options.maxParallel} hooks running and ${this.options.maxQueued} waiting ` +
          '(max_parallel_hooks); notified as if the hook failed',
      );
      return { kind: 'overflow', success: false, code: 1, output: NO_OUTPUT, folder };
    }
    if (run === 'stopped') return { kind: 'stopped', success: false, code: 1, output: NO_OUTPUT, folder };
    return { kind: 'ran', ...run, folder };
  }

  /**
   * Runs a script within the limiter (max_parallel_hooks counts every script zmes runs) and logs
   * how it went; `signal` ends it early like a server stop. Used by the hooks and the API push channel.
   */
  async execute(
    label: string,
    hook: HookCommand,
    args: readonly string[],
    event: ZmEvent,
    how: RunHow = {},
  ): Promise<ScriptResult | 'overflow' | 'stopped'> {
    const { signal, plain = false } = how;
    if (this.abort.signal.aborted || signal?.aborted) return 'stopped';
    const slot = this.limiter.acquire();
    if (slot === null) return 'overflow';
    const work = (async () => {
      const release = await slot.catch(() => null);
      if (release === null) return 'stopped' as const;
      try {
        const stopping = signal ? AbortSignal.any([this.abort.signal, signal]) : this.abort.signal;
        const run = await runHook(hook.argv, args, this.options.limits, this.deps.clock, stopping);
        const output = plain ? { ...NO_OUTPUT, text: run.stdout.trim() } : parseHookOutput(run.stdout);
        const exitedZero = run.exitCode === 0 && !run.timedOut && run.spawnError === null;
        const code = plain && exitedZero ? 0 : resultCode(run, output, signalNumber);
        const what = `${describe(event)}: ${label} ${JSON.stringify(hook.text)}`;
        const stderr = firstLine(run.stderr);
        if (run.spawnError !== null) this.log.error(`${what} cannot be started (${run.spawnError}); counts as failed`);
        else if (run.timedOut) this.log.warn(`${what} ${stopping.aborted ? 'ended, server stopping' : `timed out after ${this.options.limits.timeoutMs / 1000} s, killed`}; counts as failed`);
        else {
          if (run.truncated) this.log.warn(`${what} printed more than ${this.options.limits.maxStdoutBytes} bytes; the rest was ignored`);
          if (output.jsonError !== null) this.log.warn(`${what} printed invalid JSON after --SPLIT-- (${output.jsonError}); detection [] and the hook counts as failed`);
          else if (!plain && run.exitCode === 0 && output.text === '') this.log.info(`${what} exited 0 but printed no text; counts as failed`);
          this.log.info(`${what} returned ${code} in ${run.durationMs} ms${output.text ? `: ${JSON.stringify(truncate(output.text, 200))}` : ''}`);
        }
        if (stderr && code !== 0) this.log.info(`${what} stderr: ${truncate(stderr, 300)}`);
        else if (stderr) this.log.debug(() => `${what} stderr: ${truncate(stderr, 300)}`);
        return { success: code === 0, code, output };
      } finally {
        release();
      }
    })();
    return this.track(work);
  }

  /** The user script after a hook, in the background: its result changes nothing. */
  private userscript(phase: Phase, script: HookCommand | null, event: ZmEvent, result: PhaseResult): void {
    if (script === null || result.kind !== 'ran') return;
    const args = [String(result.code), String(event.eventId), String(event.monitorId), event.monitorName, result.output.text, result.output.jsonText];
    if (result.folder !== null) args.push(result.folder);
    void this.execute(`${phase} user script`, script, args, event).then((run) => {
      if (run === 'overflow') this.log.warn(`${describe(event)}: ${phase} user script not run, too many hooks running and waiting (max_parallel_hooks)`);
    });
  }

  private async writeNotes(event: ZmEvent, description: string, phase: Phase): Promise<void> {
    const db = this.deps.db;
    if (db === null) return;
    try {
      const changed = await prefixNotes(db, event.eventId, description);
      if (changed) this.log.debug(() => `${describe(event)}: hook description ${phase === 'end' ? 're-applied to' : 'written to'} Notes`);
    } catch (err) {
      this.log.warn(`${describe(event)}: cannot write the hook description into Notes (${errorMessage(err)})`);
    }
  }

  /** The event's folder for the scripts' path argument (hook_pass_image_path), or null. */
  async folderOf(event: ZmEvent): Promise<string | null> {
    try {
      if (this.deps.eventFolder) return await this.deps.eventFolder(event);
      if (this.deps.db === null) return null;
      const folder = await lookupEventFolder(this.deps.db, event.eventId, this.deps.defaultEventsDir?.() ?? DEFAULT_EVENTS_DIR);
      if (folder === null) this.log.warn(`${describe(event)}: event folder unknown (row gone or no start time); hooks get no path argument`);
      return folder;
    } catch (err) {
      this.log.warn(`${describe(event)}: cannot look up the event folder (${errorMessage(err)}); hooks get no path argument`);
      return null;
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work)).catch(() => undefined);
    return work;
  }
}

export function createHookStage(deps: HookDeps, options: HookOptions): HookStage {
  return new HookStage(deps, options);
}

function describe(event: ZmEvent): string {
  return `event ${event.eventId} (monitor ${event.monitorId} ${event.monitorName})`;
}

function firstLine(text: string): string {
  return text.trim().split('\n', 1)[0] ?? '';
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

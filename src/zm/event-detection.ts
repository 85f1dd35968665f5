/**
 * Event detection as a Service: polls ZoneMinder's Events table (events-poller.ts), runs the
 * rows through the state machine (event-detector.ts) against the monitor list (monitors-repo.ts),
 * publishes every start, cause change and end on the bus as 'zm:event', and keeps its place in
 * `<base_data_path>/events/last-event.json` (cursor-store.ts) so a restart or a database outage
 * loses nothing and repeats nothing.
 *
 * First start ever: begins after the newest existing event (history is not notified). A stored
 * place beyond anything the database ever had (restored from a backup, recreated) is reset to
 * the newest event with a warning. Events first seen longer than `customize.max_event_age` after
 * their start are logged and not notified.
 *
 * Delivery is at least once across crashes: changes are emitted before the state file is
 * written, so a crash between the two repeats those changes after the restart, never drops them.
 */
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import { parseMonitorList } from '../config/formats.js';
import { ZmesError } from '../errors.js';
import type { EventBus } from '../event-bus.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { MonitorInfo, ZmEventChange } from '../domain/zm-event.js';
import type { ZmesEvents } from '../domain/bus-events.js';
import { CursorStore, cursorFilePath, type CursorState } from '../state/cursor-store.js';
import { formatDuration, type SqlReader } from './db.js';
import { DEFAULT_ABANDON_AFTER_SEC, EventDetector, type ApplyOutcome, type DetectorNotice, type DetectorOptions } from './event-detector.js';
import { EventsReader, cursorIsAhead, runPollLoop, type AvailabilityWaiter, type IdRange } from './events-poller.js';
import { MonitorsRepo, describeMonitor } from './monitors-repo.js';
import type { ZmSchema } from './schema.js';
import { deferred } from '../deferred.js';

/** How often a running server checks that the database did not go back in time (restore). */
export const CURSOR_CHECK_INTERVAL_MS = 60_000;

export interface EventDetectionOptions {
  /** Seconds between polls (`customize.event_check_interval`). */
  eventCheckIntervalSec: number;
  /** Seconds between monitor list reloads (`customize.monitor_reload_interval`). */
  monitorReloadIntervalSec: number;
  /** Events first seen this many seconds after their start are not notified (`customize.max_event_age`). */
  maxEventAgeSec: number;
  /** Monitor ids never notified (`general.skip_monitors`). */
  skipMonitors: readonly number[];
  /** `general.base_data_path`: the cursor lives in `<it>/events/last-event.json`. */
  baseDataPath: string;
  /** Open events are given up (end `abandoned`) this many seconds after their start; default 3600. */
  abandonAfterSec?: number;
  /** Open events followed at most (memory bound); default 1000. */
  maxTracked?: number;
  /** Rows read per poll; default 500. */
  batchSize?: number;
  /** Minimum ms between on-demand monitor reloads; default 5000. */
  minMonitorReloadGapMs?: number;
}

/** The options from the configuration. */
export function eventDetectionOptions(config: Config): EventDetectionOptions {
  return {
    eventCheckIntervalSec: config.customize.event_check_interval,
    monitorReloadIntervalSec: config.customize.monitor_reload_interval,
    maxEventAgeSec: config.customize.max_event_age,
    skipMonitors: parseMonitorList(config.general.skip_monitors),
    baseDataPath: config.general.base_data_path,
  };
}

/** What detection needs of the database client: typed SELECTs and outage waiting (ZmDatabase). */
export interface DetectionDatabase extends SqlReader, AvailabilityWaiter {}

export interface DetectionStats {
  /** Poll cycles completed. */
  polls: number;
  /** Changes emitted on the bus. */
  changes: number;
  /** The last handled Events.Id (null before the first successful cycle). */
  lastEventId: bigint | null;
  /** Unix ms of the last completed poll cycle (null before the first). */
  lastPollAt: number | null;
  /** Events followed right now (open, waiting for alarm frames or for their monitor). */
  tracked: number;
}

type Phase = 'new' | 'running' | 'stopped';

export class EventDetection implements Service {
  readonly name = 'event-detection';
  readonly stats: DetectionStats = { polls: 0, changes: 0, lastEventId: null, lastPollAt: null, tracked: 0 };

  private phase: Phase = 'new';
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private readonly store: CursorStore;
  private readonly monitors: MonitorsRepo;
  private readonly detectorOptions: DetectorOptions;
  private stored: CursorState | null = null;
  private detector: EventDetector | null = null;
  private reader: EventsReader | null = null;
  private lastCursorCheck = 0;
  private cursorCheckDue = false;
  private readyWaiters = deferred();
  private cycleWaiters: (() => void)[] = [];

  constructor(
    private readonly db: DetectionDatabase,
    private readonly schema: () => Promise<ZmSchema>,
    private readonly bus: EventBus<ZmesEvents>,
    private readonly options: EventDetectionOptions,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(options.eventCheckIntervalSec > 0)) throw new ZmesError('ZMES_CONFIG_INVALID', 'event_check_interval must be above 0');
    this.store = new CursorStore(cursorFilePath(options.baseDataPath), log, clock);
    this.monitors = new MonitorsRepo(
      db,
      schema,
      bus,
      {
        reloadIntervalSec: options.monitorReloadIntervalSec,
        skipMonitors: options.skipMonitors,
        ...(options.minMonitorReloadGapMs === undefined ? {} : { minReloadGapMs: options.minMonitorReloadGapMs }),
      },
      log,
      clock,
    );
    this.detectorOptions = {
      maxEventAgeSec: options.maxEventAgeSec,
      abandonAfterSec: options.abandonAfterSec ?? DEFAULT_ABANDON_AFTER_SEC,
      ...(options.maxTracked === undefined ? {} : { maxTracked: options.maxTracked }),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    };
  }

  /** The cursor file's path. */
  get cursorPath(): string {
    return this.store.path;
  }

  /**
   * Reads the stored cursor and starts polling in the background: a database that is down at
   * start-up delays detection, not the server's start. See ready().
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.phase !== 'new') throw new ZmesError('ZMES_INTERNAL', `${this.name} can only be started once`);
    signal.throwIfAborted();
    this.phase = 'running';
    // `signal` bounds the start only (callers pass e.g. AbortSignal.timeout); stop() ends the loop.
    this.stored = this.store.load();
    this.loop = runPollLoop({
      intervalMs: this.options.eventCheckIntervalSec * 1000,
      db: this.db,
      clock: this.clock,
      log: this.log,
      signal: this.abort.signal,
      cycle: () => this.cycle(),
      onRecovered: () => {
        // The database may have been restored while away, and monitors edited.
        this.cursorCheckDue = true;
        this.monitors.requestReload();
      },
    });
  }

  /** Idempotent; safe after a failed start. Saves the cursor one last time. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** Resolves once the first poll cycle completed: the cursor is set and the monitors loaded. */
  ready(): Promise<void> {
    return this.readyWaiters.promise;
  }

  /** Resolves after the next poll cycle that completes (useful to let detection catch up). */
  nextCycle(): Promise<void> {
    return new Promise((resolve) => this.cycleWaiters.push(resolve));
  }

  /** The monitor list as last loaded (also published on the bus as 'zm:monitors'). */
  get monitorList(): readonly MonitorInfo[] {
    return this.monitors.monitors;
  }

  /** Reloads the monitor list now. */
  reloadMonitors(): Promise<void> {
    return this.monitors.load();
  }

  private async shutdown(): Promise<void> {
    const wasRunning = this.phase === 'running';
    this.phase = 'stopped';
    this.abort.abort(new Error('stopping'));
    this.monitors.stop();
    await this.loop?.catch(() => undefined);
    if (wasRunning && this.detector) this.store.save(this.detector.snapshot());
  }

  private async cycle(): Promise<boolean> {
    const detector = this.detector ?? (await this.initialize());
    const reader = this.reader!;
    if (this.cursorCheckDue || this.clock.now() - this.lastCursorCheck >= CURSOR_CHECK_INTERVAL_MS) {
      await this.checkCursor(detector, reader);
    }
    const result = await reader.read(detector.plan());
    if (this.abort.signal.aborted) return false; // stopped meanwhile: emit nothing more
    const outcome = detector.apply(result, this.monitors.snapshot, this.clock.now());
    this.report(outcome);
    if (outcome.unknownMonitors.length > 0) this.monitors.requestReload();
    if (outcome.dirty) this.store.save(detector.snapshot());
    this.stats.polls++;
    this.stats.lastPollAt = this.clock.now();
    this.stats.lastEventId = detector.lastEventId;
    this.stats.tracked = detector.trackedCount;
    this.readyWaiters.resolve();
    const waiters = this.cycleWaiters;
    this.cycleWaiters = [];
    for (const resolve of waiters) resolve();
    return outcome.more;
  }

  /** Schema, monitors and the starting cursor; runs again after a failure (database down at start). */
  private async initialize(): Promise<EventDetector> {
    const schema = await this.schema();
    const reader = new EventsReader(this.db, schema, this.log);
    await this.monitors.load();
    this.monitors.startPeriodic();
    const range = await reader.idRange();
    const stored = this.stored;
    let detector: EventDetector;
    if (stored === null) {
      detector = new EventDetector(this.detectorOptions, range.maxId);
      this.log.info(`first start: watching for events after ${range.maxId} (existing events are not notified)`);
    } else if (cursorIsAhead(stored.cursor, range)) {
      detector = new EventDetector(this.detectorOptions, range.maxId);
      this.warnAhead(stored.cursor, range);
    } else {
      detector = EventDetector.restore(this.detectorOptions, stored, this.clock.now());
      const open = detector.trackedCount;
      this.log.info(`resuming after event ${stored.cursor}${open > 0 ? ` (${open} open event${open === 1 ? '' : 's'} followed)` : ''}`);
    }
    if (this.abort.signal.aborted) throw new ZmesError('ZMES_INTERNAL', 'stopped during start-up');
    // Saved at once: a restart before the first event must resume here, not at a later MAX(Id).
    this.store.save(detector.snapshot());
    this.reader = reader;
    this.detector = detector;
    this.lastCursorCheck = this.clock.now();
    this.cursorCheckDue = false;
    return detector;
  }

  private async checkCursor(detector: EventDetector, reader: EventsReader): Promise<void> {
    const range = await reader.idRange();
    this.lastCursorCheck = this.clock.now();
    this.cursorCheckDue = false;
    if (!cursorIsAhead(detector.lastEventId, range)) return;
    this.warnAhead(detector.lastEventId, range);
    detector.resetCursor(range.maxId);
    this.store.save(detector.snapshot());
  }

  private warnAhead(cursor: bigint, range: IdRange): void {
    const next = range.nextId === null ? '' : `, next Id ${range.nextId}`;
    this.log.warn(
      `last handled event ${cursor} is beyond the database's newest event ${range.maxId}${next}: ` +
        `the database was restored or recreated; continuing after event ${range.maxId}`,
    );
  }

  private report(outcome: ApplyOutcome): void {
    for (const notice of outcome.notices) this.logNotice(notice);
    for (const change of outcome.changes) {
      this.logChange(change);
      this.stats.changes++;
      this.bus.emit('zm:event', change);
    }
  }

  private logChange(change: ZmEventChange): void {
    const e = change.event;
    const where = `monitor ${describeMonitor({ id: e.monitorId, name: e.monitorName })}`;
    switch (change.kind) {
      case 'start':
        this.log.info(`event ${e.eventId} started on ${where}: ${e.notes || e.cause}`);
        return;
      case 'cause':
        this.log.info(`event ${e.eventId} on ${where}: cause now ${e.notes}`);
        return;
      case 'end':
        if (change.how === 'ended') {
          const length = e.startTime !== null && e.endTime !== null ? ` after ${formatDuration((e.endTime - e.startTime) * 1000)}` : '';
          this.log.info(`event ${e.eventId} ended on ${where}${length}: ${e.notes || e.cause}`);
        } else if (change.how === 'deleted') {
          this.log.info(`event ${e.eventId} on ${where} was deleted before it ended`);
        } else {
          const open = e.startTime === null ? '' : ` after ${formatDuration(this.clock.now() - e.startTime * 1000)}`;
          this.log.warn(`event ${e.eventId} on ${where} still has no end${open}; giving up on it (was ZoneMinder stopped mid-event?)`);
        }
        return;
    }
  }

  private logNotice(notice: DetectorNotice): void {
    switch (notice.kind) {
      case 'too-old':
        this.log.info(`event ${notice.eventId} on monitor ${notice.monitorName} started ${Math.round(notice.ageSec)} s ago; not notified`);
        return;
      case 'unknown-monitor':
        this.log.warn(`event ${notice.eventId} names monitor ${notice.monitorId}, which is not in ZoneMinder's monitor list; not notified`);
        return;
      case 'ignored':
        this.log.debug(() => `event ${notice.eventId} on monitor ${notice.monitorId} not notified: ${notice.reason}`);
        return;
      case 'late-commit':
        this.log.debug(() => `event ${notice.eventId} became visible after a higher Id (committed late)`);
        return;
      case 'over-capacity':
        this.log.warn(`more than ${notice.limit} open events to follow; giving up on the oldest, event ${notice.eventId}`);
        return;
    }
  }
}


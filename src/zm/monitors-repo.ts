/**
 * The monitor list: names and whether each monitor's events are notified. Loaded at start,
 * reloaded every `customize.monitor_reload_interval` seconds and, rate-limited, as soon as an
 * event names a monitor the list does not know (a monitor added since the last load). Every
 * change is published on the bus as 'zm:monitors'.
 *
 * Which monitors notify (zoneminder.md §6):
 * - ≤ 1.36 (`Function`): Modect, Mocord or Nodect, and Enabled. That is the classic server's list.
 *   Record is left out like there: it never analyses, so its events are Continuous without alarm
 *   frames; Nodect stays in because external triggers (zmtrigger) raise alarms on it. Enabled=0
 *   turns motion detection off in 1.36, so such a monitor raises no alarms worth notifying.
 * - 1.37+ (`Capturing`/`Analysing`/`Recording`): Capturing ≠ None, Recording ≠ None, and either
 *   Analysing ≠ None or Recording = OnMotion; this maps the classic Function rule onto the new
 *   columns (Modect, Mocord, Nodect in; Record, Monitor, None out). `Enabled` is not consulted:
 *   Analysing took over its role.
 * - Never: a monitor in `general.skip_monitors`. Soft-deleted monitors (1.37.39+) are left out of
 *   the list altogether, but remembered, so their late events are not taken for unknown monitors.
 */
import type { Clock, Timer } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { EventBus } from '../event-bus.js';
import type { Logger } from '../log/logger.js';
import type { MonitorInfo } from '../domain/zm-event.js';
import type { ZmesEvents } from '../domain/bus-events.js';
import type { SqlReader } from './db.js';
import type { MonitorSnapshot } from './event-detector.js';
import { monitorSelectList, parseMonitorRow, type MonitorRow, type Parsed } from './rows.js';
import type { ZmSchema } from './schema.js';

/** On-demand reloads (unknown monitor) start at most this often. */
export const MIN_RELOAD_GAP_MS = 5000;

export interface MonitorsRepoOptions {
  /** Seconds between periodic reloads (`customize.monitor_reload_interval`). */
  reloadIntervalSec: number;
  /** Monitor ids never notified (`general.skip_monitors`). */
  skipMonitors: readonly number[];
  /** Minimum time between on-demand reloads; default MIN_RELOAD_GAP_MS. */
  minReloadGapMs?: number;
}

/** Whether a monitor's events are notified, before skip_monitors (see the file comment). */
export function monitorNotifies(row: MonitorRow): boolean {
  if (row.deleted) return false;
  const a = row.activity;
  if (a.model === 'function') return row.enabled && (a.function === 'Modect' || a.function === 'Mocord' || a.function === 'Nodect');
  return a.capturing !== 'None' && a.recording !== 'None' && (a.analysing !== 'None' || a.recording === 'OnMotion');
}

/** Rows → the list and the hidden (soft-deleted) ids. Pure. */
export function buildMonitorList(rows: readonly MonitorRow[], skip: ReadonlySet<number>): { monitors: MonitorInfo[]; hidden: Set<number> } {
  const monitors: MonitorInfo[] = [];
  const hidden = new Set<number>();
  for (const row of [...rows].sort((a, b) => a.id - b.id)) {
    if (row.deleted) hidden.add(row.id);
    else monitors.push({ id: row.id, name: row.name, notify: monitorNotifies(row) && !skip.has(row.id) });
  }
  return { monitors, hidden };
}

export type MonitorChange =
  | { kind: 'added'; monitor: MonitorInfo }
  | { kind: 'removed'; monitor: MonitorInfo }
  | { kind: 'renamed'; monitor: MonitorInfo; from: string }
  | { kind: 'notify'; monitor: MonitorInfo };

/** What changed between two lists, in id order. Pure. */
export function diffMonitors(before: readonly MonitorInfo[], after: readonly MonitorInfo[]): MonitorChange[] {
  const old = new Map(before.map((m) => [m.id, m]));
  const next = new Map(after.map((m) => [m.id, m]));
  const changes: MonitorChange[] = [];
  for (const monitor of after) {
    const previous = old.get(monitor.id);
    if (!previous) changes.push({ kind: 'added', monitor });
    else {
      if (previous.name !== monitor.name) changes.push({ kind: 'renamed', monitor, from: previous.name });
      if (previous.notify !== monitor.notify) changes.push({ kind: 'notify', monitor });
    }
  }
  for (const monitor of before) if (!next.has(monitor.id)) changes.push({ kind: 'removed', monitor });
  return changes.sort((a, b) => a.monitor.id - b.monitor.id);
}

export function describeMonitor(monitor: { id: number; name: string }): string {
  return `${monitor.name} (${monitor.id})`;
}

export class MonitorsRepo {
  private list: MonitorInfo[] = [];
  private current: MonitorSnapshot = { byId: new Map(), hidden: new Set(), loadedAt: Number.NEGATIVE_INFINITY };
  private loaded = false;
  private inFlight: Promise<void> | null = null;
  /** An on-demand reload asked for while one was running or too soon after the last. */
  private pending: Timer | null = null;
  private periodic: Timer | null = null;
  private lastStart = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private readonly skip: ReadonlySet<number>;
  private readonly minGapMs: number;
  /** Problems reported at the last load, so a bad row is logged once, not at every reload. */
  private badRows = new Set<string>();

  constructor(
    private readonly db: SqlReader,
    private readonly schema: () => Promise<ZmSchema>,
    private readonly bus: EventBus<ZmesEvents>,
    private readonly options: MonitorsRepoOptions,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {
    this.skip = new Set(options.skipMonitors);
    this.minGapMs = options.minReloadGapMs ?? MIN_RELOAD_GAP_MS;
  }

  /** The list as last loaded (empty before the first load). */
  get snapshot(): MonitorSnapshot {
    return this.current;
  }

  get monitors(): readonly MonitorInfo[] {
    return this.list;
  }

  /** Starts the periodic reloads (the first load is the caller's, with load()). */
  startPeriodic(): void {
    if (this.stopped || this.periodic) return;
    this.periodic = this.clock.setInterval(() => void this.reloadQuietly('periodic'), this.options.reloadIntervalSec * 1000);
  }

  stop(): void {
    this.stopped = true;
    this.periodic?.cancel();
    this.periodic = null;
    this.pending?.cancel();
    this.pending = null;
  }

  /**
   * Loads the list now; throws on DB errors. A load already running may have sent its query before
   * whatever made the caller ask, so this waits for it and then joins or starts a newer one.
   */
  async load(): Promise<void> {
    if (this.inFlight) {
      await this.inFlight.catch(() => undefined);
      // Read again after the await (TypeScript still narrows it): a newer load may have started.
      if (this.inFlight !== null) return this.inFlight;
    }
    const work = this.fetch().finally(() => {
      if (this.inFlight === work) this.inFlight = null;
    });
    this.inFlight = work;
    return work;
  }

  /**
   * Asks for a reload soon: at once unless one started less than minReloadGapMs ago, then at the
   * end of that window. Several requests meanwhile make one reload. Errors are logged.
   */
  requestReload(): void {
    if (this.stopped || this.pending) return;
    const wait = Math.max(0, this.lastStart + this.minGapMs - this.clock.now());
    if (wait === 0 && !this.inFlight) {
      void this.reloadQuietly('unknown monitor');
      return;
    }
    this.pending = this.clock.setTimeout(
      () => {
        this.pending = null;
        void this.reloadQuietly('unknown monitor');
      },
      Math.max(wait, 50),
    );
  }

  private async reloadQuietly(why: string): Promise<void> {
    if (this.stopped) return;
    try {
      await this.load();
    } catch (err) {
      // The list stays as it was; the next reload tries again. Outages are logged by the database client.
      this.log.debug(() => `monitor list not reloaded (${why}): ${errorMessage(err)}`);
    }
  }

  private async fetch(): Promise<void> {
    const schema = await this.schema();
    const startedAt = this.clock.now();
    this.lastStart = startedAt;
    const parsed = await this.db.query<Parsed<MonitorRow>>(`SELECT ${monitorSelectList(schema)} FROM Monitors ORDER BY Id`, [], parseMonitorRow);
    if (this.stopped) return;
    const rows: MonitorRow[] = [];
    const seenBad = new Set<string>();
    for (const result of parsed) {
      if (result.ok) rows.push(result.value);
      else {
        seenBad.add(result.detail);
        if (!this.badRows.has(result.detail)) this.log.warn(`skipping a monitor the database describes oddly: ${result.detail}`);
      }
    }
    this.badRows = seenBad;

    const { monitors, hidden } = buildMonitorList(rows, this.skip);
    const changes = diffMonitors(this.list, monitors);
    const first = !this.loaded;
    this.list = monitors;
    this.loaded = true;
    this.current = { byId: new Map(monitors.map((m) => [m.id, m])), hidden, loadedAt: startedAt };
    if (first) {
      const notified = monitors.filter((m) => m.notify);
      this.log.info(
        `${monitors.length} monitor${monitors.length === 1 ? '' : 's'} loaded, ${notified.length} notified` +
          (notified.length > 0 ? `: ${notified.map(describeMonitor).join(', ')}` : ''),
      );
    } else {
      for (const change of changes) this.log.info(changeLine(change));
    }
    if (first || changes.length > 0) {
      const removed = changes.filter((c) => c.kind === 'removed').map((c) => c.monitor.id);
      this.bus.emit('zm:monitors', { monitors, removed });
    }
  }
}

function changeLine(change: MonitorChange): string {
  const m = change.monitor;
  switch (change.kind) {
    case 'added':
      return `monitor ${describeMonitor(m)} added${m.notify ? '' : ' (not notified)'}`;
    case 'removed':
      return `monitor ${describeMonitor(m)} removed`;
    case 'renamed':
      return `monitor ${m.id} renamed from ${change.from} to ${m.name}`;
    case 'notify':
      return `monitor ${describeMonitor(m)} ${m.notify ? 'is now notified' : 'is no longer notified'}`;
  }
}

/**
 * The event-detection state machine: typed Events rows in, `ZmEventChange`s out, exactly once per
 * event and phase. Pure: no I/O and no clock of its own; the poller hands it rows and times.
 *
 * How one poll works (zoneminder.md §4):
 *   plan()   → read rows with `Id > cursor`, plus the Ids it re-checks: the open events it tracks
 *              and recent Id gaps (an Id below the cursor not seen yet, possibly a row that
 *              another monitor's capture process commits late, since InnoDB hands out Ids at
 *              INSERT but rows become visible at COMMIT).
 *   apply()  → starts, cause changes and ends, plus notices for the log.
 *
 * Times: event ages compare the row's start with the database server's clock (`dbNow`, selected
 * with the rows), because both come from the same host and the container's clock may drift from
 * it; gap expiry and monitor-reload waits use the caller's clock (`now`, ms).
 */
import type { MonitorInfo, ZmEvent, ZmEventChange } from '../domain/zm-event.js';
import type { EventRow } from './rows.js';

/** How long an open event is followed before it counts as abandoned (the classic worker's hour). */
export const DEFAULT_ABANDON_AFTER_SEC = 3600;
/** Open events followed at most; beyond, the oldest are abandoned (memory stays bounded). */
export const DEFAULT_MAX_TRACKED = 1000;
/** New rows read per poll; a full batch means "poll again at once" (catching up after an outage). */
export const DEFAULT_BATCH_SIZE = 500;
/**
 * Only holes this close below the newest Id read are re-checked: rows committed out of order are
 * in flight together, so they sit within (number of monitors inserting at once) of the top.
 */
const GAP_SPAN = 256n;
const MAX_GAPS = 512;
/** A gap is given up after this long AND this many re-checks (so a DB outage does not expire it unseen). */
const GAP_TTL_MS = 10_000;
const GAP_MIN_CHECKS = 3;

export interface DetectorOptions {
  /** Events older than this (seconds) when first seen are logged, not notified (`customize.max_event_age`). */
  maxEventAgeSec: number;
  abandonAfterSec?: number;
  maxTracked?: number;
  batchSize?: number;
}

/** The monitor list as the detector consults it. */
export interface MonitorSnapshot {
  readonly byId: ReadonlyMap<number, MonitorInfo>;
  /** Monitors that exist but are not listed (soft-deleted): their events are ignored quietly. */
  readonly hidden: ReadonlySet<number>;
  /** Caller's clock (ms) when the query that produced this list was sent; -Infinity before any load. */
  readonly loadedAt: number;
}

/** What to read next. */
export interface PollPlan {
  /** Read rows with Id above this. */
  readonly after: bigint;
  /**
   * Also read these Ids (tracked open events and recent gaps), all at or below `after`. Every one
   * of them must come back when it exists (a missing tracked row means "deleted"): with
   * `ORDER BY Id`, a LIMIT of `limit + recheck.length` guarantees it.
   */
  readonly recheck: readonly bigint[];
  /** How many rows above `after` to read at most. */
  readonly limit: number;
}

export interface PollResult {
  readonly plan: PollPlan;
  /** Valid rows, any order. */
  readonly rows: readonly EventRow[];
  /** Ids of rows that exist but could not be parsed (logged by the poller): seen, never notified. */
  readonly invalidIds?: readonly bigint[];
  /** The database server's UNIX_TIMESTAMP() at the query; null when no row came back. */
  readonly dbNow: number | null;
}

export type DetectorNotice =
  /** First seen older than max_event_age: logged, not notified, end not notified either. */
  | { readonly kind: 'too-old'; readonly eventId: bigint; readonly monitorId: number; readonly monitorName: string; readonly ageSec: number }
  /** The monitor is still unknown after a reload that happened after the event was seen. */
  | { readonly kind: 'unknown-monitor'; readonly eventId: bigint; readonly monitorId: number }
  /** The event exists but is not notified (monitor off or skipped, or a Continuous event ended without alarm). */
  | { readonly kind: 'ignored'; readonly eventId: bigint; readonly monitorId: number; readonly reason: string }
  /** A row that appeared below the cursor: committed after a higher Id was already visible. */
  | { readonly kind: 'late-commit'; readonly eventId: bigint }
  /** More open events than the limit: the oldest was given up. */
  | { readonly kind: 'over-capacity'; readonly eventId: bigint; readonly limit: number };

export interface ApplyOutcome {
  readonly changes: readonly ZmEventChange[];
  readonly notices: readonly DetectorNotice[];
  /** Monitors named by events but missing from the list: the caller should reload the list. */
  readonly unknownMonitors: readonly number[];
  /** The batch was full: there are more rows to read now. */
  readonly more: boolean;
  /** Whether the persisted part (see snapshot()) changed. */
  readonly dirty: boolean;
}

/** What survives a restart: the cursor, the open events (and whether their start was notified), the gaps. */
export interface DetectorSnapshot {
  readonly cursor: bigint;
  readonly open: readonly { readonly id: bigint; readonly monitorId: number; readonly started: boolean }[];
  readonly gaps: readonly bigint[];
}

type Tracked =
  /** Start notified; waiting for Notes changes and the end. `notes` null: restored, baseline not read yet. */
  | { phase: 'started'; id: bigint; monitorId: number; firstSeenAt: number; notes: string | null; last: EventRow | null }
  /** A Continuous event without alarm frames above `alarmBaseline` yet. */
  | { phase: 'quiet'; id: bigint; monitorId: number; firstSeenAt: number; alarmBaseline: number; last: EventRow }
  /** Its monitor is not in the list; waiting for a reload. */
  | { phase: 'awaiting-monitor'; id: bigint; monitorId: number; firstSeenAt: number; last: EventRow }
  /** Restored from disk without its start notified: judged afresh at its first read. */
  | { phase: 'restored'; id: bigint; monitorId: number; firstSeenAt: number };

interface Gap {
  noticedAt: number;
  checks: number;
}

/** Events of Record/Mocord monitors start as `Continuous` whether or not anything moves (zoneminder.md §3). */
export function isContinuousCause(cause: string): boolean {
  return /^\s*Continuous\s*(?::.*)?$/.test(cause);
}

/** The event as notifications carry it. */
export function toZmEvent(row: EventRow, monitorName: string): ZmEvent {
  return {
    eventId: row.id,
    monitorId: row.monitorId,
    monitorName,
    cause: row.cause,
    notes: row.notes ?? '',
    startTime: row.startTime,
    endTime: row.endTime,
    alarmFrames: row.alarmFrames,
    maxScore: row.maxScore,
  };
}

export class EventDetector {
  private cursor: bigint;
  private readonly tracked = new Map<bigint, Tracked>();
  private readonly gaps = new Map<bigint, Gap>();
  private readonly maxEventAgeSec: number;
  private readonly abandonAfterSec: number;
  private readonly maxTracked: number;
  private readonly batchSize: number;
  /** Set when the persisted part (tracked ids and phases, gaps) changed during apply(). */
  private touched = false;

  /** `cursor`: the highest Id already handled (events at or below it are never started again). */
  constructor(options: DetectorOptions, cursor: bigint) {
    this.maxEventAgeSec = options.maxEventAgeSec;
    this.abandonAfterSec = options.abandonAfterSec ?? DEFAULT_ABANDON_AFTER_SEC;
    this.maxTracked = Math.max(1, options.maxTracked ?? DEFAULT_MAX_TRACKED);
    this.batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
    this.cursor = cursor;
  }

  /** Rebuilds a detector from a snapshot; `now` stamps the restored entries. */
  static restore(options: DetectorOptions, snapshot: DetectorSnapshot, now: number): EventDetector {
    const detector = new EventDetector(options, snapshot.cursor);
    for (const { id, monitorId, started } of snapshot.open) {
      if (id > snapshot.cursor) continue;
      detector.tracked.set(
        id,
        started
          ? { phase: 'started', id, monitorId, firstSeenAt: now, notes: null, last: null }
          : { phase: 'restored', id, monitorId, firstSeenAt: now },
      );
    }
    for (const id of snapshot.gaps) if (id < snapshot.cursor) detector.gaps.set(id, { noticedAt: now, checks: 0 });
    detector.enforceCapacity([], []);
    return detector;
  }

  get lastEventId(): bigint {
    return this.cursor;
  }

  get trackedCount(): number {
    return this.tracked.size;
  }

  get gapCount(): number {
    return this.gaps.size;
  }

  snapshot(): DetectorSnapshot {
    return {
      cursor: this.cursor,
      open: [...this.tracked.values()].map((t) => ({ id: t.id, monitorId: t.monitorId, started: t.phase === 'started' })),
      gaps: [...this.gaps.keys()],
    };
  }

  /**
   * Moves the cursor (the database was restored or recreated and its Ids went back): everything
   * tracked refers to rows that no longer mean the same thing, so it is forgotten without ends.
   */
  resetCursor(cursor: bigint): void {
    this.cursor = cursor;
    this.tracked.clear();
    this.gaps.clear();
  }

  plan(): PollPlan {
    // In Id order, so changes come out in the order the events were created.
    const recheck = [...this.tracked.keys(), ...this.gaps.keys()].sort(compareIds);
    return { after: this.cursor, recheck, limit: this.batchSize };
  }

  apply(result: PollResult, monitors: MonitorSnapshot, now: number): ApplyOutcome {
    const cursorBefore = this.cursor;
    this.touched = false;
    const out: Work = { changes: [], notices: [], unknown: new Set() };
    const byId = new Map<bigint, EventRow>();
    for (const row of result.rows) byId.set(row.id, row);
    const invalid = new Set(result.invalidIds ?? []);
    const dbNow = result.dbNow;

    // 1. What we asked to re-check: tracked events and gaps.
    for (const id of result.plan.recheck) {
      const row = byId.get(id);
      const tracked = this.tracked.get(id);
      if (tracked) {
        if (row) this.follow(tracked, row, monitors, dbNow, now, out);
        else if (!invalid.has(id)) this.vanished(tracked, monitors, out);
        continue;
      }
      const gap = this.gaps.get(id);
      if (!gap) continue;
      if (row || invalid.has(id)) {
        this.dropGap(id);
        if (row) {
          out.notices.push({ kind: 'late-commit', eventId: id });
          this.firstSight(row, monitors, dbNow, now, out);
        }
      } else {
        gap.checks++;
        if (gap.checks >= GAP_MIN_CHECKS && now - gap.noticedAt >= GAP_TTL_MS) this.dropGap(id);
      }
    }

    // 2. New rows above the cursor, in Id order; holes between them may fill in later.
    const fresh = [...result.rows.filter((r) => r.id > result.plan.after).map((r) => r.id), ...[...invalid].filter((id) => id > result.plan.after)]
      .sort(compareIds);
    let previous = result.plan.after;
    const top = fresh.length > 0 ? fresh[fresh.length - 1]! : previous;
    for (const id of fresh) {
      if (id <= previous) continue; // duplicate id in the input
      this.noteGaps(previous, id, top, now);
      previous = id;
      const row = byId.get(id);
      if (row) this.firstSight(row, monitors, dbNow, now, out);
    }
    if (top > this.cursor) this.cursor = top;

    this.enforceCapacity(out.changes, out.notices, monitors);
    return {
      changes: out.changes,
      notices: out.notices,
      unknownMonitors: [...out.unknown],
      more: fresh.length >= result.plan.limit,
      dirty: this.touched || this.cursor !== cursorBefore,
    };
  }

  /** A row seen for the first time (above the cursor, a late commit, or a restored unnotified event). */
  private firstSight(row: EventRow, monitors: MonitorSnapshot, dbNow: number | null, now: number, out: Work, firstSeenAt = now): void {
    const monitor = monitors.byId.get(row.monitorId);
    if (!monitor) {
      if (monitors.hidden.has(row.monitorId)) {
        out.notices.push({ kind: 'ignored', eventId: row.id, monitorId: row.monitorId, reason: 'its monitor is deleted' });
        this.untrack(row.id);
      } else if (monitors.loadedAt > firstSeenAt) {
        out.notices.push({ kind: 'unknown-monitor', eventId: row.id, monitorId: row.monitorId });
        this.untrack(row.id);
      } else {
        out.unknown.add(row.monitorId);
        this.track({ phase: 'awaiting-monitor', id: row.id, monitorId: row.monitorId, firstSeenAt, last: row });
      }
      return;
    }
    if (!monitor.notify) {
      out.notices.push({ kind: 'ignored', eventId: row.id, monitorId: row.monitorId, reason: `monitor ${monitor.name} is not notified` });
      this.untrack(row.id);
      return;
    }
    const open = row.endTime === null;
    const continuous = isContinuousCause(row.cause);
    const age = dbNow !== null && row.startTime !== null ? dbNow - row.startTime : null;
    if (age !== null && age > this.maxEventAgeSec) {
      if (continuous && open) {
        // A Record/Mocord section can run for 10 minutes: an alarm inside it from now on is news.
        this.quiet(row, firstSeenAt, row.alarmFrames ?? 0);
      } else {
        out.notices.push({ kind: 'too-old', eventId: row.id, monitorId: row.monitorId, monitorName: monitor.name, ageSec: age });
        this.untrack(row.id);
      }
      return;
    }
    if (continuous && (row.alarmFrames ?? 0) === 0) {
      if (open) this.quiet(row, firstSeenAt, 0);
      else {
        out.notices.push({ kind: 'ignored', eventId: row.id, monitorId: row.monitorId, reason: 'a Continuous event ended without alarm frames' });
        this.untrack(row.id);
      }
      return;
    }
    this.start(row, monitor, firstSeenAt, out);
  }

  private start(row: EventRow, monitor: MonitorInfo, firstSeenAt: number, out: Work): void {
    out.changes.push({ kind: 'start', event: toZmEvent(row, monitor.name) });
    if (row.endTime !== null) {
      out.changes.push({ kind: 'end', event: toZmEvent(row, monitor.name), how: 'ended' });
      this.untrack(row.id);
    } else {
      this.track({ phase: 'started', id: row.id, monitorId: row.monitorId, firstSeenAt, notes: row.notes ?? '', last: row });
    }
  }

  private quiet(row: EventRow, firstSeenAt: number, alarmBaseline: number): void {
    this.track({ phase: 'quiet', id: row.id, monitorId: row.monitorId, firstSeenAt, alarmBaseline, last: row });
  }

  /** A fresh read of an event we follow. */
  private follow(tracked: Tracked, row: EventRow, monitors: MonitorSnapshot, dbNow: number | null, now: number, out: Work): void {
    switch (tracked.phase) {
      case 'restored':
        this.untrack(row.id);
        this.firstSight(row, monitors, dbNow, now, out);
        return;
      case 'awaiting-monitor':
        this.untrack(row.id);
        this.firstSight(row, monitors, dbNow, now, out, tracked.firstSeenAt);
        return;
      case 'quiet': {
        tracked.last = row;
        const monitor = monitors.byId.get(row.monitorId);
        if ((row.alarmFrames ?? 0) > tracked.alarmBaseline && monitor?.notify) {
          this.untrack(row.id);
          this.start(row, monitor, tracked.firstSeenAt, out);
        } else if (row.endTime !== null) {
          this.untrack(row.id);
        } else if (this.overdue(tracked, row, dbNow, now)) {
          this.untrack(row.id);
        }
        return;
      }
      case 'started': {
        const name = monitorName(monitors, row.monitorId);
        tracked.monitorId = row.monitorId;
        tracked.last = row;
        if (row.endTime !== null) {
          this.untrack(row.id);
          out.changes.push({ kind: 'end', event: toZmEvent(row, name), how: 'ended' });
          return;
        }
        const notes = row.notes ?? '';
        if (tracked.notes !== null && notes !== tracked.notes) out.changes.push({ kind: 'cause', event: toZmEvent(row, name) });
        tracked.notes = notes;
        if (this.overdue(tracked, row, dbNow, now)) {
          this.untrack(row.id);
          out.changes.push({ kind: 'end', event: toZmEvent(row, name), how: 'abandoned' });
        }
        return;
      }
    }
  }

  /** A tracked row is gone: deleted by a user or a filter. */
  private vanished(tracked: Tracked, monitors: MonitorSnapshot, out: Work): void {
    this.untrack(tracked.id);
    if (tracked.phase !== 'started') return;
    const last = tracked.last;
    // A restored event that vanished before its first read: only its Id and monitor are known.
    const event: ZmEvent = last
      ? toZmEvent(last, monitorName(monitors, last.monitorId))
      : {
          eventId: tracked.id,
          monitorId: tracked.monitorId,
          monitorName: monitorName(monitors, tracked.monitorId),
          cause: '',
          notes: '',
          startTime: null,
          endTime: null,
          alarmFrames: null,
          maxScore: 0,
        };
    out.changes.push({ kind: 'end', event, how: 'deleted' });
  }

  private overdue(tracked: Tracked, row: EventRow, dbNow: number | null, now: number): boolean {
    if (dbNow !== null && row.startTime !== null) return dbNow - row.startTime > this.abandonAfterSec;
    return now - tracked.firstSeenAt > this.abandonAfterSec * 1000;
  }

  /** Records the holes between `from` and `to` (exclusive) among the GAP_SPAN Ids just below `top`. */
  private noteGaps(from: bigint, to: bigint, top: bigint, now: number): void {
    const floor = top - GAP_SPAN - 1n > from ? top - GAP_SPAN - 1n : from;
    for (let id = floor + 1n; id < to && this.gaps.size < MAX_GAPS; id++) {
      if (!this.gaps.has(id)) this.addGap(id, now);
    }
  }

  /** Gives up the oldest tracked events beyond the limit. */
  private enforceCapacity(changes: ZmEventChange[], notices: DetectorNotice[], monitors?: MonitorSnapshot): void {
    if (this.tracked.size <= this.maxTracked) return;
    const ids = [...this.tracked.keys()].sort(compareIds);
    for (const id of ids.slice(0, this.tracked.size - this.maxTracked)) {
      const tracked = this.tracked.get(id)!;
      this.untrack(id);
      notices.push({ kind: 'over-capacity', eventId: id, limit: this.maxTracked });
      if (tracked.phase === 'started' && tracked.last) {
        const name = monitors ? monitorName(monitors, tracked.last.monitorId) : '';
        changes.push({ kind: 'end', event: toZmEvent(tracked.last, name), how: 'abandoned' });
      }
    }
  }

  private track(entry: Tracked): void {
    this.tracked.set(entry.id, entry);
    this.touched = true;
  }

  private untrack(id: bigint): void {
    if (this.tracked.delete(id)) this.touched = true;
  }

  private addGap(id: bigint, now: number): void {
    this.gaps.set(id, { noticedAt: now, checks: 0 });
    this.touched = true;
  }

  private dropGap(id: bigint): void {
    if (this.gaps.delete(id)) this.touched = true;
  }
}

interface Work {
  changes: ZmEventChange[];
  notices: DetectorNotice[];
  unknown: Set<number>;
}

function compareIds(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function monitorName(monitors: MonitorSnapshot, id: number): string {
  return monitors.byId.get(id)?.name ?? `Monitor ${id}`;
}

/** ZoneMinder's events and monitors as event detection reports them. */

/** A monitor as notifications need it. */
export interface MonitorInfo {
  readonly id: number;
  readonly name: string;
  /** Whether events of this monitor are notified (function/capturing state, skip_monitors). */
  readonly notify: boolean;
}

/** One ZoneMinder event as last read from the Events table. */
export interface ZmEvent {
  /** Events.Id (BIGINT UNSIGNED). */
  readonly eventId: bigint;
  readonly monitorId: number;
  readonly monitorName: string;
  /** Events.Cause as ZoneMinder wrote it at the start ("Motion", "Forced Web", …). */
  readonly cause: string;
  /** Events.Notes: cause detail with zone names ("Motion: Front, Porch"); grows while the event runs. */
  readonly notes: string;
  /** Unix seconds. */
  readonly startTime: number | null;
  /** Unix seconds; null while the event is open. */
  readonly endTime: number | null;
  readonly alarmFrames: number | null;
  readonly maxScore: number;
}

/** What event detection reports, once per event and phase (cause: each time Notes changes). */
export type ZmEventChange =
  | { readonly kind: 'start'; readonly event: ZmEvent }
  | { readonly kind: 'cause'; readonly event: ZmEvent }
  /** `deleted`: the row vanished; `abandoned`: open longer than the limit (ZoneMinder killed). */
  | { readonly kind: 'end'; readonly event: ZmEvent; readonly how: 'ended' | 'deleted' | 'abandoned' };

import type { Clock, Timer } from '../../src/clock.js';

/** A clock whose timers run only when the test advances it. */
export interface ManualClock extends Clock {
  /** Moves time forward and runs the timers that are due, in order. */
  advance(ms: number): void;
  readonly pending: number;
}

export function manualClock(start: number): ManualClock {
  let now = start;
  let nextId = 0;
  const timers = new Map<number, { at: number; fn: () => void; every: number | null }>();
  const schedule = (fn: () => void, ms: number, every: number | null): Timer => {
    const id = nextId++;
    timers.set(id, { at: now + Math.max(0, ms), fn, every });
    return { cancel: () => void timers.delete(id) };
  };
  return {
    now: () => now,
    setTimeout: (fn, ms) => schedule(fn, ms, null),
    setInterval: (fn, ms) => schedule(fn, ms, ms),
    get pending() {
      return timers.size;
    },
    advance(ms) {
      const target = now + ms;
      for (;;) {
        let due: [number, { at: number; fn: () => void; every: number | null }] | undefined;
        for (const entry of timers) if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
        if (!due) break;
        const [id, timer] = due;
        now = timer.at;
        if (timer.every === null) timers.delete(id);
        else timer.at += Math.max(1, timer.every);
        timer.fn();
      }
      now = target;
    },
  };
}

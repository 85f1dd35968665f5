/**
 * Spreads a burst of small tasks over event-loop turns so that none of them waits long for the
 * loop: within a turn, tasks run at once until `budgetMs` of work has been done since the turn's
 * first one; the rest wait, in order, for the following turns (setImmediate, after I/O), each
 * of which gets the same budget. A reconnect storm (a thousand phones upgrading and logging in
 * within a few milliseconds, which uWS hands over in one native loop iteration) then costs many
 * short turns instead of one long stall, and timers, database answers and alarms get their turn
 * in between.
 *
 * A task is a synchronous function; what it starts asynchronously is not paced. Tasks keep the
 * order they were given in, so frames of one connection are never reordered.
 */
export class Pacer {
  private readonly queue: Array<(deferred: boolean) => void> = [];
  private turnStartedAt: number | undefined;
  private endOfTurnScheduled = false;

  constructor(
    private readonly budgetMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly nextTurn: (fn: () => void) => void = (fn) => void setImmediate(fn),
  ) {}

  /** Tasks waiting for a later turn. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Runs `task` now (deferred = false) when nothing is waiting and this turn's budget is not
   * spent, else queues it for a later turn (deferred = true).
   */
  run(task: (deferred: boolean) => void): void {
    if (this.queue.length === 0 && this.withinBudget()) {
      task(false);
      return;
    }
    this.queue.push(task);
    this.scheduleEndOfTurn();
  }

  private withinBudget(): boolean {
    const now = this.now();
    if (this.turnStartedAt === undefined) {
      this.turnStartedAt = now;
      this.scheduleEndOfTurn();
    }
    return now - this.turnStartedAt < this.budgetMs;
  }

  private scheduleEndOfTurn(): void {
    if (this.endOfTurnScheduled) return;
    this.endOfTurnScheduled = true;
    this.nextTurn(() => this.endOfTurn());
  }

  /** A new turn: run what waits while the budget lasts, and come back for the rest. */
  private endOfTurn(): void {
    this.endOfTurnScheduled = false;
    this.turnStartedAt = undefined;
    while (this.queue.length > 0 && this.withinBudget()) {
      const task = this.queue.shift()!;
      try {
        task(true);
      } catch {
        // A task guards itself (the server wraps every handler); one failing must not strand the rest.
      }
    }
    if (this.queue.length > 0) this.scheduleEndOfTurn();
  }
}

/**
 * The rules file as pipeline stages (classic-config.md §7): `mute` drops the notification on
 * every channel, `critical_notify` sets `RulesObject {"notification_type":"critical"}`; applied
 * at start and again at end.
 *
 * Order. The classic server ran the start hook first and the rules after it, so `cause_has` sees
 * the hook's text (`detected:person`), which is what rule files are written for. We keep that
 * meaning and still spare the hook run of a muted event with two stages around the hook stage:
 *   `before` decides whatever it can without the final cause: the first rule whose time and day
 *            match and that has no `cause_has` (or any rule when no hook can change the cause)
 *            mutes (no hook runs), marks critical, or allows;
 *   `after`  decides, with the cause the hook produced, only what `before` left open.
 * Both use the same instant, taken in `before`, so a hook running across a window boundary
 * cannot change the answer: the result is always what first-match-wins gives on the final cause.
 */
import type { Logger } from '../../log/logger.js';
import { LRUCache } from 'lru-cache';
import type { DraftNotification, NotificationStage } from '../pipeline.js';
import type { RuleSource } from './rules-file.js';
import { evaluateRules, ruleCause, wallClock, type Rule, type RuleDecision, type WallClock } from './rules.js';

export interface RulesStageOptions {
  readonly rules: RuleSource;
  readonly log: Logger;
  /** Current time, ms since the epoch. */
  readonly now: () => number;
  /** IANA zone in which rule times are wall-clock times. */
  readonly timeZone: string;
  /** Whether a later stage (a hook) may still change this draft's cause; default never. */
  readonly causeMayChange?: (draft: DraftNotification) => boolean;
  /** Events whose start cause is remembered for their end; default 10 000. */
  readonly memoryLimit?: number;
  /** Drafts an administrator forced through (escontrol monitor state 1): a mute rule does not apply. */
  readonly forced?: (draft: DraftNotification) => boolean;
}

export interface RulesStages {
  /** Goes before the hook stage. */
  readonly before: NotificationStage;
  /** Goes after the hook stage; a no-op when `before` already decided. */
  readonly after: NotificationStage;
}

interface Context {
  readonly at: WallClock;
  readonly rules: readonly Rule[];
  readonly startCause: string | undefined;
  decided: boolean;
}

export const CRITICAL_RULES_OBJECT = { notification_type: 'critical' } as const;

export function createRulesStages(options: RulesStageOptions): RulesStages {
  const { log } = options;
  const causeMayChange = options.causeMayChange ?? (() => false);
  /** Start cause per event, for the end's "cause used". */
  const startCauses = new LRUCache<bigint, string>({ max: options.memoryLimit ?? 10_000 });
  const takeStartCause = (eventId: bigint): string | undefined => {
    const cause = startCauses.get(eventId);
    startCauses.delete(eventId);
    return cause;
  };
  /** Per draft, what `before` saw; the pipeline hands the same draft object from stage to stage. */
  const contexts = new WeakMap<DraftNotification, Context>();
  const reported = new WeakSet<Rule>();

  const apply = (draft: DraftNotification, decision: RuleDecision): DraftNotification | null => {
    const what = `event ${draft.event.eventId} (monitor ${draft.event.monitorId} ${draft.event.monitorName}): ${draft.phase} notification`;
    switch (decision.kind) {
      case 'mute':
        if (options.forced?.(draft)) {
          log.info(`${what} not muted by ${decision.rule.label}: notifications of this monitor are forced by escontrol`);
          return draft;
        }
        log.info(`${what} muted by ${decision.rule.label}`);
        return null;
      case 'critical':
        log.debug(() => `${what} marked critical by ${decision.rule.label}`);
        draft.rulesObject = { ...CRITICAL_RULES_OBJECT };
        return draft;
      case 'unknown-action':
        if (!reported.has(decision.rule)) {
          reported.add(decision.rule);
          log.error(`${what}: ${decision.rule.label} has unknown action ${JSON.stringify(decision.rule.actionText)}; notification allowed`);
        }
        return draft;
      default:
        return draft;
    }
  };

  const before: NotificationStage = async (draft) => {
    const { eventId, monitorId } = draft.event;
    const startCause = draft.phase === 'start' ? draft.cause : takeStartCause(eventId);
    if (draft.phase === 'start') startCauses.set(eventId, draft.cause);
    const rules = (await options.rules()).get(monitorId) ?? [];
    const context: Context = { at: wallClock(options.now(), options.timeZone), rules, startCause, decided: true };
    contexts.set(draft, context);
    if (rules.length === 0) return draft;
    // The cause is final when no hook can change it, or at end when the start cause (which then wins) has the detection.
    const final = !causeMayChange(draft) || (draft.phase === 'end' && startCause !== undefined && startCause.includes('detected:'));
    const decision = evaluateRules(rules, context.at, final ? ruleCause(draft.phase, startCause, draft.cause) : undefined);
    if (decision.kind === 'undecided') {
      context.decided = false;
      log.debug(() => `event ${eventId}: ${decision.rule.label} needs the hook's cause; rules decided after the hook`);
      return draft;
    }
    return apply(draft, decision);
  };

  const after: NotificationStage = (draft) => {
    if (draft.phase === 'start') startCauses.set(draft.event.eventId, draft.cause);
    const context = contexts.get(draft);
    if (context === undefined) {
      // `before` did not see this draft (not wired, or another stage replaced the object): decide now.
      return options.rules().then((set) => {
        const rules = set.get(draft.event.monitorId) ?? [];
        const cause = ruleCause(draft.phase, draft.phase === 'start' ? undefined : takeStartCause(draft.event.eventId), draft.cause);
        return apply(draft, evaluateRules(rules, wallClock(options.now(), options.timeZone), cause));
      });
    }
    if (context.decided) return draft;
    return apply(draft, evaluateRules(context.rules, context.at, ruleCause(draft.phase, context.startCause, draft.cause)));
  };

  return { before, after };
}

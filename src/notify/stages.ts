/**
 * The notification stages built from the configuration, in pipeline order, for the composition
 * root:
 *
 *   const notifyStages = createNotificationStages(config, { db, log: log.child('hooks'), clock });
 *   for (const stage of notifyStages.stages) pipeline.addStage(stage);
 *   // and notifyStages among the services (start: loads the rules file; stop: ends running hooks)
 *
 * Order: rules (what can be decided before the hook: a muted event runs no hook) → hooks →
 * rules (what needed the hook's cause). See rules-stage.ts for why this gives exactly the
 * classic "hook first, then rules" answer.
 */
import type { Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import { readZmConf } from '../config/zm-conf.js';
import { ZmesError } from '../errors.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { SqlReader } from '../zm/db.js';
import type { NotesWriter } from './hooks/event-notes.js';
import { DEFAULT_EVENTS_DIR } from './hooks/event-path.js';
import { createHookStage, hookOptionsFromConfig, type HookStage } from './hooks/hooks.js';
import type { DraftNotification, NotificationStage } from './pipeline.js';
import { RulesFile } from './rules/rules-file.js';
import { createRulesStages } from './rules/rules-stage.js';
import { isValidTimeZone, processTimeZone } from './rules/rules.js';

export interface NotificationStageDeps {
  /** ZoneMinder's database (ZmDatabase): Notes writes and event folders; null disables both. */
  readonly db: (NotesWriter & SqlReader) | null;
  readonly log: Logger;
  readonly clock: Clock;
  /** IANA zone in which rule times are read; default the process zone (TZ). */
  readonly timeZone?: string;
  /** Drafts forced through by escontrol, which mute rules must let pass. */
  readonly forced?: (draft: DraftNotification) => boolean;
}

export interface NotificationStages extends Service {
  /** Add to the pipeline in this order. */
  readonly stages: readonly NotificationStage[];
  readonly hooks: HookStage;
  /** null when customize.es_rules is not set. */
  readonly rulesFile: RulesFile | null;
}

/** Throws ZmesError (ZMES_CONFIG_INVALID) for a hook command line that cannot be split or an unknown time zone. */
export function createNotificationStages(config: Config, deps: NotificationStageDeps): NotificationStages {
  const { log, clock } = deps;
  const timeZone = deps.timeZone ?? processTimeZone();
  if (!isValidTimeZone(timeZone)) throw new ZmesError('ZMES_CONFIG_INVALID', `unknown time zone ${JSON.stringify(timeZone)} for the rules file`);

  const { options, warnings } = hookOptionsFromConfig(config);
  let eventsDir: string | undefined;
  const hooks = createHookStage(
    {
      db: deps.db,
      log,
      clock,
      // Read on first use only (hook_pass_image_path with events on StorageId 0).
      defaultEventsDir: () => {
        const zmConf = config.database.zm_conf;
        eventsDir ??= (zmConf ? readZmConf(zmConf).values.get('ZM_DIR_EVENTS') : undefined) ?? DEFAULT_EVENTS_DIR;
        return eventsDir;
      },
    },
    options,
  );

  const rulesPath = config.customize.es_rules;
  const rulesFile = rulesPath ? new RulesFile({ path: rulesPath, log, clock }) : null;
  const stages: NotificationStage[] = [];
  if (rulesFile) {
    const rules = createRulesStages({
      rules: () => rulesFile.current(),
      log,
      now: () => clock.now(),
      timeZone,
      causeMayChange: (draft) => hooks.causeMayChange(draft),
      ...(deps.forced ? { forced: deps.forced } : {}),
    });
    stages.push(rules.before);
    if (options.enabled) stages.push(hooks.stage, rules.after);
  } else if (options.enabled) {
    stages.push(hooks.stage);
  }

  return {
    name: 'notify-stages',
    stages,
    hooks,
    rulesFile,
    async start() {
      for (const warning of warnings) log.warn(warning);
      if (rulesFile) {
        log.info(`rules file ${rulesFile.path}: times are read in time zone ${timeZone}`);
        await rulesFile.load();
      }
    },
    stop: () => hooks.stop(),
  };
}

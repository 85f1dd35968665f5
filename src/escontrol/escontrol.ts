/**
 * The escontrol admin interface, assembled: the persisted store, the pipeline stage that applies
 * its monitor modes, and the admin side of the WebSocket protocol (password check, commands).
 * src/app.ts builds it once with `createEscontrol` and plugs the parts in (see README of the
 * wiring in createEscontrol's doc).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/load.js';
import { errorMessage } from '../errors.js';
import type { EventBus } from '../event-bus.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { DraftNotification, NotificationStage } from '../notify/pipeline.js';
import type { ZmesEvents } from '../domain/bus-events.js';
import type { AdminInterface } from '../ws/session-handler.js';
import type { JsonObject } from '../domain/json.js';
import { escontrolFailFrame, runCommand, type CommandEnvironment } from './commands.js';
import { editChecker } from './edit-check.js';
import { createMuteStage } from './mute-stage.js';
import { EscontrolStore, type EscontrolStoreOptions } from './overrides-store.js';

export interface EscontrolDependencies {
  readonly config: Config;
  readonly log: Logger;
  /** Called after the `restart` reply was sent: stop the server and start it again. */
  readonly restart: () => void;
  /** ZoneMinder's current monitor ids, for `mute`/`unmute` without a list (see trackMonitorIds). */
  readonly monitors: () => readonly number[];
  /** A store other than the file (the cluster's shared one). */
  readonly makeStore?: (options: EscontrolStoreOptions) => EscontrolStore;
}

export interface Escontrol {
  /** `general.use_escontrol_interface`. When off, the stage passes everything and the store is never read. */
  readonly enabled: boolean;
  readonly store: EscontrolStore;
  /** For the ServiceRunner: the store when enabled, else nothing. Start it before event detection. */
  readonly services: readonly Service[];
  /** Pipeline stage (mute / force); add it before the rules stage. */
  readonly stage: NotificationStage;
  /** Whether escontrol forced a draft (monitor mode 1): the rules stage must not mute it. */
  readonly isForced: (draft: DraftNotification) => boolean;
  /** For SessionHandler.setAdminInterface. */
  readonly handler: AdminInterface;
}

/**
 * Wiring in src/app.ts (after the SessionHandler, the bus and the pipeline exist):
 *
 *   const monitorIds = trackMonitorIds(bus);
 *   const escontrol = createEscontrol({ config, log: log.child('escontrol'), restart: deps.restart ?? …, monitors: monitorIds.ids });
 *   sessions.setAdminInterface(escontrol.handler);
 *   pipeline.addStage(escontrol.stage);          // before any rules stage
 *   runner.start([...escontrol.services, …, detection]);   // and monitorIds.dispose() on stop
 */
export function createEscontrol(deps: EscontrolDependencies): Escontrol {
  const { config, log } = deps;
  const enabled = config.general.use_escontrol_interface;
  const storeOptions = { path: config.general.escontrol_interface_file, log };
  const store = deps.makeStore ? deps.makeStore(storeOptions) : new EscontrolStore(storeOptions);
  const mute = createMuteStage((monitorId) => (enabled ? store.mode(monitorId) : 0), log);
  const environment: CommandEnvironment = { knownMonitors: deps.monitors, checkEdit: editChecker(config) };
  const password = config.general.escontrol_interface_password;
  if (enabled && password === null) {
    log.warn('general.use_escontrol_interface is on but general.escontrol_interface_password is not set: every admin login will be refused');
  }

  const handler: AdminInterface = {
    checkPassword: (given) => {
      if (password === null) return 'unconfigured';
      return given !== undefined && sameSecret(given, password) ? 'ok' : 'bad';
    },
    execute: (request: JsonObject, who: string) => {
      const result = runCommand(store.state, request, environment);
      if (result.kind === 'change') {
        try {
          store.replace(result.next);
        } catch (err) {
          log.error(`${who}: ${result.log} — but the escontrol file ${store.path} cannot be written: ${errorMessage(err)}; nothing changed`);
          return { reply: escontrolFailFrame(request, 'SAVEFAILED', 'the escontrol file cannot be written; nothing changed (see the server log)') };
        }
      }
      log.info(`${who}: ${result.log}`);
      return result.kind === 'restart' ? { reply: result.reply, after: deps.restart } : { reply: result.reply };
    },
  };

  return {
    enabled,
    store,
    services: enabled ? [store] : [],
    stage: mute.stage,
    isForced: mute.isForced,
    handler,
  };
}

/** Equal-length digests make the comparison constant-time whatever the lengths of the inputs. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Keeps the latest monitor ids from the bus ('zm:monitors', emitted at every monitor reload). */
export function trackMonitorIds(bus: EventBus<ZmesEvents>): { readonly ids: () => readonly number[]; dispose(): void } {
  let ids: readonly number[] = [];
  const dispose = bus.on('zm:monitors', ({ monitors }) => {
    ids = monitors.map((m) => m.id);
  });
  return { ids: () => ids, dispose };
}

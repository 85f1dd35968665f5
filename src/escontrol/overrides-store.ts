/**
 * The escontrol store (classic-config.md §9): per-monitor notification modes and admin `edit`
 * overrides, persisted as JSON under `general.escontrol_interface_file`:
 *
 *   {"notifications":{"<mid>":1|0|-1}, "<section.key>":"<value>"}
 *
 * The classic server kept a Perl Storable file, which cannot be read here; a JSON file is the
 * documented replacement. The parsing and serialising are pure; `EscontrolStore` adds the file.
 */
import { errorMessage } from '../errors.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import { setAside, writeFileAtomic } from '../state/atomic-file.js';
import type { JsonObject } from '../domain/json.js';
import { readTextIfExists, withoutBom } from '../state/text-file.js';

/** 1 = notify even when rules would mute (device filters still apply), 0 = normal, -1 = mute. */
export type MonitorMode = -1 | 0 | 1;

export interface EscontrolState {
  /** Monitor id → mode; a monitor not listed is 0 (our choice, protocol.md §9). */
  readonly notifications: ReadonlyMap<number, MonitorMode>;
  /** Config overrides by the key as stored (normally `section.key`) → value as text. */
  readonly settings: ReadonlyMap<string, string>;
}

export const EMPTY_STATE: EscontrolState = Object.freeze({ notifications: new Map(), settings: new Map() });

export type ParsedStore =
  | { readonly ok: true; readonly state: EscontrolState; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly error: string };

const NOTIFICATIONS = 'notifications';
const MONITOR_ID = /^\d{1,15}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toMode(value: unknown): MonitorMode | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d\s*$/.test(value) ? Number(value) : NaN;
  return n === -1 || n === 0 || n === 1 ? n : undefined;
}

/**
 * Reads the store file's text. Lenient per entry (a hand-edited file may hold a bad entry; it
 * is dropped with a warning), strict on the whole (not JSON, or not an object: `ok: false`).
 */
export function parseStoreText(text: string): ParsedStore {
  const trimmed = withoutBom(text).trim();
  if (trimmed === '') return { ok: true, state: EMPTY_STATE, warnings: [] };
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch (err) {
    return { ok: false, error: `not JSON (${errorMessage(err)})` };
  }
  if (!isObject(json)) return { ok: false, error: 'the top level is not a JSON object' };
  const warnings: string[] = [];
  const notifications = new Map<number, MonitorMode>();
  const settings = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    if (key === NOTIFICATIONS) {
      if (!isObject(value)) {
        warnings.push('"notifications" is not an object; monitor modes reset');
        continue;
      }
      for (const [mid, raw] of Object.entries(value)) {
        const mode = toMode(raw);
        if (!MONITOR_ID.test(mid) || Number(mid) <= 0 || mode === undefined) {
          warnings.push(`notifications entry ${JSON.stringify(mid)} is not a monitor id with 1, 0 or -1; dropped`);
          continue;
        }
        notifications.set(Number(mid), mode);
      }
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      settings.set(key, String(value));
    } else {
      warnings.push(`override ${JSON.stringify(key)} has no single value; dropped`);
    }
  }
  return { ok: true, state: { notifications, settings }, warnings };
}

/** The store as the `get` reply and the file show it: notifications first, ids in numeric order. */
export function storeJson(state: EscontrolState): JsonObject {
  const ids = [...state.notifications.keys()].sort((a, b) => a - b);
  // fromEntries defines own properties, so a key spelled "__proto__" stays data.
  const notifications = Object.fromEntries(ids.map((id) => [String(id), state.notifications.get(id) ?? 0]));
  const settings = [...state.settings.entries()].filter(([key]) => key !== NOTIFICATIONS);
  return Object.fromEntries<JsonObject[string]>([[NOTIFICATIONS, notifications], ...settings]);
}

export function serializeStore(state: EscontrolState): string {
  return JSON.stringify(storeJson(state), null, 2) + '\n';
}

export interface StoreFileRead {
  readonly state: EscontrolState;
  /** One line per dropped entry or file problem, for the log. */
  readonly warnings: readonly string[];
  /** The file exists but cannot be used (not JSON, unreadable). */
  readonly unusable: boolean;
}

/** Reads the file without changing anything on disk (startup overrides, before the store runs). */
export function readStoreFile(path: string): StoreFileRead {
  let text: string | null;
  try {
    text = readTextIfExists(path);
  } catch (err) {
    return { state: EMPTY_STATE, warnings: [`cannot read the escontrol file ${path}: ${errorMessage(err)}`], unusable: true };
  }
  if (text === null) return { state: EMPTY_STATE, warnings: [], unusable: false };
  const parsed = parseStoreText(text);
  if (!parsed.ok) return { state: EMPTY_STATE, warnings: [`escontrol file ${path} is unusable: ${parsed.error}`], unusable: true };
  return { state: parsed.state, warnings: parsed.warnings.map((w) => `escontrol file ${path}: ${w}`), unusable: false };
}

export interface EscontrolStoreOptions {
  /** The resolved `general.escontrol_interface_file`. */
  readonly path: string;
  readonly log: Logger;
}

/**
 * The live store: loaded at start, replaced as a whole by each admin command and written at
 * once, atomically (admin commands are rare; a write per command is the simplest durable rule).
 * A file that cannot be parsed is set aside (`<file>.corrupt-<time>`) so the next write does
 * not destroy what an admin may want to recover.
 */
export class EscontrolStore implements Service {
  readonly name: string = 'escontrol store';
  protected current: EscontrolState = EMPTY_STATE;

  constructor(protected readonly options: EscontrolStoreOptions) {}

  get path(): string {
    return this.options.path;
  }

  get state(): EscontrolState {
    return this.current;
  }

  /** The mode of a monitor; 0 when the store does not list it. */
  mode(monitorId: number): MonitorMode {
    return this.current.notifications.get(monitorId) ?? 0;
  }

  async start(): Promise<void> {
    this.load();
  }

  async stop(): Promise<void> {
    // Every change is written when it is made: nothing to flush.
  }

  load(): void {
    const { path, log } = this.options;
    const read = readStoreFile(path);
    for (const warning of read.warnings) log.warn(warning);
    if (read.unusable) {
      try {
        const moved = setAside(path);
        log.warn(`escontrol file ${path} set aside as ${moved}; starting with no overrides`);
      } catch (err) {
        log.error(`cannot set aside the escontrol file ${path}: ${errorMessage(err)}`);
      }
    }
    this.current = read.state;
    const { notifications, settings } = this.current;
    if (notifications.size + settings.size > 0) {
      const muted = [...notifications].filter(([, mode]) => mode === -1).map(([id]) => id);
      log.info(
        `escontrol overrides loaded from ${path}: ${notifications.size} monitor mode(s)${muted.length > 0 ? ` (muted: ${muted.join(',')})` : ''}, ${settings.size} setting(s)`,
      );
    }
  }

  /** Persists `next` and makes it current; throws (state unchanged) when the file cannot be written. */
  replace(next: EscontrolState): void {
    writeFileAtomic(this.options.path, serializeStore(next));
    this.current = next;
  }
}

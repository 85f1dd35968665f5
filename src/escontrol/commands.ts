/**
 * The escontrol commands (protocol.md §9), pure: the current store state and one command's
 * `data` in, the new state (if any), the exact reply frame and a log line out. Checking an
 * `edit` value needs the configuration loader, so it is injected.
 *
 * Our choices over the classic server (no client depends on the classic ones):
 * - `unmute` sets monitors back to 0 (classic: 1 = force notify, bypassing every device filter);
 * - a monitor missing from the map is 0;
 * - `edit` takes `section.key`, or a bare key naming exactly one setting; the value is checked
 *   by loading the configuration with it, stored, and applied at the next start.
 */
import { escontrolGetFrame, escontrolNotSupportedFrame, escontrolSuccessFrame } from '../ws/frames.js';
import { sanitiseEcho, type JsonObject, type JsonValue } from '../domain/json.js';
import type { OptionKey } from '../config/schema.js';
import { isSensitiveKey, resolveEditKey } from './edit-keys.js';
import { storeJson, type EscontrolState, type MonitorMode } from './overrides-store.js';

/**
 * Fail reasons of our own for commands the classic server never refused. Admin tools match on
 * `status`; `detail` says what to fix.
 */
export type EscontrolFailReason = 'BADMONITORS' | 'BADKEY' | 'BADVALUE' | 'SAVEFAILED';

export interface CommandEnvironment {
  /** Monitor ids ZoneMinder has now; `mute`/`unmute` without a list act on these and on every stored one. */
  readonly knownMonitors: () => readonly number[];
  /**
   * Checks that the configuration loads with `key` = `value` on top of the stored settings;
   * returns the problem, or undefined when it loads.
   */
  readonly checkEdit: (key: OptionKey, value: string, settings: ReadonlyMap<string, string>) => string | undefined;
}

export type CommandResult =
  /** Nothing changes: get, a refusal, an unknown command. */
  | { readonly kind: 'reply'; readonly reply: string; readonly log: string }
  /** Store `next` first; send `reply` only when that worked (else a SAVEFAILED reply). */
  | { readonly kind: 'change'; readonly next: EscontrolState; readonly reply: string; readonly log: string }
  /** Send `reply`, then restart the server. */
  | { readonly kind: 'restart'; readonly reply: string; readonly log: string };

/** `{"event":"escontrol","type":"command","status":"Fail","reason":…,"request":…,"detail":…}` */
export function escontrolFailFrame(request: JsonObject, reason: EscontrolFailReason, detail: string): string {
  return JSON.stringify({ event: 'escontrol', type: 'command', status: 'Fail', reason, request, detail });
}

export function runCommand(state: EscontrolState, request: JsonObject, env: CommandEnvironment): CommandResult {
  const command = typeof request['command'] === 'string' ? request['command'] : undefined;
  switch (command) {
    case 'get':
      return { kind: 'reply', reply: escontrolGetFrame(request, storeJson(state)), log: 'escontrol get' };
    case 'mute':
    case 'unmute':
      return setModes(state, request, command, env);
    case 'edit':
      return edit(state, request, env);
    case 'reset':
      return {
        kind: 'change',
        next: { notifications: new Map(), settings: new Map() },
        reply: escontrolSuccessFrame(request, 'command'),
        log: `escontrol reset: all monitor modes and ${state.settings.size} setting override(s) cleared (settings take effect at the next start)`,
      };
    case 'restart':
      return { kind: 'restart', reply: escontrolSuccessFrame(request, 'command'), log: 'escontrol restart requested' };
    default:
      return {
        kind: 'reply',
        reply: escontrolNotSupportedFrame(request),
        log: `escontrol command ${command === undefined ? '(none)' : JSON.stringify(sanitiseEcho(command))} not supported`,
      };
  }
}

/** Monitor ids from `monitors`: an array of ids (numbers or numeric strings), or a comma string. */
export function parseMonitorIds(value: JsonValue | undefined): { ok: true; ids: number[] | undefined } | { ok: false; problem: string } {
  if (value === undefined || value === null) return { ok: true, ids: undefined };
  if (typeof value !== 'string' && !Array.isArray(value)) return { ok: false, problem: 'monitors must be a list of monitor ids' };
  const items: readonly JsonValue[] = typeof value === 'string' ? value.split(',').filter((s) => s.trim() !== '') : value;
  const ids: number[] = [];
  for (const item of items) {
    const id = typeof item === 'number' ? item : typeof item === 'string' && /^\s*\d{1,15}\s*$/.test(item) ? Number(item) : NaN;
    if (!Number.isSafeInteger(id) || id <= 0) {
      return { ok: false, problem: `monitors: ${JSON.stringify(sanitiseEcho(typeof item === 'string' || typeof item === 'number' ? item : typeof item))} is not a monitor id` };
    }
    if (!ids.includes(id)) ids.push(id);
  }
  return { ok: true, ids };
}

function setModes(state: EscontrolState, request: JsonObject, command: 'mute' | 'unmute', env: CommandEnvironment): CommandResult {
  const parsed = parseMonitorIds(request['monitors']);
  if (!parsed.ok) {
    return { kind: 'reply', reply: escontrolFailFrame(request, 'BADMONITORS', parsed.problem), log: `escontrol ${command} refused: ${parsed.problem}` };
  }
  // Without a list: every monitor ZoneMinder has and every one already stored.
  const targets = parsed.ids ?? [...new Set([...env.knownMonitors(), ...state.notifications.keys()])].sort((a, b) => a - b);
  const mode: MonitorMode = command === 'mute' ? -1 : 0;
  const notifications = new Map(state.notifications);
  for (const id of targets) notifications.set(id, mode);
  return {
    kind: 'change',
    next: { notifications, settings: state.settings },
    reply: escontrolSuccessFrame(request, ''),
    log: `escontrol ${command}: monitor(s) ${targets.length > 0 ? targets.join(',') : '(none)'} ${command === 'mute' ? 'muted' : 'back to normal'}`,
  };
}

function edit(state: EscontrolState, request: JsonObject, env: CommandEnvironment): CommandResult {
  const rawKey = request['key'];
  if (typeof rawKey !== 'string') {
    return { kind: 'reply', reply: escontrolFailFrame(request, 'BADKEY', 'edit needs "key" (section.key)'), log: 'escontrol edit refused: no key' };
  }
  const resolved = resolveEditKey(rawKey);
  if (!resolved.ok) {
    return { kind: 'reply', reply: escontrolFailFrame(request, 'BADKEY', resolved.problem), log: `escontrol edit refused: ${resolved.problem}` };
  }
  const key = resolved.key;
  const rawValue = request['val'];
  if (typeof rawValue !== 'string' && typeof rawValue !== 'number' && typeof rawValue !== 'boolean') {
    const problem = `edit of ${key} needs "val" (a text value)`;
    return { kind: 'reply', reply: escontrolFailFrame(request, 'BADVALUE', problem), log: `escontrol edit refused: ${problem}` };
  }
  const value = String(rawValue);
  // Other stored spellings of the same key (a bare name in an imported file) give way to this one.
  const settings = new Map([...state.settings].filter(([stored]) => !sameKey(stored, key)));
  const problem = env.checkEdit(key, value, settings);
  if (problem !== undefined) {
    return { kind: 'reply', reply: escontrolFailFrame(request, 'BADVALUE', problem), log: `escontrol edit of ${key} refused: ${problem}` };
  }
  settings.set(key, value);
  const shown = isSensitiveKey(key) ? '(hidden)' : JSON.stringify(value);
  return {
    kind: 'change',
    next: { notifications: state.notifications, settings },
    reply: escontrolSuccessFrame(request, ''),
    log: `escontrol edit: ${key} = ${shown} stored; it takes effect at the next start`,
  };
}

function sameKey(stored: string, key: OptionKey): boolean {
  const resolved = resolveEditKey(stored);
  return resolved.ok ? resolved.key === key : stored === key;
}

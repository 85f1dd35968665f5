/**
 * Home Assistant add-on options from a migration plan, for pasting into the add-on's
 * Configuration tab (YAML editor) or as /data/options.json. The option names come from the
 * add-on's own mapping table (addon/options.ts), handed in as an `AddonTable` so this module
 * stays independent of the add-on code.
 *
 * Conversions: yes/no → booleans, numbers → numbers (the add-on schema validates types);
 * file paths → the file name inside the add-on folder the option reads from (the user copies
 * the file there); `!NAME` classic secrets → `!secret name`, which the Supervisor resolves from
 * Home Assistant's secrets.yaml (a different file: the report lists what to copy there).
 */
import { basename } from 'node:path';
import { FORMATS } from '../config/formats.js';
import { findOption, type OptionKey } from '../config/schema.js';
import type { Carried, MigrationPlan } from './plan.js';

/** One add-on option as addon/options.ts OPTION_MAP describes it. */
export interface AddonOptionEntry {
  readonly key: string;
  /** The value is a file name relative to /ssl or /config (absolute accepted). */
  readonly file?: 'ssl' | 'config';
  /** `fcm-mode`: the option is derived (disabled/direct/proxy), not copied. */
  readonly transform?: string;
}

export interface AddonTable {
  /** Add-on option name → mapping, in config.yaml order. */
  readonly options: Readonly<Record<string, AddonOptionEntry>>;
  /** zmes keys the add-on sets itself. */
  readonly fixed: ReadonlySet<string>;
  /** zmes keys deliberately without an option → why. */
  readonly notOptions: Readonly<Record<string, string>>;
  /** Options the user must set. */
  readonly required: readonly string[];
}

export type AddonValue = string | number | boolean;

export interface AddonSkip {
  readonly key: OptionKey;
  readonly reason: 'fixed by the add-on' | 'no add-on option';
  readonly detail: string;
}

export interface AddonOptions {
  readonly options: Readonly<Record<string, AddonValue>>;
  /** Carried zmes keys that do not reach the add-on options. */
  readonly skipped: readonly AddonSkip[];
  /** What the user still has to do (copy files, define HA secrets, required options). */
  readonly todo: readonly string[];
}

/** The classic secret NAME as a Home Assistant secrets.yaml name (lower case by convention). */
export function haSecretName(classic: string): string {
  return classic.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

export function buildAddonOptions(plan: MigrationPlan, table: AddonTable): AddonOptions {
  const byKey = new Map(plan.carried.map((c) => [c.key as string, c]));
  const options: Record<string, AddonValue> = {};
  const todo: string[] = [];
  const used = new Set<string>();
  const secrets = new Map<string, string>();

  for (const [name, mapping] of Object.entries(table.options)) {
    if (mapping.transform === 'fcm-mode') {
      const mode = fcmMode(byKey);
      options[name] = mode.value;
      for (const key of ['fcm.enable', 'fcm.fcm_service_account_file', 'fcm.fcm_v1_url', 'fcm.fcm_v1_key']) used.add(key);
      if (mode.todo) todo.push(mode.todo);
      continue;
    }
    const carried = byKey.get(mapping.key);
    if (carried === undefined) continue;
    used.add(mapping.key);
    // A file path is no secret in itself: when the secret is known, its file name is used.
    if (carried.secret !== null && !(mapping.file !== undefined && carried.resolved !== null)) {
      const ha = haSecretName(carried.secret);
      secrets.set(carried.secret, ha);
      options[name] = `!secret ${ha}`;
      continue;
    }
    const value = carried.resolved ?? carried.value;
    if (mapping.file !== undefined) {
      const file = basename(value);
      options[name] = file;
      todo.push(`copy ${value} into the add-on's ${mapping.file === 'ssl' ? '/ssl' : 'config (/config)'} folder (option ${name}: ${file})`);
      continue;
    }
    if (mapping.key === 'mqtt.server' && /^(localhost|127\.0\.0\.1|\[?::1\]?)(:\d+)?$/.test(value)) {
      todo.push(`mqtt.server ${value} is the classic host itself, not reachable as such from the add-on: option ${name} left empty, so the Supervisor's broker is used (set it to the broker's address otherwise)`);
      continue;
    }
    options[name] = addonValue(carried);
  }

  const skipped: AddonSkip[] = [];
  for (const carried of plan.carried) {
    if (used.has(carried.key)) continue;
    if (table.fixed.has(carried.key)) {
      skipped.push({ key: carried.key, reason: 'fixed by the add-on', detail: 'the add-on decides this value' });
    } else {
      const why = table.notOptions[carried.key];
      skipped.push({ key: carried.key, reason: 'no add-on option', detail: why ?? 'the add-on has no option for it' });
    }
  }
  for (const [classic, ha] of secrets) {
    todo.push(`add "${ha}: <the value of ${classic}>" to Home Assistant's secrets.yaml (the add-on options refer to it as !secret ${ha})`);
  }
  for (const name of table.required) {
    if (options[name] === undefined) {
      todo.push(`set the required option ${name}${name.startsWith('zm_db_') ? " (the classic server read the database settings from ZoneMinder's zm.conf)" : ''}`);
    }
  }
  return { options, skipped, todo };
}

/** booleans and numbers as the add-on schema types them; anything else as text. */
function addonValue(carried: Carried): AddonValue {
  const option = findOption(carried.key);
  const text = carried.resolved ?? carried.value;
  if (option === undefined) return text;
  const coerced = FORMATS[option.leaf.format].coerce(text);
  return typeof coerced === 'boolean' || typeof coerced === 'number' || typeof coerced === 'string' ? coerced : text;
}

/** The add-on's fcm_mode from the classic FCM settings. */
function fcmMode(byKey: ReadonlyMap<string, Carried>): { value: 'disabled' | 'direct' | 'proxy'; todo?: string } {
  const enabled = byKey.get('fcm.enable');
  // The classic default is on.
  const on = enabled === undefined ? true : FORMATS['yes-no'].coerce(enabled.resolved ?? enabled.value) === true;
  if (!on) return { value: 'disabled' };
  if (byKey.has('fcm.fcm_service_account_file')) return { value: 'direct' };
  if (byKey.has('fcm.fcm_v1_url') && byKey.has('fcm.fcm_v1_key')) return { value: 'proxy' };
  return {
    value: 'disabled',
    todo:
      'push (FCM) was on in the classic server through its built-in proxy key, which zmes does not have: set fcm_mode to "direct" with a service-account file, or to "proxy" with fcm_proxy_url and fcm_proxy_key',
  };
}

/**
 * Decides, for every entry of a classic configuration file, whether it is carried into the zmes
 * configuration (and with which value) or not, and why. Pure: the secrets, if known, come in
 * as a map. Values stay as written (strings, `${name}` templates, `!NAME` secret references);
 * they are checked the way the loader would check them, with templates and secrets resolved.
 */
import { suggest } from '../config/config-file.js';
import { FORMATS, describeValue } from '../config/formats.js';
import { OPTIONS, SECTIONS, findOption, isSectionName, type OptionKey } from '../config/schema.js';
import { secretReference } from '../config/secrets.js';
import { hasTemplate, substituteTemplates, type TemplateSource } from '../config/templates.js';
import type { SourceEntry, SourceFile } from './source.js';

export type SkipReason =
  /** A classic key with no effect in zmes. */
  | 'ignored'
  /** Not a key of the classic server nor of zmes. */
  | 'unknown'
  /** The value is not valid for the key (or a template in it names nothing). */
  | 'unparsable'
  /** The value looks like it carries an inline comment, which the classic server kept in it. */
  | 'inline-comment'
  /** Empty: the default applies anyway. */
  | 'empty'
  /** Refers to a secret the secrets file does not have. */
  | 'missing-secret'
  /** Points at something zmes cannot use (the classic Perl Storable escontrol file). */
  | 'not-portable'
  /** Replaced by the migration (data dir, legacy name). */
  | 'replaced'
  /** The key exists in zmes with a different meaning; the classic value would do harm. */
  | 'changed-meaning';

export interface Skipped {
  /** `section.key` as written. */
  readonly id: string;
  readonly line: number;
  readonly reason: SkipReason;
  /** Never contains a sensitive value. */
  readonly detail: string;
}

export interface Carried {
  readonly key: OptionKey;
  /** As it goes into the zmes file: `${name}` templates and `!NAME` references kept. */
  readonly value: string;
  /** 0 when the migration set it. */
  readonly line: number;
  /** The secret name when the value is a `!NAME` reference. */
  readonly secret: string | null;
  /** The value with templates and secrets resolved, when that was possible. */
  readonly resolved: string | null;
}

export interface MigrationPlan {
  /** In schema order. */
  readonly carried: readonly Carried[];
  readonly skipped: readonly Skipped[];
  /** Things worth knowing that lose nothing (quotes removed, keys renamed, values set). */
  readonly notes: readonly string[];
}

export interface PlanOptions {
  /** The secrets file's content, or null when not given (secret values are then not checked). */
  readonly secrets: ReadonlyMap<string, string> | null;
  /** Values the migration sets whatever the file says (secrets file, data dir, rules file). */
  readonly set?: ReadonlyMap<OptionKey, { readonly value: string; readonly why: string }>;
  /** Keys never carried over, with the reason and why. */
  readonly drop?: ReadonlyMap<OptionKey, { readonly reason: SkipReason; readonly why: string }>;
}

/** Keys a classic file may name that zmes cannot use as they are. */
const NOT_PORTABLE: ReadonlyMap<OptionKey, string> = new Map<OptionKey, string>([
  [
    'general.escontrol_interface_file',
    'the classic file is a Perl Storable file zmes cannot read; zmes keeps its admin overrides as JSON under ${base_data_path}/misc/ (the default)',
  ],
]);

/** Keys whose classic value means something else in zmes. */
export const CHANGED_MEANING: ReadonlyMap<OptionKey, string> = new Map<OptionKey, string>([
  [
    'customize.event_check_interval',
    "classic: the shared-memory poll tick (usually 5 s); zmes: how often it reads ZoneMinder's database, default 0.1 s for prompt alarms; a classic value would delay every notification (set it by hand to poll less often)",
  ],
]);

const V6_TEMPLATE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
const BASE_TEMPLATE = /\$\{\s*base_data_path\s*\}/;
const BASE_TEMPLATE_ALL = /\$\{\s*base_data_path\s*\}/g;

/** `{{name}}` (v6) → `${name}` (v7 and zmes). */
export function modernTemplates(value: string): string {
  return value.replace(V6_TEMPLATE, (_whole, name: string) => `\${${name}}`);
}

/**
 * Whether a value looks like it ends in an inline comment: `;` (INI and YAML files converted
 * from INI) or `#` (INI only; YAML strips those itself) at the start or after a blank.
 */
export function inlineComment(value: string, format: SourceFile['format']): { before: string } | null {
  const match = (format === 'ini' ? /(^|\s)[;#]/ : /(^|\s);/).exec(value);
  return match ? { before: value.slice(0, match.index).trim() } : null;
}

export function buildPlan(source: SourceFile, options: PlanOptions): MigrationPlan {
  const skipped: Skipped[] = [];
  const notes: string[] = [];
  const candidates = new Map<OptionKey, { entry: SourceEntry | null; value: string; secret: string | null }>();
  const skip = (entry: SourceEntry, reason: SkipReason, detail: string) =>
    skipped.push({ id: `${entry.section}.${entry.key}`, line: entry.line, reason, detail });

  for (const entry of [...source.entries].sort((a, b) => a.line - b.line)) {
    const id = `${entry.section}.${entry.key}`;
    const option = findOption(id);
    if (option === undefined) {
      skip(entry, 'unknown', unknownDetail(entry));
      continue;
    }
    const sensitive = option.leaf.sensitive;
    const value = modernTemplates(entry.value).trim();
    if (value === '') {
      skip(entry, 'empty', 'the default applies');
      continue;
    }
    if (option.leaf.usage === 'ignored') {
      skip(entry, 'ignored', option.leaf.doc);
      continue;
    }
    const dropped = options.drop?.get(option.key);
    if (dropped) {
      skip(entry, dropped.reason, dropped.why);
      continue;
    }
    const notPortable = NOT_PORTABLE.get(option.key);
    if (notPortable) {
      skip(entry, 'not-portable', notPortable);
      continue;
    }
    const changed = CHANGED_MEANING.get(option.key);
    if (changed) {
      skip(entry, 'changed-meaning', changed);
      continue;
    }
    const comment = entry.secretTag ? null : inlineComment(value, source.format);
    if (comment) {
      const shown = sensitive ? 'the value (hidden)' : `value ${JSON.stringify(value)}`;
      const hint = sensitive ? '' : comment.before === '' ? '; without it the value is empty' : `; without it: ${JSON.stringify(comment.before)}`;
      skip(entry, 'inline-comment', `${shown} looks like it carries an inline comment, which the classic server kept as part of the value${hint}; set it by hand`);
      continue;
    }
    const secret = secretReference(value);
    if (secret !== null) {
      if (secret === '') {
        skip(entry, 'unparsable', '"!" without a secret name');
        continue;
      }
      if (options.secrets !== null && !options.secrets.has(secret)) {
        skip(entry, 'missing-secret', `refers to secret ${secret}, which the secrets file does not define${suggest(secret, [...options.secrets.keys()])}`);
        continue;
      }
    }
    if (entry.unquoted) notes.push(`${id} (line ${entry.line}): surrounding quotes removed`);
    candidates.set(option.key, { entry, value, secret });
  }

  // Values that build on the classic base_data_path keep pointing where they did when the
  // migration moves the data directory (hook scripts stay where they are).
  const classicBase = candidates.get('general.base_data_path')?.value ?? String(findOption('general.base_data_path')?.leaf.default);
  const newBase = options.set?.get('general.base_data_path')?.value;
  if (newBase !== undefined && newBase !== classicBase) {
    for (const [key, candidate] of candidates) {
      if (key === 'general.base_data_path' || candidate.secret !== null || !BASE_TEMPLATE.test(candidate.value)) continue;
      candidate.value = candidate.value.replace(BASE_TEMPLATE_ALL, classicBase);
      notes.push(`${key}: \${base_data_path} expanded to the classic ${classicBase}, so it keeps pointing at the same file`);
    }
  }

  for (const [key, { value, why }] of options.set ?? []) {
    const before = candidates.get(key);
    if (before && before.value !== value) notes.push(`${key}: set to ${JSON.stringify(value)} (was ${describeValue(before.value, findOption(key)?.leaf.sensitive ?? false)}): ${why}`);
    else if (!before) notes.push(`${key}: set to ${JSON.stringify(value)}: ${why}`);
    candidates.set(key, { entry: before?.entry ?? null, value, secret: null });
  }

  renameLegacy(candidates, skipped, notes);

  // Check every value as the loader would: secrets and templates resolved, then the format.
  const resolvedSecret = (c: { value: string; secret: string | null }) => (c.secret === null ? c.value : options.secrets?.get(c.secret) ?? null);
  const templateSource: TemplateSource = {
    has: (key) => findOption(key) !== undefined,
    get: (key) => {
      const option = findOption(key);
      if (option === undefined) return undefined;
      const candidate = candidates.get(option.key);
      return candidate === undefined ? option.leaf.default : resolvedSecret(candidate);
    },
    isSensitive: (key) => findOption(key)?.leaf.sensitive ?? false,
  };
  const carried: Carried[] = [];
  let unchecked = 0;
  for (const { key, leaf } of OPTIONS) {
    const candidate = candidates.get(key);
    if (candidate === undefined) continue;
    const { entry } = candidate;
    const hidden = leaf.sensitive || candidate.secret !== null;
    let resolved = resolvedSecret(candidate);
    if (resolved === null) {
      unchecked++;
      carried.push({ key, value: candidate.value, line: entry?.line ?? 0, secret: candidate.secret, resolved: null });
      continue;
    }
    let problem: string | undefined;
    try {
      if (hasTemplate(resolved)) resolved = substituteTemplates(key, resolved, templateSource);
      const coerced = FORMATS[leaf.format].coerce(resolved);
      if (!(coerced === null && leaf.nullable) && !FORMATS[leaf.format].check(coerced)) {
        problem = `${describeValue(resolved, hidden)} is not valid; expected ${FORMATS[leaf.format].expected}`;
      }
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    if (problem !== undefined) {
      skipped.push({ id: entry ? `${entry.section}.${entry.key}` : key, line: entry?.line ?? 0, reason: 'unparsable', detail: problem });
      continue;
    }
    carried.push({ key, value: candidate.value, line: entry?.line ?? 0, secret: candidate.secret, resolved });
  }
  if (unchecked > 0) notes.push(`${unchecked} value(s) from secrets not checked: no secrets file was given (--secrets)`);
  for (const duplicate of source.duplicates) notes.push(`${duplicate.what} (line ${duplicate.line}): ${duplicate.detail}`);
  for (const problem of source.problems) {
    skipped.push({ id: problem.what, line: problem.line, reason: 'unparsable', detail: problem.detail });
  }
  skipped.sort((a, b) => a.line - b.line);
  return { carried, skipped, notes };
}

/** hook.hook_script is the legacy name of hook.event_start_hook: carry it under the new name. */
function renameLegacy(
  candidates: Map<OptionKey, { entry: SourceEntry | null; value: string; secret: string | null }>,
  skipped: Skipped[],
  notes: string[],
): void {
  for (const { key, leaf } of OPTIONS) {
    if (leaf.aliasOf === undefined) continue;
    const legacy = candidates.get(key);
    const target = findOption(leaf.aliasOf);
    if (legacy === undefined || target === undefined) continue;
    candidates.delete(key);
    const line = legacy.entry?.line ?? 0;
    if (candidates.has(target.key)) {
      skipped.push({ id: key, line, reason: 'replaced', detail: `legacy name of ${target.key}, which is also set and wins` });
    } else {
      candidates.set(target.key, legacy);
      notes.push(`${key} (line ${line}): carried over under its current name ${target.key}`);
    }
  }
}

function unknownDetail(entry: SourceEntry): string {
  if (!isSectionName(entry.section)) return `[${entry.section}] is not a section of the classic server nor of zmes${suggest(entry.section, SECTIONS)}`;
  const valid = OPTIONS.filter((o) => o.section === entry.section).map((o) => o.name);
  let hint = suggest(entry.key, valid, `${entry.section}.`);
  if (hint === '') {
    const elsewhere = OPTIONS.find((o) => o.name === entry.key);
    if (elsewhere) hint = ` (it is a key of [${elsewhere.section}]: ${elsewhere.key})`;
  }
  return `not a key of [${entry.section}]${hint}`;
}

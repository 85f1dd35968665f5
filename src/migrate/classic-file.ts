/**
 * A classic configuration file used as it is: `zmes --config /etc/zm/zmeventnotification.ini`.
 * What is taken from it, and what is reported instead, is decided by the migration plan
 * (plan.ts), so running on the classic file and running on its migrated copy configure zmes
 * the same way, and the log names the keys left out in the words of the migration report.
 */
import { basename } from 'node:path';
import { findOption, type OptionKey } from '../config/schema.js';
import { readIni } from './ini-reader.js';
import { buildPlan, modernTemplates } from './plan.js';
import { skippedText } from './report.js';
import { detectFormat, type SourceFile } from './source.js';
import { readYaml } from './yaml-reader.js';

/**
 * `zmes` a zmes YAML file, checked strictly (an unknown key is an error); `classic-ini` a v6
 * zmeventnotification.ini; `classic-yaml` a v7 (Ng) zmeventnotification.yml.
 */
export type ConfigFileFormat = 'zmes' | 'classic-ini' | 'classic-yaml';

// A v7 file has the zmes layout, so only its name tells it apart. It must be: its
// escontrol_interface_file is a Perl Storable file and its event_check_interval a 5 s tick,
// both harmful when read with zmes's meaning (see plan.ts).
const CLASSIC_YAML_NAME = /^zmeventnotification\b.*\.ya?ml$/i;

/** The INI layout by content (whatever the name); a YAML file named zmeventnotification*.yml is the classic v7 one. */
export function configFileFormat(path: string, text: string): ConfigFileFormat {
  if (detectFormat(text) === 'ini') return 'classic-ini';
  return CLASSIC_YAML_NAME.test(basename(path)) ? 'classic-yaml' : 'zmes';
}

export const FORMAT_TEXT: Readonly<Record<ConfigFileFormat, string>> = {
  zmes: 'zmes YAML',
  'classic-ini': 'classic v6 INI, read as zmes migrate-config reads it',
  'classic-yaml': 'classic v7 YAML, read as zmes migrate-config reads it',
};

/** Every `section.key = value` of a classic file, INI or YAML by content. */
export function readClassicSource(text: string, fileName: string): SourceFile {
  return detectFormat(text) === 'ini' ? readIni(text) : readYaml(text, fileName);
}

export interface ClassicSettings {
  /** What zmes takes from the file, as written (`${name}` templates and `!NAME` references kept). */
  readonly values: ReadonlyMap<OptionKey, { readonly value: string; readonly line: number }>;
  /** One line per key left out, and per key set twice. Never holds a sensitive value. */
  readonly warnings: readonly string[];
}

/**
 * The settings of a classic file, given the secrets it may refer to (null when no secrets file
 * is known yet: references are then taken unchecked).
 */
export function classicSettings(source: SourceFile, fileName: string, secrets: ReadonlyMap<string, string> | null): ClassicSettings {
  const plan = buildPlan(source, { secrets });
  const values = new Map<OptionKey, { value: string; line: number }>(plan.carried.map((c) => [c.key, { value: c.value, line: c.line }]));
  const warnings: string[] = [];
  for (const skip of plan.skipped) {
    if (skip.reason === 'missing-secret') {
      // The classic server refused to start without a secret it needs; so does zmes: the
      // reference goes on to the loader, whose error names the secrets file.
      const entry = source.entries.find((e) => e.line === skip.line && `${e.section}.${e.key}` === skip.id);
      const option = findOption(skip.id);
      if (entry !== undefined && option !== undefined) {
        values.set(option.key, { value: modernTemplates(entry.value).trim(), line: entry.line });
        continue;
      }
    }
    warnings.push(`${skip.id} (${fileName}${skip.line > 0 ? `, line ${skip.line}` : ''}) not used: ${skippedText(skip)}`);
  }
  for (const duplicate of source.duplicates) warnings.push(`${duplicate.what} (${fileName}, line ${duplicate.line}): ${duplicate.detail}`);
  return { values, warnings };
}

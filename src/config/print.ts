import { FORMAT_TEXT } from '../migrate/classic-file.js';
import { maskUrlCredentials } from './credentials.js';
import { configValue, type ConfigFileFormat, type ConfigSource, type LoadedConfig } from './load.js';
import { OPTIONS, SECTIONS, type Leaf } from './schema.js';

/**
 * The effective configuration for `--check-config`, in the spirit of the classic server:
 * one line per key, grouped by section, with where each value came from and the classic
 * key it corresponds to. Secrets never appear: sensitive values show only whether they
 * are set, and credentials inside URLs are masked.
 */

export interface PrintInput {
  readonly config: LoadedConfig['config'];
  readonly sources: LoadedConfig['sources'];
  /** The configuration file read, or null for built-in defaults. */
  readonly file: string | null;
  /** How the file was read (LoadedConfig.fileFormat). */
  readonly fileFormat?: ConfigFileFormat | null;
  /** How the file was chosen, e.g. "found by the default search". */
  readonly fileChosen?: string;
  /** Shown in the header, e.g. "zmes 0.1.0". */
  readonly title?: string;
}

/** How a value is shown: yes/no like the classic files, `(unset)` for null, secrets masked. */
export function displayValue(leaf: Leaf, value: unknown): string {
  if (leaf.sensitive) return value === null || value === '' ? '(undefined)' : '(defined)';
  if (value === null || value === undefined) return '(unset)';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value === '') return '""';
  return maskUrlCredentials(String(value));
}

function classicNote(leaf: Leaf): string {
  if (leaf.classic === null) return 'zmes only';
  if (leaf.usage === 'ignored') return `classic ${leaf.classic}, ignored: no effect in zmes`;
  if (leaf.aliasOf !== undefined) return `classic ${leaf.classic}, legacy name of ${leaf.aliasOf}`;
  return `classic ${leaf.classic}`;
}

export function renderConfig(input: PrintInput): string {
  const rows = OPTIONS.map((option) => ({
    section: option.section,
    name: option.name,
    value: displayValue(option.leaf, configValue(input.config, option.key)),
    source: `(${input.sources.get(option.key) ?? ('default' satisfies ConfigSource)})`,
    note: classicNote(option.leaf),
  }));
  const nameWidth = Math.max(...rows.map((r) => r.name.length)) + 2;
  // Long values (URLs) would push every column far right; align up to a sensible width.
  const valueWidth = Math.max(...rows.map((r) => r.value.length).filter((length) => length <= 36));
  const sourceWidth = Math.max(...rows.map((r) => r.source.length));

  const about = [input.fileFormat ? FORMAT_TEXT[input.fileFormat] : undefined, input.fileChosen].filter((part) => part !== undefined);
  const lines = [
    `# ${input.title ?? 'zmes'}: effective configuration`,
    `# file: ${input.file ?? '(none: built-in defaults)'}${input.file !== null && about.length > 0 ? ` (${about.join('; ')})` : ''}`,
    '# key  value  (source)  classic key; sources: default, file, secret, env, zm.conf, override, command line',
  ];
  for (const section of SECTIONS) {
    lines.push('', `[${section}]`);
    for (const row of rows.filter((r) => r.section === section)) {
      const dots = ' ' + '.'.repeat(Math.max(1, nameWidth - row.name.length - 1)) + ' ';
      lines.push(`  ${row.name}${dots}${row.value.padEnd(valueWidth)}  ${row.source.padEnd(sourceWidth)}  ${row.note}`);
    }
  }
  return lines.join('\n') + '\n';
}

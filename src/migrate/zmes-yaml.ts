/**
 * Renders a migration plan as a zmes YAML configuration: sections and keys in schema order,
 * every value a double-quoted string as in the classic files (so `"no"`, `"0123"` and
 * `"!ZM_PASSWORD"` stay what they are), and each key that was not carried over as a comment at
 * its place, so the file itself shows what is left to do. Sensitive values never appear in
 * comments.
 */
import { SECTIONS, findOption, isSectionName } from '../config/schema.js';
import type { MigrationPlan, SkipReason } from './plan.js';

export const REASON_TEXT: Readonly<Record<SkipReason, string>> = {
  ignored: 'ignored in zmes',
  unknown: 'unknown key',
  unparsable: 'unparsable value',
  'inline-comment': 'inline comment',
  empty: 'empty value',
  'missing-secret': 'missing secret',
  'not-portable': 'not portable',
  replaced: 'replaced',
  'changed-meaning': 'meaning changed',
};

export interface YamlHeader {
  /** The file migrated. */
  readonly source: string;
  readonly format: 'ini' | 'yaml';
}

export function renderZmesYaml(plan: MigrationPlan, header: YamlHeader): string {
  const lines = [
    `# zmes configuration, migrated by "zmes migrate-config" from the classic ${header.format === 'ini' ? 'v6 INI' : 'v7 YAML'} file`,
    `# ${header.source}. Check it with: zmes --check-config --config <this file>`,
    '# Values are quoted strings as in the classic files; "!NAME" reads NAME from general.secrets.',
  ];
  const skippedBySection = new Map<string, MigrationPlan['skipped'][number][]>();
  const elsewhere: MigrationPlan['skipped'][number][] = [];
  for (const skip of plan.skipped) {
    const section = skip.id.includes('.') ? skip.id.slice(0, skip.id.indexOf('.')) : '';
    if (isSectionName(section)) (skippedBySection.get(section) ?? skippedBySection.set(section, []).get(section)!).push(skip);
    else elsewhere.push(skip);
  }
  for (const section of SECTIONS) {
    const carried = plan.carried.filter((c) => findOption(c.key)?.section === section);
    const skipped = skippedBySection.get(section) ?? [];
    if (carried.length === 0 && skipped.length === 0) continue;
    lines.push('', carried.length > 0 ? `${section}:` : `# ${section}: (nothing carried over)`);
    for (const c of carried) lines.push(`  ${c.key.slice(section.length + 1)}: ${JSON.stringify(c.value)}`);
    for (const s of skipped) lines.push(`  # ${s.id.slice(section.length + 1)}: not carried over (${REASON_TEXT[s.reason]}${s.line > 0 ? `, line ${s.line}` : ''}): ${oneLine(s.detail)}`);
  }
  if (elsewhere.length > 0) {
    lines.push('', '# not carried over, outside the zmes sections:');
    for (const s of elsewhere) lines.push(`#   ${s.id}${s.line > 0 ? ` (line ${s.line})` : ''}: ${REASON_TEXT[s.reason]}: ${oneLine(s.detail)}`);
  }
  return lines.join('\n') + '\n';
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

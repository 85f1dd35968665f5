/**
 * Imports a classic rules file (`es_rules.json`, v6; `es_rules.yml`, v7; same structure,
 * classic-config.md §7). JSON is converted to YAML with the same structure; YAML is kept as
 * written (its comments are the user's). Either way it is validated by parsing it with the rules
 * module zmes itself uses, and every rule it would skip or doubt is reported.
 */
import { parseDocument, stringify } from 'yaml';
import { ZmesError } from '../errors.js';
import { parseRules } from '../notify/rules/rules.js';
import { withoutBom } from '../state/text-file.js';

export interface RulesImport {
  readonly format: 'json' | 'yaml';
  /** The YAML text to write. */
  readonly text: string;
  /** Monitors with at least one usable rule. */
  readonly monitors: number;
  readonly rules: number;
  /** One line per skipped or doubtful rule. */
  readonly problems: readonly string[];
}

export function importRules(text: string, fileName: string): RulesImport {
  const trimmed = withoutBom(text).trim();
  let doc: unknown;
  let format: RulesImport['format'];
  if (trimmed.startsWith('{')) {
    format = 'json';
    try {
      doc = JSON.parse(trimmed);
    } catch (err) {
      throw new ZmesError('ZMES_CONFIG_FILE', `cannot parse the rules file ${fileName} as JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  } else {
    format = 'yaml';
    const parsed = parseDocument(trimmed, { prettyErrors: true });
    const error = parsed.errors[0];
    if (error) throw new ZmesError('ZMES_CONFIG_FILE', `cannot parse the rules file ${fileName}: ${error.message.trim()}`);
    doc = parsed.toJS();
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ZmesError('ZMES_CONFIG_INVALID', `the rules file ${fileName} must be a mapping with "notifications: monitors: …"`);
  }
  const parsed = parseRules(doc);
  let rules = 0;
  for (const list of parsed.rules.values()) rules += list.length;
  const header = `# zmes rules file, converted by "zmes migrate-config" from ${fileName}\n`;
  return {
    format,
    text: format === 'json' ? header + stringify(doc, { lineWidth: 0 }) : text.endsWith('\n') ? text : `${text}\n`,
    monitors: [...parsed.rules.values()].filter((list) => list.length > 0).length,
    rules,
    problems: parsed.problems.map((p) => `${p.level}: ${p.message}`),
  };
}

/**
 * What the readers of classic configuration files produce: every `section.key = value` as
 * written, with its line, plus the problems found on lines that hold no usable entry.
 */
import { withoutBom } from '../state/text-file.js';

export type SourceFormat = 'ini' | 'yaml';

export interface SourceEntry {
  readonly section: string;
  readonly key: string;
  /** The value as the classic server would have read it (INI: inline comments included). */
  readonly value: string;
  readonly line: number;
  /** `!NAME` written as an unquoted YAML tag; the value then is `!NAME`. */
  readonly secretTag?: boolean;
  /** INI: matching surrounding quotes were removed (the upstream v7 migration does the same). */
  readonly unquoted?: boolean;
}

export interface SourceProblem {
  readonly line: number;
  /** `section.key` when known, else a description of the line. */
  readonly what: string;
  readonly detail: string;
}

export interface SourceFile {
  readonly format: SourceFormat;
  readonly entries: readonly SourceEntry[];
  /** Lines that give no entry (outside a section, not key = value, multi-line values…). */
  readonly problems: readonly SourceProblem[];
  /** Keys set more than once: the last one is kept. */
  readonly duplicates: readonly SourceProblem[];
}

/**
 * INI if the first line that is not blank or a comment is a `[section]` header or a
 * `key = value` line (which YAML would read as one plain string, never as a configuration).
 * The content decides, not the extension: classic files get copied and renamed.
 */
export function detectFormat(text: string): SourceFormat {
  for (const raw of withoutBom(text).split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    return /^\[[^\]]+\]/.test(line) || /^[\w.-]+\s*=/.test(line) ? 'ini' : 'yaml';
  }
  return 'yaml';
}

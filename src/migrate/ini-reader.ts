/**
 * Reads a classic v6 `zmeventnotification.ini` the way the classic server's Config::IniFiles
 * did, so that what gets migrated is what the classic server really used:
 * - only whole-line comments (`;` or `#` first, after optional blanks) are comments; an inline
 *   `; comment` stays part of the value (the migration reports such values, see plan.ts);
 * - `[section]` headers, `key = value` (blanks around both trimmed), the first `=` splits;
 * - a line outside any section, a line that is not `key = value`, and a multi-line
 *   (`<<EOT`) value give a problem instead of an entry;
 * - a key set twice keeps the last value and is reported (Config::IniFiles would have joined
 *   both lines into one multi-line value).
 * Matching surrounding quotes are removed, as the upstream v7 migration does.
 */
import { withoutBom } from '../state/text-file.js';
import type { SourceEntry, SourceFile, SourceProblem } from './source.js';

const HEADER = /^\[\s*([^\]]*?)\s*\](.*)$/;
const HEREDOC = /^<<\s*(\S+)\s*$/;

export function readIni(text: string): SourceFile {
  const lines = withoutBom(text).split(/\r?\n/);
  const entries = new Map<string, SourceEntry>();
  const problems: SourceProblem[] = [];
  const duplicates: SourceProblem[] = [];
  let section: string | null = null;

  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    const line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;

    const header = HEADER.exec(line);
    if (header) {
      const rest = (header[2] ?? '').trim();
      section = header[1] ?? '';
      if (rest !== '' && !rest.startsWith(';') && !rest.startsWith('#')) {
        problems.push({ line: lineNo, what: `[${section}]`, detail: `text after the section header ignored: ${JSON.stringify(rest)}` });
      }
      continue;
    }

    const eq = line.indexOf('=');
    if (eq <= 0) {
      // The text is not shown: a malformed line may well hold a password.
      problems.push({ line: lineNo, what: `line ${lineNo}`, detail: 'not "key = value" nor a [section] or comment; ignored' });
      continue;
    }
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    const heredoc = HEREDOC.exec(value);
    if (heredoc) {
      // Skip the whole block: a multi-line value fits no setting.
      const end = heredoc[1];
      let last = index;
      while (last + 1 < lines.length && (lines[last + 1] ?? '').trim() !== end) last++;
      index = Math.min(last + 1, lines.length - 1);
      problems.push({ line: lineNo, what: section === null ? key : `${section}.${key}`, detail: `multi-line value (<<${end ?? ''}) not supported; set it by hand` });
      continue;
    }
    if (section === null) {
      problems.push({ line: lineNo, what: key, detail: 'set outside any [section]; the classic server refused such a file' });
      continue;
    }
    let unquoted = false;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
      value = value.slice(1, -1);
      unquoted = true;
    }
    const id = `${section}.${key}`;
    const previous = entries.get(id);
    if (previous) {
      duplicates.push({ line: lineNo, what: id, detail: `also set on line ${previous.line}; the last value (line ${lineNo}) is used` });
      entries.delete(id);
    }
    entries.set(id, { section, key, value, line: lineNo, ...(unquoted ? { unquoted } : {}) });
  }
  return { format: 'ini', entries: [...entries.values()], problems, duplicates };
}

/**
 * Splits a configured command line (`event_start_hook: '"/config/my hooks/start.sh" --fast'`)
 * into an argv array once, at configuration time, so hooks run without a shell (classic defect
 * #15: the classic server built a shell command by interpolation, so a quote in a monitor name
 * broke it and allowed injection).
 *
 * The rules, deliberately small and shell-free:
 * - unquoted whitespace separates words;
 * - `'…'` keeps everything literally;
 * - `"…"` keeps everything literally except `\"` and `\\`;
 * - outside quotes a backslash makes the next character literal (`my\ hook.sh`);
 * - nothing else is special: `$`, backticks, `;`, `|`, `&`, `>`, `*`, `~` are ordinary
 *   characters (no expansion, no redirection, no globbing).
 */

export class CommandLineError extends Error {
  override readonly name = 'CommandLineError';
}

export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) word += text[++i];
      else word += c;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'" || c === '"') quote = c;
    else if (c === '\\') {
      if (i + 1 >= text.length) throw new CommandLineError('ends with a lone backslash');
      word += text[++i];
    } else word += c;
  }
  if (quote !== null) throw new CommandLineError(`unterminated ${quote === '"' ? 'double' : 'single'} quote`);
  if (inWord) words.push(word);
  if (words.length === 0) throw new CommandLineError('empty command');
  return words;
}

const SHELL_OPERATORS = new Set(['|', '||', '&&', '&', ';', '>', '>>', '<', '2>', '2>&1', '>&2', '&>']);

/**
 * Words a user probably meant for a shell (`> /tmp/log`, `$(…)`, `&&`): they are passed to the
 * program literally, so the configuration deserves a warning.
 */
export function shellLookingWords(argv: readonly string[]): string[] {
  return argv.filter((w) => SHELL_OPERATORS.has(w) || w.includes('$(') || w.includes('`') || /^\$\{?\w+\}?$/.test(w));
}

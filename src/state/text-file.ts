/**
 * Reading the small text files zmes keeps or is given (state files, zm.conf, hand-edited JSON),
 * the same way everywhere: a missing file is a normal answer, and a byte-order mark from a
 * Windows editor is not part of the text.
 */
import { readFileSync } from 'node:fs';

/** The file's text, or null when it does not exist; any other error is thrown. */
export function readTextIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The text without a leading byte-order mark. */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

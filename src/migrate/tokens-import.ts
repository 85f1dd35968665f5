/**
 * Imports a classic token file (`tokens.txt`: the JSON format of 6.0.1+ or the old
 * `token:monlist:intlist:platform:pushstate` lines) into the zmes format, through the same
 * parser and writer the token store uses. Pure: text in, text and a summary out.
 */
import { ZmesError } from '../errors.js';
import { parseTokenFile, serializeTokenFile } from '../tokens/token-file.js';

export interface TokensImport {
  readonly format: 'json' | 'lines' | 'empty';
  readonly count: number;
  readonly text: string;
  /** Skipped or repaired entries (tokens masked). */
  readonly warnings: readonly string[];
}

/** `month` (0–11) starts push counters the file lacks. */
export function importTokens(text: string, fileName: string, month: number): TokensImport {
  const parsed = parseTokenFile(text, month);
  if (parsed.kind === 'corrupt') {
    throw new ZmesError('ZMES_CONFIG_FILE', `the token file ${fileName} is unusable: ${parsed.error ?? 'unknown format'}`);
  }
  return {
    format: parsed.kind,
    count: parsed.records.length,
    text: serializeTokenFile(parsed.records),
    warnings: parsed.warnings,
  };
}

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';
import { ZmesError, errorMessage } from '../errors.js';

/**
 * Classic secrets: a value `!NAME` is replaced by NAME from the file named by
 * `general.secrets`, either YAML (`secrets:` map, v7) or INI (`[secrets]` section, v6).
 * Lookup is case-sensitive, as in the classic server.
 */

/** The secret name of a `!NAME` reference, or null when the value is not a reference. */
export function secretReference(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  return text.startsWith('!') ? text.slice(1).trim() : null;
}

/** Parses a secrets file; the format follows the extension, else the content. */
export function parseSecrets(text: string, fileName: string): Map<string, string> {
  const ext = extname(fileName).toLowerCase();
  const looksIni = /^\s*\[\s*secrets\s*\]\s*$/m.test(text);
  if (ext === '.ini' || (ext !== '.yml' && ext !== '.yaml' && looksIni)) return parseIniSecrets(text);
  return parseYamlSecrets(text, fileName);
}

function parseIniSecrets(text: string): Map<string, string> {
  const secrets = new Map<string, string>();
  let inSecrets = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      inSecrets = header[1] === 'secrets';
      continue;
    }
    const eq = line.indexOf('=');
    if (!inSecrets || eq <= 0) continue;
    // Like Config::IniFiles, the value is everything after "=", inline ";" or "#" included.
    secrets.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return secrets;
}

function parseYamlSecrets(text: string, fileName: string): Map<string, string> {
  // failsafe keeps every scalar a string: "0123" must not lose its leading zero.
  const doc = parseDocument(text, { schema: 'failsafe', prettyErrors: true });
  const error = doc.errors[0];
  if (error) throw new ZmesError('ZMES_CONFIG_FILE', `cannot parse secrets file ${fileName}: ${error.message.trim()}`);
  const secrets = new Map<string, string>();
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === '')) return secrets;
  if (!isMap(root) || !root.has('secrets')) {
    throw new ZmesError('ZMES_CONFIG_FILE', `secrets file ${fileName} must be a mapping with a "secrets:" section`);
  }
  const section: unknown = root.get('secrets', true);
  if (section === null || section === undefined || (isScalar(section) && section.value === '')) return secrets;
  if (!isMap(section)) {
    throw new ZmesError('ZMES_CONFIG_FILE', `secrets file ${fileName}: "secrets:" must be a mapping of NAME: value`);
  }
  for (const pair of section.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : null;
    const value = isScalar(pair.value) ? String(pair.value.value ?? '') : null;
    if (name === null || value === null) {
      throw new ZmesError('ZMES_CONFIG_FILE', `secrets file ${fileName}: every secret must be NAME: value`);
    }
    secrets.set(name, value.trim());
  }
  return secrets;
}

/** Reads and parses the secrets file; a missing or unreadable file is ZMES_SECRET_MISSING. */
export function readSecretsFile(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ZmesError('ZMES_SECRET_MISSING', `cannot read the secrets file ${path} (general.secrets): ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return parseSecrets(text, path);
}

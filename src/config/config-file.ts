import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ZmesError } from '../errors.js';
import { OPTIONS, SECTIONS, isSectionName, type OptionKey, type SectionName } from './schema.js';

/**
 * The zmes / classic v7 YAML file: a mapping of sections, each a mapping of keys to
 * single values (two levels only). Parsing is pure; reading the file is load.ts's job.
 */

export interface FileValue {
  /** The value as written: always a string, because classic files hold strings. */
  readonly value: string;
  readonly line: number;
}

// failsafe: every scalar stays a string, as in the classic (Perl) server. The YAML 1.2
// core schema would turn `password: 0123` into 123, and `no` is a string there anyway.
const PARSE_OPTIONS = { schema: 'failsafe', prettyErrors: true, uniqueKeys: true } as const;

// With the failsafe schema a plain `~` or `null` is a string; treat it as YAML null.
const NULL_WORDS = new Set(['', '~', 'null', 'Null', 'NULL']);

const SECTION_KEYS = new Map<SectionName, string[]>(
  SECTIONS.map((section) => [section, OPTIONS.filter((o) => o.section === section).map((o) => o.name)]),
);

/**
 * Parses the text of a config file into option values. Empty values mean "not set"
 * (the classic v7 server falls back to the default too) and are left out.
 */
export function parseConfigYaml(text: string, fileName: string): Map<OptionKey, FileValue> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { ...PARSE_OPTIONS, lineCounter: lines });
  const error = doc.errors[0];
  if (error) throw new ZmesError('ZMES_CONFIG_FILE', `cannot parse ${fileName}: ${error.message.trim()}`);
  const lineOf = (node: Node | null | undefined): number => (node?.range ? lines.linePos(node.range[0]).line : 0);
  const where = (node: Node | null | undefined) => `${fileName}, line ${lineOf(node)}`;

  const values = new Map<OptionKey, FileValue>();
  const root = resolveAlias(doc.contents, doc);
  if (isEmpty(root)) return values;
  if (!isMap(root)) {
    throw new ZmesError('ZMES_CONFIG_INVALID', `${where(root)}: the file must be a mapping of sections (${SECTIONS.join(', ')})`);
  }

  for (const sectionPair of root.items) {
    const sectionName = keyText(sectionPair.key);
    const keyNode = sectionPair.key as Node | null;
    if (sectionName === null) throw new ZmesError('ZMES_CONFIG_INVALID', `${where(keyNode)}: a section name must be plain text`);
    if (!isSectionName(sectionName)) {
      throw new ZmesError(
        'ZMES_CONFIG_INVALID',
        `${where(keyNode)}: unknown section "${sectionName}"${suggest(sectionName, SECTIONS)}; valid sections: ${SECTIONS.join(', ')}`,
      );
    }
    const body = resolveAlias(sectionPair.value as Node | null, doc);
    if (isEmpty(body)) continue;
    if (!isMap(body)) {
      throw new ZmesError('ZMES_CONFIG_INVALID', `${where(body)}: section ${sectionName} must be a mapping of key: value`);
    }
    for (const pair of body.items) {
      const name = keyText(pair.key);
      const nameNode = pair.key as Node | null;
      if (name === null) throw new ZmesError('ZMES_CONFIG_INVALID', `${where(nameNode)}: a key in ${sectionName} must be plain text`);
      const valid = SECTION_KEYS.get(sectionName) ?? [];
      if (!valid.includes(name)) throw unknownKey(sectionName, name, where(nameNode), valid);
      const key = `${sectionName}.${name}` as OptionKey;
      const value = scalarValue(key, resolveAlias(pair.value as Node | null, doc), where(nameNode));
      if (value !== null) values.set(key, { value, line: lineOf(nameNode) });
    }
  }
  return values;
}

function unknownKey(section: SectionName, name: string, where: string, valid: string[]): ZmesError {
  let hint = suggest(name, valid, `${section}.`);
  if (hint === '') {
    const elsewhere = OPTIONS.find((o) => o.name === name);
    if (elsewhere) hint = ` (did you mean ${elsewhere.key}?)`;
  }
  return new ZmesError(
    'ZMES_CONFIG_INVALID',
    `${where}: unknown key ${section}.${name}${hint}; valid keys of ${section}: ${valid.join(', ')}`,
  );
}

/** The value of a key as a string, null when empty, or the `!NAME` of an unquoted secret reference. */
function scalarValue(key: string, node: Node | null, where: string): string | null {
  if (node === null || node === undefined) return null;
  if (isMap(node) || isSeq(node)) {
    throw new ZmesError('ZMES_CONFIG_INVALID', `${where}: ${key} must be a single value, not a ${isMap(node) ? 'mapping' : 'list'} (write lists as "1,2,3")`);
  }
  if (!isScalar(node)) throw new ZmesError('ZMES_CONFIG_INVALID', `${where}: ${key} has an unsupported value`);
  const text = node.value === null || node.value === undefined ? '' : String(node.value);
  const tag = node.tag;
  // `password: !ZM_PASSWORD` unquoted is a YAML tag on an empty value, not a string:
  // read it as the classic secret reference it was meant to be.
  if (tag !== undefined && tag.startsWith('!') && !tag.startsWith('!!')) {
    if (text.trim() === '') return tag;
    if (tag === '!secret') {
      throw new ZmesError(
        'ZMES_CONFIG_INVALID',
        `${where}: ${key} uses Home Assistant's "!secret ${text}", which only works in add-on options; in this file write "!${text}" and set general.secrets`,
      );
    }
    throw new ZmesError('ZMES_CONFIG_INVALID', `${where}: ${key} has an unsupported YAML tag ${tag}; quote the value`);
  }
  const plain = node.type === 'PLAIN' || node.type === undefined;
  if (plain && NULL_WORDS.has(text.trim())) return null;
  return text;
}

function resolveAlias(node: Node | null | undefined, doc: Document): Node | null {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? null;
  return node;
}

function isEmpty(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.tag === undefined && NULL_WORDS.has(String(node.value ?? '').trim()));
}

function keyText(node: unknown): string | null {
  return isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number') ? String(node.value).trim() : null;
}

/** ` (did you mean X?)` for the closest candidate within a small edit distance, else ''. */
export function suggest(name: string, candidates: readonly string[], prefix = ''): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 4));
  return best !== undefined && bestDistance <= limit ? ` (did you mean ${prefix}${best}?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

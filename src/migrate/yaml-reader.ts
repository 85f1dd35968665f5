/**
 * Reads a classic v7 (Ng) `zmeventnotification.yml` leniently: unlike the zmes loader, an
 * unknown section or key is not an error here but an entry the migration reports. Every scalar
 * stays a string (failsafe schema), as in the classic server; an unquoted `!NAME` (a YAML tag
 * on an empty value) is the secret reference it was meant to be.
 */
import { isAlias, isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ZmesError } from '../errors.js';
import type { SourceEntry, SourceFile, SourceProblem } from './source.js';

const NULL_WORDS = new Set(['', '~', 'null', 'Null', 'NULL']);

export function readYaml(text: string, fileName: string): SourceFile {
  const counter = new LineCounter();
  const doc = parseDocument(text, { schema: 'failsafe', prettyErrors: true, uniqueKeys: false, lineCounter: counter });
  const error = doc.errors[0];
  if (error) throw new ZmesError('ZMES_CONFIG_FILE', `cannot parse ${fileName}: ${error.message.trim()}`);
  const lineOf = (node: unknown): number => {
    const range = (node as Node | null | undefined)?.range;
    return range ? counter.linePos(range[0]).line : 0;
  };
  const entries = new Map<string, SourceEntry>();
  const problems: SourceProblem[] = [];
  const duplicates: SourceProblem[] = [];

  const root = resolve(doc.contents, doc);
  if (root === null || (isScalar(root) && NULL_WORDS.has(String(root.value ?? '')))) {
    return { format: 'yaml', entries: [], problems, duplicates };
  }
  if (!isMap(root)) throw new ZmesError('ZMES_CONFIG_INVALID', `${fileName}: the file must be a mapping of sections`);

  for (const sectionPair of root.items) {
    const section = isScalar(sectionPair.key) ? String(sectionPair.key.value) : null;
    const line = lineOf(sectionPair.key);
    if (section === null) {
      problems.push({ line, what: `line ${line}`, detail: 'a section name must be plain text; ignored' });
      continue;
    }
    const body = resolve(sectionPair.value as Node | null, doc);
    if (body === null || (isScalar(body) && NULL_WORDS.has(String(body.value ?? '')))) continue;
    if (!isMap(body)) {
      problems.push({ line, what: section, detail: 'a section must be a mapping of key: value; ignored' });
      continue;
    }
    for (const pair of body.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : null;
      const keyLine = lineOf(pair.key);
      if (key === null) {
        problems.push({ line: keyLine, what: `line ${keyLine}`, detail: `a key in ${section} must be plain text; ignored` });
        continue;
      }
      const id = `${section}.${key}`;
      const node = resolve(pair.value as Node | null, doc);
      let value: string;
      let secretTag = false;
      if (node === null) value = '';
      else if (!isScalar(node)) {
        problems.push({ line: keyLine, what: id, detail: 'not a single value (lists are written "1,2,3"); not carried over' });
        continue;
      } else {
        const text = node.value === null || node.value === undefined ? '' : String(node.value);
        const tag = node.tag;
        if (tag !== undefined && tag.startsWith('!') && !tag.startsWith('!!') && text.trim() === '') {
          value = tag;
          secretTag = true;
        } else if (tag !== undefined && tag.startsWith('!') && !tag.startsWith('!!')) {
          problems.push({ line: keyLine, what: id, detail: `unsupported YAML tag ${tag}; not carried over` });
          continue;
        } else {
          const plain = node.type === 'PLAIN' || node.type === undefined;
          value = plain && NULL_WORDS.has(text.trim()) ? '' : text;
        }
      }
      const previous = entries.get(id);
      if (previous) {
        duplicates.push({ line: keyLine, what: id, detail: `also set on line ${previous.line}; the last value (line ${keyLine}) is used` });
        entries.delete(id);
      }
      entries.set(id, { section, key, value, line: keyLine, ...(secretTag ? { secretTag } : {}) });
    }
  }
  return { format: 'yaml', entries: [...entries.values()], problems, duplicates };
}

function resolve(node: Node | null | undefined, doc: Document): Node | null {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? null;
  return node;
}

import { ZmesError } from '../errors.js';

/**
 * Classic value templates: `${name}` (v7) and `{{name}}` (v6). A name is looked up in
 * `general` first, then in the section of the key being resolved. In practice only
 * `${base_data_path}` is used, but the rule is the classic server's.
 */
const TEMPLATE = /\$\{\s*([A-Za-z0-9_]+)\s*\}|\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

export function hasTemplate(value: string): boolean {
  TEMPLATE.lastIndex = 0;
  return TEMPLATE.test(value);
}

/** Read access to the values templates refer to, before their own substitution. */
export interface TemplateSource {
  /** Whether `section.name` is an option. */
  has(key: string): boolean;
  /** The current value of an option. */
  get(key: string): unknown;
  /** Whether an option's value must not appear in messages. */
  isSensitive(key: string): boolean;
}

/** Substitutes every template in `value`, the value of option `key`; referenced values are resolved recursively. */
export function substituteTemplates(key: string, value: string, source: TemplateSource): string {
  return substitute(key, value, source, [key]);
}

function substitute(key: string, value: string, source: TemplateSource, chain: string[]): string {
  const section = key.slice(0, key.indexOf('.'));
  return value.replace(TEMPLATE, (whole: string, v7?: string, v6?: string) => {
    const name = v7 ?? v6 ?? '';
    // The key's own sensitivity decides: a password's template names are part of the password.
    const shown = source.isSensitive(chain[0] ?? key) ? 'a template' : `the template ${whole}`;
    const target = [`general.${name}`, `${section}.${name}`].find((candidate) => source.has(candidate));
    if (target === undefined) {
      throw new ZmesError(
        'ZMES_CONFIG_INVALID',
        `${chain[0]}: ${shown} names no setting; a template may name a key of general or of ${section}`,
      );
    }
    if (chain.includes(target)) {
      throw new ZmesError('ZMES_CONFIG_INVALID', `${chain[0]}: templates refer to each other in a loop (${[...chain, target].join(' -> ')})`);
    }
    const referenced = source.get(target);
    if (referenced === null || referenced === undefined) {
      throw new ZmesError('ZMES_CONFIG_INVALID', `${chain[0]}: ${shown} refers to ${target}, which is not set`);
    }
    if (typeof referenced !== 'string') return String(referenced);
    return substitute(target, referenced, source, [...chain, target]);
  });
}

/**
 * Which configuration key an escontrol `edit` (or a stored override) names. The classic server
 * applied a bare key name in every section (defect #8: `enable` switched auth, ssl, fcm and
 * mqtt at once). Ours: `section.key`, or a bare key only when exactly one option has that name.
 */
import { suggest } from '../config/config-file.js';
import { OPTIONS, findOption, type OptionKey } from '../config/schema.js';

export type KeyResolution =
  | { readonly ok: true; readonly key: OptionKey }
  | { readonly ok: false; readonly reason: 'unknown' | 'ambiguous' | 'refused'; readonly problem: string };

/**
 * Keys an admin may not edit: the store's own location (an override read from the file that
 * moves the file is circular).
 */
const NOT_EDITABLE: ReadonlyMap<string, string> = new Map([
  ['general.escontrol_interface_file', 'it names the file the overrides are kept in'],
]);

export function resolveEditKey(raw: string): KeyResolution {
  const name = raw.trim().toLowerCase();
  if (name === '') return { ok: false, reason: 'unknown', problem: 'the key is empty' };
  let key: OptionKey;
  if (name.includes('.')) {
    const option = findOption(name);
    if (option === undefined) {
      return { ok: false, reason: 'unknown', problem: `${name} is not a zmes setting${suggest(name, OPTIONS.map((o) => o.key))}` };
    }
    key = option.key;
  } else {
    const matches = OPTIONS.filter((o) => o.name === name);
    if (matches.length === 0) {
      return { ok: false, reason: 'unknown', problem: `${name} is not a zmes setting${suggest(name, [...new Set(OPTIONS.map((o) => o.name))])}` };
    }
    if (matches.length > 1) {
      return {
        ok: false,
        reason: 'ambiguous',
        problem: `${name} is ambiguous (${matches.map((o) => o.key).join(', ')}); write section.key`,
      };
    }
    key = matches[0]!.key;
  }
  const why = NOT_EDITABLE.get(key);
  if (why !== undefined) return { ok: false, reason: 'refused', problem: `${key} cannot be edited: ${why}` };
  return { ok: true, key };
}

/** Whether a value of this key must never appear in logs or messages. */
export function isSensitiveKey(key: OptionKey): boolean {
  return findOption(key)?.leaf.sensitive ?? false;
}

/**
 * Checks an escontrol `edit` the only reliable way: by loading the configuration with it. The
 * running server's effective values stand in for the file, add-on options and environment it
 * was loaded from (they are the same values, already validated and resolved), the stored
 * overrides go on top, then the edited key. What loadConfig rejects is the problem reported.
 */
import { configValue, loadConfig, type Config } from '../config/load.js';
import { OPTIONS, type OptionKey } from '../config/schema.js';
import { resolveEditKey } from './edit-keys.js';

/** Every non-null effective value by `section.key`. */
export function effectiveValues(config: Config): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const { key } of OPTIONS) {
    const value = configValue(config, key);
    if (value !== null && value !== undefined) values[key] = value;
  }
  return values;
}

/** Stored overrides by their resolved `section.key`; entries naming no (single) setting are left out. */
export function resolvedSettings(settings: ReadonlyMap<string, string>): Map<OptionKey, string> {
  const resolved = new Map<OptionKey, string>();
  for (const [stored, value] of settings) {
    const key = resolveEditKey(stored);
    if (key.ok) resolved.set(key.key, value);
  }
  return resolved;
}

export function editChecker(config: Config): (key: OptionKey, value: string, settings: ReadonlyMap<string, string>) => string | undefined {
  const base = effectiveValues(config);
  return (key, value, settings) => {
    try {
      loadConfig({ env: {}, overrides: { ...base, ...Object.fromEntries(resolvedSettings(settings)), [key]: value } });
      return undefined;
    } catch (err) {
      // The message alone: it names the key, the expectation and never a sensitive value.
      return err instanceof Error ? err.message : String(err);
    }
  };
}

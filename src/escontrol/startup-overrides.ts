/**
 * Applies the escontrol `edit` overrides at startup: load the configuration, read the store
 * file it names, load again with the stored settings. They sit in the loader's `overrides`
 * layer, above the file and add-on options (the admin's later word wins) and below ZMES_*
 * environment variables (explicit deployment settings stay in charge; a shadowed override is
 * reported). As in the classic server, the store is only read when the interface is on.
 *
 * A stored override must never keep the server from starting: entries naming no setting, and
 * entries the loader rejects (a setting renamed since, a secret removed), are dropped with a
 * warning and the rest applied.
 */
import { loadConfig, type LoadOptions, type LoadedConfig } from '../config/load.js';
import { findOption, type OptionKey } from '../config/schema.js';
import { resolveEditKey } from './edit-keys.js';
import { readStoreFile } from './overrides-store.js';

export interface EscontrolOverrides {
  /** Flat `section.key` → value, ready for LoadOptions.overrides. */
  readonly overrides: Readonly<Record<string, string>>;
  /** For the log: dropped or shadowed entries, unreadable file. */
  readonly warnings: readonly string[];
  /** The store file read, or undefined when the interface is off. */
  readonly file: string | undefined;
}

/** The overrides to apply on top of `options`, given the configuration loaded without them. */
export function escontrolOverrides(base: LoadedConfig, options: LoadOptions = {}): EscontrolOverrides {
  const { config } = base;
  if (!config.general.use_escontrol_interface) return { overrides: {}, warnings: [], file: undefined };
  const file = config.general.escontrol_interface_file;
  // The store sets an unusable file aside when it starts; here it is only read.
  const read = readStoreFile(file);
  const warnings = [...read.warnings];
  const candidates = new Map<OptionKey, string>();
  for (const [stored, value] of read.state.settings) {
    const key = resolveEditKey(stored);
    if (!key.ok) {
      warnings.push(`escontrol override ${JSON.stringify(stored)} not applied: ${key.problem}`);
      continue;
    }
    candidates.set(key.key, value);
  }
  const env = options.env ?? process.env;
  for (const key of candidates.keys()) {
    const variable = findOption(key)?.leaf.env;
    if (variable !== undefined && env[variable] !== undefined) {
      warnings.push(`escontrol override of ${key} has no effect: the environment variable ${variable} is set and wins`);
    }
  }
  const attempt = (entries: Iterable<[OptionKey, string]>): string | undefined => {
    try {
      loadConfig({ ...options, overrides: { ...options.overrides, ...Object.fromEntries(entries) } });
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };
  if (candidates.size > 0 && attempt(candidates) !== undefined) {
    for (const [key, value] of [...candidates]) {
      const problem = attempt([[key, value]]);
      if (problem !== undefined) {
        warnings.push(`escontrol override of ${key} not applied: ${problem}`);
        candidates.delete(key);
      }
    }
    // Each alone loads, together they do not: apply none rather than guess.
    const together = attempt(candidates);
    if (together !== undefined) {
      warnings.push(`escontrol overrides ${[...candidates.keys()].join(', ')} not applied: together they give ${together}`);
      candidates.clear();
    }
  }
  return { overrides: Object.fromEntries(candidates), warnings, file };
}

/**
 * loadConfig with the escontrol overrides applied: what the process entry calls instead of
 * loadConfig. Throws as loadConfig does when the configuration itself is invalid.
 */
export function loadConfigWithEscontrol(options: LoadOptions = {}): LoadedConfig {
  const base = loadConfig(options);
  const { overrides, warnings } = escontrolOverrides(base, options);
  if (Object.keys(overrides).length === 0) {
    return warnings.length === 0 ? base : { ...base, warnings: [...base.warnings, ...warnings] };
  }
  const loaded = loadConfig({ ...options, overrides: { ...options.overrides, ...overrides } });
  const applied = `escontrol overrides applied: ${Object.keys(overrides).sort().join(', ')}`;
  return { ...loaded, warnings: [...loaded.warnings, ...warnings, applied] };
}

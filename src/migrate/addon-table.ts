/**
 * The add-on's option table, as the migration needs it. This is the one place where src/
 * reads from addon/ (the architecture keeps src/ free of the add-on otherwise): the mapping
 * add-on option → zmes key is defined once, in addon/options.ts, and `zmes migrate-config
 * --addon-options` must follow it exactly rather than keep a copy that could drift.
 */
import { CONTAINER_PATHS, NOT_OPTIONS, OPTION_MAP, REQUIRED_OPTIONS, fixedSettings } from '../config/addon-options.js';
import type { AddonTable } from './addon-output.js';

export function addonTable(): AddonTable {
  return {
    options: OPTION_MAP,
    fixed: new Set(Object.keys(fixedSettings(CONTAINER_PATHS))),
    notOptions: NOT_OPTIONS,
    required: REQUIRED_OPTIONS,
  };
}

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * zmes's own version and root folder, from package.json (found by walking up, because the
 * file sits at a different depth when run from src/ with tsx and from dist/src/).
 */
function findPackage(): { root: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'zmes' && typeof pkg.version === 'string') return { root: dir, version: pkg.version };
    }
    dir = dirname(dir);
  }
  return { root: process.cwd(), version: '0.0.0' };
}

const found = findPackage();
export const ZMES_VERSION = found.version;
/** The folder holding zmes's package.json (the repository or the installed package). */
export const PROJECT_ROOT = found.root;

/**
 * The version reported to apps in the auth and version replies. zmNinja refuses event
 * servers below "6.0" and treats a missing or numeric version as too old, so we report
 * the classic protocol level we are compatible with, not our own 0.x version.
 */
export const PROTOCOL_VERSION = '7.0.0';

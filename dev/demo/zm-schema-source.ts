/**
 * ZoneMinder's real database schema (for tests and the demo), taken from Debian's `zoneminder` package at test
 * time (never committed). The package is downloaded with `apt-get download` and unpacked with
 * `dpkg -x` into `.cache/zoneminder/<version>/` at the repository root, then reused.
 *
 * Several test processes may start at once: each unpacks into its own temporary folder and
 * renames it into place; renaming a folder onto an existing non-empty one fails, so the loser
 * throws its copy away and uses the winner's.
 *
 * `ZMES_ZM_SCHEMA_DIR` may point at an existing `usr/share/zoneminder/db` folder instead.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/version.js';

const run = promisify(execFile);

export interface ZmSchemaFiles {
  /** Folder holding zm_create.sql, triggers.sql and the zm_update-*.sql files. */
  dir: string;
  createSql: string;
  triggersSql: string;
  /** Debian package version, e.g. `1.36.33+dfsg1-1`, or `custom` for ZMES_ZM_SCHEMA_DIR. */
  version: string;
}

const CACHE_ROOT = join(PROJECT_ROOT, '.cache', 'zoneminder');
const DB_SUBDIR = join('usr', 'share', 'zoneminder', 'db');

let memo: Promise<ZmSchemaFiles> | undefined;

/** The schema files, downloading and unpacking the package the first time (memoised per process). */
export function zmSchemaFiles(): Promise<ZmSchemaFiles> {
  memo ??= locate().catch((err: unknown) => {
    memo = undefined; // let a later call try again
    throw err;
  });
  return memo;
}

export interface ZmPackageTree {
  /** The folder the whole package was unpacked into (`etc/`, `usr/`, `var/` as in the .deb). */
  root: string;
  /** Debian package version, e.g. `1.36.33+dfsg1-1`. */
  version: string;
}

let treeMemo: Promise<ZmPackageTree> | undefined;

/**
 * The whole unpacked package, for fixtures that need more than the schema (the PHP web tree under
 * `usr/share/zoneminder/www`, `etc/zm`, the Apache config): the newest cached copy, or a fresh
 * download. ZMES_ZM_SCHEMA_DIR does not apply (it names a schema folder only). Memoised per process.
 */
export function zmPackageTree(): Promise<ZmPackageTree> {
  treeMemo ??= (async () => {
    const files = (await newestCached()) ?? (await downloadAndUnpack());
    const root = join(CACHE_ROOT, files.version);
    if (!existsSync(join(root, 'usr', 'share', 'zoneminder', 'www', 'index.php'))) {
      throw new Error(`the unpacked ZoneMinder package in ${root} has no web tree; remove that folder to unpack it again`);
    }
    return { root, version: files.version };
  })().catch((err: unknown) => {
    treeMemo = undefined; // let a later call try again
    throw err;
  });
  return treeMemo;
}

async function locate(): Promise<ZmSchemaFiles> {
  const override = process.env['ZMES_ZM_SCHEMA_DIR'];
  if (override) return filesIn(resolve(override), 'custom');
  const cached = await newestCached();
  if (cached) return cached;
  return downloadAndUnpack();
}

function filesIn(dir: string, version: string): ZmSchemaFiles {
  const files = { dir, createSql: join(dir, 'zm_create.sql'), triggersSql: join(dir, 'triggers.sql'), version };
  for (const file of [files.createSql, files.triggersSql]) {
    if (!existsSync(file)) throw new Error(`ZoneMinder schema file missing: ${file}`);
  }
  return files;
}

async function newestCached(): Promise<ZmSchemaFiles | undefined> {
  let names: string[];
  try {
    names = await readdir(CACHE_ROOT);
  } catch {
    return undefined;
  }
  const versions = names
    .filter((name) => !name.startsWith('.') && existsSync(join(CACHE_ROOT, name, DB_SUBDIR, 'zm_create.sql')))
    .sort(compareVersions);
  const newest = versions.at(-1);
  return newest === undefined ? undefined : filesIn(join(CACHE_ROOT, newest, DB_SUBDIR), newest);
}

async function downloadAndUnpack(): Promise<ZmSchemaFiles> {
  await mkdir(CACHE_ROOT, { recursive: true });
  const work = await mkdtemp(join(CACHE_ROOT, '.tmp-'));
  try {
    const deb = await download(work);
    const { stdout } = await run('dpkg-deb', ['--field', deb, 'Version']);
    const version = stdout.trim();
    if (!/^[\w.+~:-]+$/.test(version)) throw new Error(`unexpected package version ${JSON.stringify(version)}`);
    const unpacked = join(work, 'root');
    await run('dpkg', ['-x', deb, unpacked]);
    const target = join(CACHE_ROOT, version);
    try {
      await rename(unpacked, target);
    } catch (err) {
      // Another process won the race: its copy is complete (it was renamed whole), use it.
      if (!existsSync(join(target, DB_SUBDIR, 'zm_create.sql'))) throw err;
    }
    return filesIn(join(target, DB_SUBDIR), version);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `apt-get download zoneminder` into `dir`; refreshes the package lists once when it fails. */
async function download(dir: string): Promise<string> {
  const attempt = async (): Promise<string | undefined> => {
    try {
      await run('apt-get', ['download', 'zoneminder'], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      return failureText(err);
    }
    return undefined;
  };
  let failure = await attempt();
  if (failure !== undefined) {
    try {
      await run('apt-get', ['update'], { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      // Another test process may hold the apt lists lock while it updates: try the download anyway.
      failure += `\napt-get update: ${failureText(err)}`;
    }
    const second = await attempt();
    failure = second === undefined ? undefined : `${failure}\nafter apt-get update: ${second}`;
  }
  if (failure !== undefined) {
    throw new Error(
      `cannot download Debian's zoneminder package for its database schema (${failure.trim()}).\n` +
        'Run `apt-get update && apt-get download zoneminder` by hand, or set ZMES_ZM_SCHEMA_DIR to a ' +
        'folder holding zm_create.sql and triggers.sql (usr/share/zoneminder/db of the package).',
    );
  }
  const deb = (await readdir(dir)).find((name) => /^zoneminder_.*\.deb$/.test(name));
  if (deb === undefined) throw new Error(`apt-get download zoneminder left no .deb in ${dir}`);
  return join(dir, deb);
}

function failureText(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  if (typeof stderr === 'string' && stderr.trim() !== '') return stderr.trim().split('\n').slice(-3).join(' | ');
  return err instanceof Error ? err.message : String(err);
}

/** Orders Debian-like version strings by their numeric parts, enough to pick the newest cached copy. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
  const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return a.localeCompare(b);
}

/**
 * zm_create.sql prepared for a throwaway database (zoneminder.md §1): without its
 * `CREATE DATABASE zm` / `USE zm` lines, and with the absolute `source …/triggers.sql` path
 * pointing at our unpacked copy. Fed to the `mariadb` client, which understands `source`.
 */
export async function localCreateSql(files: ZmSchemaFiles): Promise<string> {
  const text = await readFile(files.createSql, 'utf8');
  return rewriteCreateSql(text, files.triggersSql);
}

export function rewriteCreateSql(text: string, triggersPath: string): string {
  let sourced = 0;
  const lines = text.split('\n').flatMap((line) => {
    if (/^CREATE DATABASE .*`zm`;\s*$/.test(line) || /^USE `zm`;\s*$/.test(line)) return [];
    if (/^source\s+\S*triggers\.sql\s*$/.test(line)) {
      sourced++;
      return [`source ${triggersPath}`];
    }
    return [line];
  });
  if (sourced !== 1) throw new Error(`zm_create.sql: expected one "source …triggers.sql" line, found ${sourced}`);
  if (lines.some((line) => /^USE\s/i.test(line))) throw new Error('zm_create.sql: unexpected USE statement left');
  return lines.join('\n');
}

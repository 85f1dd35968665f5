/**
 * The directories zmes writes to, checked at startup. The stores themselves only log a failed
 * write and carry on (a full disk at runtime must not stop notifications), so a data directory
 * that was never writable would otherwise go unnoticed until a restart repeated or lost events
 * and every phone had to register again.
 */
import { dirname } from 'node:path';
import type { Config } from '../config/load.js';
import { ZmesError } from '../errors.js';
import { cursorFilePath } from './cursor-store.js';
import { FileSystemError, ensureWritableDirectory } from './directory.js';

export interface DataDirectory {
  /** The configuration option that decides the directory. */
  readonly option: string;
  /** The option's value, as the user wrote it (after ${base_data_path} expansion). */
  readonly value: string;
  readonly dir: string;
  /** What zmes keeps there, for the error message. */
  readonly keeps: string;
}

/** The directories the configuration makes zmes write to; features that are off need none. */
export function dataDirectories(config: Config): DataDirectory[] {
  const { base_data_path: base, escontrol_interface_file: escontrol } = config.general;
  const dirs: DataDirectory[] = [
    { option: 'general.base_data_path', value: base, dir: dirname(cursorFilePath(base)), keeps: 'its event detection state' },
  ];
  if (config.fcm.enable) {
    const file = config.fcm.token_file;
    dirs.push({ option: 'fcm.token_file', value: file, dir: dirname(file), keeps: 'the registered push tokens' });
  }
  if (config.general.use_escontrol_interface) {
    dirs.push({ option: 'general.escontrol_interface_file', value: escontrol, dir: dirname(escontrol), keeps: 'the admin overrides' });
  }
  return dirs;
}

/**
 * Creates the data directories and checks that files can be written in them; throws a
 * ZMES_STATE_FILE error naming the option and the problem.
 */
export function checkDataDirectories(config: Config): void {
  for (const { option, value, dir, keeps } of dataDirectories(config)) {
    try {
      ensureWritableDirectory(dir);
    } catch (err) {
      if (!(err instanceof FileSystemError)) throw err;
      throw new ZmesError(
        'ZMES_STATE_FILE',
        `${option} (${value}): ${err.message}; zmes keeps ${keeps} there: make it writable, or set ${option} to a writable place`,
        { cause: err },
      );
    }
  }
}

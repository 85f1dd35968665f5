/**
 * The key picture links are signed with, kept in the data directory so that links already sent
 * in pushes stay valid across a restart. Unreadable or unwritable: a key for this run only, with
 * a warning (links then break at the next restart, nothing worse).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { writeFileAtomic } from '../../state/atomic-file.js';
import { makeDirectory } from '../../state/directory.js';

const KEY_BYTES = 32;

export function pictureKeyPath(baseDataPath: string): string {
  return join(baseDataPath, 'misc', 'picture-link.key');
}

export function loadPictureKey(path: string, log: Logger): Buffer {
  try {
    const stored = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
    if (stored.length === KEY_BYTES) return stored;
    log.warn(`picture link key ${path} is not a ${KEY_BYTES}-byte key; making a new one (links sent before stop working)`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`cannot read the picture link key ${path} (${errorMessage(err)}); making a new one`);
  }
  const key = randomBytes(KEY_BYTES);
  try {
    makeDirectory(dirname(path));
    writeFileAtomic(path, `${key.toString('base64url')}\n`, 0o600);
  } catch (err) {
    log.warn(`cannot store the picture link key in ${path} (${errorMessage(err)}): picture links stop working when zmes restarts`);
  }
  return key;
}

/**
 * Creating and probing the directories zmes keeps its state in, with errors that say what is
 * wrong ("… is read-only", "permission denied") instead of the raw errno text.
 *
 * Not `mkdirSync(dir, { recursive: true })`: on Node 20 it reports ENOENT for a parent on a
 * read-only file system, and it never returns when the file system answers ENOENT although the
 * parent exists (a path under /proc), which would hang the server at its first write.
 */
import { closeSync, mkdirSync, openSync, rmSync, statSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';

/** A failed file system call, explained; `code` is the errno code (callers key on it). */
export class FileSystemError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FileSystemError';
    this.code = code;
  }
}

function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

function runningAs(): string {
  return typeof process.getuid === 'function' ? ` (zmes runs as uid ${process.getuid()})` : '';
}

/**
 * Why an operation on `dir` (or on a file in it) failed, in plain words, ending with the errno
 * code. `doing` names the operation when it was not on `dir` itself ("cannot write /x/y").
 */
export function explainFsError(err: unknown, dir: string, doing?: string): FileSystemError {
  const code = errnoOf(err);
  let problem: string;
  switch (code) {
    case 'EROFS':
      problem = `${dir} is read-only (read-only file system)`;
      break;
    case 'EACCES':
      problem = `permission denied writing in ${dir}${runningAs()}`;
      break;
    case 'EPERM':
      problem = `permission denied writing in ${dir}: operation not permitted (an immutable directory or a special file system)${runningAs()}`;
      break;
    case 'ENOENT':
      // Only reached when the parent exists: the file system itself refuses new entries.
      problem = `${dir} does not accept new files or directories (a special file system such as /proc)`;
      break;
    case 'ENOTDIR':
      problem = `${dir} is not a directory (or a part of its path is a file)`;
      break;
    case 'ENOSPC':
      problem = `no space left on the device holding ${dir}`;
      break;
    case 'EDQUOT':
      problem = `disk quota exceeded on the device holding ${dir}`;
      break;
    default:
      problem = `${dir}: ${err instanceof Error ? err.message : String(err)}`;
  }
  return new FileSystemError(code, `${doing === undefined ? '' : `${doing}: `}${problem} (${code})`, { cause: err });
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw explainFsError(err, path);
  }
}

/** Creates `dir` and its missing parents, one level at a time. Throws FileSystemError. */
export function makeDirectory(dir: string): void {
  const path = resolve(dir);
  const stats = statOrUndefined(path);
  if (stats !== undefined) {
    if (!stats.isDirectory()) throw new FileSystemError('ENOTDIR', `${path} exists and is not a directory (ENOTDIR)`);
    return;
  }
  const parent = dirname(path);
  if (parent !== path) makeDirectory(parent);
  try {
    mkdirSync(path);
  } catch (err) {
    // Another process (or a second zmes writer) may have created it meanwhile.
    if (errnoOf(err) === 'EEXIST' && statOrUndefined(path)?.isDirectory()) return;
    throw explainFsError(err, parent, `cannot create ${path}`);
  }
}

/**
 * Makes sure zmes can create files in `dir`: creates it when missing, then creates and removes
 * a probe file. Permission bits alone cannot tell (root ignores them; a read-only mount or an
 * immutable directory refuses root too). Throws FileSystemError.
 */
export function ensureWritableDirectory(dir: string): void {
  const path = resolve(dir);
  makeDirectory(path);
  const probe = join(path, `.zmes-write-test.${process.pid}.${randomBytes(4).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(probe, 'wx', 0o600);
  } catch (err) {
    throw explainFsError(err, path);
  }
  closeSync(fd);
  rmSync(probe, { force: true });
}

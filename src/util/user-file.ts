/**
 * Reading files a user named (a plan, a CSV, a key, a bundle's parts). Only regular files
 * are read: a FIFO would block a read forever, a device never ends, a socket cannot be
 * opened. The file is opened without blocking (O_NONBLOCK: opening a FIFO with no writer
 * would otherwise wait for one) and the opened descriptor is checked, not the name, so what
 * is read is what was checked. docs/upstream-facts.md#linux-fifo-open-nonblock,
 * #linux-open-nonblock, #linux-open-nofollow; the descriptor check in a confined root:
 * #linux-proc-fd-link.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { open, readlink, stat, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { UstartError, type ErrorCode } from '../errors.js';

// Windows has neither flag; a FIFO or device there is not a path a user types.
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export interface UserFileOptions {
  /** What the file is for, in the error ("plan file", "SSH key"); default "file". */
  what?: string;
  /** The error code for a file that is not a regular file; default InvalidArgument. */
  code?: ErrorCode;
  /** Refuse a symbolic link as the last part of the path (a confined root, src/app/path-confinement.ts). */
  noFollow?: boolean;
  /**
   * A real folder path the opened file must lie in (a confined root). Checked on the opened
   * descriptor where the system names it (Linux /proc/self/fd), so a folder swapped for a
   * link between the check of the path and the open is caught.
   */
  within?: string;
}

/** "a FIFO (named pipe)", "a directory", …: what a non-regular file is, for messages. */
export function describeKind(info: Stats): string {
  if (info.isFile()) return 'a regular file';
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

export function notRegularFile(file: string, info: Stats, options: UserFileOptions = {}) {
  const what = options.what ?? 'file';
  return new UstartError(
    options.code ?? 'InvalidArgument',
    `${file} is ${describeKind(info)}, not a regular file; uStart reads the ${what} only from a regular file. Give the path of the file itself.`,
    { detail: { file, kind: describeKind(info) } },
  );
}

/**
 * Opens `file` for reading when it is a regular file. Errors from the file system (ENOENT,
 * EACCES, ELOOP for a refused link) are thrown as they are, so callers keep their messages.
 */
export async function openRegularFile(
  file: string,
  options: UserFileOptions = {},
): Promise<FileHandle> {
  const flags = constants.O_RDONLY | O_NONBLOCK | (options.noFollow ? O_NOFOLLOW : 0);
  const handle = await open(file, flags);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notRegularFile(file, info, options);
    if (options.within !== undefined) await assertOpenedWithin(handle, file, options.within);
    return handle;
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** The bytes of a regular file (see `openRegularFile`). */
export async function readRegularFile(file: string, options?: UserFileOptions): Promise<Buffer>;
export async function readRegularFile(
  file: string,
  options: UserFileOptions & { encoding: 'utf8' },
): Promise<string>;
export async function readRegularFile(
  file: string,
  options: UserFileOptions & { encoding?: 'utf8' } = {},
): Promise<Buffer | string> {
  const handle = await openRegularFile(file, options);
  try {
    const bytes = await handle.readFile();
    return options.encoding ? bytes.toString(options.encoding) : bytes;
  } finally {
    await handle.close();
  }
}

/** `readRegularFile` for the few synchronous readers (a bill of materials). */
export function readRegularFileSync(file: string, options: UserFileOptions = {}): string {
  const fd = openSync(file, constants.O_RDONLY | O_NONBLOCK | (options.noFollow ? O_NOFOLLOW : 0));
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw notRegularFile(file, info, options);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Throws unless `file` is a regular file; for paths handed on to something that opens them
 * itself (a tar stream, an upload). stat never blocks on a FIFO.
 */
export async function assertRegularFile(
  file: string,
  options: UserFileOptions = {},
): Promise<Stats> {
  const info = await stat(file);
  if (!info.isFile()) throw notRegularFile(file, info, options);
  return info;
}

/** Throws unless the file behind `handle` lies in `root` (where the system can tell). */
export async function assertOpenedWithin(
  handle: FileHandle,
  file: string,
  root: string,
): Promise<void> {
  let opened: string;
  try {
    opened = await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return; // no /proc (macOS, Windows): the real-path check before the open stands alone
  }
  const rel = relative(root, opened);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new UstartError(
      'InvalidArgument',
      `${file} is outside ${root}, the folder this uStart server works in (it was replaced by a link while being opened); choose a file inside it.`,
      { detail: { file, root } },
    );
  }
}

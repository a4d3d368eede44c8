/** File helpers shared by everything that writes a user's data. */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, copyFile, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UstartError } from '../errors.js';
import { assertOpenedWithin } from './user-file.js';

export interface WriteOptions {
  /**
   * A real folder path the written file must lie in (browser mode's root, src/app/path-confinement.ts);
   * the temp file is checked on its descriptor before anything is written.
   */
  within?: string;
}

/** Writes `text` to `file` through a temp file and a rename, so readers see old or new, never half. */
export async function writeAtomically(
  file: string,
  text: string | Uint8Array,
  mode = 0o644,
  options: WriteOptions = {},
): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    // 'wx' (O_EXCL) never follows a link at the temp name; rename replaces a link at `file`
    // instead of writing through it (docs/upstream-facts.md#linux-open-excl-symlink,
    // #linux-rename-symlink).
    const handle = await open(tmp, 'wx', mode);
    try {
      if (options.within !== undefined) await assertOpenedWithin(handle, file, options.within);
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof UstartError) throw e;
    throw writeFailed(file, e);
  }
  await syncDir(dir);
}

/** Copies `from` to `to` through a temp file and a rename (the `.bak` of a saved plan). */
export async function copyAtomically(from: string, to: string): Promise<void> {
  const tmp = join(
    dirname(to),
    `.${basename(to)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    // COPYFILE_EXCL: never write through something already at the temp name.
    await copyFile(from, tmp, constants.COPYFILE_EXCL);
    await rename(tmp, to);
  } catch (e) {
    await rm(tmp, { force: true });
    throw writeFailed(to, e);
  }
}

/** The error for a failed write: what happened to which file, and that nothing changed. */
export function writeFailed(file: string, e: unknown): UstartError {
  const code = (e as NodeJS.ErrnoException).code;
  const message =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? `could not write ${file}: the disk is full${code === 'EDQUOT' ? ' (quota exceeded)' : ''}. The file on disk was not changed; free some space on ${dirname(file)} and save again.`
      : code === 'EACCES' || code === 'EPERM'
        ? `could not write ${file}: permission denied. The file on disk was not changed; choose a folder you may write to.`
        : code === 'EROFS'
          ? `could not write ${file}: the file system is read-only. The file on disk was not changed; choose another folder.`
          : `could not write ${file}: ${(e as Error).message}`;
  return new UstartError('WriteFailed', message, { cause: e, detail: { file, errno: code } });
}

export async function syncDir(dir: string): Promise<void> {
  // fsync on the folder makes the rename itself durable; not every platform allows it.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* Windows cannot open a folder for fsync; the rename is still atomic there. */
  }
}

/** True when something exists at `path` (a file, a folder, anything `access` can see). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

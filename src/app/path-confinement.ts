/**
 * Where the core may read and write. Browser mode confines every path to one folder (the
 * page may be reached by anyone holding the token, so it must not reach the whole disk);
 * Electron passes no root because the user picks files in native dialogs.
 *
 * Confinement is by real path, not by the text of the path: a symbolic link inside the root
 * that points outside it (to /etc, to a home folder) is followed before the check, for the
 * file itself and, for a file about to be created, for the folder it goes into. What is
 * returned is that real path, so the caller opens what was checked. A FIFO, socket or
 * device inside the root is refused: reading one blocks or never ends.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UstartError } from '../errors.js';
import { describeKind } from '../util/user-file.js';

export interface PathPolicy {
  /** The folder paths are relative to and confined in, or undefined for any absolute path. */
  readonly root: string | undefined;
  /** The absolute path for a path a front sent; throws when it leaves the root. */
  resolve(file: string): string;
}

export function pathPolicy(root: string | undefined): PathPolicy {
  const base = root === undefined ? undefined : realOrResolved(resolve(root));
  return {
    root: base,
    resolve(file) {
      if (file.includes('\0')) {
        throw new UstartError('InvalidArgument', 'a file path may not contain a NUL character.');
      }
      if (base === undefined) {
        if (!isAbsolute(file)) {
          throw new UstartError(
            'InvalidArgument',
            `${file} is not an absolute path; choose the file in the dialog.`,
          );
        }
        return resolve(file);
      }
      const outside = (why: string) =>
        new UstartError(
          'InvalidArgument',
          `${file} is outside ${base}, the folder this uStart server works in${why}; choose a file inside it, or restart \`ustart serve\` with --root.`,
          { detail: { file, root: base } },
        );
      const abs = resolve(base, file);
      if (!inside(base, abs)) throw outside('');
      const real = realPathOf(abs, file);
      if (!inside(base, real)) throw outside(` (it is a symbolic link to ${real})`);
      let info;
      try {
        info = statSync(real);
      } catch {
        return real; // not there yet: a file about to be created in a folder inside the root
      }
      if (!info.isFile() && !info.isDirectory()) {
        throw new UstartError(
          'InvalidArgument',
          `${file} is ${describeKind(info)}, not a regular file or folder; uStart reads and writes only regular files. Choose another file.`,
          { detail: { file, kind: describeKind(info) } },
        );
      }
      return real;
    },
  };
}

function inside(base: string, abs: string): boolean {
  const rel = relative(base, abs);
  return !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

function realOrResolved(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

/**
 * The real path of `abs`: of the file when it exists, otherwise of the nearest folder above
 * it that exists, with the missing parts appended. A dangling link is refused: writing
 * through it would create its target, wherever that is.
 */
function realPathOf(abs: string, file: string): string {
  const missing: string[] = [];
  let at = abs;
  for (;;) {
    try {
      const real = realpathSync.native(at);
      return missing.length === 0 ? real : join(real, ...missing.reverse());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new UstartError(
          'InvalidArgument',
          `${file} cannot be resolved (${code ?? String(e)}); choose another file.`,
          { cause: e, detail: { file } },
        );
      }
      if (isLink(at)) {
        throw new UstartError(
          'InvalidArgument',
          `${file} is or passes through a symbolic link that points nowhere; uStart does not write through it. Remove the link or choose another file.`,
          { detail: { file } },
        );
      }
      const up = dirname(at);
      if (up === at) return abs;
      missing.push(basename(at));
      at = up;
    }
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

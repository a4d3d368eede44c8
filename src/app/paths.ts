/**
 * Where the core may read and write. Browser mode confines every path to one folder (the
 * page may be reached by anyone holding the token, so it must not reach the whole disk);
 * Electron passes no root because the user picks files in native dialogs.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { UstartError } from '../errors.js';

export interface PathPolicy {
  /** The folder paths are relative to and confined in, or undefined for any absolute path. */
  readonly root: string | undefined;
  /** The absolute path for a path a front sent; throws when it leaves the root. */
  resolve(file: string): string;
}

export function pathPolicy(root: string | undefined): PathPolicy {
  const base = root === undefined ? undefined : resolve(root);
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
      const abs = resolve(base, file);
      const rel = relative(base, abs);
      if (rel.startsWith('..') || isAbsolute(rel)) {
        throw new UstartError(
          'InvalidArgument',
          `${file} is outside ${base}, the folder this uStart server works in; choose a file inside it, or restart \`ustart serve\` with --root.`,
          { detail: { file, root: base } },
        );
      }
      return abs;
    },
  };
}

/**
 * Entry paths inside a bundle. A path is relative, uses `/`, and is already in normal form,
 * so that one file has exactly one spelling: the manifest, the tar member names and the
 * files on disk are compared as plain strings, and nothing can point outside the bundle.
 */

/** Why a path is not a valid entry path, or undefined when it is. */
export function entryPathProblem(path: string): string | undefined {
  if (path.length === 0) return 'the path is empty';
  if (path.length > 4096) return 'the path is longer than 4096 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) {
    return 'the path contains a control character (NUL, newline, tab, ...); rename the file';
  }
  if (path.includes('"')) return "the path contains a double quote ('\"'); rename the file";
  if (path.includes('\\')) return 'the path contains a backslash; use "/"';
  if (path.startsWith('/')) return 'the path is absolute; it escapes the bundle';
  if (/^[A-Za-z]:/.test(path)) return 'the path starts with a drive letter; it escapes the bundle';
  const segments = path.split('/');
  if (segments.includes('..')) return 'the path contains ".."; it escapes the bundle';
  if (segments.some((s) => s === '' || s === '.')) {
    return 'the path is not in normal form (empty or "." segment, or a trailing "/")';
  }
  if (path !== path.normalize('NFC')) return 'the path is not in Unicode normal form C';
  return undefined;
}

/** True when `path` may name an entry (see entryPathProblem). */
export function isValidEntryPath(path: string): boolean {
  return entryPathProblem(path) === undefined;
}

/**
 * Compares paths by their UTF-8 bytes: the one order every tool agrees on (JavaScript's
 * default sort compares UTF-16 code units, which differs above U+FFFF).
 */
export function compareEntryPaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

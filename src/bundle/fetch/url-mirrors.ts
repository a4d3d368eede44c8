/**
 * URL mirrors for Helm repositories and release files: `--mirror-url PREFIX=URL` fetches
 * everything under `PREFIX` from `URL` instead, the rest of the path kept, as a generic
 * remote repository of Artifactory or Nexus (or a plain web server holding a copy) serves
 * it. The longest matching prefix wins; a URL with a mirror never goes to its origin.
 */
import { UstartError } from '../../errors.js';

/** Mirror URL by upstream URL prefix. */
export type UrlMirrorMap = ReadonlyMap<string, string>;

/** Parses `PREFIX=URL` values (both absolute http(s) URLs, without credentials). */
export function parseUrlMirrors(values: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const value of values) {
    const m = /^(https?:\/\/[^=]+)=(https?:\/\/.+)$/.exec(value);
    if (!m) {
      throw new UstartError(
        'InvalidArgument',
        `--mirror-url ${value}: write UPSTREAM-PREFIX=MIRROR-URL, such as https://charts.rook.io/release=https://artifactory.example.com/helm-rook.`,
      );
    }
    for (const url of [m[1]!, m[2]!]) {
      const parsed = new URL(url);
      if (parsed.username || parsed.password) {
        throw new UstartError(
          'InvalidArgument',
          `--mirror-url ${value}: a URL holds credentials; they would end up in logs and shell history.`,
        );
      }
    }
    if (map.has(m[1]!))
      throw new UstartError('InvalidArgument', `--mirror-url: ${m[1]} is given twice; keep one.`);
    map.set(m[1]!, m[2]!);
  }
  return map;
}

const trim = (s: string) => s.replace(/\/+$/, '');

/** The URL to fetch `url` from: through the longest matching mirror prefix, else itself. */
export function mirroredUrl(url: string, mirrors: UrlMirrorMap): string {
  let best: [string, string] | undefined;
  for (const [prefix, mirror] of mirrors) {
    const p = trim(prefix);
    const matches = url === p || url.startsWith(`${p}/`) || url.startsWith(`${p}?`);
    if (matches && (!best || p.length > best[0].length)) best = [p, trim(mirror)];
  }
  return best ? best[1] + url.slice(best[0].length) : url;
}

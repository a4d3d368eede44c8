/**
 * Which links leave the app for the user's browser (Electron's security checklist, item 15:
 * `shell.openExternal` hands a URL to the operating system, which runs whatever handler the
 * scheme has). Plain Node, no `electron` import, so the rule runs in unit tests
 * (test/unit/main/external-links.test.ts).
 */

/**
 * Every page uStart opens in the browser, as https URL prefixes. Today that is the
 * Help menu's documentation link (main/menu.ts); the renderer and the reports it shows hold
 * no links. A new link adds its prefix here, or it does not open.
 */
export const EXTERNAL_URL_PREFIXES: readonly string[] = ['https://uhurutec.com/'];

/**
 * The URL to hand to `shell.openExternal`, or undefined when it may not leave the app: only
 * https, no user or password, the default port, and the same origin as one of `prefixes`
 * with a path under that prefix's path. What is returned is the parsed URL, so what opens
 * is exactly what was checked.
 */
export function allowedExternalUrl(
  raw: string,
  prefixes: readonly string[] = EXTERNAL_URL_PREFIXES,
): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.port) return undefined;
  for (const prefix of prefixes) {
    const allowed = new URL(prefix);
    if (url.origin === allowed.origin && url.pathname.startsWith(allowed.pathname)) {
      return url.href;
    }
  }
  return undefined;
}

/**
 * The desktop window's page comes from uStart's own scheme, `app://ustart/`, served out of
 * the built renderer folder, not from file:// (Electron's security checklist, item 18: a
 * file:// page is granted more than a web page and can reach every file of the machine).
 *
 * Plain Node, no `electron` import, so these rules run in unit tests
 * (test/unit/main/app-protocol.test.ts); main/index.ts only registers the scheme and hands
 * each request to `serveRendererRequest`.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { contentTypeFor, rendererCsp } from '../src/api/renderer-page.js';

export const APP_SCHEME = 'app';
export const APP_HOST = 'ustart';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** What the window loads in a packaged app (and in `npm run app` / `npm start`). */
export const APP_PAGE_URL = `${APP_ORIGIN}/index.html`;

/**
 * The page's policy, sent with every response of the scheme (and by main/index.ts as a
 * session header for the dev server). `'self'` is app://ustart: the scheme is registered
 * as standard, so it has an origin of its own.
 */
export const RENDERER_CSP = rendererCsp();

export { contentTypeFor };

export type RendererFile =
  { ok: true; file: string; type: string } | { ok: false; status: 400 | 403 | 404; why: string };

const refused = (status: 400 | 403 | 404, why: string): RendererFile => ({
  ok: false,
  status,
  why,
});

/**
 * The real path of the renderer folder. Resolved once, so every request is compared against
 * the folder itself and not against a link to it. In a packaged app the folder is inside
 * app.asar, where Electron's fs answers realpath, stat and readFile
 * (docs/upstream-facts.md#electron-asar-fs).
 */
export function rendererRoot(dir: string): Promise<string> {
  return realpath(dir);
}

/**
 * Maps an app://ustart/… URL to a regular file inside `root` (a real path, from
 * `rendererRoot`). Refused: another scheme or host, a user or port in the URL, a `.`/`..`
 * segment or an encoded separator, NUL or backslash (what the URL parser leaves alone is
 * decoded here, one segment at a time); a path whose real path leaves the root (a symlink
 * out, or one to the root itself); anything that is not a regular file (a folder, a FIFO, a
 * socket, a device), which is never opened.
 */
export async function resolveRendererFile(root: string, url: string): Promise<RendererFile> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refused(400, 'not a URL');
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST) {
    return refused(404, 'not app://ustart/');
  }
  if (parsed.username || parsed.password) return refused(400, 'credentials in the URL');
  const raw = parsed.pathname === '/' ? ['index.html'] : parsed.pathname.slice(1).split('/');
  const segments: string[] = [];
  for (const part of raw) {
    let segment: string;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return refused(400, 'bad %-encoding');
    }
    if (segment === '' || segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) {
      return refused(400, 'bad path segment');
    }
    segments.push(segment);
  }
  let real: string;
  try {
    real = await realpath(join(root, ...segments));
  } catch {
    return refused(404, 'no such file');
  }
  const inside = relative(root, real);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    return refused(403, 'outside the renderer folder');
  }
  try {
    if (!(await stat(real)).isFile()) return refused(404, 'not a regular file');
  } catch {
    return refused(404, 'no such file');
  }
  return { ok: true, file: real, type: contentTypeFor(real) };
}

const HEADERS = {
  'content-security-policy': RENDERER_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function plain(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: { ...HEADERS, 'content-type': 'text/plain; charset=utf-8' },
  });
}

/**
 * The scheme's handler: GET and HEAD only; a refusal says only its status (the page is ours,
 * but nothing about the file system goes back to it). Never rejects.
 */
export async function serveRendererRequest(root: string, request: Request): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'Only GET.\n');
  const found = await resolveRendererFile(root, request.url);
  if (!found.ok)
    return plain(found.status, found.status === 400 ? 'Bad request.\n' : 'Not found.\n');
  let body: Buffer;
  try {
    body = await readFile(found.file);
  } catch {
    return plain(404, 'Not found.\n');
  }
  return new Response(request.method === 'HEAD' ? null : body, {
    status: 200,
    headers: { ...HEADERS, 'content-type': found.type, 'content-length': String(body.length) },
  });
}

/**
 * What the window loads. `ELECTRON_RENDERER_URL` (set by `electron-vite dev` to its dev
 * server) is honoured only by an unpackaged app: a packaged one never lets an environment
 * variable choose the page that holds the api (checklist item 1, only load secure content).
 */
export function rendererPageUrl(options: { isPackaged: boolean; devUrl: string | undefined }): {
  url: string;
  dev: boolean;
} {
  if (options.isPackaged || !options.devUrl) return { url: APP_PAGE_URL, dev: false };
  let dev: URL;
  try {
    dev = new URL(options.devUrl);
  } catch {
    throw new Error(
      `ELECTRON_RENDERER_URL is not a URL (${JSON.stringify(options.devUrl)}): unset it, or give the dev server's http:// address.`,
    );
  }
  if (dev.protocol !== 'http:' && dev.protocol !== 'https:') {
    throw new Error(
      `ELECTRON_RENDERER_URL must be an http:// or https:// dev server, not ${dev.protocol}: unset it, or give the dev server's address.`,
    );
  }
  return { url: dev.href, dev: true };
}

/**
 * True when `frameUrl` is the page `pageUrl` names: the same scheme and host (and port).
 * Node's URL gives every non-special scheme the origin "null", so origins are not compared
 * for app://: "null" would equal the origin of any other custom-scheme page
 * (docs/upstream-facts.md#node-url-null-origin).
 */
export function isAppPage(pageUrl: string, frameUrl: string): boolean {
  let page: URL;
  let frame: URL;
  try {
    page = new URL(pageUrl);
    frame = new URL(frameUrl);
  } catch {
    return false;
  }
  if (frame.username || frame.password) return false;
  return frame.protocol === page.protocol && frame.host === page.host && frame.host !== '';
}

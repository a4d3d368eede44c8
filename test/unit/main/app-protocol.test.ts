/**
 * The app://ustart/ scheme's rules (main/app-protocol.ts) against a real renderer folder in
 * a temp dir: files, a folder, symlinks in and out, a FIFO. Electron is not needed: the
 * handler takes and returns the same Request/Response types Node has.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP_PAGE_URL,
  RENDERER_CSP,
  contentTypeFor,
  isAppPage,
  rendererPageUrl,
  rendererRoot,
  resolveRendererFile,
  serveRendererRequest,
} from '../../../main/app-protocol.js';

let base: string;
let root: string;
const PAGE = '<!doctype html><title>uStart</title>';

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'ustart-app-protocol-'));
  const dir = join(base, 'renderer');
  await mkdir(join(dir, 'assets'), { recursive: true });
  await mkdir(join(base, 'outside'));
  await writeFile(join(dir, 'index.html'), PAGE);
  await writeFile(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
  await writeFile(join(dir, 'assets', 'index-abc.css'), 'body{}');
  await writeFile(join(dir, 'assets', 'blob'), 'x');
  await writeFile(join(base, 'outside', 'secret.txt'), 'secret');
  await symlink(join(base, 'outside', 'secret.txt'), join(dir, 'link-out'));
  await symlink(join(base, 'outside'), join(dir, 'dir-out'));
  await symlink(join(dir, 'assets', 'index-abc.js'), join(dir, 'link-in.js'));
  await symlink(dir, join(dir, 'self'));
  await symlink(join(dir, 'missing'), join(dir, 'dangling'));
  execFileSync('mkfifo', [join(dir, 'pipe')]);
  // The folder is reached through a link, as a packaged or linked checkout may be.
  await symlink(dir, join(base, 'renderer-link'));
  root = await rendererRoot(join(base, 'renderer-link'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('resolveRendererFile', () => {
  it('serves the page for / and files under the root, by real path, with their types', async () => {
    expect(root).toBe(join(base, 'renderer'));
    expect(await resolveRendererFile(root, 'app://ustart/')).toEqual({
      ok: true,
      file: join(root, 'index.html'),
      type: 'text/html; charset=utf-8',
    });
    expect(await resolveRendererFile(root, 'app://ustart/assets/index-abc.css')).toMatchObject({
      ok: true,
      type: 'text/css; charset=utf-8',
    });
    // A link that stays inside the root is the file it points to.
    expect(await resolveRendererFile(root, 'app://ustart/link-in.js')).toEqual({
      ok: true,
      file: join(root, 'assets', 'index-abc.js'),
      type: 'text/javascript; charset=utf-8',
    });
    expect(await resolveRendererFile(root, 'app://ustart/self/index.html')).toMatchObject({
      ok: true,
      file: join(root, 'index.html'),
    });
  });

  it.each([
    ['a symlink to a file outside', 'app://ustart/link-out', 403],
    ['a symlinked folder outside', 'app://ustart/dir-out/secret.txt', 403],
    ['a link to the root itself', 'app://ustart/self', 403],
    ['.. (the URL parser drops it at the root)', 'app://ustart/../outside/secret.txt', 404],
    ['%2e%2e', 'app://ustart/%2e%2e/outside/secret.txt', 404],
    ['an encoded slash', 'app://ustart/assets%2F..%2F..%2Foutside%2Fsecret.txt', 400],
    ['an encoded backslash', 'app://ustart/..%5Coutside%5Csecret.txt', 400],
    ['a raw backslash', 'app://ustart/assets\\..\\..\\outside\\secret.txt', 400],
    ['an encoded dot-dot segment', 'app://ustart/assets/%2E%2E%2F%2E%2E', 400],
    ['NUL', 'app://ustart/index.html%00.js', 400],
    ['broken %-encoding', 'app://ustart/%E0%A4%A', 400],
    ['an empty segment', 'app://ustart/assets//index-abc.js', 400],
    ['a folder', 'app://ustart/assets', 404],
    ['a FIFO (never opened)', 'app://ustart/pipe', 404],
    ['a dangling link', 'app://ustart/dangling', 404],
    ['a missing file', 'app://ustart/nope.js', 404],
    ['another host', 'app://evil/index.html', 404],
    ['a port', 'app://ustart:1/index.html', 404],
    ['another scheme', 'file:///etc/passwd', 404],
    ['credentials', 'app://me:pw@ustart/index.html', 400],
    ['not a URL', 'index.html', 400],
  ])('refuses %s', async (_what, url, status) => {
    const found = await resolveRendererFile(root, url);
    expect(found).toMatchObject({ ok: false, status });
  });
});

describe('serveRendererRequest', () => {
  it('answers GET with the file, its type, the CSP and nosniff', async () => {
    const res = await serveRendererRequest(root, new Request(APP_PAGE_URL));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(RENDERER_CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe(PAGE);
  });

  it('answers HEAD without a body, anything but GET/HEAD with 405', async () => {
    const head = await serveRendererRequest(root, new Request(APP_PAGE_URL, { method: 'HEAD' }));
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(PAGE)));
    expect(await head.text()).toBe('');
    const post = await serveRendererRequest(
      root,
      new Request(APP_PAGE_URL, { method: 'POST', body: 'x' }),
    );
    expect(post.status).toBe(405);
  });

  it('refuses a link out with a status and no path or file content', async () => {
    const res = await serveRendererRequest(root, new Request('app://ustart/link-out'));
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(text).toBe('Not found.\n');
    expect(res.headers.get('content-security-policy')).toBe(RENDERER_CSP);
    const bad = await serveRendererRequest(root, new Request('app://ustart/%E0%A4%A'));
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain(base);
  });
});

describe('contentTypeFor', () => {
  it('names what a Vite build holds and falls back to octet-stream', () => {
    expect(contentTypeFor('/r/assets/x.JS')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeFor('/r/a.woff2')).toBe('font/woff2');
    expect(contentTypeFor('/r/a.svg')).toBe('image/svg+xml');
    expect(contentTypeFor('/r/assets/blob')).toBe('application/octet-stream');
  });
});

describe('rendererPageUrl', () => {
  it('ignores ELECTRON_RENDERER_URL in a packaged app', () => {
    expect(rendererPageUrl({ isPackaged: true, devUrl: 'http://evil.example/' })).toEqual({
      url: APP_PAGE_URL,
      dev: false,
    });
    expect(rendererPageUrl({ isPackaged: true, devUrl: undefined }).url).toBe(APP_PAGE_URL);
  });

  it('honours it unpackaged, for http(s) only, naming the variable when it is wrong', () => {
    expect(rendererPageUrl({ isPackaged: false, devUrl: 'http://localhost:5173' })).toEqual({
      url: 'http://localhost:5173/',
      dev: true,
    });
    expect(rendererPageUrl({ isPackaged: false, devUrl: undefined }).url).toBe(APP_PAGE_URL);
    expect(() => rendererPageUrl({ isPackaged: false, devUrl: 'file:///tmp/x.html' })).toThrow(
      /ELECTRON_RENDERER_URL must be an http/,
    );
    expect(() => rendererPageUrl({ isPackaged: false, devUrl: 'localhost:5173' })).toThrow(
      /ELECTRON_RENDERER_URL/,
    );
  });
});

describe('isAppPage', () => {
  it('accepts only the page of the same scheme and host', () => {
    expect(isAppPage(APP_PAGE_URL, 'app://ustart/index.html#/plan')).toBe(true);
    // Node gives every custom-scheme URL the origin "null": comparing origins accepted these.
    expect(isAppPage(APP_PAGE_URL, 'app://evil/index.html')).toBe(false);
    expect(isAppPage(APP_PAGE_URL, 'other://ustart/index.html')).toBe(false);
    expect(isAppPage(APP_PAGE_URL, 'app://x@ustart/index.html')).toBe(false);
    expect(isAppPage(APP_PAGE_URL, 'file:///index.html')).toBe(false);
    expect(isAppPage(APP_PAGE_URL, 'about:blank')).toBe(false);
    expect(isAppPage(APP_PAGE_URL, 'data:text/html,hi')).toBe(false);
    expect(isAppPage('http://localhost:5173/', 'http://localhost:5173/index.html')).toBe(true);
    expect(isAppPage('http://localhost:5173/', 'http://localhost:5174/')).toBe(false);
    expect(isAppPage(APP_PAGE_URL, 'not a url')).toBe(false);
  });
});

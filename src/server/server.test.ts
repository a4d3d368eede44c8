import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createClient, unwrap, wsTransport, type SocketLike } from '../api/index.js';
import { createCore, type Core } from '../app/index.js';
import { startServer, type RunningServer } from './server.js';

let dir: string;
let core: Core;
let server: RunningServer;
const sockets: WebSocket[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-server-'));
  await writeFile(
    join(dir, 'index.html'),
    `<meta http-equiv="Content-Security-Policy" content="default-src 'self'; connect-src 'self'"><p>wizard</p>`,
  );
  core = createCore({ mode: 'browser', stateDir: join(dir, 'state'), root: dir });
  server = await startServer({ core, rendererDir: dir });
});
afterEach(async () => {
  for (const ws of sockets) ws.terminate();
  sockets.length = 0;
  await server.close();
  await core.dispose();
  await rm(dir, { recursive: true, force: true });
});

function socket(options: { origin?: string; token?: string | null } = {}): WebSocket {
  const token = options.token === undefined ? server.token : options.token;
  const query = token === null ? '' : `?token=${token}`;
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`, {
    origin: options.origin ?? server.origin,
  });
  sockets.push(ws);
  return ws;
}

function refused(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
}

describe('browser-mode server', () => {
  it('serves the page only with the token, then by its cookie, with the socket origin in the CSP', async () => {
    expect((await fetch(`${server.origin}/`)).status).toBe(403);
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    const cookie = page.headers.get('set-cookie')!;
    expect(cookie).toContain('HttpOnly');
    expect(page.headers.get('content-security-policy')).toContain(`ws://127.0.0.1:${server.port}`);
    const html = await page.text();
    expect(html).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`);
    const again = await fetch(`${server.origin}/index.html`, {
      headers: { cookie: cookie.split(';')[0]! },
    });
    expect(again.status).toBe(200);
    expect((await fetch(`${server.url.replace('/?', '/../../etc/passwd?')}`)).status).toBe(404);
  });

  it('refuses a Host header that is not this server (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: `/?token=${server.token}`,
          headers: { host: `evil.example:${server.port}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(421);
  });

  it('refuses sockets without the token or from another origin', async () => {
    expect(await refused(socket({ token: null }))).toBe(403);
    expect(await refused(socket({ token: 'wrong' }))).toBe(403);
    expect(await refused(socket({ origin: 'http://evil.example' }))).toBe(403);
  });

  it('answers api requests over the socket, checks input, and pushes events', async () => {
    const transport = wsTransport(socket() as unknown as SocketLike);
    await transport.ready;
    const api = createClient(transport);
    const info = unwrap(await api.appInfo());
    expect(info).toMatchObject({ mode: 'browser', root: dir, nativeDialogs: false });
    const plan = unwrap(await api.planNew({ template: 'demo' })).plan!;
    const bad = await api.planSave({ file: 'x.yaml', plan: { ...plan, racks: 'none' } as never });
    expect(bad).toMatchObject({ ok: false, error: { code: 'BadInput' } });
    const event = new Promise<string[]>((resolve) => {
      const off = api.on('recent:changed', (e) => {
        off();
        resolve(e.files.map((f) => f.file));
      });
    });
    unwrap(await api.planSave({ file: 'site.yaml', plan }));
    expect(await event).toEqual([join(dir, 'site.yaml')]);
    const reopened = unwrap(await api.planOpen({ file: 'site.yaml' }));
    expect(reopened.plan).toEqual(plan);
    transport.close();
  });

  it('closes a socket that sends something other than api frames', async () => {
    const ws = socket();
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('not json');
    expect(await closed).toBe(1003);
  });
});

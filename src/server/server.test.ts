import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import {
  MAX_FRAME_BYTES,
  createClient,
  unwrap,
  wsTransport,
  type SocketLike,
} from '../api/index.js';
import { createCore, type Core } from '../app/index.js';
import { startServer, type RunningServer } from './server.js';

let dir: string;
let core: Core;
let server: RunningServer;
const sockets: WebSocket[] = [];
/** Whatever escapes the server's handlers: in `ustart serve` each of these ends the process. */
const escaped: unknown[] = [];
const onEscape = (e: unknown) => escaped.push(e);

beforeEach(async () => {
  escaped.length = 0;
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
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
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
  expect(escaped.map(String)).toEqual([]);
});

function socket(
  options: { origin?: string; token?: string | null; to?: RunningServer } = {},
): WebSocket {
  const to = options.to ?? server;
  const token = options.token === undefined ? to.token : options.token;
  const query = token === null ? '' : `?token=${token}`;
  const ws = new WebSocket(`ws://127.0.0.1:${to.port}/api${query}`, {
    origin: options.origin ?? to.origin,
  });
  sockets.push(ws);
  return ws;
}

/** A socket to `to` with its token and origin, once it is open. */
async function openSocket(to: RunningServer): Promise<WebSocket> {
  const ws = socket({ to });
  await new Promise((resolve) => ws.once('open', resolve));
  return ws;
}

/** Sends `text` as is on a new TCP connection; resolves with what came back when it closes. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const tcp = connect(server.port, '127.0.0.1', () => tcp.write(text));
    tcp.on('data', (d) => {
      chunks.push(d);
      // A keep-alive answer has come in full once its body (Content-Length) is there.
      const got = Buffer.concat(chunks).toString('latin1');
      const head = got.indexOf('\r\n\r\n');
      const length = /content-length: *(\d+)/i.exec(got.slice(0, head));
      if (head >= 0 && length && got.length >= head + 4 + Number(length[1])) tcp.end();
    });
    tcp.on('error', reject);
    // A hang guard: a server that neither answers nor closes fails the test in seconds.
    const guard = setTimeout(() => tcp.destroy(), 5000);
    tcp.on('close', () => {
      clearTimeout(guard);
      resolve(Buffer.concat(chunks).toString('latin1') || '(no answer, connection left open)');
    });
  });
}

/** A status line and a body that name no internals (no exception, no stack, no source path). */
function expectPlain(answer: string, status: number): void {
  expect(answer.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}`);
  expect(answer).not.toMatch(/Error|at .*\.(ts|js):|URI malformed|Invalid URL|uStart server error/);
}
const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden' };

/** The server still serves the page: it was not killed or wedged by what came before. */
async function stillServes(): Promise<void> {
  expect((await fetch(server.url)).status).toBe(200);
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

describe('browser-mode server under attack (issue 16)', () => {
  const upgrade = (host: string, path = '/api') =>
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

  it('answers 400 to a malformed Host on an upgrade, without the token, and keeps serving', async () => {
    expectPlain(await raw(upgrade('a b')), 400);
    expectPlain(await raw(upgrade('[::1')), 400);
    expectPlain(await raw(upgrade(`127.0.0.1:${server.port}@evil.example`)), 400);
    await stillServes();
  });

  it('answers 400 with no internals to a malformed Host or %-encoding on plain HTTP', async () => {
    const get = (path: string, host = `127.0.0.1:${server.port}`) =>
      raw(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expectPlain(await get(`/?token=${server.token}`, 'a b'), 400);
    expectPlain(await get(`/?token=${server.token}`, `127.0.0.1:99999999999`), 400);
    expectPlain(await get(`/%E0%A4%A?token=${server.token}`), 400);
    expectPlain(await get(`/assets/%?token=${server.token}`), 400);
    expectPlain(await get(`/index.html%00.js?token=${server.token}`), 400);
    // Without the token a well-formed path is refused as before, and nothing is decoded.
    expectPlain(await get('/%E0%A4%A'), 403);
    await stillServes();
  });

  it('survives a client that resets its connection during the upgrade', async () => {
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const tcp = connect(server.port, '127.0.0.1', () => {
          tcp.write(upgrade(`127.0.0.1:${server.port}`, '/api?token=wrong'));
          tcp.resetAndDestroy();
        });
        tcp.on('close', () => resolve());
        tcp.on('error', () => undefined);
      });
    }
    await stillServes();
  });

  it('closes a socket that sends a frame over 16 MB with 1009, and keeps serving', async () => {
    const ws = socket();
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
    ws.send('x'.repeat(MAX_FRAME_BYTES + 1024 * 1024));
    expect(await closed).toBe(1009);
    await stillServes();
  });

  it('answers Busy past the requests in flight of one socket, and gives the memory back', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'demo' })).plan!;
    await writeFile(join(dir, 'site.yaml'), stringify(plan));
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const ws = socket();
    await new Promise((resolve) => ws.once('open', resolve));
    const N = 10_000;
    const codes = new Map<string, number>();
    let busyMessage = '';
    gc();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const answered = new Promise<void>((resolve) => {
      let count = 0;
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as {
          type: string;
          result: { ok: boolean; error?: { code: string; message: string } };
        };
        if (frame.type !== 'response') return;
        const code = frame.result.ok ? 'ok' : frame.result.error!.code;
        if (code === 'Busy') busyMessage = frame.result.error!.message;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (++count % 500 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
        if (count === N) resolve();
      });
    });
    for (let id = 1; id <= N; id++) {
      ws.send(
        JSON.stringify({ type: 'request', id, channel: 'plan:open', input: { file: 'site.yaml' } }),
      );
    }
    await answered;
    gc();
    const after = process.memoryUsage().heapUsed;
    const mb = (n: number) => Math.round(n / 2 ** 20);
    console.info(
      `${N} plan:open on one socket: ${JSON.stringify(Object.fromEntries(codes))}; heap ${mb(before)} MB before, ${mb(peak)} MB peak, ${mb(after)} MB after gc`,
    );
    expect(codes.get('ok')! + codes.get('Busy')!).toBe(N);
    expect(codes.get('Busy')).toBeGreaterThan(0);
    expect(busyMessage).toMatch(/busy.*requests waiting/);
    expect(after - before).toBeLessThan(32 * 2 ** 20);
  });

  it('bounds requests and bytes in flight per socket and per server, and frees them on answer', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gated: Core = {
      ...core,
      handlers: {
        ...core.handlers,
        'recent:list': async (input) => {
          await gate;
          return core.handlers['recent:list'](input);
        },
      },
    };
    const small = await startServer({
      core: gated,
      rendererDir: dir,
      limits: { socketRequests: 3, serverRequests: 5, socketBytes: 4096, serverBytes: 1 << 20 },
    });
    try {
      const open = async () => {
        const ws = await openSocket(small);
        const answers = new Map<
          number,
          { ok: boolean; error?: { code: string; message: string } }
        >();
        const waiting = new Map<number, () => void>();
        ws.on('message', (data) => {
          const frame = JSON.parse(String(data)) as { type: string; id: number; result: never };
          if (frame.type !== 'response') return;
          answers.set(frame.id, frame.result);
          waiting.get(frame.id)?.();
        });
        const send = (id: number, pad = '') =>
          ws.send(JSON.stringify({ type: 'request', id, channel: 'recent:list', input: { pad } }));
        const answer = (id: number) =>
          answers.has(id)
            ? Promise.resolve(answers.get(id)!)
            : new Promise<void>((resolve) => waiting.set(id, resolve)).then(() => answers.get(id)!);
        return { send, answer, answers };
      };
      const a = await open();
      for (const id of [1, 2, 3, 4]) a.send(id);
      expect(await a.answer(4)).toMatchObject({
        ok: false,
        error: { code: 'Busy', message: expect.stringMatching(/this page.*3 requests waiting/) },
      });
      const b = await open();
      b.send(1, 'x'.repeat(3000));
      b.send(2, 'x'.repeat(3000)); // over this socket's 4096 bytes in flight
      b.send(3);
      b.send(4); // the sixth in flight on the server
      expect(await b.answer(2)).toMatchObject({ ok: false, error: { code: 'Busy' } });
      expect(await b.answer(4)).toMatchObject({
        ok: false,
        error: { code: 'Busy', message: expect.stringMatching(/5 requests from all its pages/) },
      });
      expect([...a.answers.keys(), ...b.answers.keys()].sort()).toEqual([2, 4, 4]);
      release();
      for (const id of [1, 2, 3]) expect(await a.answer(id)).toMatchObject({ ok: true });
      for (const id of [1, 3]) expect(await b.answer(id)).toMatchObject({ ok: true });
      // Answered requests give their places back.
      for (const id of [5, 6, 7]) a.send(id);
      for (const id of [5, 6, 7]) expect(await a.answer(id)).toMatchObject({ ok: true });
    } finally {
      await small.close();
    }
  });

  it('the page keeps within the bounds (queues, never Busy) and refuses a request over 16 MB', async () => {
    const transport = wsTransport(socket() as unknown as SocketLike);
    await transport.ready;
    const api = createClient(transport);
    const answers = await Promise.all(Array.from({ length: 300 }, () => api.recentList()));
    expect(answers.filter((a) => !a.ok)).toEqual([]);
    const huge = await api.planValidate({ plan: { note: 'x'.repeat(MAX_FRAME_BYTES) } });
    expect(huge).toMatchObject({
      ok: false,
      error: { code: 'TooLarge', message: expect.stringContaining('plan:validate') },
    });
    expect(unwrap(await api.appInfo()).mode).toBe('browser');
    transport.close();
  });

  it('drops a socket that does not read what it is sent, and keeps serving the others', async () => {
    const small = await startServer({ core, rendererDir: dir, limits: { socketBacklog: 4 << 20 } });
    try {
      const open = () => openSocket(small);
      const stalled = await open();
      const reader = await open();
      stalled.pause();
      stalled.on('error', () => undefined);
      let got = 0;
      let caughtUp = () => undefined as void;
      reader.on('message', () => {
        if (++got % 10 === 0) caughtUp();
      });
      const file = `${dir}/${'x'.repeat(100_000)}.yaml`;
      // 40 MB of events, a megabyte at a time that the reader takes in before the next:
      // more than the kernel's buffers and the 4 MB backlog of the socket that reads nothing.
      for (let round = 0; round < 40; round++) {
        const taken = new Promise<void>((resolve) => (caughtUp = resolve));
        for (let i = 0; i < 10; i++) {
          core.events.emit('recent:changed', { files: [{ file, openedAt: String(i) }] });
        }
        await taken;
      }
      const closed = new Promise<number>((resolve) => stalled.once('close', resolve));
      stalled.resume();
      expect(await closed).toBe(1006);
      expect(got).toBe(400);
      const answer = new Promise<unknown>((resolve) => {
        reader.on('message', (data) => {
          const frame = JSON.parse(String(data)) as { type: string; result?: unknown };
          if (frame.type === 'response') resolve(frame.result);
        });
      });
      reader.send(JSON.stringify({ type: 'request', id: 1, channel: 'app:info', input: {} }));
      expect(await answer).toMatchObject({ ok: true });
    } finally {
      await small.close();
    }
  });
});

describe('closing the browser-mode server', () => {
  it('waits for requests already in the core, so nothing writes after close returns', async () => {
    // A core whose app:info waits until the test lets it go: a render still writing, say.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inCore = new Promise<void>((r) => (started = r));
    const order: string[] = [];
    const slow: Core = {
      ...core,
      handlers: {
        ...core.handlers,
        'app:info': async (input) => {
          started();
          await gate;
          order.push('request finished');
          return core.handlers['app:info'](input);
        },
      },
    };
    const own = await startServer({ core: slow, rendererDir: dir });
    const ws = await openSocket(own);
    ws.send(JSON.stringify({ type: 'request', id: 1, channel: 'app:info', input: {} }));
    await inCore;
    const closing = own.close().then(() => order.push('close returned'));
    // Let the request go once the server has stopped listening (a new connection is
    // refused) or close has returned, whichever comes first.
    const refusedNow = (): Promise<boolean> =>
      new Promise((resolve) => {
        const tcp = connect(own.port, '127.0.0.1');
        tcp.once('connect', () => (tcp.destroy(), resolve(false)));
        tcp.once('error', () => resolve(true));
      });
    let closed = false;
    void closing.then(() => (closed = true));
    while (!closed && !(await refusedNow()));
    release();
    await closing;
    expect(order).toEqual(['request finished', 'close returned']);
  });
});

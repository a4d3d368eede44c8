/**
 * Property-based tests of the browser-mode server (issue 16): whatever reaches its port —
 * random request lines, headers, paths and %-encodings, upgrades, raw bytes, WebSocket
 * frames and api requests with hostile inputs — it answers or closes, never lets an error
 * escape (in `ustart serve` that ends the process), never answers 500 or shows internals, and
 * never reads or writes outside its folders. Bounded runs: the whole file takes well under a
 * minute on a shared 2-core machine.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import { ServerFrame, unwrap, type Channel } from '../api/index.js';
import { createCore, type Core } from '../app/index.js';
import { startServer, type RunningServer } from './server.js';

/** In a file outside both folders the server serves; no answer may ever carry it. */
const MARKER = `OUTSIDE-${randomBytes(8).toString('hex')}`;
const APP_JS = `console.log('wizard ${randomBytes(4).toString('hex')}');\n`;

let base: string;
let root: string;
let renderer: string;
let core: Core;
let server: RunningServer;
let before: string[];
let plan: unknown;
const escaped: unknown[] = [];
const onEscape = (e: unknown) => escaped.push(e);

/** Every file under `dir`, relative to it, except in the folders the server may write. */
async function filesOutsideWritable(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string) => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (full === root || full === join(base, 'state')) continue;
      if (entry.isDirectory()) await walk(full);
      else out.push(relative(dir, full));
    }
  };
  await walk(dir);
  return out.sort();
}

beforeAll(async () => {
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  base = await mkdtemp(join(tmpdir(), 'ustart-server-fuzz-'));
  root = join(base, 'root');
  renderer = join(base, 'renderer');
  await mkdir(join(renderer, 'assets'), { recursive: true });
  await writeFile(
    join(renderer, 'index.html'),
    `<meta http-equiv="Content-Security-Policy" content="default-src 'self'; connect-src 'self'"><p>wizard</p>`,
  );
  await writeFile(join(renderer, 'assets', 'app.js'), APP_JS);
  // Secrets beside and above both folders, including folders whose names start with theirs.
  for (const dir of ['outside', 'rootX', 'rendererX', '']) {
    await mkdir(join(base, dir), { recursive: true });
    await writeFile(join(base, dir, 'secret.txt'), `name,ip\n${MARKER},10.0.0.1\n`);
  }
  await mkdir(root);
  core = createCore({ mode: 'browser', stateDir: join(base, 'state'), root });
  plan = unwrap(await core.client.planNew({ template: 'demo' })).plan;
  await writeFile(join(root, 'site.yaml'), stringify(plan));
  await writeFile(join(root, 'servers.csv'), 'name,ip\nctl-01,10.10.0.11\n');
  server = await startServer({ core, rendererDir: renderer });
  before = await filesOutsideWritable(base);
});

afterAll(async () => {
  await server?.close();
  await core?.dispose();
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
  // Nothing was written outside the root (and the core's state folder).
  if (base) expect(await filesOutsideWritable(base)).toEqual(before);
  await rm(base, { recursive: true, force: true });
  expect(escaped.map(String)).toEqual([]);
});

/**
 * Writes `text` on a new connection and resolves with everything that came back once the
 * server closes it. `halfClose` sends FIN after it (for bytes that may not end a request).
 * A server that neither answers nor closes within 10 s fails the property.
 */
function exchange(bytes: string | Uint8Array, halfClose: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const tcp = connect(server.port, '127.0.0.1', () => {
      tcp.write(bytes);
      if (halfClose) tcp.end();
    });
    const guard = setTimeout(() => {
      tcp.destroy();
      reject(new Error(`the server neither answered nor closed: ${JSON.stringify(String(bytes))}`));
    }, 10_000);
    tcp.on('data', (d) => chunks.push(d));
    // The server may reset a connection it refuses; that is an answer too.
    tcp.on('error', () => undefined);
    tcp.on('close', () => {
      clearTimeout(guard);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

/** What every answer must be: an HTTP status line or nothing, no 500, no internals. */
function checkAnswer(answer: string): number | undefined {
  expect(answer).not.toContain(MARKER);
  expect(answer).not.toMatch(/\n\s+at |Error:|ERR_|uStart server error/);
  if (answer === '') return undefined;
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(answer);
  expect(status, answer.slice(0, 200)).not.toBeNull();
  const code = Number(status![1]);
  expect(code).not.toBe(500);
  return code;
}

const noLineBreak = (s: string) => !/[\r\n]/.test(s);
const SEGMENTS = [
  '..',
  '.',
  '%2e%2e',
  '%2E%2e',
  '%2f',
  '%5c',
  '..%2f..%2foutside',
  '..\\..',
  '%00',
  '%',
  '%E0%A4%A',
  '%C0%AE%C0%AE',
  '%ff',
  '',
  'assets',
  'app.js',
  'index.html',
  'outside',
  'rendererX',
  'secret.txt',
  'é',
  '?',
  '#',
  ';',
];
const pathArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(fc.constantFrom(...SEGMENTS), { maxLength: 6 })
      .map((segments) => `/${segments.join('/')}`),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).filter(noLineBreak) },
);
const hostArb = (port: () => number) =>
  fc
    .oneof(
      // Mostly this server's own name, so most requests get past the Host check.
      { weight: 6, arbitrary: fc.constant('ok') },
      fc.constantFrom(
        'a b',
        '[::1',
        '[::1]',
        'localhost',
        '127.0.0.1:99999999999',
        'user@127.0.0.1',
        'evil.example',
        '',
        '%31%32%37.0.0.1',
        '127.0.0.1:0',
      ),
      fc.string({ maxLength: 30 }).filter(noLineBreak),
    )
    .map((h) => (h === 'ok' ? `127.0.0.1:${port()}` : h));
const HEADER_NAMES = ['Cookie', 'Origin', 'X-Forwarded-Host', 'Accept', 'Range', 'If-None-Match'];
const headersArb = fc.array(
  fc.tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...HEADER_NAMES) },
      { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
    ),
    fc.oneof(
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    ),
  ),
  { maxLength: 4 },
);

describe('browser-mode server: fuzzed HTTP', () => {
  it('answers or closes every request, serving only its own files', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'OPTIONS', 'get', 'BREW'),
          path: pathArb,
          host: hostArb(() => server.port),
          token: fc.constantFrom('query', 'query', 'cookie', 'cookie', 'wrong', 'none'),
          headers: headersArb,
        }),
        async ({ method, path, host, token, headers }) => {
          const query =
            token === 'query' ? `token=${server.token}` : token === 'wrong' ? 'token=x' : '';
          const target = query ? `${path}${path.includes('?') ? '&' : '?'}${query}` : path;
          const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}`];
          if (token === 'cookie') lines.push(`Cookie: ustart-${server.port}=${server.token}`);
          for (const [name, value] of headers) lines.push(`${name}: ${value}`);
          lines.push('Connection: close', '', '');
          const answer = await exchange(lines.join('\r\n'), false);
          const status = checkAnswer(answer);
          if (status === 200) {
            const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
            // The page or its script, and nothing else (HEAD: no body).
            expect(['', APP_JS].includes(body) || body.includes('<p>wizard</p>'), body).toBe(true);
          }
        },
      ),
      { numRuns: 600 },
    );
  });

  it('answers or closes any bytes at all', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.string({ maxLength: 300 }).map((s) => `GET /${s}`),
          fc.string({ maxLength: 300 }).map((s) => `GET / HTTP/1.1\r\nHost: ${s}\r\n\r\n`),
        ),
        async (bytes) => {
          checkAnswer(await exchange(bytes, true));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('upgrades only an authorised socket from its own origin, and answers or closes the rest', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          path: fc.oneof(
            { weight: 3, arbitrary: fc.constant('/api') },
            { weight: 1, arbitrary: pathArb },
          ),
          host: hostArb(() => server.port),
          origin: fc.oneof(
            { weight: 4, arbitrary: fc.constant('own') },
            fc.constantFrom('null', 'http://evil.example', `http://localhost:1`, ''),
            fc.string({ maxLength: 20 }).filter(noLineBreak),
          ),
          token: fc.constantFrom('query', 'query', 'cookie', 'cookie', 'wrong', 'none'),
          key: fc.oneof(
            { weight: 4, arbitrary: fc.constant('dGhlIHNhbXBsZSBub25jZQ==') },
            { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
          ),
          version: fc.constantFrom('13', '13', '13', '8', 'x'),
        }),
        async ({ path, host, origin, token, key, version }) => {
          const own = `http://127.0.0.1:${server.port}`;
          const query =
            token === 'query' ? `?token=${server.token}` : token === 'wrong' ? '?token=x' : '';
          const lines = [
            `GET ${path}${query} HTTP/1.1`,
            `Host: ${host}`,
            'Upgrade: websocket',
            'Connection: Upgrade',
            `Sec-WebSocket-Key: ${key.replace(/[\r\n]/g, '')}`,
            `Sec-WebSocket-Version: ${version}`,
            `Origin: ${origin === 'own' ? own : origin}`,
          ];
          if (token === 'cookie') lines.push(`Cookie: ustart-${server.port}=${server.token}`);
          lines.push('', '');
          // FIN after the request: an accepted socket is then closed by the server too.
          const answer = await exchange(lines.join('\r\n'), true);
          const status = checkAnswer(answer);
          if (status === 101) {
            expect(token === 'query' || token === 'cookie').toBe(true);
            expect(origin).toBe('own');
            expect(host).toBe(`127.0.0.1:${server.port}`);
            expect(path).toBe('/api');
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

/**
 * The channels fuzzed: every one that reads or writes files or plans, and the run and shell
 * requests that only look things up. Left out: those that reach SSH hosts or start processes
 * (`connect:*`, `run:start`/`resume`/`retry`/`skip`, `logs:collect`, `shell:open*`,
 * `bmc:discover`); their
 * input goes through the same contract parse, and they have their own tests with the lab.
 */
const CHANNELS: Channel[] = [
  'app:info',
  'plan:new',
  'plan:open',
  'plan:save',
  'plan:validate',
  'plan:ipam',
  'plan:ip-plan',
  'plan:capacity',
  'plan:export',
  'plan:render',
  'csv:preview',
  'csv:import',
  'report:render',
  'report:export',
  'recent:list',
  'dialog:open',
  'dialog:save',
  'window:set-state',
  'access:get',
  'run:phases',
  'run:list',
  'run:get',
  'run:log',
  'run:attach',
  'run:ack',
  'run:detach',
  'run:cancel',
  'shell:write',
  'shell:close',
  'bmc:accept-certificate',
];

const PATHS = [
  'site.yaml',
  'servers.csv',
  'new.yaml',
  'sub/new.yaml',
  'out',
  'report.html',
  '../secret.txt',
  '../outside/secret.txt',
  '../rootX/secret.txt',
  'a/../../outside/secret.txt',
  '%2e%2e/outside/secret.txt',
  '..\\outside\\secret.txt',
  '/etc/passwd',
  '~/.ssh/id_rsa',
  '.',
  '..',
  '',
  ' ',
  'x\u0000y',
];

function requestArb(id: () => number) {
  const file = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...PATHS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  );
  const anyJson = fc.jsonValue({ maxDepth: 3 });
  const input = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record(
        {
          file,
          dir: file,
          planFile: file,
          out: file,
          plan: fc.oneof(fc.constant(plan), anyJson),
          text: fc.oneof(fc.constant('name,ip\nx,10.0.0.1\n'), fc.string({ maxLength: 50 })),
          template: fc.constantFrom('empty', 'demo', 'other'),
          lang: fc.constantFrom('en', 'de', 'fr'),
          format: fc.constantFrom('html', 'pdf'),
          purpose: fc.constantFrom('plan', 'csv', 'folder', 'x'),
          suggestedName: file,
          runId: fc.oneof(fc.constantFrom('r1', '../..', ''), fc.string({ maxLength: 10 })),
          stepId: fc.string({ maxLength: 10 }),
          host: fc.string({ maxLength: 10 }),
          attachId: fc.string({ maxLength: 10 }),
          shellId: fc.string({ maxLength: 10 }),
          data: fc.string({ maxLength: 10 }),
          chars: fc.integer({ min: -5, max: 1_000_000 }),
          start: fc.integer({ min: -5, max: 1_000_000 }),
          maxBytes: fc.integer({ min: -5, max: 5_000_000 }),
          dirty: fc.boolean(),
          title: fc.string({ maxLength: 20 }),
          mapping: anyJson,
        },
        { requiredKeys: [] },
      ),
    },
    { weight: 1, arbitrary: anyJson },
  );
  const request = fc
    .record({
      channel: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...CHANNELS) },
        { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
      ),
      input,
    })
    .map(({ channel, input }) => ({
      kind: 'request' as const,
      text: JSON.stringify({ type: 'request', id: id(), channel, input }),
    }));
  const junk = fc
    .oneof(
      fc.string({ maxLength: 60 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      fc.constant('{"type":"request","id":-1,"channel":"app:info"}'),
      fc.constant('{"type":"request","id":1.5,"channel":"app:info"}'),
    )
    .map((text) => ({ kind: 'junk' as const, text }));
  const binary = fc
    .uint8Array({ maxLength: 64 })
    .map((bytes) => ({ kind: 'binary' as const, bytes }));
  return fc.oneof(
    { weight: 8, arbitrary: request },
    { weight: 1, arbitrary: junk },
    { weight: 1, arbitrary: binary },
  );
}

describe('browser-mode server: fuzzed api frames', () => {
  it('answers every api request or closes the socket, never showing what lies outside its root', async () => {
    let nextId = 1;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          requestArb(() => nextId++),
          { minLength: 1, maxLength: 6 },
        ),
        async (frames) => {
          const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, {
            origin: server.origin,
          });
          try {
            await new Promise((resolve, reject) => {
              ws.once('open', resolve);
              ws.once('error', reject);
            });
            const waiting = new Set<number>();
            const done = new Promise<void>((resolve, reject) => {
              const guard = setTimeout(
                () => reject(new Error(`no answer to ${[...waiting].join(', ')} within 20 s`)),
                20_000,
              );
              const settle = () => {
                clearTimeout(guard);
                resolve();
              };
              ws.on('message', (data) => {
                const text = String(data);
                try {
                  expect(text).not.toContain(MARKER);
                  expect(text).not.toMatch(/\n\s+at /);
                  const frame = ServerFrame.parse(JSON.parse(text));
                  if (frame.type !== 'response') return;
                  const result = frame.result as {
                    ok: boolean;
                    error?: { code: string; message: string };
                  };
                  expect(typeof result.ok).toBe('boolean');
                  if (!result.ok)
                    expect(result.error).toMatchObject({
                      code: expect.any(String),
                      message: expect.any(String),
                    });
                  waiting.delete(frame.id);
                  if (waiting.size === 0) settle();
                } catch (e) {
                  clearTimeout(guard);
                  reject(e instanceof Error ? e : new Error(String(e)));
                }
              });
              // A non-api frame closes the socket (1003): the answer for what came after it.
              ws.on('close', settle);
            });
            for (const frame of frames) {
              if (frame.kind === 'binary') {
                ws.send(frame.bytes);
                continue;
              }
              if (frame.kind === 'request')
                waiting.add((JSON.parse(frame.text) as { id: number }).id);
              ws.send(frame.text);
            }
            await done;
          } finally {
            ws.terminate();
          }
          expect(escaped.map(String)).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
    // Still serving after all that.
    expect((await fetch(server.url)).status).toBe(200);
    expect(await readFile(join(base, 'outside', 'secret.txt'), 'utf8')).toContain(MARKER);
  });
});

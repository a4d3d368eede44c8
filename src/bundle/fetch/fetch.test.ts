/**
 * fetchArtifacts against real servers on this machine: an HTTPS server (Node's https, with a
 * certificate openssl makes, trusted through the `ca` option only) serving a Helm chart
 * repository — index.yaml and chart archives `tar` builds — and release files, with rules
 * that corrupt or cut responses; and Debian's docker-registry serving a chart as an OCI
 * artifact with Helm's media types. Archives are judged with `tar -tzf` and their Chart.yaml.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  failure,
  helmOciArtifact,
  makeEcCertificate,
  Pusher,
  startRegistry,
  type Registry,
} from '../../../test/support/oci-registry.js';
import { createBundle } from '../create.js';
import type { BundleEvent } from '../events.js';
import { fetchArtifacts, type FetchArtifactsOptions } from './index.js';
import { bomFetchSpecs } from '../bom-artifacts.js';
import { bundleFiles } from '../../render/generators/capi-repository.js';
import { runCli } from '../../../test/support/run-cli.js';
import { loadPlanFile } from '../../plan/index.js';
import { assetPath } from '../../util/assets.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Served {
  body: Buffer;
  etag?: string;
}
interface Rule {
  path: string;
  corrupt?: boolean;
  cutAfter?: number;
  times: number;
}
interface Request {
  path: string;
  range?: string;
  ifRange?: string;
  ifNoneMatch?: string;
  status: number;
  bytes: number;
}

/** An HTTPS file server with Range, If-Range and If-None-Match, and damage rules. */
class TestServer {
  readonly routes = new Map<string, Served>();
  readonly rules: Rule[] = [];
  readonly requests: Request[] = [];
  active = 0;
  maxActive = 0;
  /** Responses under /gate/ wait until this many are waiting, then all go together. */
  gateSize = 2;
  private readonly gated: Array<() => void> = [];
  private readonly sockets = new Set<Socket>();
  private server!: https.Server;
  url = '';

  async start(key: Buffer, cert: Buffer): Promise<void> {
    this.server = https.createServer({ key, cert }, (req, res) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      const record: Request = {
        path,
        ...(req.headers.range ? { range: req.headers.range } : {}),
        ...(req.headers['if-range'] ? { ifRange: String(req.headers['if-range']) } : {}),
        ...(req.headers['if-none-match'] ? { ifNoneMatch: req.headers['if-none-match'] } : {}),
        status: 0,
        bytes: 0,
      };
      this.requests.push(record);
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      res.once('close', () => this.active--);
      const served = this.routes.get(path);
      if (!served) {
        record.status = 404;
        res.writeHead(404).end('not found');
        return;
      }
      if (served.etag && req.headers['if-none-match'] === served.etag) {
        record.status = 304;
        res.writeHead(304, { etag: served.etag }).end();
        return;
      }
      if (path.startsWith('/gate/')) {
        this.gated.push(() => res.end(served.body));
        record.status = 200;
        record.bytes = served.body.length;
        if (this.gated.length >= this.gateSize) for (const send of this.gated.splice(0)) send();
        return;
      }
      let body = served.body;
      let status = 200;
      const headers: Record<string, string> = served.etag ? { etag: served.etag } : {};
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const ifRange = req.headers['if-range'];
      if (range && (!ifRange || ifRange === served.etag)) {
        const from = Number(range[1]);
        if (from >= body.length) {
          record.status = 416;
          res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
          return;
        }
        headers['content-range'] = `bytes ${from}-${body.length - 1}/${body.length}`;
        body = body.subarray(from);
        status = 206;
      }
      const rule = this.rules.find((r) => r.path === path && r.times > 0);
      if (rule) rule.times--;
      if (rule?.corrupt) {
        body = Buffer.from(body);
        body[body.length >> 1] = body[body.length >> 1]! ^ 0xff;
      }
      record.status = status;
      res.writeHead(status, { ...headers, 'content-length': String(body.length) });
      if (rule?.cutAfter !== undefined) {
        record.bytes = rule.cutAfter;
        // Closed once what was written has gone out: the client gets exactly `cutAfter`.
        res.write(body.subarray(0, rule.cutAfter), () => res.socket?.destroySoon());
        return;
      }
      record.bytes = body.length;
      res.end(body);
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('secureConnection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  gets(path: string): Request[] {
    return this.requests.filter((r) => r.path === path);
  }
}

let dir: string;
let ca: string;
let server: TestServer;
let registry: Registry | undefined;
const archives = new Map<string, Buffer>();
const tool = randomBytes(512 * 1024);
const notes = Buffer.from('release notes\n');
const helmBinary = randomBytes(300 * 1024);
let helmArchive: Buffer;

/** A chart archive as `helm package` lays it out: `<name>/Chart.yaml` and its files. */
async function buildChart(name: string, version: string, padding = 0): Promise<Buffer> {
  const root = join(dir, 'build', `${name}-${version}`);
  await mkdir(join(root, name, 'templates'), { recursive: true });
  await writeFile(
    join(root, name, 'Chart.yaml'),
    `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: a test chart\n`,
  );
  await writeFile(join(root, name, 'values.yaml'), 'replicas: 1\n');
  // Random bytes do not compress, so the archive is large enough to cut in the middle.
  if (padding) await writeFile(join(root, name, 'templates', 'blob.bin'), randomBytes(padding));
  const out = join(root, 'chart.tgz');
  await run('tar', ['-czf', out, '-C', root, name]);
  return readFile(out);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-fetch-'));
  const { keyFile, certFile } = await makeEcCertificate(dir, 'server', '/CN=127.0.0.1', [
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  ca = await readFile(certFile, 'utf8');
  server = new TestServer();
  await server.start(await readFile(keyFile), Buffer.from(ca));

  archives.set('app-1.2.3', await buildChart('app', '1.2.3', 1024 * 1024));
  archives.set('app-1.2.2', await buildChart('app', '1.2.2'));
  archives.set('tools-0.4.0', await buildChart('tools', '0.4.0'));
  archives.set('wrong-1.0.0', await buildChart('other', '1.0.0'));
  for (const [key, body] of archives) server.routes.set(`/charts/${key}.tgz`, { body });
  // An archive the index names with an absolute URL elsewhere on the server.
  server.routes.set('/downloads/tools-0.4.0.tgz', {
    body: archives.get('tools-0.4.0')!,
    etag: '"tools-0.4.0"',
  });
  const index = {
    apiVersion: 'v1',
    generated: '2026-12-01T00:00:00Z',
    entries: {
      app: [
        {
          apiVersion: 'v2',
          name: 'app',
          version: '1.2.3',
          urls: ['app-1.2.3.tgz'],
          digest: sha256(archives.get('app-1.2.3')!),
        },
        {
          apiVersion: 'v2',
          name: 'app',
          version: '1.2.2',
          urls: ['app-1.2.2.tgz'],
          digest: sha256(archives.get('app-1.2.2')!),
        },
      ],
      tools: [
        {
          apiVersion: 'v2',
          name: 'tools',
          version: '0.4.0',
          urls: [`${server.url}/downloads/tools-0.4.0.tgz`],
        },
      ],
      // The index says "wrong 1.0.0", the archive holds another chart.
      wrong: [{ apiVersion: 'v2', name: 'wrong', version: '1.0.0', urls: ['wrong-1.0.0.tgz'] }],
    },
  };
  server.routes.set('/charts/index.yaml', { body: Buffer.from(JSON.stringify(index)) });
  server.routes.set('/releases/v1/tool', { body: tool, etag: '"tool-v1"' });
  server.routes.set('/releases/v1/NOTES.txt', { body: notes });
  // Release binaries as dl.k8s.io serves them: the file and <file>.sha256, the hex alone
  // (docs/upstream-facts.md#k8s.release-sha256-files).
  server.routes.set('/dl/v1/bin/linux/amd64/kubeadm', { body: tool });
  server.routes.set('/dl/v1/bin/linux/amd64/kubeadm.sha256', { body: Buffer.from(sha256(tool)) });
  server.routes.set('/dl/v1/bin/linux/amd64/kubectl', { body: notes });
  server.routes.set('/dl/v1/bin/linux/amd64/kubectl.sha256', { body: Buffer.from(sha256(tool)) });
  server.routes.set('/dl/v1/bin/linux/amd64/kubelet', { body: notes });
  server.routes.set('/dl/v1/bin/linux/amd64/kubelet.sha256', { body: Buffer.from('<html>\n') });
  // Helm's release archive: linux-<arch>/helm beside LICENSE, and the .sha256 of the
  // archive (docs/upstream-facts.md#helm.release-archive); sha256sum's form for once.
  const dist = join(dir, 'build', 'helm-dist');
  await mkdir(join(dist, 'linux-amd64'), { recursive: true });
  await writeFile(join(dist, 'linux-amd64', 'LICENSE'), 'Apache-2.0\n');
  await writeFile(join(dist, 'linux-amd64', 'helm'), helmBinary);
  await run('tar', ['-czf', join(dist, 'helm.tar.gz'), '-C', dist, 'linux-amd64']);
  helmArchive = await readFile(join(dist, 'helm.tar.gz'));
  server.routes.set('/helm/helm-v3-linux-amd64.tar.gz', { body: helmArchive });
  server.routes.set('/helm/helm-v3-linux-amd64.tar.gz.sha256', {
    body: Buffer.from(`${sha256(helmArchive).toUpperCase()}  helm-v3-linux-amd64.tar.gz\n`),
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  server.requests.length = 0;
  server.rules.length = 0;
  server.maxActive = 0;
});

let runs = 0;
async function fetchNew(extra: Partial<FetchArtifactsOptions>, cacheDir?: string) {
  const events: BundleEvent[] = [];
  const cache = cacheDir ?? join(dir, `cache-${++runs}`);
  const fetched = await fetchArtifacts({
    cacheDir: cache,
    ca: [ca],
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return { fetched, events, cache };
}

/** Every file in the cache's blobs hashes to its name. */
async function cachedBlobs(cache: string): Promise<string[]> {
  const names = await readdir(join(cache, 'blobs', 'sha256'));
  for (const name of names)
    expect(sha256(await readFile(join(cache, 'blobs', 'sha256', name)))).toBe(name);
  return names;
}

async function chartYaml(file: string): Promise<{ name: string; version: string }> {
  const { stdout: listing } = await run('tar', ['-tzf', file]);
  const member = listing.split('\n').find((l) => /^[^/]+\/Chart\.yaml$/.test(l));
  expect(member).toBeDefined();
  const { stdout } = await run('tar', ['-xzOf', file, member!]);
  return parse(stdout) as { name: string; version: string };
}

const repo = () => `${server.url}/charts`;

describe('charts from a Helm repository over HTTPS', () => {
  it('fetches a chart by name and version: relative and absolute URLs, pinned or not', async () => {
    const app = archives.get('app-1.2.3')!;
    const tools = archives.get('tools-0.4.0')!;
    const { fetched, events } = await fetchNew({
      charts: [
        { name: 'app', repository: repo(), version: '1.2.3' },
        {
          name: 'tools',
          repository: `${repo()}/`,
          version: '0.4.0',
          digest: `sha256:${sha256(tools)}`,
        },
      ],
    });
    expect(fetched.map((f) => [f.path, f.sha256, f.verified, f.url])).toEqual([
      ['charts/app-1.2.3.tgz', sha256(app), 'index', `${server.url}/charts/app-1.2.3.tgz`],
      [
        'charts/tools-0.4.0.tgz',
        sha256(tools),
        'pinned',
        `${server.url}/downloads/tools-0.4.0.tgz`,
      ],
    ]);
    expect(await chartYaml(fetched[0]!.file)).toMatchObject({ name: 'app', version: '1.2.3' });
    expect(await chartYaml(fetched[1]!.file)).toMatchObject({ name: 'tools', version: '0.4.0' });
    expect(await readFile(fetched[0]!.file)).toEqual(app);
    // One index for both charts (the same repository, with and without a trailing /).
    expect(server.gets('/charts/index.yaml')).toHaveLength(1);
    expect(
      events
        .filter((e) => e.type === 'item-finished')
        .map((e) => e.item)
        .sort(),
    ).toEqual(['chart app 1.2.3', 'chart tools 0.4.0']);
    const last = events.filter((e) => e.type === 'progressed').at(-1);
    expect(last).toMatchObject({ doneBytes: app.length + tools.length });
  });

  it('a version the index does not list is a clear error naming chart, repository and versions', async () => {
    const e = await failure(
      fetchNew({ charts: [{ name: 'app', repository: repo(), version: '9.9.9' }] }),
    );
    expect(e.message).toContain('chart app 9.9.9');
    expect(e.message).toContain(repo());
    expect(e.message).toContain('1.2.3, 1.2.2');
    expect(e.message).toContain('Check the version in the bill of materials');
    expect(server.requests.map((r) => r.path)).toEqual(['/charts/index.yaml']);
    const missing = await failure(
      fetchNew({ charts: [{ name: 'nope', repository: repo(), version: '1.0.0' }] }),
    );
    expect(missing.message).toContain('has no chart named nope');
  });

  it('a digest mismatch once is retried and the second download is stored', async () => {
    const app = archives.get('app-1.2.3')!;
    server.rules.push({ path: '/charts/app-1.2.3.tgz', corrupt: true, times: 1 });
    const { fetched, events, cache } = await fetchNew({
      charts: [{ name: 'app', repository: repo(), version: '1.2.3' }],
    });
    expect(server.gets('/charts/app-1.2.3.tgz')).toHaveLength(2);
    const retried = events.filter((e) => e.type === 'retried');
    expect(retried).toHaveLength(1);
    expect(JSON.stringify(retried[0])).toContain('refused');
    expect(fetched[0]!.sha256).toBe(sha256(app));
    expect(await cachedBlobs(cache)).toEqual([sha256(app)]);
  });

  it('a digest that never matches is an error after the retries, and nothing is stored', async () => {
    server.rules.push({ path: '/charts/app-1.2.3.tgz', corrupt: true, times: 100 });
    const cache = join(dir, 'cache-corrupt');
    const e = await failure(
      fetchNew(
        { charts: [{ name: 'app', repository: repo(), version: '1.2.3' }], retries: 2 },
        cache,
      ),
    );
    expect(e.code).toBe('BundleCorrupt');
    expect(e.message).toContain('chart app 1.2.3');
    expect(e.message).toContain(`${server.url}/charts/app-1.2.3.tgz`);
    expect(e.message).toContain('failed 3 times');
    expect(server.gets('/charts/app-1.2.3.tgz')).toHaveLength(3);
    expect(await readdir(join(cache, 'blobs', 'sha256'))).toEqual([]);
    expect(await readdir(join(cache, 'partial', 'sha256'))).toEqual([]);
  });

  it('the bill of materials pin and the index digest disagree: refused before downloading', async () => {
    const e = await failure(
      fetchNew({
        charts: [
          { name: 'app', repository: repo(), version: '1.2.3', digest: `sha256:${'0'.repeat(64)}` },
        ],
      }),
    );
    expect(e.code).toBe('BundleCorrupt');
    expect(e.message).toContain(`sha256:${sha256(archives.get('app-1.2.3')!)}`);
    expect(server.gets('/charts/app-1.2.3.tgz')).toHaveLength(0);
  });

  it('an archive that holds another chart is refused', async () => {
    const e = await failure(
      fetchNew({ charts: [{ name: 'wrong', repository: repo(), version: '1.0.0' }] }),
    );
    expect(e.message).toContain('chart wrong 1.0.0');
    expect(e.message).toContain('names other 1.0.0');
  });

  it('an interrupted download resumes with Range from the partial file', async () => {
    const app = archives.get('app-1.2.3')!;
    const cut = 300 * 1024;
    server.rules.push({ path: '/charts/app-1.2.3.tgz', cutAfter: cut, times: 1 });
    const { fetched, events } = await fetchNew({
      charts: [{ name: 'app', repository: repo(), version: '1.2.3' }],
    });
    const gets = server.gets('/charts/app-1.2.3.tgz');
    expect(gets).toHaveLength(2);
    expect([gets[0]!.range, gets[0]!.status, gets[0]!.bytes]).toEqual([undefined, 200, cut]);
    // The resumed request starts where the partial file ends: at most what was sent (TLS
    // records in flight when the connection broke are lost), and more than nothing.
    const kept = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(cut);
    expect([gets[1]!.status, gets[1]!.bytes]).toEqual([206, app.length - kept]);
    expect(JSON.stringify(events.find((e) => e.type === 'retried'))).toContain('broke off');
    expect(await readFile(fetched[0]!.file)).toEqual(app);
    expect(fetched[0]!.downloadedBytes).toBe(app.length);
  });

  it('a re-run with the same cache downloads nothing', async () => {
    const cache = join(dir, 'cache-rerun');
    const charts = [
      { name: 'app', repository: repo(), version: '1.2.3' },
      { name: 'tools', repository: repo(), version: '0.4.0' },
    ];
    const files = [
      {
        name: 'tool',
        url: `${server.url}/releases/v1/tool`,
        path: 'bin/tool',
        kind: 'binary' as const,
      },
    ];
    const first = await fetchNew({ charts, files }, cache);
    expect(first.fetched.map((f) => f.downloadedBytes)).toEqual([
      archives.get('app-1.2.3')!.length,
      archives.get('tools-0.4.0')!.length,
      tool.length,
    ]);
    server.requests.length = 0;
    const second = await fetchNew({ charts, files }, cache);
    expect(second.fetched.map((f) => f.downloadedBytes)).toEqual([0, 0, 0]);
    expect(second.fetched.map((f) => f.sha256)).toEqual(first.fetched.map((f) => f.sha256));
    // The index is read again (versions move, like tags); the app archive, which the index
    // pins, is not asked for; tools (no digest in the index) and the unpinned file are asked
    // only if they changed, with the ETag they came with.
    expect(server.requests.map((r) => [r.path, r.status, r.bytes]).sort()).toEqual([
      ['/charts/index.yaml', 200, server.routes.get('/charts/index.yaml')!.body.length],
      ['/downloads/tools-0.4.0.tgz', 304, 0],
      ['/releases/v1/tool', 304, 0],
    ]);
    expect(server.gets('/releases/v1/tool')[0]!.ifNoneMatch).toBe('"tool-v1"');
    expect(server.gets('/downloads/tools-0.4.0.tgz')[0]!.ifNoneMatch).toBe('"tools-0.4.0"');

    // A file whose server sends no validator cannot be known unchanged: fetched again.
    const notesSpec = [
      { name: 'notes', url: `${server.url}/releases/v1/NOTES.txt`, path: 'files/notes.txt' },
    ];
    await fetchNew({ files: notesSpec }, cache);
    const again = await fetchNew({ files: notesSpec }, cache);
    expect(again.fetched[0]).toMatchObject({
      downloadedBytes: notes.length,
      verified: 'not-pinned',
    });
  });
});

describe('files over HTTPS', () => {
  it('checks a pinned sha256, and records the sha256 of an unpinned file as not pinned', async () => {
    const { fetched } = await fetchNew({
      files: [
        {
          name: 'tool',
          url: `${server.url}/releases/v1/tool`,
          path: 'bin/tool',
          kind: 'binary',
          sha256: sha256(tool),
        },
        { name: 'notes', url: `${server.url}/releases/v1/NOTES.txt`, path: 'files/notes.txt' },
      ],
    });
    expect(fetched.map((f) => [f.kind, f.path, f.verified, f.sha256])).toEqual([
      ['binary', 'bin/tool', 'pinned', sha256(tool)],
      ['file', 'files/notes.txt', 'not-pinned', sha256(notes)],
    ]);
  });

  it('entries naming one URL share one download', async () => {
    const { fetched } = await fetchNew({
      files: ['core', 'bootstrap', 'control-plane'].map((p) => ({
        name: `${p}/metadata.yaml`,
        url: `${server.url}/releases/v1/NOTES.txt`,
        path: `files/capi/${p}/metadata.yaml`,
      })),
    });
    expect(server.gets('/releases/v1/NOTES.txt')).toHaveLength(1);
    expect(fetched.map((f) => [f.path, f.sha256])).toEqual(
      ['core', 'bootstrap', 'control-plane'].map((p) => [
        `files/capi/${p}/metadata.yaml`,
        sha256(notes),
      ]),
    );
    expect(fetched.map((f) => f.downloadedBytes)).toEqual([notes.length, 0, 0]);
  });

  it('a wrong pin fails after the retries, naming the file, the URL and the digests', async () => {
    const e = await failure(
      fetchNew({
        retries: 1,
        files: [
          {
            name: 'tool',
            url: `${server.url}/releases/v1/tool`,
            path: 'bin/tool',
            sha256: 'f'.repeat(64),
          },
        ],
      }),
    );
    expect(e.code).toBe('BundleCorrupt');
    expect(e.message).toContain(`file tool from ${server.url}/releases/v1/tool`);
    expect(e.message).toContain(`sha256:${sha256(tool)}, not sha256:${'f'.repeat(64)}`);
  });

  it('an unpinned file resumes only with If-Range and the ETag it started with', async () => {
    const cut = 100 * 1024;
    server.rules.push({ path: '/releases/v1/tool', cutAfter: cut, times: 1 });
    const { fetched } = await fetchNew({
      files: [{ name: 'tool', url: `${server.url}/releases/v1/tool`, path: 'bin/tool' }],
    });
    const gets = server.gets('/releases/v1/tool');
    expect(gets.map((g) => [g.ifRange, g.status])).toEqual([
      [undefined, 200],
      ['"tool-v1"', 206],
    ]);
    expect(gets[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(fetched[0]!.sha256).toBe(sha256(tool));
  });

  it('404 and an untrusted certificate are clear errors; a TLS failure is not retried', async () => {
    const missing = await failure(
      fetchNew({
        files: [{ name: 'gone', url: `${server.url}/releases/v9/gone`, path: 'files/gone' }],
      }),
    );
    expect(missing.message).toContain(`file gone from ${server.url}/releases/v9/gone`);
    expect(missing.message).toContain('HTTP 404');
    server.requests.length = 0;
    const events: BundleEvent[] = [];
    const untrusted = await failure(
      fetchArtifacts({
        cacheDir: join(dir, 'cache-tls'),
        files: [{ name: 'tool', url: `${server.url}/releases/v1/tool`, path: 'bin/tool' }],
        onEvent: (e) => events.push(e),
      }),
    );
    expect(untrusted.code).toBe('ConnectionFailed');
    expect(untrusted.detail.reason).toBe('tls');
    expect(untrusted.message).toContain('file tool');
    expect(untrusted.message).toContain('--ca-file');
    expect(events.filter((e) => e.type === 'retried')).toHaveLength(0);
    expect(server.requests).toHaveLength(0);
  });

  it('runs at most `concurrency` downloads at once, through a URL mirror', async () => {
    for (let i = 0; i < 6; i++) server.routes.set(`/gate/f${i}`, { body: randomBytes(64 * 1024) });
    const { fetched } = await fetchNew({
      concurrency: 2,
      urlMirrors: new Map([['https://upstream.invalid/files', `${server.url}/gate`]]),
      files: Array.from({ length: 6 }, (_, i) => ({
        name: `f${i}`,
        url: `https://upstream.invalid/files/f${i}`,
        path: `files/f${i}`,
      })),
    });
    expect(fetched.map((f) => f.url)).toEqual(
      Array.from({ length: 6 }, (_, i) => `${server.url}/gate/f${i}`),
    );
    // The server answers only when two requests wait: a limit of 1 would never finish, a
    // limit above 2 would show here.
    expect(server.maxActive).toBe(2);
    expect(server.requests.map((r) => r.path).sort()).toEqual(
      Array.from({ length: 6 }, (_, i) => `/gate/f${i}`),
    );
  });
});

describe('binaries: upstream checksum files and release archives', () => {
  const dl = (name: string) => `${server.url}/dl/v1/bin/linux/amd64/${name}`;

  it('checks a binary against the .sha256 file upstream publishes beside it, and says so', async () => {
    const { fetched } = await fetchNew({
      files: [
        {
          name: 'kubeadm',
          url: dl('kubeadm'),
          sha256Url: dl('kubeadm.sha256'),
          path: 'bin/kubeadm',
          kind: 'binary',
        },
      ],
    });
    expect(fetched.map((f) => [f.kind, f.path, f.verified, f.sha256])).toEqual([
      ['binary', 'bin/kubeadm', 'upstream-sha256-file', sha256(tool)],
    ]);
    expect(server.gets('/dl/v1/bin/linux/amd64/kubeadm.sha256')).toHaveLength(1);
  });

  it('a pin wins: the checksum file is not even asked for', async () => {
    const { fetched } = await fetchNew({
      files: [
        {
          name: 'kubeadm',
          url: dl('kubeadm'),
          sha256Url: dl('kubeadm.sha256'),
          sha256: sha256(tool),
          path: 'bin/kubeadm',
          kind: 'binary',
        },
      ],
    });
    expect(fetched[0]!.verified).toBe('pinned');
    expect(server.gets('/dl/v1/bin/linux/amd64/kubeadm.sha256')).toEqual([]);
  });

  it('refuses a binary its checksum file contradicts, a checksum file that holds none, and a missing one', async () => {
    const spec = (name: string, sum = `${name}.sha256`) => ({
      files: [
        { name, url: dl(name), sha256Url: dl(sum), path: `bin/${name}`, kind: 'binary' as const },
      ],
      retries: 1,
    });
    const wrong = await failure(fetchNew(spec('kubectl')));
    expect(wrong.code).toBe('BundleCorrupt');
    expect(wrong.message).toContain(`binary kubectl from ${dl('kubectl')}`);
    expect(wrong.message).toContain(`not sha256:${sha256(tool)}`);
    expect(server.gets('/dl/v1/bin/linux/amd64/kubectl')).toHaveLength(2);
    const garbage = await failure(fetchNew(spec('kubelet')));
    expect(garbage.message).toContain(
      `binary kubelet: checksum file ${dl('kubelet.sha256')} does not start with a sha256`,
    );
    expect(server.gets('/dl/v1/bin/linux/amd64/kubelet')).toEqual([]);
    const missing = await failure(fetchNew(spec('kubeadm', 'kubeadm.sha512')));
    expect(missing.message).toContain('HTTP 404');
    expect(missing.message).toContain('check sha256Url in the bill of materials');
  });

  it('takes the executable out of a .tar.gz checked against its .sha256, in Node', async () => {
    const url = `${server.url}/helm/helm-v3-linux-amd64.tar.gz`;
    const { fetched, cache } = await fetchNew({
      files: [
        {
          name: 'helm',
          url,
          sha256Url: `${url}.sha256`,
          extract: 'linux-amd64/helm',
          path: 'bin/helm',
          kind: 'binary',
        },
      ],
    });
    expect(fetched).toHaveLength(1);
    const [helm] = fetched;
    expect(helm).toMatchObject({
      kind: 'binary',
      path: 'bin/helm',
      verified: 'upstream-sha256-file',
      sha256: sha256(helmBinary),
      size: helmBinary.length,
      archive: { sha256: sha256(helmArchive), member: 'linux-amd64/helm' },
      downloadedBytes: helmArchive.length,
    });
    expect(await readFile(helm!.file)).toEqual(helmBinary);
    expect((await cachedBlobs(cache)).sort()).toEqual(
      [sha256(helmArchive), sha256(helmBinary)].sort(),
    );
    const absent = await failure(
      fetchNew({
        files: [
          { name: 'helm', url, extract: 'linux-arm64/helm', path: 'bin/helm', kind: 'binary' },
        ],
      }),
    );
    expect(absent.code).toBe('BundleCorrupt');
    expect(absent.message).toContain('the archive holds no linux-arm64/helm (it has linux-amd64');
    expect(absent.message).toContain('linux-amd64/helm');
  });
});

describe('charts from an OCI registry', () => {
  it('pulls the chart layer of a Helm OCI artifact, + in the version written _', async () => {
    registry = await startRegistry({ dir: join(dir, 'registry') });
    const archive = await buildChart('ociapp', '2.0.0+build.1');
    const { config, layer, manifest } = helmOciArtifact('ociapp', '2.0.0+build.1', archive);
    const push = new Pusher(registry);
    await push.blob('charts/ociapp', config);
    await push.blob('charts/ociapp', layer);
    await push.manifest('charts/ociapp', '2.0.0_build.1', manifest);

    const { fetched } = await fetchNew({
      charts: [
        { name: 'ociapp', repository: `oci://${registry.host}/charts`, version: '2.0.0+build.1' },
      ],
    });
    expect(fetched[0]).toMatchObject({
      path: 'charts/ociapp-2.0.0+build.1.tgz',
      sha256: sha256(archive),
      verified: 'oci-manifest',
      url: `oci://${registry.host}/charts/ociapp:2.0.0_build.1`,
    });
    expect(await chartYaml(fetched[0]!.file)).toMatchObject({ name: 'ociapp' });

    const pinned = await failure(
      fetchNew({
        charts: [
          {
            name: 'ociapp',
            repository: `oci://${registry.host}/charts`,
            version: '2.0.0+build.1',
            digest: `sha256:${'1'.repeat(64)}`,
          },
        ],
      }),
    );
    expect(pinned.code).toBe('BundleCorrupt');
    expect(pinned.message).toContain(layer.digest);
  }, 60_000);
});

describe('into a bundle, and from the bill of materials', () => {
  it('createBundle puts fetched charts under charts/ and files at their paths', async () => {
    const runbook = join(dir, 'runbook');
    await mkdir(runbook, { recursive: true });
    await writeFile(join(runbook, 'runbook.yaml'), 'name: test\n');
    const { plan } = await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'));
    if (!plan) throw new Error('the demo plan does not load');
    const out = join(dir, 'bundle-out');
    const created = await createBundle({
      plan,
      out,
      runbookDir: runbook,
      packages: [],
      architecture: 'amd64',
      createdAt: new Date('2026-12-01T00:00:00Z'),
      fetch: {
        cacheDir: join(dir, 'cache-bundle'),
        ca: [ca],
        charts: [{ name: 'app', repository: repo(), version: '1.2.3' }],
        files: [
          { name: 'tool', url: `${server.url}/releases/v1/tool`, path: 'bin/tool', kind: 'binary' },
        ],
      },
    });
    const entries = created.manifest.entries.map((e) => [e.path, e.kind, e.sha256]);
    expect(entries).toEqual(
      expect.arrayContaining([
        ['charts/app-1.2.3.tgz', 'chart', sha256(archives.get('app-1.2.3')!)],
        ['bin/tool', 'binary', sha256(tool)],
      ]),
    );
    expect(await chartYaml(join(out, 'charts', 'app-1.2.3.tgz'))).toMatchObject({ name: 'app' });
  });

  it("lists the bill of materials' charts and files with their bundle paths, and what it skips", () => {
    const specs = bomFetchSpecs();
    expect(specs.charts.map((c) => c.name)).toContain('rook-ceph');
    expect(specs.charts.find((c) => c.name === 'cilium')).toMatchObject({
      repository: 'https://helm.cilium.io',
      version: '1.16.5',
    });
    const paths = specs.files.map((f) => f.path);
    expect(paths).toContain('files/capi/cluster-api/v1.9.5/core-components.yaml');
    expect(paths).toContain('files/capi/infrastructure-openstack/v0.12.2/metadata.yaml');
    // clusterctl's local repository: every provider folder holds its own metadata.yaml, though
    // CAPI's three providers share one release asset (docs/upstream-facts.md#clusterctl.metadata).
    for (const f of bundleFiles()) expect(paths).toContain(`files/${f.name}`);
    expect(paths).toContain('files/orc/v1.0.1/install.yaml');
    expect(paths).toContain('files/ugarden/addons/calico/v3.29.3/calico.yaml');
    expect(paths).toContain('files/flux/install.yaml');
    expect(specs.skipped.map((s) => s.name).sort()).toEqual([
      'cloud-provider-openstack',
      'node-image',
    ]);
  });

  it('ustart bundle create --bom charts fetches every chart of the bill of materials through --mirror-url', async () => {
    // One Helm repository on the test server per BOM repository, with the BOM's charts.
    const specs = bomFetchSpecs();
    const repositories = [...new Set(specs.charts.map((c) => c.repository))];
    const mirrorArgs: string[] = [];
    for (const [i, repository] of repositories.entries()) {
      const entries: Record<string, unknown[]> = {};
      for (const chart of specs.charts.filter((c) => c.repository === repository)) {
        const archive = await buildChart(chart.name, chart.version);
        server.routes.set(`/bom/${i}/${chart.name}-${chart.version}.tgz`, { body: archive });
        entries[chart.name] = [
          {
            name: chart.name,
            version: chart.version,
            urls: [`${chart.name}-${chart.version}.tgz`],
            digest: sha256(archive),
          },
        ];
      }
      server.routes.set(`/bom/${i}/index.yaml`, {
        body: Buffer.from(JSON.stringify({ apiVersion: 'v1', entries })),
      });
      mirrorArgs.push('--mirror-url', `${repository}=${server.url}/bom/${i}`);
    }
    const planFile = assetPath('samples', 'demo-stuttgart.yaml');
    const out = join(dir, 'bom-bundle');
    const r = await runCli(
      'bundle',
      'create',
      '--plan',
      planFile,
      '--out',
      out,
      '--packages',
      '',
      '--arch',
      'amd64',
      '--bom',
      'charts',
      ...mirrorArgs,
      '--ca-file',
      join(dir, 'server.crt'),
      '--image-cache',
      join(dir, 'cache-cli'),
      '--json-events',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out.trim().split('\n').at(-1)!) as {
      fetched: { path: string; verified: string }[];
    };
    expect(summary.fetched.map((f) => f.path).sort()).toEqual(
      specs.charts.map((c) => `charts/${c.name}-${c.version}.tgz`).sort(),
    );
    expect(new Set(summary.fetched.map((f) => f.verified))).toEqual(new Set(['index']));
    // The runbook's scripts name each chart's file by the BOM's version (USTART_CHART_*).
    const names = await readdir(join(out, 'charts'));
    expect(names).toContain('rook-ceph-v1.15.6.tgz');
    expect(names.filter((n) => /^cilium-.*\.tgz$/.test(n))).toEqual(['cilium-1.16.5.tgz']);
    for (const name of names) {
      const meta = await chartYaml(join(out, 'charts', name));
      expect(name).toBe(`${meta.name}-${meta.version}.tgz`);
    }
  });
});

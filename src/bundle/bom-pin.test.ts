/**
 * `ustart bom pin` and the pins' enforcement in `bundle create`, against real servers on
 * this machine: Debian's docker-registry behind token authentication (images, a multi-arch
 * index among them, and a Helm chart as an OCI artifact), reached through `--mirror` as the
 * bill of materials names a registry host of its own; and an HTTPS server (a certificate
 * openssl makes, trusted through --ca-file only) serving a Helm repository and a release
 * file. The bill of materials is a file in a temp dir, with comments.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  buildImage,
  buildIndex,
  failure,
  helmOciArtifact,
  freePort,
  makeEcCertificate,
  Pusher,
  startRegistry,
  startTokenServer,
  type Blob,
  type Registry,
  type TokenServer,
} from '../../test/support/oci-registry.js';
import { runCli } from '../../test/support/run-cli.js';
import { createBundle, fetchArtifacts, pullImages } from './index.js';
import { loadPlanFile } from '../plan/index.js';
import { assetPath } from '../util/assets.js';
import { bomFetchSpecs, bomImagePins } from './bom-artifacts.js';
import { applyPins, PIN_SECTIONS } from './bom-pin.js';
import { Bom, readBom } from '../render/bom.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const REGISTRY = 'registry.ustart.test';

let dir: string;
let tokens: TokenServer;
let registry: Registry;
let push: Pusher;
let server: https.Server;
const sockets = new Set<Socket>();
let serverUrl = '';
const routes = new Map<string, Buffer>();
let caFile: string;
let bomFile: string;
/** What each entry must be pinned to (image index/manifest digests, archive digests, sha256). */
const expected: Record<string, string> = {};
let multiIndex: Blob;
let chartArchive: Buffer;
let ociLayer: Blob;
const tool = Buffer.from('a release file\n');

/** A chart archive as `helm package` lays it out: `<name>/Chart.yaml` and its files. */
async function buildChart(name: string, version: string, note: string): Promise<Buffer> {
  const root = join(dir, 'build', `${name}-${version}-${note}`);
  await mkdir(join(root, name), { recursive: true });
  await writeFile(
    join(root, name, 'Chart.yaml'),
    `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: ${note}\n`,
  );
  const out = join(root, 'chart.tgz');
  await run('tar', ['-czf', out, '-C', root, name]);
  return readFile(out);
}

function serveHelmIndex(archive: Buffer): void {
  chartArchive = archive;
  routes.set('/charts/app-1.2.3.tgz', archive);
  routes.set(
    '/charts/index.yaml',
    Buffer.from(
      JSON.stringify({
        apiVersion: 'v1',
        entries: {
          app: [
            { name: 'app', version: '1.2.3', urls: ['app-1.2.3.tgz'], digest: sha256(archive) },
          ],
        },
      }),
    ),
  );
}

/** Pushes a Helm chart as an OCI artifact (Helm's config and chart layer types). */
async function pushOciChart(note: string): Promise<Blob> {
  const archive = await buildChart('ociapp', '1.0.0', note);
  const { config, layer, manifest } = helmOciArtifact('ociapp', '1.0.0', archive);
  await push.blob('charts/ociapp', config);
  await push.blob('charts/ociapp', layer);
  await push.manifest('charts/ociapp', '1.0.0', manifest);
  return layer;
}

/** Pushes a two-platform index under `app/multi:1.0`; `note` makes its content differ. */
async function pushMulti(note: string): Promise<Blob> {
  const amd64 = buildImage('oci', { os: 'linux', architecture: 'amd64' }, { f: `amd64 ${note}\n` });
  const arm64 = buildImage(
    'oci',
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
    { f: `arm64 ${note}\n` },
  );
  await push.image('app/multi', undefined, amd64);
  await push.image('app/multi', undefined, arm64);
  const index = buildIndex('oci', [
    { image: amd64, platform: { os: 'linux', architecture: 'amd64' } },
    { image: arm64, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  ]);
  await push.manifest('app/multi', '1.0', index);
  return index;
}

const BOM = (
  https: string,
) => `# A bill of materials for the test: its comments must survive pinning.
formatVersion: 1

images:
  # A multi-arch image: its index is pinned, not one platform.
  multi:
    ref: ${REGISTRY}/app/multi:1.0
    architectures: [amd64, arm64]
    facts: [test.multi] # the fact it was read from

  single:
    ref: ${REGISTRY}/app/single:2.0
    facts: [test.single]

charts:
  # From a Helm repository over HTTPS.
  app:
    repository: ${https}/charts
    version: 1.2.3
    facts: [test.chart]
  # From an OCI registry.
  ociapp:
    repository: oci://${REGISTRY}/charts
    version: 1.0.0
    facts: [test.oci-chart]

files:
  tool:
    version: v1.0
    url: ${https}/releases/v1.0/tool.txt
    facts: [test.file]
  # A folder page and a file the site builds: nothing to pin.
  manifests:
    version: v1.0
    url: ${https}/tree/v1.0/manifests
    facts: [test.file]
  node-image:
    version: v1.0
    url: node.qcow2
    facts: [test.file]

packages: packages/apt.yaml
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-bom-pin-'));
  tokens = await startTokenServer(join(dir, 'tokens'));
  registry = await startRegistry({ dir: join(dir, 'registry'), tokenServer: tokens });
  push = new Pusher(registry, tokens);

  const { keyFile, certFile } = await makeEcCertificate(dir, 'server', '/CN=127.0.0.1', [
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  caFile = certFile;
  server = https.createServer(
    { key: await readFile(keyFile), cert: await readFile(certFile) },
    (req, res) => {
      const body = routes.get(new URL(req.url ?? '/', 'https://x').pathname);
      if (!body) res.writeHead(404).end('not found');
      else res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    },
  );
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  serverUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  multiIndex = await pushMulti('first');
  const single = buildImage('docker', { os: 'linux', architecture: 'amd64' }, { s: 'single\n' });
  await push.image('app/single', '2.0', single);
  serveHelmIndex(await buildChart('app', '1.2.3', 'first'));
  ociLayer = await pushOciChart('first');
  routes.set('/releases/v1.0/tool.txt', tool);
  Object.assign(expected, {
    'images.multi': multiIndex.digest,
    'images.single': single.manifest.digest,
    'charts.app': `sha256:${sha256(chartArchive)}`,
    'charts.ociapp': ociLayer.digest,
    'files.tool': sha256(tool),
  });

  bomFile = join(dir, 'bom.yaml');
  await writeFile(bomFile, BOM(serverUrl));
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  await registry?.stop();
  await tokens?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const pinArgs = () => [
  '--bom',
  bomFile,
  '--mirror',
  `${REGISTRY}=${registry.url}`,
  '--ca-file',
  caFile,
  '--cache',
  join(dir, 'cache'),
];

/** The lines of `after` that `before` lacks, and whether `before` is `after` without them. */
function addedLines(before: string, after: string): string[] {
  const old = before.split('\n');
  const added: string[] = [];
  let i = 0;
  for (const line of after.split('\n')) {
    if (i < old.length && line === old[i]) i++;
    else added.push(line);
  }
  expect(i).toBe(old.length);
  return added;
}

async function bundleFromBom(out: string) {
  const b = readBom(bomFile);
  const { plan } = await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'));
  if (!plan) throw new Error('the demo plan does not load');
  const runbook = join(dir, 'runbook');
  await mkdir(runbook, { recursive: true });
  await writeFile(join(runbook, 'runbook.yaml'), 'name: test\n');
  const specs = bomFetchSpecs(b);
  const mirrors = new Map([[REGISTRY, registry.url]]);
  return createBundle({
    plan,
    out: join(dir, out),
    runbookDir: runbook,
    packages: [],
    architecture: 'amd64',
    createdAt: new Date('2026-12-01T00:00:00Z'),
    images: Object.values(b.images).map((i) => i.ref),
    imagePull: { mirrors, pins: bomImagePins(b), cacheDir: join(dir, `cache-${out}`) },
    fetch: {
      charts: specs.charts,
      files: specs.files,
      mirrors,
      ca: [await readFile(caFile, 'utf8')],
      cacheDir: join(dir, `cache-${out}`),
    },
  });
}

describe('ustart bom pin', () => {
  it('pins images (an index by its own digest), charts (Helm repository, OCI) and files, keeping comments and order', async () => {
    const before = await readFile(bomFile, 'utf8');
    const r = await runCli('bom', 'pin', ...pinArgs());
    expect(r.code).toBe(0);
    const after = await readFile(bomFile, 'utf8');
    // Every line of the file is still there, in order; only the five pins were added.
    expect(addedLines(before, after)).toEqual([
      `    digest: ${expected['images.multi']}`,
      `    digest: ${expected['images.single']}`,
      `    digest: ${expected['charts.app']}`,
      `    digest: ${expected['charts.ociapp']}`,
      `    sha256: ${expected['files.tool']}`,
    ]);
    // Each pin sits after the key it belongs to (ref, version, url).
    expect(after).toContain(
      `    ref: ${REGISTRY}/app/multi:1.0\n    digest: ${expected['images.multi']}\n    architectures: [amd64, arm64]\n    facts: [test.multi] # the fact it was read from\n`,
    );
    const b = readBom(bomFile);
    expect(b.images.multi!.digest).toBe(multiIndex.digest);
    for (const [key, value] of Object.entries(expected)) {
      expect(r.out).toContain(`pinned    ${key}`);
      expect(r.out).toContain(value);
    }
    expect(r.out).toContain(`wrote ${bomFile} (5 new, 0 unchanged, 0 changed; 2 skipped)`);
    expect(r.err).toContain('skipped files.manifests:');
    expect(r.err).toContain('skipped files.node-image:');
    expect(r.err).not.toContain('warning');
  }, 60_000);

  it('a second run reports every pin unchanged and does not rewrite the file', async () => {
    const before = await stat(bomFile);
    const text = await readFile(bomFile, 'utf8');
    const r = await runCli('bom', 'pin', ...pinArgs());
    expect(r.code).toBe(0);
    for (const key of Object.keys(expected)) expect(r.out).toContain(`unchanged ${key}`);
    expect(r.out).toContain(`${bomFile} not changed (0 new, 5 unchanged, 0 changed; 2 skipped)`);
    const after = await stat(bomFile);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(await readFile(bomFile, 'utf8')).toBe(text);
  }, 60_000);

  it('an unreachable registry is an error naming the image, and the file is untouched', async () => {
    const text = await readFile(bomFile, 'utf8');
    const before = await stat(bomFile);
    const r = await runCli(
      'bom',
      'pin',
      '--bom',
      bomFile,
      '--only',
      'images',
      '--mirror',
      `${REGISTRY}=http://127.0.0.1:${await freePort()}`,
      '--cache',
      join(dir, 'cache-unreachable'),
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain('could not resolve 2 images');
    expect(r.err).toContain(`images.multi (${REGISTRY}/app/multi:1.0)`);
    expect(r.err).toContain(`images.single (${REGISTRY}/app/single:2.0)`);
    expect(r.err).toContain('could not reach');
    expect(r.err).toContain(`the bill of materials ${bomFile} was not changed`);
    expect(await readFile(bomFile, 'utf8')).toBe(text);
    expect((await stat(bomFile)).mtimeMs).toBe(before.mtimeMs);
  }, 60_000);
});

describe('the pins, enforced by bundle create', () => {
  it('pulls pinned images and fetches pinned charts and files; refuses each once upstream moved', async () => {
    const created = await bundleFromBom('bundle-ok');
    const paths = created.manifest.entries.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'images/images.oci.tar',
        'charts/app-1.2.3.tgz',
        'charts/ociapp-1.0.0.tgz',
        'files/tool/v1.0/tool.txt',
      ]),
    );
    expect(created.fetched.map((f) => f.verified)).toEqual(['pinned', 'pinned', 'pinned']);

    // Upstream moves: the tag gets another index, the repository another archive, the
    // OCI chart another layer, the file other bytes.
    const moved = await pushMulti('second');
    expect(moved.digest).not.toBe(multiIndex.digest);
    serveHelmIndex(await buildChart('app', '1.2.3', 'second'));
    const movedLayer = await pushOciChart('second');
    routes.set('/releases/v1.0/tool.txt', Buffer.from('another release file\n'));

    const image = await failure(bundleFromBom('bundle-image'));
    expect(image.code).toBe('BundleCorrupt');
    expect(image.message).toContain(`${REGISTRY}/app/multi:1.0`);
    expect(image.message).toContain(multiIndex.digest);
    expect(image.message).toContain(moved.digest);
    expect(image.detail).toMatchObject({ reason: 'pin-mismatch', pinned: multiIndex.digest });
    // Why the tag is asked for: the registry still serves the old index by its digest, so a
    // pull by digest alone would have gone through.
    const old = await pullImages({
      images: [`${REGISTRY}/app/multi@${multiIndex.digest}`],
      out: join(dir, 'old-layout'),
      mirrors: new Map([[REGISTRY, registry.url]]),
      cacheDir: join(dir, 'cache-old'),
    });
    expect(old.images[0]!.upstreamDigest).toBe(multiIndex.digest);

    // Without the images, the charts and the file are refused in turn.
    const b = readBom(bomFile);
    const specs = bomFetchSpecs(b);
    const mirrors = new Map([[REGISTRY, registry.url]]);
    const ca = [await readFile(caFile, 'utf8')];
    const chart = await failure(
      fetchArtifacts({ charts: [specs.charts[0]!], ca, cacheDir: join(dir, 'cache-c') }),
    );
    expect(chart.message).toContain('chart app 1.2.3');
    expect(chart.message).toContain(expected['charts.app']);
    expect(chart.message).toContain(sha256(chartArchive));
    const oci = await failure(
      fetchArtifacts({ charts: [specs.charts[1]!], mirrors, cacheDir: join(dir, 'cache-o') }),
    );
    expect(oci.message).toContain('chart ociapp 1.0.0');
    expect(oci.message).toContain(ociLayer.digest);
    expect(oci.message).toContain(movedLayer.digest);
    const file = await failure(
      fetchArtifacts({ files: specs.files, ca, retries: 0, cacheDir: join(dir, 'cache-f') }),
    );
    expect(file.code).toBe('BundleCorrupt');
    expect(file.message).toContain('file tool');
    expect(file.message).toContain(expected['files.tool']);
    expect(file.message).toContain(sha256(Buffer.from('another release file\n')));
  }, 120_000);

  it('pinning again reports each moved pin as CHANGED (a dry run writes nothing), keeping a comment on the pin', async () => {
    // A comment the user put on a pin stays with it when the pin changes.
    const commented = (await readFile(bomFile, 'utf8')).replace(
      `digest: ${expected['images.multi']}`,
      `digest: ${expected['images.multi']} # checked by hand`,
    );
    await writeFile(bomFile, commented);
    const dry = await runCli('bom', 'pin', '--dry-run', ...pinArgs());
    expect(dry.code).toBe(0);
    expect(dry.out).toContain(`CHANGED   images.multi  ${REGISTRY}/app/multi:1.0`);
    expect(dry.out).toContain('dry run:');
    expect(dry.err).toContain('warning: images.multi');
    expect(await readFile(bomFile, 'utf8')).toBe(commented);

    const r = await runCli('bom', 'pin', ...pinArgs());
    expect(r.code).toBe(0);
    expect(r.out).toContain('(0 new, 1 unchanged, 4 changed; 2 skipped)');
    for (const key of ['images.multi', 'charts.app', 'charts.ociapp', 'files.tool']) {
      expect(r.out).toContain(`CHANGED   ${key}`);
      expect(r.out).toContain(expected[key]!);
      expect(r.err).toContain(`warning: ${key}`);
      expect(r.err).toContain(`it was pinned to ${expected[key]}`);
    }
    const after = await readFile(bomFile, 'utf8');
    const b = readBom(bomFile);
    expect(after).toContain(`    digest: ${b.images.multi!.digest} # checked by hand\n`);
    expect(b.images.multi!.digest).not.toBe(expected['images.multi']);
    expect(b.images.single!.digest).toBe(expected['images.single']);
    expect(b.charts.app!.digest).toBe(`sha256:${sha256(chartArchive)}`);
    // The file still differs from the commented one only in the four pins' values.
    const diff = commented.split('\n').filter((line, i) => line !== after.split('\n')[i]);
    expect(diff).toHaveLength(4);

    // And a bundle builds again from the new pins.
    const created = await bundleFromBom('bundle-again');
    expect(created.fetched.map((f) => f.verified)).toEqual(['pinned', 'pinned', 'pinned']);
  }, 120_000);
});

describe('the shipped bill of materials', () => {
  it('takes a pin on every unpinned entry with nothing else changed, comments and layout kept', async () => {
    const file = assetPath('runbook', 'bom.yaml');
    const text = await readFile(file, 'utf8');
    const b = readBom(file);
    // What `ustart bom pin` writes on a connected machine: one pin per image, chart, file
    // (those a chart already names by digest keep theirs).
    const unpinned = (e: { digest?: string; sha256?: string }) => !e.digest && !e.sha256;
    const changes = PIN_SECTIONS.flatMap((section) =>
      Object.entries(b[section] as Record<string, { digest?: string; sha256?: string }>)
        .filter(([, e]) => unpinned(e))
        .map(([name], i) => {
          const hex = sha256(Buffer.from(`${section}.${name}.${i}`));
          return section === 'files'
            ? { section, name, field: 'sha256' as const, after: hex }
            : { section, name, field: 'digest' as const, after: `sha256:${hex}` };
        }),
    );
    const pinned = applyPins(file, text, changes);
    const added = addedLines(text, pinned);
    expect(added).toHaveLength(changes.length);
    expect(added.every((l) => /^ {4}(digest: sha256:|sha256: "?)[0-9a-f]{64}"?$/.test(l))).toBe(
      true,
    );
    const parsed = Bom.parse(parse(pinned));
    expect(parsed.images.pause!.digest).toBe(changes[0]!.after);
    expect(Object.values(parsed.charts).every((c) => c.digest)).toBe(true);
  });
});

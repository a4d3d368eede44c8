/**
 * `ustart bundle create` builds from the bill of materials by default (issue 15, item 2):
 * with no --bom option it takes every image, chart, file and binary of the bill of materials
 * given with --bom-file, each URL and registry mapped to servers on this machine with
 * --mirror and --mirror-url — Debian's docker-registry behind token authentication for the
 * images, an HTTPS server (its certificate trusted through --ca-file only) for the Helm
 * repository, the release files and the binaries with their upstream .sha256 files. The
 * bundle's architecture (--arch arm64) chooses the binaries and the images' platform; skopeo
 * (Debian) reads the images back.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  buildImage,
  buildIndex,
  makeEcCertificate,
  Pusher,
  skopeo,
  startRegistry,
  startTokenServer,
  type BuiltImage,
  type Registry,
  type TokenServer,
} from '../support/oci-registry.js';
import { runCli } from '../support/run-cli.js';
import { assetPath } from '../../src/util/assets.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An HTTPS server of fixed routes that records every path asked for. */
class FileServer {
  readonly routes = new Map<string, Buffer>();
  readonly asked: string[] = [];
  private readonly sockets = new Set<Socket>();
  private server?: https.Server;
  url = '';

  async start(key: Buffer, cert: Buffer): Promise<void> {
    const server = https.createServer({ key, cert }, (req, res) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      this.asked.push(path);
      const body = this.routes.get(path);
      if (!body) res.writeHead(404).end('not found');
      else res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    });
    this.server = server;
    server.on('secureConnection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    this.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

let dir: string;
let tokens: TokenServer | undefined;
let upstream: Registry | undefined;
const files = new FileServer();
const binaries = {
  amd64: { kubeadm: randomBytes(64 * 1024), helm: randomBytes(48 * 1024) },
  arm64: { kubeadm: randomBytes(64 * 1024), helm: randomBytes(48 * 1024) },
};
const helmArchives: Record<string, Buffer> = {};
const kubeletService = Buffer.from('[Service]\nExecStart=/usr/bin/kubelet\n');
let chart: Buffer;
let multi: { amd64: BuiltImage; arm64: BuiltImage };
let bomFile: string;

const REGISTRY = 'registry.example.com';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-bom-bundle-'));
  tokens = await startTokenServer(join(dir, 'tokens'));
  upstream = await startRegistry({ dir: join(dir, 'upstream'), tokenServer: tokens });
  const push = new Pusher(upstream, tokens);
  // A single-platform image and a multi-arch index, as the bill of materials names them.
  await push.image(
    'ustart/hello',
    '1.0',
    buildImage('oci', { os: 'linux', architecture: 'arm64' }, { 'hello.txt': 'hello\n' }),
  );
  multi = {
    amd64: buildImage('oci', { os: 'linux', architecture: 'amd64' }, { arch: 'amd64\n' }),
    arm64: buildImage('oci', { os: 'linux', architecture: 'arm64' }, { arch: 'arm64\n' }),
  };
  for (const image of Object.values(multi)) await push.image('ustart/multi', undefined, image);
  await push.manifest(
    'ustart/multi',
    '2.0',
    buildIndex('oci', [
      { image: multi.amd64, platform: { os: 'linux', architecture: 'amd64' } },
      { image: multi.arm64, platform: { os: 'linux', architecture: 'arm64' } },
    ]),
  );

  const { keyFile, certFile } = await makeEcCertificate(dir, 'server', '/CN=127.0.0.1', [
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  await files.start(await readFile(keyFile), await readFile(certFile));

  // A Helm repository with one chart, as `helm package` and `helm repo index` lay it out.
  const src = join(dir, 'chart-src');
  await mkdir(join(src, 'app'), { recursive: true });
  await writeFile(join(src, 'app', 'Chart.yaml'), 'apiVersion: v2\nname: app\nversion: 1.2.3\n');
  await run('tar', ['-czf', join(dir, 'app.tgz'), '-C', src, 'app']);
  chart = await readFile(join(dir, 'app.tgz'));
  files.routes.set('/charts/app-1.2.3.tgz', chart);
  files.routes.set(
    '/charts/index.yaml',
    Buffer.from(
      stringify({
        apiVersion: 'v1',
        entries: {
          app: [{ name: 'app', version: '1.2.3', urls: ['app-1.2.3.tgz'], digest: sha256(chart) }],
        },
      }),
    ),
  );
  files.routes.set('/raw/release/v0/kubelet.service', kubeletService);
  // Binaries per architecture with their .sha256 files; helm inside its release archive.
  for (const arch of ['amd64', 'arm64'] as const) {
    const { kubeadm, helm } = binaries[arch];
    const base = `/dl/release/v1.31.4/bin/linux/${arch}/kubeadm`;
    files.routes.set(base, kubeadm);
    files.routes.set(`${base}.sha256`, Buffer.from(sha256(kubeadm)));
    const dist = join(dir, `helm-${arch}`);
    await mkdir(join(dist, `linux-${arch}`), { recursive: true });
    await writeFile(join(dist, `linux-${arch}`, 'helm'), helm);
    await writeFile(join(dist, `linux-${arch}`, 'README.md'), 'Helm\n');
    await run('tar', ['-czf', join(dist, 'helm.tgz'), '-C', dist, `linux-${arch}`]);
    helmArchives[arch] = await readFile(join(dist, 'helm.tgz'));
    files.routes.set(`/get/helm-v3.17.0-linux-${arch}.tar.gz`, helmArchives[arch]);
    files.routes.set(
      `/get/helm-v3.17.0-linux-${arch}.tar.gz.sha256`,
      Buffer.from(`${sha256(helmArchives[arch])}\n`),
    );
  }

  // A customer runbook's bill of materials: upstream names throughout.
  bomFile = join(dir, 'bom.yaml');
  await writeFile(
    bomFile,
    stringify({
      formatVersion: 1,
      images: {
        hello: { ref: `${REGISTRY}/ustart/hello:1.0`, facts: ['test.fixture'] },
        multi: { ref: `${REGISTRY}/ustart/multi:2.0`, facts: ['test.fixture'] },
      },
      charts: {
        app: { repository: 'https://charts.example.com/stable', version: '1.2.3', facts: ['t'] },
      },
      files: {
        'kubelet-service': {
          version: 'v0',
          url: 'https://raw.example.com/release/v0/kubelet.service',
          path: 'files/kubelet/kubelet.service',
          facts: ['t'],
        },
      },
      binaries: {
        kubeadm: {
          version: 'v1.31.4',
          url: 'https://dl.example.com/release/v1.31.4/bin/linux/{arch}/kubeadm',
          sha256Url: 'https://dl.example.com/release/v1.31.4/bin/linux/{arch}/kubeadm.sha256',
          facts: ['t'],
        },
        helm: {
          version: 'v3.17.0',
          url: 'https://get.example.com/helm-v3.17.0-linux-{arch}.tar.gz',
          sha256Url: 'https://get.example.com/helm-v3.17.0-linux-{arch}.tar.gz.sha256',
          extract: 'linux-{arch}/helm',
          facts: ['t'],
        },
      },
      packages: 'packages/apt.yaml',
    }),
  );
}, 120_000);

afterAll(async () => {
  await files.stop();
  await upstream?.stop();
  await tokens?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `bundle create` of the demo plan, no packages, an empty runbook, and these options. */
async function create(out: string, ...extra: string[]) {
  const runbook = join(dir, 'empty-runbook');
  await mkdir(runbook, { recursive: true });
  return runCli(
    'bundle',
    'create',
    '--plan',
    assetPath('samples', 'demo-stuttgart.yaml'),
    '--out',
    join(dir, out),
    '--packages',
    '',
    '--runbook',
    runbook,
    ...extra,
  );
}

const mirrors = () => [
  '--mirror',
  `${REGISTRY}=${upstream!.url}`,
  '--mirror-url',
  `https://charts.example.com/stable=${files.url}/charts`,
  '--mirror-url',
  `https://raw.example.com=${files.url}/raw`,
  '--mirror-url',
  `https://dl.example.com=${files.url}/dl`,
  '--mirror-url',
  `https://get.example.com=${files.url}/get`,
  '--ca-file',
  join(dir, 'server.crt'),
];

describe('ustart bundle create, by default from the bill of materials', () => {
  it('takes every image, chart, file and binary of it, for the bundle architecture', async () => {
    const r = await create(
      'bundle',
      '--arch',
      'arm64',
      '--bom-file',
      bomFile,
      ...mirrors(),
      '--image-cache',
      join(dir, 'cache'),
      '--json-events',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const out = join(dir, 'bundle');
    const manifest = JSON.parse(await readFile(join(out, 'bundle.json'), 'utf8')) as {
      architecture: string;
      entries: { path: string; kind: string; sha256: string }[];
    };
    expect(manifest.architecture).toBe('arm64');
    expect(manifest.entries.map((e) => [e.path, e.kind])).toEqual([
      ['bin/helm', 'binary'],
      ['bin/kubeadm', 'binary'],
      ['charts/app-1.2.3.tgz', 'chart'],
      ['files/kubelet/kubelet.service', 'file'],
      ['images/images.oci.tar', 'image'],
    ]);
    // The arm64 binaries, executable; helm taken out of its archive.
    expect(await readFile(join(out, 'bin', 'kubeadm'))).toEqual(binaries.arm64.kubeadm);
    expect(await readFile(join(out, 'bin', 'helm'))).toEqual(binaries.arm64.helm);
    expect((await stat(join(out, 'bin', 'helm'))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(out, 'charts', 'app-1.2.3.tgz'))).toEqual(chart);
    expect(await readFile(join(out, 'files', 'kubelet', 'kubelet.service'))).toEqual(
      kubeletService,
    );

    // What each download was checked against, honestly labelled.
    const summary = JSON.parse(r.out.trim().split('\n').at(-1)!) as {
      type: string;
      bomParts: string[];
      fetched: { path: string; verified: string; archive?: { sha256: string } }[];
    };
    expect(summary.type).toBe('bundle-created');
    expect(summary.bomParts).toEqual(['images', 'charts', 'files', 'binaries']);
    const verified = Object.fromEntries(summary.fetched.map((f) => [f.path, f.verified]));
    expect(verified).toEqual({
      'bin/helm': 'upstream-sha256-file',
      'bin/kubeadm': 'upstream-sha256-file',
      'charts/app-1.2.3.tgz': 'index',
      'files/kubelet/kubelet.service': 'not-pinned',
    });
    expect(summary.fetched.find((f) => f.path === 'bin/helm')!.archive!.sha256).toBe(
      sha256(helmArchives.arm64!),
    );
    // Only the arm64 files were asked for.
    expect(files.asked.filter((p) => p.includes('amd64'))).toEqual([]);

    // The images, narrowed to linux/arm64, as skopeo reads them.
    const archive = join(out, 'images', 'images.oci.tar');
    const index = JSON.parse(
      await skopeo('inspect', '--raw', `oci-archive:${archive}:${REGISTRY}/ustart/multi:2.0`),
    ) as { manifests: { digest: string; platform: { architecture: string } }[] };
    expect(index.manifests.map((m) => [m.platform.architecture, m.digest])).toEqual([
      ['arm64', multi.arm64.manifest.digest],
    ]);
    await skopeo(
      'copy',
      `oci-archive:${archive}:${REGISTRY}/ustart/hello:1.0`,
      `dir:${join(dir, 'hello-copy')}`,
    );
  });

  it('--bom chooses parts, --no-bom and --only-added take none, and bad choices are refused', async () => {
    // Charts alone: no registry, no binaries.
    const charts = await create(
      'charts-only',
      '--arch',
      'amd64',
      '--bom-file',
      bomFile,
      '--bom',
      'charts',
      ...mirrors(),
      '--image-cache',
      join(dir, 'cache'),
      '--json-events',
    );
    expect(charts.err).toBe('');
    expect(charts.code).toBe(0);
    const entries = (
      JSON.parse(await readFile(join(dir, 'charts-only', 'bundle.json'), 'utf8')) as {
        entries: { path: string }[];
      }
    ).entries.map((e) => e.path);
    expect(entries).toEqual(['charts/app-1.2.3.tgz']);

    const refused = async (args: string[], message: string) => {
      const r = await create(`refused-${randomBytes(3).toString('hex')}`, ...args);
      expect(r.code).not.toBe(0);
      expect(r.err).toContain(message);
    };
    await refused(['--only-added', '--bom', 'images'], '--only-added promises no downloads');
    await refused(['--no-bom', '--bom-file', bomFile], '--no-bom takes nothing from it');
    await refused(['--bom', 'images,sources'], '(sources is not one)');
    await refused(
      ['--no-bom', '--mirror-url', `https://dl.example.com=${files.url}/dl`],
      '--mirror-url and --ca-file choose how charts, files and binaries are fetched',
    );
    await refused(
      ['--bom-file', bomFile, '--bom', 'binaries', '--arch', 'riscv64'],
      'the bill of materials has binaries for amd64 and arm64, not riscv64',
    );
    // kubeadm of another Kubernetes than the plan's: the hosts would refuse it.
    const other = join(dir, 'bom-1.30.yaml');
    await writeFile(
      other,
      (await readFile(bomFile, 'utf8')).replaceAll('version: v1.31.4', 'version: v1.30.8'),
    );
    await refused(
      ['--bom-file', other, '--bom', 'binaries', '--arch', 'amd64'],
      "the plan asks for Kubernetes 1.31.4 (kubernetes.version), but the bill of materials' kubeadm, kubelet and kubectl are 1.30.8",
    );
    await refused(['--bom-file', join(dir, 'none.yaml')], 'none.yaml: cannot read the bill');
  });
});

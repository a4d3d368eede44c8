/**
 * pullImages against a real registry: Debian's docker-registry behind token authentication
 * (a token server run here), images the test builds and pushes itself, a pull-through
 * cache as the mirror, and a proxy that counts, corrupts and cuts. skopeo (Debian) judges
 * the layouts. Needs the docker-registry, skopeo and openssl packages.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/support/run-cli.js';
import { assetPath } from '../../util/assets.js';
import type { BundleEvent } from '../events.js';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import {
  blobOf,
  buildImage,
  buildIndex,
  Pusher,
  skopeo,
  startDamageProxy,
  failure,
  startRegistry,
  startTokenServer,
  writeLayerFile,
  type Blob,
  type BuiltImage,
  type DamageProxy,
  type Registry,
  type TokenServer,
} from '../../../test/support/oci-registry.js';
import {
  loadMirrorCredentials,
  pullImages,
  UPSTREAM_DIGEST_ANNOTATION,
  type PullImagesOptions,
} from './index.js';

const BIG = 4 * 1024 * 1024;

let dir: string;
let tokens: TokenServer;
let upstream: Registry;
/** What the image references name: a counting proxy in front of the upstream registry. */
let front: DamageProxy;
let mirror: Registry;
let mirrorFront: DamageProxy;
let big: Blob;
let multiIndex: Blob;
let multi: { amd64: BuiltImage; arm64: BuiltImage; s390x: BuiltImage; attestation: BuiltImage };
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-oci-'));
  tokens = await startTokenServer(join(dir, 'tokens'));
  stops.push(() => tokens.stop());
  upstream = await startRegistry({ dir: join(dir, 'upstream'), tokenServer: tokens });
  stops.push(() => upstream.stop());
  front = await startDamageProxy(upstream.url);
  stops.push(() => front.stop());
  mirror = await startRegistry({ dir: join(dir, 'mirror'), proxyOf: upstream.url });
  stops.push(() => mirror.stop());
  mirrorFront = await startDamageProxy(mirror.url);
  stops.push(() => mirrorFront.stop());

  const push = new Pusher(upstream, tokens);
  const amd64 = { os: 'linux', architecture: 'amd64' };
  await push.image(
    'ustart/hello',
    '1.0',
    buildImage('oci', amd64, { 'hello.txt': 'hello\n', 'etc/motd': 'uStart\n' }),
  );

  // A multi-arch index as buildx publishes them: three platforms sharing a base layer, plus
  // an attestation manifest (platform unknown/unknown).
  const base = blobOf(
    'application/vnd.oci.image.layer.v1.tar+gzip',
    gzipSync(Buffer.from('base layer')),
  );
  multi = {
    amd64: buildImage('oci', amd64, { arch: 'amd64\n' }, [base]),
    arm64: buildImage(
      'oci',
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { arch: 'arm64\n' },
      [base],
    ),
    s390x: buildImage('oci', { os: 'linux', architecture: 's390x' }, { arch: 's390x\n' }, [base]),
    attestation: buildImage(
      'oci',
      { os: 'unknown', architecture: 'unknown' },
      { 'sbom.json': '{}' },
    ),
  };
  for (const image of Object.values(multi)) await push.image('ustart/multi', undefined, image);
  multiIndex = buildIndex('oci', [
    { image: multi.amd64, platform: { os: 'linux', architecture: 'amd64' } },
    { image: multi.arm64, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { image: multi.s390x, platform: { os: 'linux', architecture: 's390x' } },
    {
      image: multi.attestation,
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: {
        'vnd.docker.reference.type': 'attestation-manifest',
        'vnd.docker.reference.digest': multi.amd64.manifest.digest,
      },
    },
  ]);
  await push.manifest('ustart/multi', '1.0', multiIndex);

  // Docker media types: a manifest list of amd64 and arm/v7.
  const dAmd = buildImage('docker', amd64, { 'd.txt': 'docker amd64\n' });
  const dArm = buildImage(
    'docker',
    { os: 'linux', architecture: 'arm', variant: 'v7' },
    { 'd.txt': 'docker arm\n' },
  );
  await push.image('ustart/dmulti', undefined, dAmd);
  await push.image('ustart/dmulti', undefined, dArm);
  await push.manifest(
    'ustart/dmulti',
    '2.0',
    buildIndex('docker', [
      { image: dAmd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: dArm, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    ]),
  );
  await push.image('ustart/dsingle', '1.0', buildImage('docker', amd64, { 's.txt': 'single\n' }));
  await push.image(
    'ustart/armonly',
    '1.0',
    buildImage('oci', { os: 'linux', architecture: 'arm', variant: 'v7' }, { a: 'arm\n' }),
  );

  big = await writeLayerFile(join(dir, 'big.tar'), BIG);
  await push.image('ustart/big', '1.0', buildImage('oci', amd64, {}, [big]));
}, 120_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  front.records.length = 0;
  front.rules.length = 0;
  mirrorFront.records.length = 0;
  mirrorFront.rules.length = 0;
  mirrorFront.basic = undefined;
});

let runs = 0;
async function pull(images: string[], extra: Partial<PullImagesOptions> = {}) {
  const events: BundleEvent[] = [];
  const out = join(dir, `layout-${++runs}`);
  const result = await pullImages({
    images,
    out,
    cacheDir: join(dir, `cache-${runs}`),
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return { result, events, out };
}

/** Every blob in the layout hashes to its name. */
async function checkBlobs(out: string): Promise<number> {
  const names = await readdir(join(out, 'blobs', 'sha256'));
  for (const name of names) {
    const hex = createHash('sha256')
      .update(await readFile(join(out, 'blobs', 'sha256', name)))
      .digest('hex');
    expect(hex).toBe(name);
  }
  return names.length;
}

const blobGets = (proxy: DamageProxy, digest?: string) =>
  proxy.records.filter(
    (r) => r.method === 'GET' && r.path.includes('/blobs/') && (!digest || r.path.includes(digest)),
  );

describe('pullImages from a registry with token auth', () => {
  it('writes an OCI layout skopeo reads, indexes narrowed to amd64 and arm64', async () => {
    const hello = `${front.host}/ustart/hello:1.0`;
    const multiRef = `${front.host}/ustart/multi:1.0`;
    const dmulti = `${front.host}/ustart/dmulti:2.0`;
    const dsingle = `${front.host}/ustart/dsingle:1.0`;
    const { result, events, out } = await pull([hello, multiRef, dmulti, dsingle]);

    expect(result.images.map((i) => i.reference)).toEqual([hello, multiRef, dmulti, dsingle]);
    expect(await checkBlobs(out)).toBeGreaterThan(10);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {
      manifests: { digest: string; mediaType: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name'])).toEqual([
      hello,
      multiRef,
      dmulti,
      dsingle,
    ]);
    expect(JSON.parse(await readFile(join(out, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });

    // The multi-arch index keeps amd64 and arm64 and amd64's attestation, in upstream's
    // order, descriptors unchanged.
    const pulledMulti = result.images[1]!;
    expect(pulledMulti.platforms).toEqual(['linux/amd64', 'linux/arm64/v8']);
    expect(pulledMulti.upstreamDigest).toBe(multiIndex.digest);
    expect(pulledMulti.digest).not.toBe(multiIndex.digest);
    expect(index.manifests[1]!.annotations[UPSTREAM_DIGEST_ANNOTATION]).toBe(multiIndex.digest);
    const narrowed = JSON.parse(
      await readFile(join(out, 'blobs', 'sha256', pulledMulti.digest.slice(7)), 'utf8'),
    ) as { mediaType: string; manifests: unknown[] };
    const upstreamIndex = JSON.parse((multiIndex.data as Buffer).toString('utf8')) as {
      manifests: unknown[];
    };
    expect(narrowed.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(narrowed.manifests).toEqual([0, 1, 3].map((i) => upstreamIndex.manifests[i]));
    // Nothing of s390x was stored (its base layer is shared with the others).
    for (const b of [multi.s390x.manifest, multi.s390x.blobs[0]!, multi.s390x.blobs[2]!]) {
      await expect(stat(join(out, 'blobs', 'sha256', b.digest.slice(7)))).rejects.toThrow();
    }
    await stat(join(out, 'blobs', 'sha256', multi.attestation.manifest.digest.slice(7)));
    // The Docker manifest list keeps its media type and only amd64 (arm/v7 is not asked for).
    expect(result.images[2]!.mediaType).toBe(
      'application/vnd.docker.distribution.manifest.list.v2+json',
    );
    expect(result.images[2]!.platforms).toEqual(['linux/amd64']);
    expect(result.images[3]!.mediaType).toBe(
      'application/vnd.docker.distribution.manifest.v2+json',
    );

    // skopeo reads every image; copies one whole, and the narrowed index with --all. Debian
    // 12's skopeo (containers/image < 5.35) looks up names only among OCI media types, so
    // the Docker-typed images are read from layouts of their own, where no name is needed.
    for (const ref of [hello, multiRef]) {
      const inspected = JSON.parse(await skopeo('inspect', `oci:${out}:${ref}`)) as {
        Architecture: string;
        Os: string;
      };
      expect(inspected).toMatchObject({ Architecture: 'amd64', Os: 'linux' });
    }
    for (const ref of [dmulti, dsingle]) {
      const alone = await pull([ref]);
      const inspected = JSON.parse(await skopeo('inspect', `oci:${alone.out}`)) as {
        Architecture: string;
        Os: string;
      };
      expect(inspected).toMatchObject({ Architecture: 'amd64', Os: 'linux' });
      await skopeo(
        'copy',
        `oci:${alone.out}`,
        `dir:${join(dir, `copied-${ref.split('/').pop()!}`)}`,
      );
    }
    const raw = JSON.parse(await skopeo('inspect', '--raw', `oci:${out}:${multiRef}`)) as {
      manifests: unknown[];
    };
    expect(raw.manifests).toHaveLength(3);
    await skopeo('copy', '--all', `oci:${out}:${multiRef}`, `dir:${join(dir, 'copied-multi')}`);
    await skopeo('copy', `oci:${out}:${hello}`, `dir:${join(dir, 'copied-hello')}`);
    expect((await readdir(join(dir, 'copied-hello'))).length).toBeGreaterThanOrEqual(4);

    // Anonymous pull tokens for each repository, scoped to pull.
    expect(
      tokens.requests.some(
        (r) => r.scope.includes('repository:ustart/multi:pull') && r.basic === undefined,
      ),
    ).toBe(true);
    // Progress: one download phase, every image finished, bytes add up.
    const finished = events
      .filter((e) => e.type === 'item-finished')
      .map((e) => (e as { item: string }).item);
    expect(finished.sort()).toEqual([hello, multiRef, dmulti, dsingle].sort());
    expect(events.at(-1)).toEqual({ type: 'phase-finished', phase: 'download' });
  });

  it('keeps upstream bytes and digest when every platform of an index is chosen', async () => {
    const ref = `${front.host}/ustart/multi:1.0`;
    const { result, out } = await pull([ref], {
      platforms: ['linux/amd64', 'linux/arm64', 'linux/s390x'],
    });
    expect(result.images[0]!.digest).toBe(multiIndex.digest);
    expect(result.images[0]!.upstreamDigest).toBe(multiIndex.digest);
    const stored = await readFile(join(out, 'blobs', 'sha256', multiIndex.digest.slice(7)));
    expect(stored.equals(multiIndex.data as Buffer)).toBe(true);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {
      manifests: { annotations: Record<string, string> }[];
    };
    expect(index.manifests[0]!.annotations[UPSTREAM_DIGEST_ANNOTATION]).toBeUndefined();
    await skopeo('copy', '--all', `oci:${out}:${ref}`, `dir:${join(dir, 'copied-all')}`);
  });

  it('downloads only what the cache lacks on a second run', async () => {
    const cacheDir = join(dir, 'cache-rerun');
    const images = [`${front.host}/ustart/multi:1.0`, `${front.host}/ustart/big:1.0`];
    const first = await pull(images, { cacheDir });
    expect(first.result.downloadedBytes).toBeGreaterThan(BIG);
    expect(blobGets(front).length).toBeGreaterThan(0);
    front.records.length = 0;
    const second = await pull(images, { cacheDir });
    expect(second.result.downloadedBytes).toBe(0);
    expect(second.result.cachedBytes).toBe(first.result.downloadedBytes + first.result.cachedBytes);
    expect(blobGets(front)).toEqual([]);
    // Tags are asked again (they can move); manifests pinned by digest come from the cache.
    expect(front.records.filter((r) => r.path.includes('/manifests/sha256:'))).toEqual([]);
    expect(second.result.images).toEqual(first.result.images);
  });
});

describe('mirrors', () => {
  it('fetches through a pull-through cache and never from the upstream it names', async () => {
    const images = [`${front.host}/ustart/multi:1.0`, `${front.host}/ustart/hello:1.0`];
    const direct = await pull(images);
    front.records.length = 0;
    const viaMirror = await pull(images, { mirrors: new Map([[front.host, mirror.url]]) });
    expect(front.records).toEqual([]);
    // Same content, same digests, whichever way it came.
    expect(viaMirror.result.images).toEqual(direct.result.images);
    const manifestLines = mirror.log.filter((l) =>
      /GET \/v2\/ustart\/multi\/manifests\/1\.0\?ns=127\.0\.0\.1/.test(l),
    );
    expect(manifestLines.length).toBeGreaterThan(0);
    await skopeo('inspect', `oci:${viaMirror.out}:${images[0]}`);
  });

  it('puts the mirror path in front of the repository, with Basic credentials from the environment', async () => {
    // mirrorFront serves the pull-through cache under /v2/<prefix>/… as Harbor does for a
    // proxy-cache project: the test's proxy strips the prefix before passing it on.
    const prefixed = await startPrefixStripper(mirror.url, 'hub-proxy');
    stops.push(() => prefixed.stop());
    mirrorFront.basic = { username: 'consultant', password: 's3cret-Pa55' };
    const image = `${front.host}/ustart/hello:1.0`;
    const viaPrefix = await startDamageProxy(prefixed.url);
    stops.push(() => viaPrefix.stop());
    viaPrefix.basic = mirrorFront.basic;
    const mirrors = new Map([['*', `${viaPrefix.url}/hub-proxy`]]);

    const events: BundleEvent[] = [];
    const refused = await failure(
      pullImages({
        images: [image],
        out: join(dir, 'no-creds'),
        cacheDir: join(dir, 'cache-nocreds'),
        mirrors,
        onEvent: (e) => events.push(e),
      }),
    );
    expect(refused.code).toBe('AuthFailed');
    expect(refused.message).toContain(image);
    expect(refused.message).toContain(viaPrefix.url);
    expect(refused.message).toContain('USTART_MIRROR_USERNAME');

    const credentials = await loadMirrorCredentials(undefined, {
      USTART_MIRROR_USERNAME: 'consultant',
      USTART_MIRROR_PASSWORD: 's3cret-Pa55',
    });
    const { result } = await pull([image], {
      mirrors,
      credentials,
      onEvent: (e) => events.push(e),
    });
    expect(result.images[0]!.reference).toBe(image);
    expect(
      viaPrefix.records.some(
        (r) => r.path.startsWith('/v2/hub-proxy/ustart/hello/manifests/1.0') && r.status === 200,
      ),
    ).toBe(true);
    expect(front.records).toEqual([]);
    // The password is in no event and no message.
    expect(JSON.stringify(events)).not.toContain('s3cret');
    expect(refused.message).not.toContain('s3cret');

    const wrong = await loadMirrorCredentials(undefined, {
      USTART_MIRROR_USERNAME: 'consultant',
      USTART_MIRROR_PASSWORD: 'wrong-one',
    });
    const denied = await failure(pull([image], { mirrors, credentials: wrong }));
    expect(denied.code).toBe('AuthFailed');
    expect(denied.message).not.toContain('wrong-one');
  });
});

describe('damage on the way', () => {
  it('refuses a corrupted blob, fetches it again and stores the right bytes', async () => {
    front.rules.push({ digest: big.digest, corrupt: true, times: 1 });
    const { result, events, out } = await pull([`${front.host}/ustart/big:1.0`]);
    expect(blobGets(front, big.digest).map((r) => r.status)).toEqual([200, 200]);
    const progressed = events.filter((e) => e.type === 'progressed');
    expect(progressed[0]).toMatchObject({
      phase: 'download',
      item: `${front.host}/ustart/big:1.0`,
      totalBytes: big.size,
      itemTotalBytes: big.size,
    });
    const retried = events.filter((e) => e.type === 'retried');
    expect(retried).toHaveLength(1);
    expect(JSON.stringify(retried[0])).toContain('refused');
    await checkBlobs(out);
    // Both copies crossed the network; only the second was kept.
    expect(result.downloadedBytes).toBe(2 * big.size);
    await skopeo(
      'copy',
      `oci:${out}:${front.host}/ustart/big:1.0`,
      `dir:${join(dir, 'copied-big')}`,
    );
  });

  it('gives up after the retries when every copy is damaged, and stores nothing', async () => {
    front.rules.push({ digest: big.digest, corrupt: true, times: 10 });
    const cacheDir = join(dir, 'cache-broken');
    const out = join(dir, 'layout-broken');
    const e = await failure(
      pullImages({ images: [`${front.host}/ustart/big:1.0`], out, cacheDir, retries: 2 }),
    );
    expect(e.code).toBe('BundleCorrupt');
    expect(e.message).toContain(`${front.host}/ustart/big:1.0`);
    expect(e.message).toContain(big.digest);
    expect(e.message).toContain('failed 3 times');
    expect(blobGets(front, big.digest)).toHaveLength(3);
    await expect(stat(join(cacheDir, 'blobs', 'sha256', big.digest.slice(7)))).rejects.toThrow();
    await expect(stat(join(cacheDir, 'partial', 'sha256', big.digest.slice(7)))).rejects.toThrow();
    await expect(stat(out)).rejects.toThrow();
  });

  it('resumes a download cut off in an earlier run with a Range request', async () => {
    const cacheDir = join(dir, 'cache-cut');
    const image = `${front.host}/ustart/big:1.0`;
    const cut = 1024 * 1024 + 17;
    front.rules.push({ digest: big.digest, cutAfter: cut, times: 1 });
    const first = await failure(pull([image], { cacheDir, retries: 0 }));
    expect(first.code).toBe('BundleBuildFailed');
    expect(first.message).toContain('broke off');
    const partial = await stat(join(cacheDir, 'partial', 'sha256', big.digest.slice(7)));
    // What arrived before the cut was kept (bytes still buffered in the socket when it
    // broke may be lost, never more than were sent).
    expect(partial.size).toBeGreaterThan(cut / 2);
    expect(partial.size).toBeLessThanOrEqual(cut);
    const kept = partial.size;

    front.records.length = 0;
    const second = await pull([image], { cacheDir });
    const gets = blobGets(front, big.digest);
    expect(gets).toHaveLength(1);
    expect(gets[0]!.range).toBe(`bytes=${kept}-`);
    expect(gets[0]!.status).toBe(206);
    expect(gets[0]!.bytes).toBe(big.size - kept);
    expect(second.result.downloadedBytes).toBe(big.size - kept);
    await checkBlobs(second.out);
  });

  it('resumes within one run after a cut, and starts over when the server ignores Range', async () => {
    const image = `${front.host}/ustart/big:1.0`;
    const cut = 2 * 1024 * 1024;
    front.rules.push({ digest: big.digest, cutAfter: cut, times: 1 });
    const within = await pull([image]);
    const [whole, rest] = blobGets(front, big.digest);
    expect([whole!.range, whole!.status, rest!.status]).toEqual([undefined, 200, 206]);
    const from = Number(/^bytes=(\d+)-$/.exec(rest!.range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(cut);
    expect(rest!.bytes).toBe(big.size - from);
    await checkBlobs(within.out);

    front.records.length = 0;
    front.rules.length = 0;
    front.rules.push(
      { digest: big.digest, cutAfter: cut, times: 1 },
      { digest: big.digest, ignoreRange: true, times: 0 },
    );
    const ignored = await pull([image]);
    const gets = blobGets(front, big.digest);
    expect(gets.map((r) => r.status)).toEqual([200, 200]);
    expect(gets[1]!.bytes).toBe(big.size);
    await checkBlobs(ignored.out);
  });
});

describe('errors name the image, the registry and what to do', () => {
  it('a tag that does not exist', async () => {
    const e = await failure(pull([`${front.host}/ustart/hello:9.9`]));
    expect(e.message).toContain(`${front.host}/ustart/hello:9.9`);
    expect(e.message).toContain(`registry ${front.host}`);
    expect(e.message).toContain('HTTP 404');
    expect(e.detail.reason).toBe('not-found');
  });

  it('an image without any of the chosen platforms', async () => {
    const e = await failure(pull([`${front.host}/ustart/armonly:1.0`]));
    expect(e.detail.reason).toBe('no-platform');
    expect(e.message).toContain('linux/amd64 or linux/arm64');
    expect(e.message).toContain('linux/arm/v7');
    const ok = await pull([`${front.host}/ustart/armonly:1.0`], { platforms: ['linux/arm/v7'] });
    expect(ok.result.images[0]!.platforms).toEqual(['linux/arm/v7']);
  });

  it('a token that does not grant the pull', async () => {
    tokens.deny.add('ustart/hello');
    try {
      const e = await failure(pull([`${front.host}/ustart/hello:1.0`]));
      expect(e.code).toBe('AuthFailed');
      expect(e.message).toContain('HTTP 401 even with a token');
      expect(e.message).toContain('ustart/hello');
    } finally {
      tokens.deny.delete('ustart/hello');
    }
  });

  it('a media type uStart does not pull', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/v2/') return void res.end('{}');
      res.setHeader('content-type', 'application/vnd.docker.distribution.manifest.v1+prettyjws');
      res.end(JSON.stringify({ schemaVersion: 1, name: 'old/image', tag: '1', fsLayers: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise((resolve) => server.close(() => resolve())));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const e = await failure(pull([`${host}/old/image:1`]));
    expect(e.code).toBe('Unsupported');
    expect(e.message).toContain(`${host}/old/image:1`);
    expect(e.message).toContain('schema 1');
  });
});

/** A proxy that serves `target` under `/v2/<prefix>/…` (as a Harbor proxy-cache project). */
async function startPrefixStripper(
  target: string,
  prefix: string,
): Promise<{ url: string; stop(): Promise<void> }> {
  const upstreamUrl = new URL(target);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').replace(`/v2/${prefix}/`, '/v2/');
    const out = http.request(
      {
        host: upstreamUrl.hostname,
        port: upstreamUrl.port,
        path,
        method: req.method,
        headers: { ...req.headers, host: upstreamUrl.host },
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    out.once('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('ustart bundle create --no-bom --image', () => {
  it('puts the pulled layout into the bundle as images/images.oci.tar, through a mirror', async () => {
    const runbook = join(dir, 'empty-runbook');
    await mkdir(runbook, { recursive: true });
    const bundle = join(dir, 'bundle-with-images');
    const multiRef = `${front.host}/ustart/multi:1.0`;
    const { code, err } = await runCli(
      'bundle',
      'create',
      '--plan',
      assetPath('samples', 'demo-stuttgart.yaml'),
      '--out',
      bundle,
      '--packages',
      '',
      '--runbook',
      runbook,
      '--arch',
      'amd64',
      // Only these images: the bill of materials' would come from the internet.
      '--no-bom',
      '--image',
      multiRef,
      '--image',
      `${front.host}/ustart/dmulti:2.0`,
      '--platform',
      'linux/amd64',
      '--platform',
      'linux/arm/v7',
      '--mirror',
      `${front.host}=${mirror.url}`,
      '--image-cache',
      join(dir, 'cache-cli'),
    );
    expect(err).not.toContain('error');
    expect(code).toBe(0);
    expect(front.records).toEqual([]);
    const manifest = JSON.parse(await readFile(join(bundle, 'bundle.json'), 'utf8')) as {
      entries: { path: string; kind: string }[];
    };
    expect(manifest.entries).toContainEqual(
      expect.objectContaining({ path: 'images/images.oci.tar', kind: 'image' }),
    );
    const archive = join(bundle, 'images', 'images.oci.tar');
    const raw = JSON.parse(
      await skopeo('inspect', '--raw', `oci-archive:${archive}:${multiRef}`),
    ) as {
      manifests: { platform: { architecture: string } }[];
    };
    // amd64 and its attestation; no arm64/v8 or arm/v7 in this index.
    expect(raw.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'unknown']);
    // skopeo copies the image out of the archive.
    await skopeo(
      'copy',
      `oci-archive:${archive}:${multiRef}`,
      `dir:${join(dir, 'copied-from-bundle')}`,
    );
  });
});

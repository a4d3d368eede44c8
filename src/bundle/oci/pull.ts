/**
 * `pullImages`: images from OCI registries (or their mirrors) into one OCI image layout
 * (docs/bundle-format.md, "Images"). First every reference is resolved to its manifests
 * (multi-arch indexes narrowed to the chosen platforms), then every blob not yet in the
 * cache is downloaded, a few at a time, largest first, each checked against its digest
 * while it streams; finally the layout is written from the cache (hard links where the
 * file system allows) and appears whole under its name or not at all.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { UstartError } from '../../errors.js';
import { throttleProgress, type BundleEventListener } from '../events.js';
import { mapLimited } from '../map-limited.js';
import {
  ContentCache,
  hexOf,
  sha256Of,
  type BlobSource,
  type Descriptor,
  type FetchPolicy,
  type Platform,
} from './cache.js';
import {
  checkDescriptor,
  fetchManifest,
  formatPlatform,
  isIndexType,
  MEDIA_TYPES,
  parseImageManifest,
  parseIndex,
  parsePlatform,
  platformMatches,
} from './manifest.js';
import { endpointFor, type CredentialMap, type MirrorMap } from './mirrors.js';
import { formatImageReference, manifestReference, parseImageReference } from './reference.js';
import { describeEndpoint, RegistryClient } from './registry.js';

export const DEFAULT_PLATFORMS = ['linux/amd64', 'linux/arm64'] as const;
/** The index.json annotation that keeps the upstream digest of a narrowed index. */
export const UPSTREAM_DIGEST_ANNOTATION = 'com.uhurutec.ustart.upstream-digest';

export interface PullImagesOptions {
  /** Image references as people write them (`nginx:1.27`, `quay.io/ceph/ceph:v18@sha256:…`). */
  images: readonly string[];
  /** The OCI image layout folder to create; it must not exist. */
  out: string;
  /** Download cache (content addressed, resumable); default `$XDG_CACHE_HOME/ustart/oci` or `~/.cache/ustart/oci`. */
  cacheDir?: string;
  /** `OS/ARCH[/VARIANT]`; multi-arch indexes keep only these. Default linux/amd64 and linux/arm64. */
  platforms?: readonly string[];
  /** Mirror URLs by upstream registry or `*` (mirrors.ts). */
  mirrors?: MirrorMap;
  /** Basic credentials by mirror host or `*` (mirrors.ts); never sent to upstream registries. */
  credentials?: CredentialMap;
  /**
   * Digests pinned for references (the bill of materials' `digest`), keyed by the normalised
   * reference with its tag (`docker.io/rook/ceph:v1.15.6`). A pinned image is pulled by that
   * digest, and only when its tag still resolves to it: a tag pushed again upstream is
   * refused with both digests, never pulled silently.
   */
  pins?: ReadonlyMap<string, string>;
  /** Downloads at once (default 4). */
  concurrency?: number;
  /** Further attempts of a blob or manifest after a broken connection or a wrong digest (default 3). */
  retries?: number;
  onEvent?: BundleEventListener;
  signal?: AbortSignal;
}

export interface PulledImage {
  /** The normalised reference (`docker.io/library/nginx:1.27`), also its name in the layout. */
  reference: string;
  /** Digest of what the layout's index.json points at (the narrowed index, or the manifest). */
  digest: string;
  mediaType: string;
  size: number;
  /** The digest upstream serves for the reference (differs from `digest` when narrowed). */
  upstreamDigest: string;
  /** Platforms kept (empty for a single-platform image whose config names none). */
  platforms: string[];
}

export interface PulledImages {
  out: string;
  images: PulledImage[];
  /** Bytes received from registries in this run (blobs; manifests are not counted). */
  downloadedBytes: number;
  /** Bytes of blobs the cache already held. */
  cachedBytes: number;
  blobs: number;
}

interface Resolved {
  reference: string;
  source: BlobSource;
  top: { mediaType: string; digest: string; bytes: Buffer; upstreamDigest: string };
  platforms: string[];
  /** Every blob of the image (manifests included, which are already in the cache). */
  blobs: Descriptor[];
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ustart', 'oci');
}

export async function pullImages(options: PullImagesOptions): Promise<PulledImages> {
  const emit = throttleProgress(options.onEvent);
  const platforms = (options.platforms ?? DEFAULT_PLATFORMS).map(parsePlatform);
  const references = [
    ...new Set(options.images.map((i) => formatImageReference(parseImageReference(i)))),
  ];
  const concurrency = options.concurrency ?? 4;
  const retries = options.retries ?? 3;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UstartError(
      'InvalidArgument',
      `concurrency must be a whole number ≥ 1, not ${concurrency}.`,
    );
  if (await stat(options.out).catch(() => undefined)) {
    throw new UstartError(
      'InvalidArgument',
      `${options.out} already exists; nothing was written. Remove it or choose another output.`,
    );
  }
  const cache = new ContentCache(options.cacheDir ?? defaultCacheDir());
  await cache.init();
  const client = new RegistryClient();
  try {
    emit({ type: 'phase-started', phase: 'download', totalItems: references.length });
    const policy = (item: string): FetchPolicy => ({
      retries,
      ...(options.signal ? { signal: options.signal } : {}),
      onRetry: (attempt, message) =>
        emit({ type: 'retried', phase: 'download', item, attempt, message }),
    });
    const resolved = await mapLimited(references, concurrency, (reference) =>
      resolveImage(reference, client, cache, platforms, options, policy(reference)),
    );

    // Every blob once, whichever images share it; the cache's blobs need no download.
    const owners = new Map<string, { descriptor: Descriptor; images: Resolved[] }>();
    for (const image of resolved) {
      for (const blob of image.blobs) {
        const entry = owners.get(blob.digest) ?? { descriptor: blob, images: [] };
        if (!entry.images.includes(image)) entry.images.push(image);
        owners.set(blob.digest, entry);
      }
    }
    const missing: { descriptor: Descriptor; images: Resolved[] }[] = [];
    let cachedBytes = 0;
    for (const entry of owners.values()) {
      if (await cache.has(entry.descriptor.digest, entry.descriptor.size))
        cachedBytes += entry.descriptor.size;
      else missing.push(entry);
    }
    missing.sort((a, b) => b.descriptor.size - a.descriptor.size);
    const totalBytes = missing.reduce((n, e) => n + e.descriptor.size, 0);
    const imageTotals = new Map<Resolved, number>();
    const imageDone = new Map<Resolved, number>();
    const imagePending = new Map<Resolved, number>();
    for (const entry of missing) {
      for (const image of entry.images) {
        imageTotals.set(image, (imageTotals.get(image) ?? 0) + entry.descriptor.size);
        imagePending.set(image, (imagePending.get(image) ?? 0) + 1);
      }
    }
    for (const image of resolved) {
      if (!imagePending.get(image))
        emit({ type: 'item-finished', phase: 'download', item: image.reference });
    }
    let doneBytes = 0;
    let downloadedBytes = 0;
    await mapLimited(missing, concurrency, async (entry) => {
      const first = entry.images[0]!;
      const received = await cache.fetchBlob(
        first.source,
        entry.descriptor,
        policy(first.reference),
        (delta) => {
          doneBytes += delta;
          for (const image of entry.images)
            imageDone.set(image, (imageDone.get(image) ?? 0) + delta);
          emit({
            type: 'progressed',
            phase: 'download',
            doneBytes,
            totalBytes,
            item: first.reference,
            itemDoneBytes: imageDone.get(first) ?? 0,
            itemTotalBytes: imageTotals.get(first) ?? 0,
          });
        },
      );
      // Not `downloadedBytes += await …`: that reads the sum before the await and loses
      // what the other downloads added meanwhile.
      downloadedBytes += received;
      for (const image of entry.images) {
        const left = (imagePending.get(image) ?? 1) - 1;
        imagePending.set(image, left);
        if (left === 0) emit({ type: 'item-finished', phase: 'download', item: image.reference });
      }
    });
    emit({ type: 'phase-finished', phase: 'download' });

    const images = await writeLayout(options.out, cache, resolved);
    return { out: options.out, images, downloadedBytes, cachedBytes, blobs: owners.size };
  } finally {
    client.dispose();
  }
}

async function resolveImage(
  reference: string,
  client: RegistryClient,
  cache: ContentCache,
  platforms: readonly Platform[],
  options: PullImagesOptions,
  policy: FetchPolicy,
): Promise<Resolved> {
  const ref = parseImageReference(reference);
  const endpoint = endpointFor(
    ref.registry,
    options.mirrors ?? new Map(),
    options.credentials ?? new Map(),
  );
  const source: BlobSource = { client, endpoint, repository: ref.repository, image: reference };
  const pin = ref.digest ? undefined : options.pins?.get(reference);
  if (pin) {
    // The registry keeps a manifest pushed earlier under its digest after its tag moved
    // (docs/upstream-facts.md#oci-tag-moves), so a pull by digest alone would not notice;
    // the tag is asked for first and must still name the pin.
    const tagged = await fetchManifest(source, cache, manifestReference(ref), policy);
    if (tagged.digest !== pin) {
      throw new UstartError(
        'BundleCorrupt',
        `${reference}: the bill of materials pins ${pin}, but ${describeEndpoint(endpoint)} serves ${tagged.digest} for the tag ${ref.tag}: ` +
          'the tag was pushed again upstream (or the mirror holds another image under it). Nothing was pulled. ' +
          'Find out why it changed; if the new image is the right one, pin it again with "ustart bom pin" and review the change it reports.',
        {
          detail: { image: reference, reason: 'pin-mismatch', pinned: pin, served: tagged.digest },
        },
      );
    }
  }
  // By the pinned digest (the cache holds the bytes just checked), else by tag or own digest.
  const top = await fetchManifest(source, cache, pin ?? manifestReference(ref), policy);
  const blobs: Descriptor[] = [];
  const addImage = async (bytes: Buffer) => {
    const manifest = parseImageManifest(source, bytes);
    blobs.push(manifest.config, ...manifest.layers);
    return manifest;
  };

  if (!isIndexType(top.mediaType)) {
    const manifest = await addImage(top.bytes);
    // A single-platform image: its config says which platform it is.
    await cache.fetchBlob(source, manifest.config, policy);
    const config = JSON.parse(
      (await cache.read(manifest.config.digest)).toString('utf8'),
    ) as Partial<Platform>;
    let kept: string[] = [];
    if (typeof config.os === 'string' && typeof config.architecture === 'string') {
      const platform = {
        os: config.os,
        architecture: config.architecture,
        ...(config.variant ? { variant: config.variant } : {}),
      };
      if (!platformMatches(platform, platforms))
        throw noPlatform(source, platforms, [formatPlatform(platform)]);
      kept = [formatPlatform(platform)];
    }
    return {
      reference,
      source,
      top: { ...top, upstreamDigest: top.digest },
      platforms: kept,
      blobs: [{ mediaType: top.mediaType, digest: top.digest, size: top.bytes.length }, ...blobs],
    };
  }

  const index = parseIndex(source, top.bytes);
  const runnable = index.manifests.filter(
    (d) =>
      d.platform !== undefined &&
      !isAttestation(d) &&
      platformMatches(d.platform, platforms) &&
      !isIndexType(d.mediaType),
  );
  if (runnable.length === 0) {
    throw noPlatform(
      source,
      platforms,
      index.manifests.flatMap((d) =>
        d.platform && !isAttestation(d) ? [formatPlatform(d.platform)] : [],
      ),
    );
  }
  // BuildKit's attestations (SBOM, provenance) stay with the platform they describe, so an
  // index whose every platform is chosen keeps upstream's bytes and digest
  // (docs/upstream-facts.md#oci-attestation-manifest).
  const kept = new Set(runnable.map((d) => d.digest));
  const keep = index.manifests.filter(
    (d) =>
      kept.has(d.digest) ||
      (isAttestation(d) &&
        kept.has(d.annotations?.['vnd.docker.reference.digest'] ?? '') &&
        !isIndexType(d.mediaType)),
  );
  for (const d of keep) checkDescriptor(source, d);
  const children: Descriptor[] = [];
  for (const d of keep) {
    const child = await fetchManifest(source, cache, d.digest, policy);
    if (isIndexType(child.mediaType) || child.mediaType !== d.mediaType) {
      throw new UstartError(
        'Unsupported',
        `${reference}: the index names ${d.digest} as ${d.mediaType}, but it is ${child.mediaType}; nested or mislabelled indexes are not supported.`,
        { detail: { image: reference, reason: 'media-type' } },
      );
    }
    await addImage(child.bytes);
    children.push({ mediaType: d.mediaType, digest: d.digest, size: d.size });
  }
  // The narrowed index keeps upstream's bytes when nothing was dropped, so its digest stays
  // the one upstream publishes; otherwise it is upstream's index with only the kept
  // descriptors, unchanged, in upstream's order (docs/bundle-format.md, "Images").
  let bytes = top.bytes;
  if (keep.length !== index.manifests.length) {
    const narrowed = JSON.parse(top.bytes.toString('utf8')) as { manifests: unknown[] };
    const original = narrowed.manifests;
    narrowed.manifests = original.filter((_, i) => keep.includes(index.manifests[i]!));
    bytes = Buffer.from(JSON.stringify(narrowed));
  }
  const digest = sha256Of(bytes);
  await cache.put(digest, bytes);
  return {
    reference,
    source,
    top: { mediaType: top.mediaType, digest, bytes, upstreamDigest: top.digest },
    platforms: runnable.map((d) => formatPlatform(d.platform!)),
    blobs: [{ mediaType: top.mediaType, digest, size: bytes.length }, ...children, ...blobs],
  };
}

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
}

function noPlatform(
  source: BlobSource,
  wanted: readonly Platform[],
  offered: string[],
): UstartError {
  return new UstartError(
    'BundleBuildFailed',
    `${source.image} from ${describeEndpoint(source.endpoint)} has no image for ${wanted.map(formatPlatform).join(' or ')}; ` +
      `it offers ${offered.length ? [...new Set(offered)].join(', ') : 'no platform it names'}. ` +
      'Choose another tag, or add the platform the site runs (--platform).',
    { detail: { image: source.image, reason: 'no-platform', offered } },
  );
}

/** Writes the layout from the cache beside `out`, then renames it into place. */
async function writeLayout(
  out: string,
  cache: ContentCache,
  images: readonly Resolved[],
): Promise<PulledImage[]> {
  const partial = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.partial`);
  const blobDir = join(partial, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  try {
    const placed = new Set<string>();
    const manifests = [];
    const pulled: PulledImage[] = [];
    for (const image of images) {
      for (const blob of image.blobs) {
        if (placed.has(blob.digest)) continue;
        placed.add(blob.digest);
        await linkOrCopy(cache.blobPath(blob.digest), join(blobDir, hexOf(blob.digest)));
      }
      const narrowed = image.top.digest !== image.top.upstreamDigest;
      manifests.push({
        mediaType: image.top.mediaType,
        digest: image.top.digest,
        size: image.top.bytes.length,
        annotations: {
          // containerd's import names the image after this one (docs/upstream-facts.md#oci-layout-names).
          'io.containerd.image.name': image.reference,
          'org.opencontainers.image.ref.name': image.reference,
          ...(narrowed ? { [UPSTREAM_DIGEST_ANNOTATION]: image.top.upstreamDigest } : {}),
        },
      });
      pulled.push({
        reference: image.reference,
        digest: image.top.digest,
        mediaType: image.top.mediaType,
        size: image.top.bytes.length,
        upstreamDigest: image.top.upstreamDigest,
        platforms: image.platforms,
      });
    }
    await writeFile(join(partial, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(partial, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }, null, 2) +
        '\n',
    );
    await rename(partial, out);
    return pulled;
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    throw e;
  }
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw e;
    await copyFile(from, to);
  }
}

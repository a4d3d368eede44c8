/**
 * Manifests: the four media types uStart pulls (docs/upstream-facts.md#oci-media-types),
 * fetched with content negotiation, checked against their digest, and multi-arch indexes
 * narrowed to the chosen platforms.
 */
import { z } from 'zod';
import { isUstartError, UstartError } from '../../errors.js';
import {
  sha256Of,
  type BlobSource,
  type ContentCache,
  type Descriptor,
  type FetchPolicy,
  type Platform,
} from './cache.js';
import { header, readBody } from './registry.js';
import { describeEndpoint } from './registry.js';
import { SHA256_DIGEST } from './reference.js';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];
const IMAGE_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];
const ACCEPT = [...INDEX_TYPES, ...IMAGE_TYPES].join(', ');
/** Larger manifests are refused: a manifest is a few KiB; this bounds what a registry can make us hold. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export const isIndexType = (t: string) => INDEX_TYPES.includes(t);
export const isImageType = (t: string) => IMAGE_TYPES.includes(t);

const DescriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest: z.string(),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: z
    .looseObject({ os: z.string(), architecture: z.string(), variant: z.string().optional() })
    .optional(),
  urls: z.array(z.string()).optional(),
});
const IndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(DescriptorSchema),
});
const ImageSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
});

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  bytes: Buffer;
}

/**
 * Fetches a manifest by tag or digest, or reads it from the cache when pinned by a digest
 * the cache holds. The body's sha256 must match the pinned digest and, when the registry
 * sends one, `Docker-Content-Digest` (docs/upstream-facts.md#oci-dist-pull); a mismatch is
 * retried, then refused.
 */
export async function fetchManifest(
  source: BlobSource,
  cache: ContentCache,
  reference: string,
  policy: FetchPolicy,
): Promise<FetchedManifest> {
  const pinned = SHA256_DIGEST.test(reference) ? reference : undefined;
  if (pinned && (await cache.has(pinned))) {
    const bytes = await cache.read(pinned);
    return { bytes, digest: pinned, mediaType: mediaTypeOf(source, bytes, undefined) };
  }
  let lastProblem = '';
  let corrupt = false;
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    policy.signal?.throwIfAborted();
    if (attempt > 0) policy.onRetry?.(attempt, lastProblem);
    corrupt = false;
    let response;
    try {
      response = await source.client.get({
        endpoint: source.endpoint,
        repository: source.repository,
        path: `manifests/${reference}`,
        image: source.image,
        headers: { accept: ACCEPT },
        ...(policy.signal ? { signal: policy.signal } : {}),
      });
    } catch (e) {
      // A dropped or refused connection is worth another attempt; cancelling is not.
      if (!isUstartError(e, 'ConnectionFailed')) throw e;
      lastProblem = e.message;
      continue;
    }
    const status = response.statusCode ?? 0;
    if (status === 404) {
      response.resume();
      throw new UstartError(
        'BundleBuildFailed',
        `${source.image}: ${describeEndpoint(source.endpoint)} has no manifest ${reference} in ${source.endpoint.prefix}${source.repository} (HTTP 404). ` +
          'Check the repository and tag or digest in the bill of materials' +
          (source.endpoint.mirror ? ', and that the mirror proxies this registry.' : '.'),
        { detail: { image: source.image, reason: 'not-found', status } },
      );
    }
    let bytes: Buffer;
    try {
      bytes = await readBody(response, MAX_MANIFEST_BYTES);
    } catch (e) {
      lastProblem = (e as Error).message;
      continue;
    }
    if (status !== 200) {
      lastProblem = `HTTP ${status}: ${bytes.toString('utf8').slice(0, 300)}`;
      if (status >= 500 || status === 429) continue;
      throw new UstartError(
        'BundleBuildFailed',
        `${source.image}: fetching manifest ${reference} from ${describeEndpoint(source.endpoint)} failed: ${lastProblem}.`,
        {
          detail: { image: source.image, reason: 'http', status },
        },
      );
    }
    const digest = sha256Of(bytes);
    const announced = header(response, 'docker-content-digest');
    if (pinned && digest !== pinned) {
      corrupt = true;
      lastProblem = `its content has ${digest}, not the ${pinned} asked for`;
      continue;
    }
    if (announced && announced.startsWith('sha256:') && announced !== digest) {
      corrupt = true;
      lastProblem = `its content has ${digest}, but the registry says ${announced}`;
      continue;
    }
    const mediaType = mediaTypeOf(source, bytes, header(response, 'content-type'));
    await cache.put(digest, bytes);
    return { bytes, digest, mediaType };
  }
  throw new UstartError(
    corrupt ? 'BundleCorrupt' : 'BundleBuildFailed',
    `${source.image}: manifest ${reference} from ${describeEndpoint(source.endpoint)} failed ${policy.retries + 1} times; last: ${lastProblem}. Nothing was stored.`,
    { detail: { image: source.image, reason: corrupt ? 'digest' : 'transfer' } },
  );
}

/** The manifest's media type: its `mediaType` field, else Content-Type; both must agree. */
function mediaTypeOf(source: BlobSource, bytes: Buffer, contentType: string | undefined): string {
  let json: { mediaType?: unknown; manifests?: unknown; layers?: unknown; schemaVersion?: unknown };
  try {
    json = JSON.parse(bytes.toString('utf8')) as typeof json;
  } catch {
    throw unsupported(source, 'a manifest that is not JSON');
  }
  const field = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  const header = contentType?.split(';')[0]?.trim().toLowerCase();
  const known = (t: string | undefined) => t !== undefined && (isIndexType(t) || isImageType(t));
  if (field && known(header) && field !== header) {
    throw unsupported(
      source,
      `a manifest whose mediaType ${field} differs from its Content-Type ${header}`,
    );
  }
  const chosen =
    field ??
    (known(header) ? header : undefined) ??
    (Array.isArray(json.manifests)
      ? MEDIA_TYPES.ociIndex
      : Array.isArray(json.layers)
        ? MEDIA_TYPES.ociManifest
        : undefined);
  if (!chosen || !known(chosen)) {
    const what = chosen ?? header ?? 'no media type';
    throw unsupported(
      source,
      json.schemaVersion === 1 || (what && what.includes('v1+prettyjws'))
        ? 'a Docker schema 1 manifest, which is deprecated and not supported; use a newer tag or push the image again with a current tool'
        : `a manifest of media type ${what}`,
    );
  }
  return chosen;
}

function unsupported(source: BlobSource, what: string): UstartError {
  return new UstartError(
    'Unsupported',
    `${source.image}: ${describeEndpoint(source.endpoint)} served ${what}. uStart pulls OCI image indexes and manifests and Docker manifest lists and schema 2 manifests.`,
    { detail: { image: source.image, reason: 'media-type' } },
  );
}

export function parseIndex(source: BlobSource, bytes: Buffer): z.infer<typeof IndexSchema> {
  return parseWith(IndexSchema, source, bytes, 'image index');
}

export function parseImageManifest(source: BlobSource, bytes: Buffer): z.infer<typeof ImageSchema> {
  const manifest = parseWith(ImageSchema, source, bytes, 'image manifest');
  for (const d of [manifest.config, ...manifest.layers]) checkDescriptor(source, d);
  return manifest;
}

function parseWith<T extends z.ZodType>(
  schema: T,
  source: BlobSource,
  bytes: Buffer,
  what: string,
): z.infer<T> {
  const parsed = schema.safeParse(JSON.parse(bytes.toString('utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UstartError(
      'BundleBuildFailed',
      `${source.image}: the ${what} from ${describeEndpoint(source.endpoint)} is malformed at ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'invalid'}.`,
      { detail: { image: source.image, reason: 'malformed' } },
    );
  }
  return parsed.data;
}

export function checkDescriptor(source: BlobSource, d: Descriptor): void {
  if (!SHA256_DIGEST.test(d.digest)) {
    throw new UstartError(
      'Unsupported',
      `${source.image}: a descriptor names ${d.digest}; uStart checks sha256 digests only.`,
      { detail: { image: source.image, reason: 'digest-algorithm' } },
    );
  }
}

/** `linux/amd64`, `linux/arm64`, `linux/arm/v7` → a platform. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new UstartError(
      'InvalidArgument',
      `platform "${text}": write OS/ARCHITECTURE[/VARIANT], such as linux/amd64 or linux/arm64.`,
    );
  }
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * Whether `actual` is one of `wanted`: same OS and architecture, and the variant when the
 * wanted one names it; arm64 without a variant is arm64/v8 (docs/upstream-facts.md#oci-platform-variant).
 */
export function platformMatches(actual: Platform, wanted: readonly Platform[]): boolean {
  return wanted.some((w) => {
    if (w.os !== actual.os || w.architecture !== actual.architecture) return false;
    if (!w.variant) return true;
    const variant = actual.variant ?? (actual.architecture === 'arm64' ? 'v8' : undefined);
    return variant === w.variant;
  });
}

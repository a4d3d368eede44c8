/**
 * `resolveImageDigests`: the digest a registry (or its mirror) serves for each image's tag,
 * for `ustart bom pin`. The manifest is fetched whole (GET, not HEAD) and its sha256 taken
 * from the bytes: a registry stores a manifest byte for byte as it was pushed, so that hash
 * is the digest every client resolves the tag to, while `Docker-Content-Digest` is optional
 * and only checked against the body when present (docs/upstream-facts.md#oci-dist-pull,
 * #oci-manifest-digest). An index stays an index: its own digest is pinned, never one
 * platform's.
 */
import { UstartError } from '../../errors.js';
import { mapLimited } from '../map-limited.js';
import { ContentCache } from './cache.js';
import { fetchManifest } from './manifest.js';
import { endpointFor, type CredentialMap, type MirrorMap } from './mirrors.js';
import { defaultCacheDir } from './pull.js';
import { formatImageReference, parseImageReference } from './reference.js';
import { RegistryClient } from './registry.js';

export interface ResolveDigestsOptions {
  /** Image references with a tag (`quay.io/ceph/ceph:v19.2.2`). */
  images: readonly string[];
  mirrors?: MirrorMap;
  credentials?: CredentialMap;
  /** Where fetched manifests are kept (the image puller's cache, so a later pull reuses them). */
  cacheDir?: string;
  concurrency?: number;
  retries?: number;
  signal?: AbortSignal;
}

/** One image's answer: its digest and media type, or why it could not be resolved. */
export type ResolvedDigest =
  | { image: string; reference: string; digest: string; mediaType: string }
  | { image: string; reference: string; error: UstartError };

/**
 * Resolves every image; one image's failure (unreachable, 404, refused token) is reported
 * for that image and does not stop the others, so a caller sees every problem at once.
 */
export async function resolveImageDigests(
  options: ResolveDigestsOptions,
): Promise<ResolvedDigest[]> {
  const cache = new ContentCache(options.cacheDir ?? defaultCacheDir());
  await cache.init();
  const client = new RegistryClient();
  try {
    return await mapLimited(options.images, options.concurrency ?? 4, async (image) => {
      const ref = parseImageReference(image);
      const reference = formatImageReference(ref);
      if (ref.digest || !ref.tag) {
        throw new UstartError(
          'InvalidArgument',
          `${image}: only a tag can be resolved to a digest; this reference already names one.`,
        );
      }
      const endpoint = endpointFor(
        ref.registry,
        options.mirrors ?? new Map(),
        options.credentials ?? new Map(),
      );
      try {
        const manifest = await fetchManifest(
          { client, endpoint, repository: ref.repository, image: reference },
          cache,
          ref.tag,
          { retries: options.retries ?? 3, ...(options.signal ? { signal: options.signal } : {}) },
        );
        return { image, reference, digest: manifest.digest, mediaType: manifest.mediaType };
      } catch (e) {
        if (!(e instanceof UstartError) || e.code === 'Cancelled') throw e;
        return { image, reference, error: e };
      }
    });
  } finally {
    client.dispose();
  }
}

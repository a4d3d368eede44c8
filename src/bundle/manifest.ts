/**
 * `bundle.json`: what a bundle holds. The format is documented for people in
 * docs/bundle-format.md; this file is its one definition in code. The signature
 * (`bundle.sig`) covers the exact bytes of `bundle.json`, so the manifest is written once,
 * canonically, and verified as the bytes that were read, never re-serialised.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { UstartError } from '../errors.js';
import { OS_RELEASES } from '../plan/schema.js';
import { compareEntryPaths } from './entry-paths.js';

/** The format version this build writes and reads. */
export const BUNDLE_FORMAT_VERSION = 1;
export const MANIFEST_NAME = 'bundle.json';
export const SIGNATURE_NAME = 'bundle.sig';
/** A manifest is a list of files; anything larger than this is not a manifest. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** What an entry is for; decides where it goes on a host. */
export const ENTRY_KINDS = ['deb', 'image', 'chart', 'binary', 'runbook', 'file'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/** Where each kind lives inside a bundle (`deb` files sit in the apt repository's pool). */
export const KIND_FOLDERS: Record<EntryKind, string> = {
  deb: 'apt/pool',
  image: 'images',
  chart: 'charts',
  binary: 'bin',
  runbook: 'runbook',
  file: 'files',
};

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lower-case hex digits' });

export const ManifestEntry = z.strictObject({
  /** Relative path inside the bundle, `/`-separated, normalised (checked by entry-paths.ts). */
  path: z.string(),
  kind: z.enum(ENTRY_KINDS),
  /** Size in bytes. */
  size: z.int().min(0),
  /** SHA-256 of the content, lower-case hex. */
  sha256: sha256Hex,
});
export type ManifestEntry = z.infer<typeof ManifestEntry>;

export const Manifest = z.strictObject({
  formatVersion: z.literal(BUNDLE_FORMAT_VERSION),
  /** Version of the runbook the bundle was built for. */
  runbookVersion: z.string().min(1),
  /** OS releases the packages were resolved for (the plan's `site.osRelease`). */
  targetOs: z.array(z.enum(OS_RELEASES)),
  /** Debian architecture of the packages, such as `amd64`. */
  architecture: z.string().min(1),
  /** When the bundle was built, ISO 8601 UTC to the second; also every tar member's mtime. */
  createdAt: z.iso.datetime(),
  /** `sha256:` + the aggregate digest over the sorted entries (see aggregateDigest). */
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  /** Every file of the bundle except bundle.json and bundle.sig, sorted by path. */
  entries: z.array(ManifestEntry),
});
export type Manifest = z.infer<typeof Manifest>;

/**
 * The aggregate digest: SHA-256 over one line per entry, sorted by the UTF-8 bytes of the
 * path, each line `<sha256> <size> <kind> <path>\n`. It names the content of a bundle
 * independently of when or how it was packed (createdAt and the container are not in it).
 */
export function aggregateDigest(entries: readonly ManifestEntry[]): string {
  const hash = createHash('sha256');
  for (const e of [...entries].sort((a, b) => compareEntryPaths(a.path, b.path))) {
    hash.update(`${e.sha256} ${e.size} ${e.kind} ${e.path}\n`, 'utf8');
  }
  return `sha256:${hash.digest('hex')}`;
}

/** The manifest fields a builder supplies; the digest and the order are computed. */
export type ManifestInput = Omit<Manifest, 'digest' | 'formatVersion'>;

/** Builds the manifest: entries sorted, digest computed. */
export function buildManifest(input: ManifestInput): Manifest {
  const entries = [...input.entries]
    .sort((a, b) => compareEntryPaths(a.path, b.path))
    .map((e) => ({ path: e.path, kind: e.kind, size: e.size, sha256: e.sha256 }));
  return {
    formatVersion: BUNDLE_FORMAT_VERSION,
    runbookVersion: input.runbookVersion,
    targetOs: [...input.targetOs],
    architecture: input.architecture,
    createdAt: input.createdAt,
    digest: aggregateDigest(entries),
    entries,
  };
}

/** The canonical bytes of a manifest: key order as declared, 2-space indent, final newline. */
export function serializeManifest(manifest: Manifest): Buffer {
  const ordered = buildManifest(manifest);
  if (ordered.digest !== manifest.digest) {
    throw new Error('manifest digest does not match its entries');
  }
  return Buffer.from(JSON.stringify(ordered, null, 2) + '\n', 'utf8');
}

/** Parses manifest bytes. Throws BundleCorrupt naming the field that is wrong. */
export function parseManifest(bytes: Uint8Array, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new UstartError(
      'BundleCorrupt',
      `${where}: ${MANIFEST_NAME} is not valid JSON (${(e as Error).message}); the bundle is damaged, build or copy it again.`,
      { cause: e },
    );
  }
  const version = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === 'number' && version > BUNDLE_FORMAT_VERSION) {
    throw new UstartError(
      'BundleCorrupt',
      `${where}: ${MANIFEST_NAME} has formatVersion ${version}; this uStart reads version ${BUNDLE_FORMAT_VERSION}. Use a newer uStart.`,
    );
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? issue.path.join('.') || '(top level)' : '(top level)';
    throw new UstartError(
      'BundleCorrupt',
      `${where}: ${MANIFEST_NAME} field ${field}: ${issue?.message ?? 'invalid'}; the bundle is damaged, build it again.`,
      { detail: { field } },
    );
  }
  return parsed.data;
}

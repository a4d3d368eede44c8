/**
 * The bill of materials (assets/runbook/bom.yaml): every artifact the default runbook needs
 * from outside, pinned once. Generators take their image references and versions from here
 * (`bomImage`, `bomTag`, `bomChart`, `bomFile`), never from a second copy, and an air-gapped
 * render is checked against it (`imagesOutsideBom`). Format: docs/bundle-format.md, "Bill of
 * materials".
 */
import { parse } from 'yaml';
import { z } from 'zod';
import { UstartError } from '../errors.js';
import { assetPath } from '../util/assets.js';
import { readRegularFileSync } from '../util/user-file.js';

const factIds = z.array(z.string().min(1)).min(1);
const sha256 = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'a digest is sha256:<64 hex digits>');

/** An image reference with a tag: `registry/path:tag` (the registry part names a host). */
const imageRef = z
  .string()
  .regex(
    /^[a-z0-9.-]+\.[a-z]+(:\d+)?\/[a-z0-9._/-]+:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/,
    'an image is <registry host>/<path>:<tag>, such as registry.k8s.io/pause:3.10',
  );

export const Bom = z.strictObject({
  formatVersion: z.literal(1),
  images: z.record(
    z.string(),
    z.strictObject({
      ref: imageRef,
      /** Digest of the upstream index or manifest; absent: not pinned yet. */
      digest: sha256.optional(),
      architectures: z.array(z.enum(['amd64', 'arm64'])).optional(),
      /**
       * The repository a chart's values take when the chart derives the image's name from it
       * (Cilium's operator chart appends `-generic`); absent: the ref's own repository.
       */
      valuesRepository: z.string().optional(),
      facts: factIds,
    }),
  ),
  charts: z.record(
    z.string(),
    z.strictObject({
      repository: z.url(),
      version: z.string().min(1),
      digest: sha256.optional(),
      facts: factIds,
    }),
  ),
  files: z.record(
    z.string(),
    z.strictObject({
      version: z.string().min(1),
      url: z.string().min(1),
      sha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .optional(),
      facts: factIds,
    }),
  ),
  /** The apt packages per step, relative to the runbook folder. */
  packages: z.string().min(1),
});
export type Bom = z.infer<typeof Bom>;

/** Reads and checks a bill of materials; errors name the file and the field. */
export function readBom(path: string): Bom {
  let raw: unknown;
  try {
    raw = parse(readRegularFileSync(path, { what: 'bill of materials' }));
  } catch (e) {
    throw new UstartError(
      'RunbookInvalid',
      `${path}: cannot read the bill of materials: ${(e as Error).message}`,
    );
  }
  const parsed = Bom.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UstartError(
      'RunbookInvalid',
      `${path}: ${issue.path.join('.') || '(top)'}: ${issue.message}; correct the bill of materials (format: docs/bundle-format.md, "Bill of materials")`,
    );
  }
  return parsed.data;
}

let cached: Bom | undefined;

/** The default runbook's bill of materials, read once. */
export function bom(): Bom {
  cached ??= readBom(assetPath('runbook', 'bom.yaml'));
  return cached;
}

function entry<T>(table: Record<string, T>, kind: string, name: string): T {
  const e = table[name];
  if (!e)
    throw new UstartError(
      'RunbookInvalid',
      `assets/runbook/bom.yaml has no ${kind} "${name}", which the render needs; add it with its version and the facts it was read from`,
    );
  return e;
}

/** The upstream reference of a BOM image, such as `ghcr.io/kube-vip/kube-vip:v0.8.9`. */
export const bomImage = (name: string): string => entry(bom().images, 'image', name).ref;

/** The repository a chart's values name for a BOM image, such as `quay.io/cilium/cilium`. */
export function bomRepository(name: string): string {
  const e = entry(bom().images, 'image', name);
  return e.valuesRepository ?? e.ref.replace(/:[^:/]+$/, '');
}

/** The tag of a BOM image, such as `v0.8.9`. */
export const bomTag = (name: string): string => bomImage(name).split(':').at(-1)!;

export const bomChart = (name: string) => entry(bom().charts, 'chart', name);

export const bomFile = (name: string) => entry(bom().files, 'file', name);

/**
 * Every image reference in rendered text that the bill of materials lacks: `image:` values,
 * containerd's `sandbox_image`, and `repository:` values of chart values (a repository
 * matches any BOM image of that repository). References are compared whole: every site names
 * images by their upstream names (docs/bundle-format.md "The site registry").
 */
export function imagesOutsideBom(
  files: ReadonlyArray<{ path: string; content: string }>,
  b: Bom = bom(),
): Array<{ path: string; image: string }> {
  const known = Object.values(b.images).map((i) => i.ref);
  const repositories = new Set([
    ...known.map((r) => r.replace(/:[^:/]+$/, '')),
    ...Object.values(b.images).flatMap((i) => (i.valuesRepository ? [i.valuesRepository] : [])),
  ]);
  const out: Array<{ path: string; image: string }> = [];
  const pattern =
    /^[ \t]*-?[ \t]*(image|sandbox_image|repository)[ \t]*[:=][ \t]*["']?([^"'\s#]+)["']?/gm;
  for (const f of files) {
    for (const m of f.content.matchAll(pattern)) {
      const [, key, value] = m as unknown as [string, string, string];
      // Only references to a registry (`host.tld/…`); chart repositories are URLs.
      if (!/^[a-z0-9.-]+\.[a-z]+(:\d+)?\//.test(value) || value.includes('://')) continue;
      // A repository (no tag) is a chart's image repository.
      const ok =
        key === 'repository' && !/:[^/]+$/.test(value.slice(value.indexOf('/')))
          ? repositories.has(value)
          : known.includes(value) || known.includes(value.replace(/@sha256:.*$/, ''));
      if (!ok) out.push({ path: f.path, image: value });
    }
  }
  return out;
}

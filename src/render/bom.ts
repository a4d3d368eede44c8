/**
 * The bill of materials (assets/runbook/bom.yaml): every artifact the default runbook needs
 * from outside, pinned once. Generators take their image references and versions from here
 * (`bomImage`, `bomTag`, `bomChart`, `bomFile`), never from a second copy, and an air-gapped
 * render is checked against it (`imagesOutsideBom`). Format: docs/bundle-format.md, "Bill of
 * materials".
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { UstartError } from '../errors.js';
import { BOM_FILE } from '../runbook/load.js';
import { assetPath } from '../util/assets.js';
import { readRegularFileSync } from '../util/user-file.js';

const factIds = z.array(z.string().min(1)).min(1);
const sha256 = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'a digest is sha256:<64 hex digits>');
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lower-case hex digits');

/** The architectures the bill of materials names (Debian's and Go's names agree for both). */
export const BOM_ARCHITECTURES = ['amd64', 'arm64'] as const;
export type BomArchitecture = (typeof BOM_ARCHITECTURES)[number];

/** An https URL; `{arch}` in it stands for the architecture (`amd64`, `arm64`). */
const httpsUrl = z
  .string()
  .regex(
    /^https:\/\/[^\s]+$/,
    'a URL is https://… (no spaces); {arch} stands for the architecture',
  );

/** An image reference with a tag: `registry/path:tag` (the registry part names a host). */
const imageRef = z
  .string()
  .regex(
    /^[a-z0-9.-]+\.[a-z]+(:\d+)?\/[a-z0-9._/-]+:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/,
    'an image is <registry host>/<path>:<tag>, such as registry.k8s.io/pause:3.10',
  );

const ImageEntry = z.strictObject({
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
});
const ChartEntry = z.strictObject({
  repository: z.url(),
  version: z.string().min(1),
  digest: sha256.optional(),
  facts: factIds,
});
const FileEntry = z.strictObject({
  version: z.string().min(1),
  url: z.string().min(1),
  sha256: sha256Hex.optional(),
  /**
   * Where it goes in the bundle, such as `files/kubelet/kubelet.service`; absent: where the
   * runbook's generators lay it out, else `files/<name>/<version>/<file name>`.
   */
  path: z
    .string()
    .regex(/^files\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'a path is files/<folders>/<file>')
    .optional(),
  facts: factIds,
});
const BinaryName = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a binary is named like its command');
const BinaryEntry = z.strictObject({
  version: z.string().min(1),
  /** The file to download, `{arch}` where the architecture goes. */
  url: httpsUrl.refine((u) => u.includes('{arch}'), {
    error: 'a binary URL names its architecture with {arch}',
  }),
  /**
   * The file upstream publishes next to it holding its sha256 (hex, alone or first on
   * the line), `{arch}` as in `url`. From the same origin: it catches a broken or
   * swapped transfer, it is not a pin.
   */
  sha256Url: httpsUrl.optional(),
  /** The executable's path inside the .tar.gz at `url` (`{arch}` as in `url`); absent: the file is the executable. */
  extract: z.string().min(1).optional(),
  /** The architectures upstream ships it for; absent: amd64 and arm64. */
  architectures: z.array(z.enum(BOM_ARCHITECTURES)).min(1).optional(),
  /** Pinned sha256 of the file at `url` per architecture; absent: not pinned. */
  sha256: z.strictObject({ amd64: sha256Hex.optional(), arm64: sha256Hex.optional() }).optional(),
  facts: factIds,
});

export const Bom = z.strictObject({
  formatVersion: z.literal(1),
  images: z.record(z.string(), ImageEntry),
  charts: z.record(z.string(), ChartEntry),
  files: z.record(z.string(), FileEntry),
  /**
   * Executables the hosts install (`bin/<name>` in a bundle, for the bundle's architecture).
   * Absent from a customer's bill of materials: none.
   */
  binaries: z.record(BinaryName, BinaryEntry).default({}),
  /** The apt packages per step, relative to the runbook folder. */
  packages: z.string().min(1),
});
export type Bom = z.infer<typeof Bom>;

/** Reads and checks a bill of materials; errors name the file and the field. */
export function readBom(path: string): Bom {
  return parseBomFile(path, Bom);
}

function parseBomFile<S extends z.ZodType>(path: string, schema: S): z.infer<S> {
  let raw: unknown;
  try {
    raw = parse(readRegularFileSync(path, { what: 'bill of materials' }));
  } catch (e) {
    throw new UstartError(
      'RunbookInvalid',
      `${path}: cannot read the bill of materials: ${(e as Error).message}`,
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UstartError(
      'RunbookInvalid',
      `${path}: ${issue.path.join('.') || '(top)'}: ${issue.message}; correct the bill of materials (format: docs/bundle-format.md, "Bill of materials")`,
    );
  }
  return parsed.data as z.infer<S>;
}

/**
 * A customer runbook's `bom.yaml`: what its own steps add to the default bill of materials.
 * Every section may be left out, and `facts` is optional (the customer's sources are not
 * rows of uStart's ledger); `packages` is the default runbook's.
 */
const noFacts = { facts: factIds.optional() };
export const BomLayer = z.strictObject({
  formatVersion: z.literal(1),
  images: z.record(z.string(), ImageEntry.extend(noFacts)).default({}),
  charts: z.record(z.string(), ChartEntry.extend(noFacts)).default({}),
  files: z.record(z.string(), FileEntry.extend(noFacts)).default({}),
  binaries: z.record(BinaryName, BinaryEntry.extend(noFacts)).default({}),
});
const SECTIONS = ['images', 'charts', 'files', 'binaries'] as const;

/**
 * The default bill of materials with each customer runbook folder's `bom.yaml` (if it has
 * one) layered over it, in order. A layer adds entries; one that names an entry already there
 * is refused, naming the file and the entry: the default runbook's generators render that
 * entry's version, so a second one could never be what is installed.
 */
export function layeredBom(runbookDirs: readonly string[], base: Bom = bom()): Bom {
  const out: Bom = structuredClone(base);
  const from = new Map<string, string>();
  for (const dir of runbookDirs) {
    const file = join(dir, BOM_FILE);
    if (!existsSync(file)) continue;
    const layer = parseBomFile(file, BomLayer);
    for (const section of SECTIONS) {
      for (const [name, e] of Object.entries(layer[section])) {
        const table = out[section] as Record<string, unknown>;
        if (name in table) {
          throw new UstartError(
            'RunbookInvalid',
            `${file}: ${section}.${name} is already in ${from.get(`${section}.${name}`) ?? "the default runbook's bill of materials"}; give this entry another name, or leave it out to use that one`,
          );
        }
        table[name] = { ...e, facts: e.facts ?? [] };
        from.set(`${section}.${name}`, file);
      }
    }
  }
  return out;
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

export const bomBinary = (name: string) => entry(bom().binaries, 'binary', name);

/** A BOM URL template for one architecture. */
export const forArch = (template: string, arch: BomArchitecture): string =>
  template.replaceAll('{arch}', arch);

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

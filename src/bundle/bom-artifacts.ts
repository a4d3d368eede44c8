/**
 * The bill of materials as things to fetch, each with its place in the bundle where the
 * runbook looks for it: images for `images/images.oci.tar`, charts at
 * `charts/<name>-<version>.tgz` (the file the rendered host env names, `USTART_CHART_*`),
 * clusterctl's local repository and ORC as `bundleFiles()` lays them out, the addons'
 * manifests under `ADDON_FILES`, a file with a `path` there, and binaries at `bin/<name>` for
 * the bundle's architecture. An entry with nothing to download (a folder page, a file the
 * site builds, a binary upstream does not ship for the architecture) is listed in `skipped`
 * with the reason, never dropped silently.
 */
import {
  fetchArtifacts,
  type ChartSpec,
  type FetchArtifactsOptions,
  type FetchedArtifact,
  type FileSpec,
} from './fetch/index.js';
import { formatImageReference, parseImageReference } from './oci/index.js';
import { bom, forArch, type Bom, type BomArchitecture } from '../render/bom.js';
import { bundleFiles } from '../render/generators/capi-repository.js';
import { ADDON_FILES, CALICO_VERSION } from '../render/generators/ugarden.js';

export interface BomFetchSpecs {
  /** Image references, `ref@digest` when the digest is pinned. */
  images: string[];
  charts: ChartSpec[];
  files: FileSpec[];
  /** Executables for the architecture asked for, at `bin/<name>`; none without one. */
  binaries: FileSpec[];
  /** BOM files and binaries entries not fetched, and why. */
  skipped: Array<{ kind: 'file' | 'binary'; name: string; reason: string }>;
}

/**
 * What to fetch for a bill of materials (default: the default runbook's), binaries for
 * `architecture` (none when it is not given).
 */
export function bomFetchSpecs(b: Bom = bom(), architecture?: BomArchitecture): BomFetchSpecs {
  const images = Object.values(b.images).map((i) => (i.digest ? `${i.ref}@${i.digest}` : i.ref));
  const charts = Object.entries(b.charts).map(([name, c]) => ({
    name,
    repository: c.repository,
    version: c.version,
    ...(c.digest ? { digest: c.digest } : {}),
  }));
  const files: FileSpec[] = [];
  const skipped: BomFetchSpecs['skipped'] = [];
  // A list, not a map by URL: CAPI's three providers share one metadata.yaml asset, which
  // clusterctl's local repository needs in each provider's folder.
  const release = bundleFiles().map((f) => [f.url, f.name] as const);
  for (const [name, f] of Object.entries(b.files)) {
    const pin = f.sha256 ? { sha256: f.sha256 } : {};
    if (name === 'capi' || name === 'capo') {
      // A release folder: its assets are the ones clusterctl reads (bundleFiles).
      const assets = release.filter(([url]) => url.startsWith(`${f.url}/`));
      if (f.sha256) {
        skipped.push({
          kind: 'file',
          name,
          reason: 'a sha256 pins one file, but this entry is a release folder of several assets',
        });
        continue;
      }
      for (const [url, asset] of assets) files.push({ name: asset, url, path: `files/${asset}` });
      continue;
    }
    const orc = release.find(([url]) => url === f.url);
    if (name === 'orc' && orc) {
      files.push({ name, url: f.url, path: `files/${orc[1]}`, ...pin });
      continue;
    }
    if (f.path) {
      files.push({ name, url: f.url, path: f.path, ...pin });
      continue;
    }
    if (name === 'calico') {
      files.push({
        name,
        url: f.url,
        path: `${ADDON_FILES}/calico/${CALICO_VERSION}/${basename(f.url)}`,
        ...pin,
      });
      continue;
    }
    if (name === 'flux') {
      // ugarden/flux.sh applies the one file the bundle has at this path.
      files.push({ name, url: f.url, path: 'files/flux/install.yaml', ...pin });
      continue;
    }
    if (!/^https:\/\//.test(f.url)) {
      skipped.push({
        kind: 'file',
        name,
        reason: `"${f.url}" is not a URL: the site provides it (add it with --add file=PATH)`,
      });
      continue;
    }
    if (/\/tree\//.test(f.url) || f.url.endsWith('/')) {
      skipped.push({
        kind: 'file',
        name,
        reason: `${f.url} is a folder page, not a file; the bill of materials does not list its files yet`,
      });
      continue;
    }
    files.push({ name, url: f.url, path: `files/${name}/${f.version}/${basename(f.url)}`, ...pin });
  }
  const binaries: FileSpec[] = [];
  for (const [name, bin] of Object.entries(architecture ? b.binaries : {})) {
    const arch = architecture!;
    if (bin.architectures && !bin.architectures.includes(arch)) {
      skipped.push({
        kind: 'binary',
        name,
        reason: `upstream ships it for ${bin.architectures.join(', ')} only, not ${arch}`,
      });
      continue;
    }
    const sha256 = bin.sha256?.[arch];
    binaries.push({
      name,
      url: forArch(bin.url, arch),
      path: `bin/${name}`,
      kind: 'binary',
      ...(sha256 ? { sha256 } : {}),
      ...(bin.sha256Url ? { sha256Url: forArch(bin.sha256Url, arch) } : {}),
      ...(bin.extract ? { extract: forArch(bin.extract, arch) } : {}),
    });
  }
  return { images, charts, files, binaries, skipped };
}

/**
 * The bill of materials' image digests by normalised reference (`docker.io/rook/ceph:v1.15.6`),
 * for `pullImages`' `pins`: an image named there is pulled by its digest, and refused when its
 * tag no longer resolves to it.
 */
export function bomImagePins(b: Bom = bom()): Map<string, string> {
  return new Map(
    Object.values(b.images).flatMap((i) =>
      i.digest ? [[formatImageReference(parseImageReference(i.ref)), i.digest] as const] : [],
    ),
  );
}

const basename = (url: string) => new URL(url).pathname.split('/').at(-1)!;

/** Fetches the bill of materials' charts, files and (for an architecture) binaries into the download cache. */
export async function fetchBomArtifacts(
  options: Omit<FetchArtifactsOptions, 'charts' | 'files'> & {
    bom?: Bom;
    architecture?: BomArchitecture;
  } = {},
): Promise<{ fetched: FetchedArtifact[]; skipped: BomFetchSpecs['skipped'] }> {
  const { bom: b, architecture, ...rest } = options;
  const specs = bomFetchSpecs(b, architecture);
  const fetched = await fetchArtifacts({
    ...rest,
    charts: specs.charts,
    files: [...specs.files, ...specs.binaries],
  });
  return { fetched, skipped: specs.skipped };
}

/**
 * The bill of materials' charts and files as things to fetch, each with its place in the
 * bundle where the runbook looks for it: charts at `charts/<name>-<version>.tgz`
 * (`helm_release` in lib.sh), clusterctl's local repository and ORC as `bundleFiles()` lays
 * them out, the addons' manifests under `ADDON_FILES`. An entry with nothing to download
 * (a folder page, a file the site builds) is listed in `skipped` with the reason, never
 * dropped silently.
 */
import {
  fetchArtifacts,
  formatImageReference,
  parseImageReference,
  type ChartSpec,
  type FetchArtifactsOptions,
  type FetchedArtifact,
  type FileSpec,
} from '../bundle/index.js';
import { bom, type Bom } from './bom.js';
import { bundleFiles } from './generators/capi-repository.js';
import { ADDON_FILES, CALICO_VERSION } from './generators/ugarden.js';

export interface BomFetchSpecs {
  charts: ChartSpec[];
  files: FileSpec[];
  /** BOM files entries not fetched, and why. */
  skipped: Array<{ name: string; reason: string }>;
}

/** What to fetch for a bill of materials (default: the default runbook's). */
export function bomFetchSpecs(b: Bom = bom()): BomFetchSpecs {
  const charts = Object.entries(b.charts).map(([name, c]) => ({
    name,
    repository: c.repository,
    version: c.version,
    ...(c.digest ? { digest: c.digest } : {}),
  }));
  const files: FileSpec[] = [];
  const skipped: BomFetchSpecs['skipped'] = [];
  const release = new Map(bundleFiles().map((f) => [f.url, f.name]));
  for (const [name, f] of Object.entries(b.files)) {
    const pin = f.sha256 ? { sha256: f.sha256 } : {};
    if (name === 'capi' || name === 'capo') {
      // A release folder: its assets are the ones clusterctl reads (bundleFiles).
      const assets = [...release].filter(([url]) => url.startsWith(`${f.url}/`));
      if (f.sha256) {
        skipped.push({
          name,
          reason: 'a sha256 pins one file, but this entry is a release folder of several assets',
        });
        continue;
      }
      for (const [url, asset] of assets) files.push({ name: asset, url, path: `files/${asset}` });
      continue;
    }
    if (name === 'orc' && release.has(f.url)) {
      files.push({ name, url: f.url, path: `files/${release.get(f.url)!}`, ...pin });
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
        name,
        reason: `"${f.url}" is not a URL: the site provides it (add it with --add file=PATH)`,
      });
      continue;
    }
    if (/\/tree\//.test(f.url) || f.url.endsWith('/')) {
      skipped.push({
        name,
        reason: `${f.url} is a folder page, not a file; the bill of materials does not list its files yet`,
      });
      continue;
    }
    files.push({ name, url: f.url, path: `files/${name}/${f.version}/${basename(f.url)}`, ...pin });
  }
  return { charts, files, skipped };
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

/** Fetches the bill of materials' charts and files into the download cache. */
export async function fetchBomArtifacts(
  options: Omit<FetchArtifactsOptions, 'charts' | 'files'> & { bom?: Bom } = {},
): Promise<{ fetched: FetchedArtifact[]; skipped: BomFetchSpecs['skipped'] }> {
  const { bom: b, ...rest } = options;
  const specs = bomFetchSpecs(b);
  const fetched = await fetchArtifacts({ ...rest, charts: specs.charts, files: specs.files });
  return { fetched, skipped: specs.skipped };
}

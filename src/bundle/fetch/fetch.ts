/**
 * `fetchArtifacts`: Helm charts (from classic chart repositories or OCI registries), release
 * files and binaries over HTTPS into the content-addressed download cache the image puller
 * uses (oci/cache.ts), for `bundle create` to put into a bundle (docs/bundle-format.md,
 * "Charts, files and binaries"). Every download streams through SHA-256: against the pin when
 * there is one (the bill of materials), else the chart index's or OCI manifest's digest, or
 * the checksum file upstream publishes beside a binary; otherwise the digest got is recorded
 * and the result says "not pinned". A binary in a `.tar.gz` is taken out of the checked
 * archive (archive.ts). Downloads resume from the cache's partial files, are retried a
 * bounded number of times, and run a few at once.
 */
import { UstartError } from '../../errors.js';
import { throttleProgress, type BundleEventListener } from '../events.js';
import { mapLimited } from '../map-limited.js';
import {
  ContentCache,
  type DownloadTarget,
  type Downloaded,
  type FetchPolicy,
} from '../oci/cache.js';
import { fetchManifest, parseImageManifest } from '../oci/manifest.js';
import { endpointFor, type CredentialMap, type MirrorMap } from '../oci/mirrors.js';
import { defaultCacheDir } from '../oci/pull.js';
import { formatImageReference, parseImageReference } from '../oci/reference.js';
import { describeEndpoint, readBody, RegistryClient } from '../oci/registry.js';
import { extractFromTarGz } from './archive.js';
import { chartArchiveProblem, findChartVersion, resolveRepositoryUrl } from './helm.js';
import { HttpClient } from './http.js';
import { mirroredUrl, type UrlMirrorMap } from './url-mirrors.js';
import { chartPath } from '../../runbook/bundle-layout.js';

/** A chart to fetch: `repository` is a Helm repository URL or `oci://host/path`. */
export interface ChartSpec {
  name: string;
  repository: string;
  version: string;
  /** `sha256:<hex>` of the archive; absent: not pinned. */
  digest?: string;
}

/** A file to fetch to `path` (a bundle entry path, such as `files/orc/v1.0.1/install.yaml`). */
export interface FileSpec {
  /** For messages and events: the bill of materials entry and asset. */
  name: string;
  url: string;
  path: string;
  /** Hex SHA-256; absent: not pinned. */
  sha256?: string;
  /** Bundle entry kind: `file` (default) or `binary` (mode 0755 on the hosts). */
  kind?: 'file' | 'binary';
  /**
   * The checksum file upstream publishes next to the file (its sha256 in hex, alone or first
   * on the line), checked against when `sha256` pins nothing.
   */
  sha256Url?: string;
  /** The member of the `.tar.gz` at `url` to bundle instead of the archive itself. */
  extract?: string;
}

export interface FetchArtifactsOptions {
  charts?: readonly ChartSpec[];
  files?: readonly FileSpec[];
  /** Download cache; default the image puller's (`$XDG_CACHE_HOME/ustart/oci`). */
  cacheDir?: string;
  /** PEM certificates trusted besides the system's (a mirror's private CA). */
  ca?: readonly string[];
  /** URL prefix → mirror URL, for chart repositories and files (url-mirrors.ts). */
  urlMirrors?: UrlMirrorMap;
  /** Registry mirrors and credentials for `oci://` charts, as for images (oci/mirrors.ts). */
  mirrors?: MirrorMap;
  credentials?: CredentialMap;
  /** Downloads at once (default 4). */
  concurrency?: number;
  /** Further attempts after a broken connection, a 5xx or a wrong digest (default 3). */
  retries?: number;
  onEvent?: BundleEventListener;
  signal?: AbortSignal;
}

/** How a fetched artifact's sha256 was checked. */
export type Verification =
  /** Against the bill of materials' (or the file spec's) pin. */
  | 'pinned'
  /** Against the digest the chart repository's index gives (fetched over HTTPS, not pinned). */
  | 'index'
  /** Against the layer digest of the chart's OCI manifest (fetched by tag, not pinned). */
  | 'oci-manifest'
  /**
   * Against the checksum file upstream publishes next to the file (`sha256Url`): from the
   * same origin, so it catches a broken or swapped transfer, not a compromised origin.
   */
  | 'upstream-sha256-file'
  /** Not checked against anything: the sha256 got is recorded. */
  | 'not-pinned';

export interface FetchedArtifact {
  kind: 'chart' | 'file' | 'binary';
  name: string;
  /** Entry path in the bundle: `charts/<name>-<version>.tgz`, or the file spec's path. */
  path: string;
  /** The content, in the cache (not to be edited in place). */
  file: string;
  /** Where it was downloaded from (after mirrors). */
  url: string;
  sha256: string;
  size: number;
  verified: Verification;
  /** Bytes received in this run (0: the cache held it). */
  downloadedBytes: number;
  /**
   * For a file extracted from a downloaded archive (`extract`): the archive's sha256 (the one
   * `verified` speaks of) and the member taken; `sha256` and `size` are the member's.
   */
  archive?: { sha256: string; member: string };
}

const MAX_INDEX_BYTES = 256 * 1024 * 1024;
const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';
const HELM_CHART_LAYERS = [
  'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  'application/tar+gzip',
];

export async function fetchArtifacts(options: FetchArtifactsOptions): Promise<FetchedArtifact[]> {
  const emit = throttleProgress(options.onEvent);
  const concurrency = options.concurrency ?? 4;
  const retries = options.retries ?? 3;
  const charts = options.charts ?? [];
  const files = options.files ?? [];
  const cache = new ContentCache(options.cacheDir ?? defaultCacheDir());
  await cache.init();
  const http = new HttpClient({ ...(options.ca ? { ca: options.ca } : {}) });
  const registry = new RegistryClient();
  const mirrors = options.urlMirrors ?? new Map<string, string>();
  const indexes = new Map<string, Promise<string>>();
  const downloads = new Map<string, Promise<Downloaded>>();
  /**
   * One download per URL and pin, however many entries name it (CAPI's three providers share
   * one metadata.yaml): a second writer would append to the same partial file. Only the
   * first entry counts the bytes.
   */
  const downloadOnce = async (target: DownloadTarget, item: string): Promise<Downloaded> => {
    const key = `${target.digest ?? ''} ${target.key ?? target.what}`;
    const known = downloads.get(key);
    if (known) return { ...(await known), transferred: 0 };
    const started = cache.download(target, policy(item), progress(item));
    downloads.set(key, started);
    return started;
  };
  let doneBytes = 0;
  const policy = (item: string): FetchPolicy => ({
    retries,
    ...(options.signal ? { signal: options.signal } : {}),
    onRetry: (attempt, message) =>
      emit({ type: 'retried', phase: 'download', item, attempt, message }),
  });
  const progress = (item: string) => {
    let itemDone = 0;
    return (delta: number) => {
      doneBytes += delta;
      itemDone += delta;
      emit({ type: 'progressed', phase: 'download', doneBytes, item, itemDoneBytes: itemDone });
    };
  };

  /** Each repository's index once per run, however many of its charts are asked for. */
  const fetchIndex = (repository: string, what: string): Promise<string> => {
    const url = mirroredUrl(resolveRepositoryUrl(repository, 'index.yaml'), mirrors);
    let known = indexes.get(url);
    if (!known) {
      known = getText(
        http,
        url,
        what,
        policy(what),
        () =>
          new UstartError(
            'BundleBuildFailed',
            `${what}: ${url} does not exist (HTTP 404), so this is not a Helm chart repository; check the repository URL in the bill of materials (or the mirror, --mirror-url).`,
            { detail: { url, status: 404 } },
          ),
      );
      known.catch(() => indexes.delete(url));
      indexes.set(url, known);
    }
    return known;
  };

  const fetchChart = async (chart: ChartSpec): Promise<FetchedArtifact> => {
    const item = `chart ${chart.name} ${chart.version}`;
    const path = chartPath(chart.name, chart.version);
    if (chart.repository.startsWith('oci://'))
      return fetchOciChart(
        chart,
        item,
        path,
        cache,
        registry,
        options,
        policy(item),
        progress(item),
      );
    const text = await fetchIndex(chart.repository, `${item}: index of ${chart.repository}`);
    const entry = findChartVersion(text, chart.name, chart.version, chart.repository);
    const pinned = chart.digest?.replace(/^sha256:/, '');
    if (pinned && entry.digest && pinned !== entry.digest) {
      throw new UstartError(
        'BundleCorrupt',
        `${item}: the bill of materials pins sha256:${pinned}, but the index of ${chart.repository} gives sha256:${entry.digest}; nothing was downloaded. ` +
          'The publisher may have replaced the archive; check it and update the pin if the new one is right.',
        { detail: { chart: chart.name, version: chart.version, reason: 'index-digest' } },
      );
    }
    // Helm itself never compares an archive with the index's digest
    // (docs/upstream-facts.md#helm.no-digest-check); uStart does, when nothing pins it better.
    const expected = pinned ?? entry.digest;
    const url = mirroredUrl(resolveRepositoryUrl(chart.repository, entry.urls[0]!), mirrors);
    const got = await downloadOnce(
      httpTarget(
        http,
        url,
        item,
        expected,
        { chart: chart.name, version: chart.version },
        options.signal,
      ),
      item,
    );
    const file = cache.blobPath(got.digest);
    const problem = await chartArchiveProblem(file, chart.name, chart.version);
    if (problem) {
      throw new UstartError(
        'BundleCorrupt',
        `${item} from ${url} is not that chart: ${problem}. Check the chart name and version in the bill of materials and the repository's index.`,
        { detail: { chart: chart.name, version: chart.version, url, reason: 'not-the-chart' } },
      );
    }
    return {
      kind: 'chart',
      name: chart.name,
      path,
      file,
      url,
      sha256: got.digest.slice('sha256:'.length),
      size: got.size,
      verified: pinned ? 'pinned' : entry.digest ? 'index' : 'not-pinned',
      downloadedBytes: got.transferred,
    };
  };

  const fetchFile = async (spec: FileSpec): Promise<FetchedArtifact> => {
    const item = fileItem(spec);
    const url = mirroredUrl(spec.url, mirrors);
    let expected = spec.sha256;
    let verified: Verification = spec.sha256 ? 'pinned' : 'not-pinned';
    if (!expected && spec.sha256Url) {
      const sumUrl = mirroredUrl(spec.sha256Url, mirrors);
      const what = `${item}: checksum file`;
      const text = await getText(
        http,
        sumUrl,
        what,
        policy(item),
        () =>
          new UstartError(
            'BundleBuildFailed',
            `${what} ${sumUrl} does not exist (HTTP 404); check sha256Url in the bill of materials (or whether the mirror, --mirror-url, holds it).`,
            { detail: { file: spec.name, url: sumUrl, status: 404 } },
          ),
      );
      expected = parseSha256File(text, `${what} ${sumUrl}`);
      verified = 'upstream-sha256-file';
    }
    const got = await downloadOnce(
      httpTarget(http, url, item, expected, { file: spec.name }, options.signal),
      item,
    );
    const archiveHex = got.digest.slice('sha256:'.length);
    const content = spec.extract
      ? await extractFromTarGz(
          cache,
          cache.blobPath(got.digest),
          spec.extract,
          `${item} from ${url}`,
        )
      : { digest: got.digest, size: got.size };
    return {
      kind: spec.kind ?? 'file',
      name: spec.name,
      path: spec.path,
      file: cache.blobPath(content.digest),
      url,
      sha256: content.digest.slice('sha256:'.length),
      size: content.size,
      verified,
      downloadedBytes: got.transferred,
      ...(spec.extract ? { archive: { sha256: archiveHex, member: spec.extract } } : {}),
    };
  };

  try {
    const jobs: Array<{ item: string; run: () => Promise<FetchedArtifact> }> = [
      ...charts.map((c) => ({ item: `chart ${c.name} ${c.version}`, run: () => fetchChart(c) })),
      ...files.map((f) => ({ item: fileItem(f), run: () => fetchFile(f) })),
    ];
    emit({ type: 'phase-started', phase: 'download', totalItems: jobs.length });
    const fetched = await mapLimited(jobs, concurrency, async (job) => {
      const result = await job.run();
      emit({ type: 'item-finished', phase: 'download', item: job.item });
      return result;
    });
    // The last count unthrottled, so a progress bar ends at what was received.
    options.onEvent?.({ type: 'progressed', phase: 'download', doneBytes });
    emit({ type: 'phase-finished', phase: 'download' });
    return fetched;
  } finally {
    http.dispose();
    registry.dispose();
  }
}

/** How events and messages name a file: `file orc`, `binary kubeadm`. */
const fileItem = (spec: FileSpec) => `${spec.kind ?? 'file'} ${spec.name}`;

/**
 * The sha256 a checksum file holds: lower-case or upper-case hex, alone (dl.k8s.io's and
 * get.helm.sh's `.sha256`, docs/upstream-facts.md#k8s.release-sha256-files,
 * #helm.release-archive) or first on its line followed by a file name (`sha256sum`'s form).
 */
export function parseSha256File(text: string, what: string): string {
  const m = /^\s*([0-9a-fA-F]{64})(?:\s|$)/.exec(text);
  if (!m) {
    throw new UstartError(
      'BundleBuildFailed',
      `${what} does not start with a sha256 (64 hex digits): ${JSON.stringify(text.slice(0, 80))}; check sha256Url in the bill of materials.`,
      { detail: { reason: 'bad-checksum-file' } },
    );
  }
  return m[1]!.toLowerCase();
}

function httpTarget(
  http: HttpClient,
  url: string,
  item: string,
  sha256: string | undefined,
  detail: Record<string, unknown>,
  signal: AbortSignal | undefined,
): DownloadTarget {
  const what = `${item} from ${url}`;
  return {
    ...(sha256 ? { digest: `sha256:${sha256}` } : {}),
    key: url,
    what,
    detail: { ...detail, url },
    open: async (headers) => (await http.get(url, what, headers, signal)).response,
    notFound: () =>
      new UstartError(
        'BundleBuildFailed',
        `${what}: not found (HTTP 404). Check the URL (and the version in it) in the bill of materials, or whether the mirror (--mirror-url) holds it.`,
        { detail: { ...detail, url, status: 404 } },
      ),
  };
}

/** A small text (a repository index, a checksum file), retried like a download; 404 is final. */
async function getText(
  http: HttpClient,
  url: string,
  what: string,
  policy: FetchPolicy,
  notFound: () => UstartError,
): Promise<string> {
  let lastProblem = '';
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    policy.signal?.throwIfAborted();
    if (attempt > 0) policy.onRetry?.(attempt, lastProblem);
    let response;
    try {
      ({ response } = await http.get(url, what, {}, policy.signal));
    } catch (e) {
      if (
        !(e instanceof UstartError) ||
        e.code !== 'ConnectionFailed' ||
        e.detail.retryable === false
      )
        throw e;
      lastProblem = e.message;
      continue;
    }
    const status = response.statusCode ?? 0;
    if (status === 200) {
      try {
        return (await readBody(response, MAX_INDEX_BYTES)).toString('utf8');
      } catch (e) {
        lastProblem = (e as Error).message;
        continue;
      }
    }
    response.resume();
    if (status === 404) throw notFound();
    lastProblem = `HTTP ${status}`;
    if (status >= 500 || status === 429) continue;
    throw new UstartError('BundleBuildFailed', `${what}: GET ${url} answered HTTP ${status}.`, {
      detail: { url, status },
    });
  }
  throw new UstartError(
    'BundleBuildFailed',
    `${what}: GET ${url} failed ${policy.retries + 1} times; last: ${lastProblem}. Run again later, or fetch through a mirror (--mirror-url).`,
    { detail: { url } },
  );
}

/**
 * A chart from an OCI registry (Helm ≥ 3.8): `<repository>/<name>:<version>` with `+` in the
 * version written `_` (docs/upstream-facts.md#helm.oci-reference), an OCI image manifest
 * whose config is Helm's and whose chart layer is the .tgz (#helm.oci-media-types). Reuses
 * the image puller's registry client, token authentication, mirrors and cache.
 */
async function fetchOciChart(
  chart: ChartSpec,
  item: string,
  path: string,
  cache: ContentCache,
  client: RegistryClient,
  options: FetchArtifactsOptions,
  policy: FetchPolicy,
  onBytes: (delta: number) => void,
): Promise<FetchedArtifact> {
  const base = chart.repository.slice('oci://'.length).replace(/\/+$/, '');
  const ref = parseImageReference(`${base}/${chart.name}:${chart.version.replaceAll('+', '_')}`);
  const reference = formatImageReference(ref);
  const endpoint = endpointFor(
    ref.registry,
    options.mirrors ?? new Map(),
    options.credentials ?? new Map(),
  );
  const source = { client, endpoint, repository: ref.repository, image: `${item} (${reference})` };
  const manifest = await fetchManifest(source, cache, ref.tag!, policy);
  const parsed = parseImageManifest(source, manifest.bytes);
  const layer = parsed.layers.find((l) => HELM_CHART_LAYERS.includes(l.mediaType));
  if (parsed.config.mediaType !== HELM_CONFIG || !layer) {
    throw new UstartError(
      'Unsupported',
      `${source.image} from ${describeEndpoint(endpoint)} is not a Helm chart: its config is ${parsed.config.mediaType} and it has ${layer ? 'a' : 'no'} chart layer (${HELM_CHART_LAYERS[0]}). Check the repository in the bill of materials.`,
      { detail: { chart: chart.name, version: chart.version, reason: 'not-a-chart' } },
    );
  }
  if (chart.digest && chart.digest !== layer.digest) {
    throw new UstartError(
      'BundleCorrupt',
      `${source.image}: the bill of materials pins ${chart.digest}, but the registry's manifest names the chart archive ${layer.digest}; nothing was downloaded. ` +
        'The tag may have been pushed again; check it and update the pin if the new one is right.',
      { detail: { chart: chart.name, version: chart.version, reason: 'manifest-digest' } },
    );
  }
  const downloadedBytes = await cache.fetchBlob(source, layer, policy, onBytes);
  const file = cache.blobPath(layer.digest);
  const problem = await chartArchiveProblem(file, chart.name, chart.version);
  if (problem) {
    throw new UstartError(
      'BundleCorrupt',
      `${source.image} from ${describeEndpoint(endpoint)} is not that chart: ${problem}.`,
      { detail: { chart: chart.name, version: chart.version, reason: 'not-the-chart' } },
    );
  }
  return {
    kind: 'chart',
    name: chart.name,
    path,
    file,
    url: `oci://${reference}`,
    sha256: layer.digest.slice('sha256:'.length),
    size: layer.size,
    verified: chart.digest ? 'pinned' : 'oci-manifest',
    downloadedBytes,
  };
}

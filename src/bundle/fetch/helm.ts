/**
 * Helm chart repositories: the index (`<repository>/index.yaml`), the entry of one chart
 * version in it, and the archive URL it names; plus the check that a downloaded archive is
 * the chart it claims to be. Rules read from Helm v3.21.4 (docs/upstream-facts.md#helm.*).
 */
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { UstartError } from '../../errors.js';
import { readTar } from '../tar.js';
import { readRegularFile } from '../../util/user-file.js';

/** One chart version as the index lists it (the fields uStart reads). */
export interface IndexEntry {
  name: string;
  version: string;
  urls: string[];
  /** Lower-case hex SHA-256 of the archive, when the index gives one. */
  digest?: string;
}

/**
 * The URL of `ref` relative to a repository URL, as Helm's `ResolveReferenceURL` does it:
 * an absolute `ref` stays as it is; otherwise the repository URL gets one trailing `/`, `ref`
 * is resolved against it and the repository URL's query is kept
 * (docs/upstream-facts.md#helm.resolve-url).
 */
export function resolveRepositoryUrl(repository: string, ref: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) return ref;
  const base = new URL(repository);
  base.pathname = base.pathname.replace(/\/+$/, '') + '/';
  const resolved = new URL(ref, base);
  resolved.search = base.search;
  return resolved.toString();
}

/**
 * Finds `name` at exactly `version` in an index's text (YAML, or JSON, which YAML reads too;
 * docs/upstream-facts.md#helm.index-format). Errors name the chart, the repository and what
 * versions it does have.
 */
export function findChartVersion(
  text: string,
  name: string,
  version: string,
  repository: string,
): IndexEntry {
  const where = `chart ${name} ${version}: the index of ${repository}`;
  let data: unknown;
  try {
    data = parse(text, { maxAliasCount: -1 });
  } catch (e) {
    throw new UstartError(
      'BundleBuildFailed',
      `${where} is not YAML (${(e as Error).message}); check that the repository URL is a Helm repository (it serves index.yaml).`,
      { cause: e, detail: { chart: name, repository } },
    );
  }
  const index = data as { apiVersion?: unknown; entries?: unknown } | null;
  if (!index || typeof index !== 'object' || !index.apiVersion) {
    throw new UstartError(
      'BundleBuildFailed',
      `${where} has no apiVersion, so it is not a Helm repository index; check the repository URL in the bill of materials.`,
      { detail: { chart: name, repository } },
    );
  }
  const entries = (index.entries ?? {}) as Record<string, unknown>;
  const versions = Array.isArray(entries[name]) ? (entries[name] as unknown[]) : undefined;
  if (!versions || versions.length === 0) {
    throw new UstartError(
      'BundleBuildFailed',
      `${where} has no chart named ${name}; check the chart name and the repository in the bill of materials.`,
      { detail: { chart: name, version, repository, reason: 'no-chart' } },
    );
  }
  // Helm takes an exact version string first (IndexFile.Get); the bill of materials pins
  // exact versions, so a constraint is never read here.
  const hit = versions.find(
    (v): v is Record<string, unknown> =>
      typeof v === 'object' && v !== null && (v as { version?: unknown }).version === version,
  );
  if (!hit) {
    const known = versions
      .map((v) => (v as { version?: unknown } | null)?.version)
      .filter((v): v is string => typeof v === 'string');
    throw new UstartError(
      'BundleBuildFailed',
      `${where} has no version ${version} of ${name} (it lists ${known.slice(0, 8).join(', ')}${known.length > 8 ? `, … ${known.length} in all` : ''}). ` +
        'Check the version in the bill of materials; the publisher may have removed it from the index (a mirror may still have it).',
      { detail: { chart: name, version, repository, reason: 'no-version' } },
    );
  }
  const urls = Array.isArray(hit.urls)
    ? hit.urls.filter((u): u is string => typeof u === 'string')
    : [];
  if (urls.length === 0) {
    throw new UstartError(
      'BundleBuildFailed',
      `${where} lists ${name} ${version} without a URL to download it from; report it to the publisher.`,
      { detail: { chart: name, version, repository, reason: 'no-url' } },
    );
  }
  let digest: string | undefined;
  if (typeof hit.digest === 'string' && hit.digest !== '') {
    // Helm writes the hex alone (provenance.DigestFile); Helm 4 also strips an algorithm prefix.
    const hex = hit.digest.replace(/^sha256:/, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) {
      throw new UstartError(
        'BundleBuildFailed',
        `${where} gives ${name} ${version} the digest "${hit.digest}", which is not a sha256; uStart cannot check it. Pin the archive's sha256 in the bill of materials.`,
        { detail: { chart: name, version, repository, reason: 'bad-digest' } },
      );
    }
    digest = hex;
  }
  return { name, version, urls, ...(digest ? { digest } : {}) };
}

/**
 * Checks that a chart archive is a gzip'd tar whose `<folder>/Chart.yaml` names `name` and
 * `version` (docs/upstream-facts.md#helm.archive-layout). Returns a problem, or undefined.
 */
export async function chartArchiveProblem(
  file: string,
  name: string,
  version: string,
): Promise<string | undefined> {
  try {
    // Helm refuses charts larger than 100 MiB unpacked (loader.MaxDecompressedChartSize).
    const tar = gunzipSync(await readRegularFile(file, { what: 'chart archive' }), {
      maxOutputLength: 100 * 1024 * 1024,
    });
    for await (const member of readTar(
      (async function* () {
        yield tar;
      })(),
    )) {
      const parts = member.name.split('/');
      if (parts.length !== 2 || parts[1] !== 'Chart.yaml') continue;
      const chunks: Buffer[] = [];
      for await (const c of member.data) chunks.push(c);
      const meta = parse(Buffer.concat(chunks).toString('utf8')) as {
        name?: unknown;
        version?: unknown;
      } | null;
      if (meta?.name !== name || String(meta?.version) !== version) {
        return `its Chart.yaml names ${String(meta?.name)} ${String(meta?.version)}, not ${name} ${version}`;
      }
      return undefined;
    }
    return 'it holds no <chart>/Chart.yaml';
  } catch (e) {
    return `it is not a gzip'd tar archive (${(e as Error).message})`;
  }
}

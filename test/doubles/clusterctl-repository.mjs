/**
 * What clusterctl v1.9.5 requires of its configuration and of a local repository
 * ({basepath}/{provider-label}/{version}/{file}), with its error texts, and how it rewrites
 * the images of the components it installs. Rules from docs/upstream-facts.md
 * #clusterctl.config, #clusterctl.local-repository, #clusterctl.metadata and
 * #clusterctl.image-overrides.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { at, refuse, yamlDocuments } from './lib.mjs';

const PREFIX = {
  CoreProvider: '',
  BootstrapProvider: 'bootstrap-',
  ControlPlaneProvider: 'control-plane-',
  InfrastructureProvider: 'infrastructure-',
  IPAMProvider: 'ipam-',
  RuntimeExtensionProvider: 'runtime-extension-',
  AddonProvider: 'addon-',
};
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** apimachinery's ParseSemantic: an optional "v", exactly three numbers, pre-release/build. */
const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)([-+][0-9A-Za-z.+-]*)?$/;
/** The only contract clusterctl v1.9 installs. */
const CONTRACT = 'v1beta1';

/** clusterctl's ManifestLabel: the folder a provider's versions live in. */
export const manifestLabel = (name, type) => `${PREFIX[type] ?? ''}${name}`;

/** Refuses a providers entry the way clusterctl's config validation does. */
export function validateProvider(p) {
  const problem = (() => {
    if (!p.name) return 'name value cannot be empty';
    if ((p.name === 'cluster-api') !== (p.type === 'CoreProvider'))
      return `name cluster-api must be used with the CoreProvider type (name: ${p.name}, type: ${p.type})`;
    if (!DNS1123_SUBDOMAIN.test(p.name) || p.name.length > 253)
      return `invalid provider name: ${p.name} is not a DNS-1123 subdomain`;
    if (!p.url) return 'provider URL value cannot be empty';
    if (!(p.type in PREFIX)) return 'invalid provider type';
    return undefined;
  })();
  if (problem)
    refuse(
      `Error: error validating configuration for the ${p.type} with name ${p.name}. Please fix the providers value in clusterctl configuration file: ${problem}`,
    );
}

/**
 * Reads a provider from its local repository as `clusterctl init` does: the url's folders,
 * its components file and its metadata.yaml, whose release series must cover the version
 * with contract v1beta1. Returns the version and the components' documents.
 */
export function readLocalProvider(p) {
  const url = String(p.url);
  if (!url.startsWith('file://') && /^[a-z][a-z0-9+.-]*:/i.test(url))
    refuse(`provider ${p.name} comes from ${url}, not from a local file`);
  const path = url.replace(/^file:\/\//, '');
  const label = manifestLabel(p.name, p.type);
  const wrap = (m) => `Error: error creating the local filesystem repository client: ${m}`;
  if (!path.startsWith('/')) refuse(wrap(`invalid path: path "${url}" must be an absolute path`));
  const parts = path.split('/');
  if (parts.length < 3)
    refuse(
      wrap(
        'invalid path: path should be in the form {basepath}/{provider-name}/{version}/{components.yaml}',
      ),
    );
  const [folder, version, file] = parts.slice(-3);
  if (version !== 'latest' && !SEMVER.test(version))
    refuse(
      wrap(
        `invalid version: "${version}". Version must obey the syntax and semantics of the "Semantic Versioning" specification (http://semver.org/) and path format {basepath}/{provider-name}/{version}/{components.yaml}`,
      ),
    );
  if (version === 'latest') refuse('this double does not resolve "latest"', 2);
  if (folder !== label)
    refuse(
      wrap(
        `invalid path: path "${url}" must contain provider "${label}" in the format {basepath}/{provider-label}/{version}/{components.yaml}`,
      ),
    );
  const dir = parts.slice(0, -1).join('/');
  const read = (name) => {
    const abs = `${dir}/${name}`;
    if (!existsSync(at(abs)) || statSync(at(abs)).isDirectory())
      return `failed to read file "${abs}" from local release ${version}`;
    return undefined;
  };
  const missing = read(file);
  if (missing) refuse(`Error: ${missing}`);
  const components = yamlDocuments(at(`${dir}/${file}`));
  const noMetadata = read('metadata.yaml');
  if (noMetadata)
    refuse(
      `Error: failed to read "metadata.yaml" from the repository for provider "${label}": ${noMetadata}`,
    );
  checkMetadata(`${dir}/metadata.yaml`, label, version);
  return { label, version, components };
}

function checkMetadata(file, label, version) {
  let meta;
  try {
    meta = parseAllDocuments(readFileSync(at(file), 'utf8'))[0]?.toJS();
  } catch {
    meta = undefined;
  }
  if (meta?.apiVersion !== 'clusterctl.cluster.x-k8s.io/v1alpha3' || meta?.kind !== 'Metadata')
    refuse(`Error: error decoding "metadata.yaml" for provider "${label}"`);
  const [, major, minor] = SEMVER.exec(version).map(Number);
  const series = (meta.releaseSeries ?? []).find((s) => s.major === major && s.minor === minor);
  if (!series)
    refuse(
      `Error: invalid provider metadata: version ${version} for the provider ${label} does not match any release series`,
    );
  if (series.contract !== CONTRACT)
    refuse(
      `Error: current version of clusterctl is only compatible with ${CONTRACT} providers, detected ${series.contract} for provider ${label}`,
    );
}

/**
 * An image as clusterctl writes it into the components: `images.all`, then
 * `images.<label>`, then `images.<label>/<name>` override repository and tag; the
 * repository is everything before the image's last path element.
 */
export function overrideImage(ref, label, images) {
  if (!images) return ref;
  const [, name, tag, digest] =
    /^([^:@]+(?::\d+\/[^:@]+)?)(?::([^@]+))?(?:@(.+))?$/.exec(ref) ?? [];
  if (!name) return ref;
  const last = name.slice(name.lastIndexOf('/') + 1);
  const meta = Object.assign(
    {},
    ...['all', label, `${label}/${last}`].map((k) =>
      Object.fromEntries(Object.entries(images[k] ?? {}).filter(([, v]) => v)),
    ),
  );
  const repository = meta.repository?.replace(/\/$/, '') ?? name.slice(0, name.lastIndexOf('/'));
  const newTag = meta.tag ?? tag;
  return `${repository}/${last}${newTag ? `:${newTag}` : ''}${digest ? `@${digest}` : ''}`;
}

/**
 * clusterctl's local repository in the bundle, and ORC, which CAPO v0.12 needs beside it.
 * One description of the layout that clusterctl.yaml points at, that the bundle must hold
 * and that the lab seeds. `bundle create` (`--bom files`) fetches them to the paths
 * `bundleFiles()` names (src/bundle/bom-artifacts.ts).
 */
import { bomFile, bomImage } from '../bom.js';
import { REMOTE } from '../context.js';

export const CAPI_VERSION = bomFile('capi').version;
export const CAPO_VERSION = bomFile('capo').version;
/**
 * CAPO v0.12.2 is built against ORC v1.0.1 (its go.mod); its docs install v1.0.0. Both are
 * the v1alpha1 API CAPO watches; v2 belongs to CAPO v0.13 (docs/upstream-facts.md#capo.orc).
 */
export const ORC_VERSION = bomFile('orc').version;
/** The CRD CAPO's controller watches: without it, capo-controller-manager cannot start. */
export const ORC_CRD = 'images.openstack.k-orc.cloud';

export type ProviderType =
  'CoreProvider' | 'BootstrapProvider' | 'ControlPlaneProvider' | 'InfrastructureProvider';

/** A provider as clusterctl installs it, and where its files come from. */
export interface CapiProvider {
  /** The name given to `clusterctl init --core/--bootstrap/…`. */
  name: string;
  type: ProviderType;
  version: string;
  /** The release asset clusterctl.yaml's url ends in. */
  components: string;
  /** The GitHub release the assets (components and metadata.yaml) are published with. */
  release: string;
  /** The controller image the components name, as the release builds them. */
  image: string;
}

/** docs/upstream-facts.md#clusterctl.local-repository: clusterctl's `ManifestLabel`. */
export function providerLabel(p: Pick<CapiProvider, 'name' | 'type'>): string {
  const prefix = {
    CoreProvider: '',
    BootstrapProvider: 'bootstrap-',
    ControlPlaneProvider: 'control-plane-',
    InfrastructureProvider: 'infrastructure-',
  }[p.type];
  return `${prefix}${p.name}`;
}

const CAPI_RELEASE = bomFile('capi').url;
const CAPO_RELEASE = bomFile('capo').url;

/** docs/upstream-facts.md#clusterctl.metadata, #clusterctl.image-overrides: the release assets. */
export const CAPI_PROVIDERS: readonly CapiProvider[] = [
  {
    name: 'cluster-api',
    type: 'CoreProvider',
    version: CAPI_VERSION,
    components: 'core-components.yaml',
    release: CAPI_RELEASE,
    image: bomImage('capi-core'),
  },
  {
    name: 'kubeadm',
    type: 'BootstrapProvider',
    version: CAPI_VERSION,
    components: 'bootstrap-components.yaml',
    release: CAPI_RELEASE,
    image: bomImage('capi-bootstrap-kubeadm'),
  },
  {
    name: 'kubeadm',
    type: 'ControlPlaneProvider',
    version: CAPI_VERSION,
    components: 'control-plane-components.yaml',
    release: CAPI_RELEASE,
    image: bomImage('capi-control-plane-kubeadm'),
  },
  {
    name: 'openstack',
    type: 'InfrastructureProvider',
    version: CAPO_VERSION,
    components: 'infrastructure-components.yaml',
    release: CAPO_RELEASE,
    image: bomImage('capo'),
  },
];

/** Where the local repository starts: `{basepath}` in clusterctl's terms. */
export const CAPI_FILES = `${REMOTE.bundle}/files/capi`;
/** clusterctl reads this file from every provider's version folder. */
export const METADATA_FILE = 'metadata.yaml';
export const ORC_INSTALL = `${REMOTE.bundle}/files/orc/${ORC_VERSION}/install.yaml`;

/** A provider's version folder relative to the bundle's `files/capi`: `{label}/{version}`. */
export const providerFolder = (p: CapiProvider) => `${providerLabel(p)}/${p.version}`;

/** Every file the bundle must hold for uGarden, under `files/`, with the asset it is. */
export function bundleFiles(): Array<{ name: string; url: string }> {
  return [
    ...CAPI_PROVIDERS.flatMap((p) =>
      [p.components, METADATA_FILE].map((f) => ({
        name: `capi/${providerFolder(p)}/${f}`,
        url: `${p.release}/${f}`,
      })),
    ),
    {
      name: `orc/${ORC_VERSION}/install.yaml`,
      url: bomFile('orc').url,
    },
  ];
}

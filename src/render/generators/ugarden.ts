/**
 * uGarden: Cluster API with the OpenStack provider (CAPO), installed by clusterctl from the
 * bundle's provider files; Flux, fed from a git repository served on the site; and the
 * first workload cluster, declared in that repository.
 */
import type { HostContext } from '../context.js';
import { image, LOCAL_REGISTRY } from '../images.js';
import {
  CAPI_FILES,
  CAPI_PROVIDERS,
  type CapiProvider,
  providerFolder,
  providerLabel,
} from './capi-repository.js';
import { toYaml, toYamlDocuments } from '../yaml.js';
import {
  GARDEN_CONTROL_PLANE_REPLICAS,
  GARDEN_WORKER_REPLICAS,
  gardenObjects,
} from './garden-objects.js';

export { CAPI_VERSION, CAPO_VERSION } from './capi-repository.js';

/** The in-cluster git server (Gitea) the site's GitOps repository lives in. */
export const GIT_URL = 'http://gitea-http.ustart-git.svc.cluster.local:3000/ustart/garden.git';

export function workloadClusterName(ctx: HostContext): string {
  return `${ctx.plan.site.name}-garden-01`;
}

/**
 * clusterctl.yaml: providers from the bundle's local repository only, so clusterctl never
 * goes online (docs/upstream-facts.md#clusterctl.local-repository, #clusterctl.config).
 */
export function clusterctlConfig(ctx: HostContext): string {
  // docs/upstream-facts.md#clusterctl.image-overrides: a repository override replaces all of
  // an image's name but its last element, so each provider gets the folder images.sh tags
  // its image under (`bundle.ustart.invalid/cluster-api/…`), not the bare registry.
  const repository = (p: CapiProvider) => {
    const local = image(ctx, p.image);
    return local.slice(0, local.lastIndexOf('/'));
  };
  return toYaml({
    providers: CAPI_PROVIDERS.map((p) => ({
      name: p.name,
      type: p.type,
      url: `file://${CAPI_FILES}/${providerFolder(p)}/${p.components}`,
    })),
    ...(ctx.plan.site.airGapped
      ? {
          images: Object.fromEntries(
            CAPI_PROVIDERS.map((p) => [providerLabel(p), { repository: repository(p) }]),
          ),
        }
      : {}),
    CLUSTERCTL_DISABLE_VERSIONCHECK: 'true',
  });
}

/** Flux's source (the site's git repository) and what it applies from it. */
export function fluxSync(_ctx: HostContext): string {
  return toYamlDocuments([
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'garden', namespace: 'flux-system' },
      spec: {
        interval: '1m',
        url: GIT_URL,
        ref: { branch: 'main' },
        secretRef: { name: 'garden-git' },
      },
    },
    {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'clusters', namespace: 'flux-system' },
      spec: {
        interval: '5m',
        path: './clusters',
        prune: true,
        sourceRef: { kind: 'GitRepository', name: 'garden' },
        targetNamespace: 'garden',
      },
    },
  ]);
}

/** The first workload cluster as Cluster API objects: 3 control-plane and 2 worker VMs. */
export function workloadCluster(ctx: HostContext): string {
  const name = workloadClusterName(ctx);
  const version = `v${ctx.k8sVersion}`;
  const os = gardenObjects(ctx.plan);
  const machineTemplate = (suffix: string, flavor: string) => ({
    apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
    kind: 'OpenStackMachineTemplate',
    metadata: { name: `${name}-${suffix}`, namespace: 'garden' },
    spec: {
      template: {
        spec: {
          flavor,
          image: { filter: { name: os.image.name } },
          sshKeyName: os.keypair,
        },
      },
    },
  });
  return toYamlDocuments([
    {
      apiVersion: 'cluster.x-k8s.io/v1beta1',
      kind: 'Cluster',
      metadata: { name, namespace: 'garden' },
      spec: {
        clusterNetwork: {
          pods: { cidrBlocks: ['172.16.0.0/16'] },
          services: { cidrBlocks: ['172.17.0.0/16'] },
        },
        controlPlaneRef: {
          apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
          kind: 'KubeadmControlPlane',
          name: `${name}-control-plane`,
        },
        infrastructureRef: {
          apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
          kind: 'OpenStackCluster',
          name,
        },
      },
    },
    {
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
      kind: 'OpenStackCluster',
      metadata: { name, namespace: 'garden' },
      spec: {
        identityRef: { cloudName: 'ustack', name: `${name}-cloud-config` },
        ...(os.externalNetwork
          ? { externalNetwork: { filter: { name: os.externalNetwork } } }
          : {}),
        managedSubnets: [{ cidr: '10.6.0.0/24', dnsNameservers: ctx.plan.site.dns }],
        apiServerLoadBalancer: { enabled: false },
      },
    },
    {
      apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
      kind: 'KubeadmControlPlane',
      metadata: { name: `${name}-control-plane`, namespace: 'garden' },
      spec: {
        replicas: GARDEN_CONTROL_PLANE_REPLICAS,
        version,
        machineTemplate: {
          infrastructureRef: {
            apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
            kind: 'OpenStackMachineTemplate',
            name: `${name}-control-plane`,
          },
        },
        kubeadmConfigSpec: {
          clusterConfiguration: {
            imageRepository: image(ctx, 'registry.k8s.io/x').replace(/\/x$/, ''),
          },
          initConfiguration: { nodeRegistration: { name: '{{ local_hostname }}' } },
          joinConfiguration: { nodeRegistration: { name: '{{ local_hostname }}' } },
        },
      },
    },
    machineTemplate('control-plane', os.controlPlane.name),
    machineTemplate('md-0', os.worker.name),
    {
      apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1',
      kind: 'KubeadmConfigTemplate',
      metadata: { name: `${name}-md-0`, namespace: 'garden' },
      spec: {
        template: {
          spec: { joinConfiguration: { nodeRegistration: { name: '{{ local_hostname }}' } } },
        },
      },
    },
    {
      apiVersion: 'cluster.x-k8s.io/v1beta1',
      kind: 'MachineDeployment',
      metadata: { name: `${name}-md-0`, namespace: 'garden' },
      spec: {
        clusterName: name,
        replicas: GARDEN_WORKER_REPLICAS,
        selector: { matchLabels: {} },
        template: {
          spec: {
            clusterName: name,
            version,
            bootstrap: {
              configRef: {
                apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1',
                kind: 'KubeadmConfigTemplate',
                name: `${name}-md-0`,
              },
            },
            infrastructureRef: {
              apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
              kind: 'OpenStackMachineTemplate',
              name: `${name}-md-0`,
            },
          },
        },
      },
    },
  ]);
}

/**
 * The Gitea Helm chart the bundle carries (gitea.com/gitea/helm-gitea). From 12.0.0 on its
 * cache, session and queue sub-chart is valkey-cluster (before: redis-cluster), enabled by
 * default, as is postgresql-ha (docs/upstream-facts.md#gitea.chart-12-defaults): giteaValues
 * turns off exactly the keys of this version.
 */
export const GITEA_CHART = { name: 'gitea', version: '12.0.0' } as const;

/**
 * Gitea's Helm values: one admin from a Secret, no outside access, storage on Ceph. SQLite in
 * Gitea's own volume, and no cache cluster: with valkey and valkey-cluster both off the chart
 * sets memory session and cache and a level queue (docs/upstream-facts.md#gitea.chart-12-defaults),
 * so no bitnami StatefulSet with volumes of its own and images from outside the bundle.
 */
export function giteaValues(ctx: HostContext): string {
  return toYaml({
    global: { imageRegistry: ctx.plan.site.airGapped ? LOCAL_REGISTRY : null },
    gitea: {
      admin: { existingSecret: 'gitea-admin' },
      config: {
        server: { OFFLINE_MODE: true },
        service: { DISABLE_REGISTRATION: true },
        database: { DB_TYPE: 'sqlite3' },
      },
    },
    persistence: { enabled: true, storageClass: 'ceph-block', size: '10Gi' },
    'postgresql-ha': { enabled: false },
    postgresql: { enabled: false },
    'valkey-cluster': { enabled: false },
    valkey: { enabled: false },
  });
}

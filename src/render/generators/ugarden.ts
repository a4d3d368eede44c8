/**
 * uGarden: Cluster API with the OpenStack provider (CAPO), installed by clusterctl from the
 * bundle's provider files; Flux, fed from a git repository served on the site; and the
 * first workload cluster, declared in that repository.
 */
import { bomChart, bomFile } from '../bom.js';
import type { HostContext } from '../context.js';
import { CAPI_FILES, CAPI_PROVIDERS, providerFolder } from './capi-repository.js';
import { toYaml, toYamlDocuments } from '../yaml.js';
import {
  GARDEN_API_ADDRESS_PLACEHOLDER,
  GARDEN_CONTROL_PLANE_REPLICAS,
  GARDEN_WORKER_REPLICAS,
  gardenObjects,
} from './garden-objects.js';
import { KUBE_VIP_IMAGE, kubeVipPod } from './kubernetes.js';
import { gardenMirrorFiles } from './site-registry.js';

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
export function clusterctlConfig(_ctx: HostContext): string {
  // No `images:` override (docs/upstream-facts.md#clusterctl.image-overrides): the providers
  // keep their upstream image names, which an air-gapped site's containerd pulls through the
  // site registry's mirrors (site-registry.ts).
  return toYaml({
    providers: CAPI_PROVIDERS.map((p) => ({
      name: p.name,
      type: p.type,
      url: `file://${CAPI_FILES}/${providerFolder(p)}/${p.components}`,
    })),
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

/**
 * Addons the workload cluster needs before Cluster API can report it Ready, pinned:
 * Calico as the CNI (the CNI of CAPO's own e2e and the one its template's security group
 * rules are written for), and cloud-provider-openstack's cloud controller manager and Cinder
 * CSI at the release that matches Kubernetes 1.31 (docs/upstream-facts.md#ccm.openstack,
 * #csi.cinder, #calico.version).
 */
export const CALICO_VERSION = bomFile('calico').version;
export const CLOUD_PROVIDER_OPENSTACK_VERSION = bomFile('cloud-provider-openstack').version;
/** Where the bundle holds the addons' release manifests (WORKLOAD_ADDONS' files). */
export const ADDON_FILES = 'files/ugarden/addons';

/**
 * One ClusterResourceSet each, with the upstream release manifests (from the bundle, as
 * published) in a ConfigMap the repository step builds next to the cluster. The label is put
 * on the Cluster so that the set selects it (docs/upstream-facts.md#capi.crs; the names
 * follow CAPO's e2e, #capo.templates-addons).
 */
export const WORKLOAD_ADDONS = [
  {
    name: 'cni',
    files: [`calico/${CALICO_VERSION}/calico.yaml`],
  },
  {
    name: 'ccm',
    files: [
      `cloud-provider-openstack/${CLOUD_PROVIDER_OPENSTACK_VERSION}/cloud-controller-manager-roles.yaml`,
      `cloud-provider-openstack/${CLOUD_PROVIDER_OPENSTACK_VERSION}/cloud-controller-manager-role-bindings.yaml`,
      `cloud-provider-openstack/${CLOUD_PROVIDER_OPENSTACK_VERSION}/openstack-cloud-controller-manager-ds.yaml`,
    ],
  },
  {
    name: 'csi',
    files: [
      'csi-cinder-driver.yaml',
      'cinder-csi-controllerplugin-rbac.yaml',
      'cinder-csi-controllerplugin.yaml',
      'cinder-csi-nodeplugin-rbac.yaml',
      'cinder-csi-nodeplugin.yaml',
    ].map((f) => `cloud-provider-openstack/${CLOUD_PROVIDER_OPENSTACK_VERSION}/${f}`),
  },
] as const;

/** The ConfigMap (in garden) holding an addon's manifests. */
export const addonConfigMap = (cluster: string, addon: string) => `${cluster}-${addon}`;
/**
 * The Secret (in garden, type addons.cluster.x-k8s.io/resource-set) holding the manifest of
 * kube-system/cloud-config for the CCM and Cinder CSI. capi.sh makes it from CAPO's
 * application credential and the site's root CA: it holds a secret, so it is never in git.
 */
export const cloudConfSecret = (cluster: string) => `${cluster}-cloud-conf`;

/**
 * What the repository step wraps into ConfigMaps: `configmap <name> <key> <bundle file>`
 * lines. The manifests keep their upstream image names on every site.
 */
export function workloadAddons(ctx: HostContext): string {
  const name = workloadClusterName(ctx);
  const lines = WORKLOAD_ADDONS.flatMap((a) =>
    a.files.map(
      (f) =>
        `configmap\t${addonConfigMap(name, a.name)}\t${f.split('/').at(-1)!}\t${ADDON_FILES}/${f}`,
    ),
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The kubelet and control-plane settings CAPO's own templates use for an external cloud
 * provider (docs/upstream-facts.md#capo.templates-addons): the Node gets the provider id
 * CAPO gives the Machine (`openstack:///<instance id>` with no identityRef.region,
 * #capi.kcp-noderef), so Cluster API can match Node and Machine.
 */
const NODE_REGISTRATION = {
  name: '{{ local_hostname }}',
  kubeletExtraArgs: {
    'cloud-provider': 'external',
    'provider-id': "openstack:///'{{ instance_id }}'",
  },
};

/** Where kube-vip's manifest goes on a workload control-plane machine: a static Pod. */
const KUBE_VIP_MANIFEST = '/etc/kubernetes/manifests/kube-vip.yaml';

/**
 * The commands that make the first control-plane machine's kube-vip use super-admin.conf
 * while `kubeadm init` runs, and admin.conf after it (docs/upstream-facts.md#kube-vip.super-admin).
 * Cluster API writes the same files to every control-plane machine, but only the one that
 * runs `kubeadm init` has /run/kubeadm/kubeadm.yaml, written before the pre-commands run
 * (docs/upstream-facts.md#capi.bootstrap-files); joining machines keep admin.conf, which
 * `kubeadm join` writes.
 */
const KUBE_VIP_INIT = {
  pre: `if [ -f /run/kubeadm/kubeadm.yaml ]; then sed -i 's#path: /etc/kubernetes/admin.conf#path: /etc/kubernetes/super-admin.conf#' ${KUBE_VIP_MANIFEST}; fi`,
  post: `if [ -f /run/kubeadm/kubeadm.yaml ]; then sed -i 's#path: /etc/kubernetes/super-admin.conf#path: /etc/kubernetes/admin.conf#' ${KUBE_VIP_MANIFEST}; fi`,
};

/**
 * The first workload cluster as Cluster API objects: 3 control-plane and 2 worker VMs on the
 * network ugarden.openstack-objects made, the API on a virtual IP that kube-vip moves between
 * the control-plane VMs behind a floating IP (docs/ugarden-workload-cluster.md), CAPO's
 * security groups, and the addons as ClusterResourceSets.
 */
export function workloadCluster(ctx: HostContext): string {
  const name = workloadClusterName(ctx);
  const version = `v${ctx.k8sVersion}`;
  const os = gardenObjects(ctx.plan);
  const machineTemplate = (suffix: string, flavor: string, ports?: unknown[]) => ({
    apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
    kind: 'OpenStackMachineTemplate',
    metadata: { name: `${name}-${suffix}`, namespace: 'garden' },
    spec: {
      template: {
        spec: {
          flavor,
          image: { filter: { name: os.image.name } },
          sshKeyName: os.keypair,
          ...(ports ? { ports } : {}),
        },
      },
    },
  });
  const kubeVip = toYaml(
    kubeVipPod({
      address: os.net.vip,
      // The machine's one NIC, whose name depends on the node image: kube-vip takes the
      // interface of the default route (docs/upstream-facts.md#kube-vip.default-interface).
      kubeconfig: '/etc/kubernetes/admin.conf',
      image: KUBE_VIP_IMAGE,
      imagePullPolicy: 'IfNotPresent',
    }),
  );
  // docs/upstream-facts.md#capo.security-groups: Calico's BGP and IP-in-IP between all nodes,
  // as CAPO's template opens them; CAPO itself opens the API, etcd, kubelet and NodePorts.
  const calicoRule = (ruleName: string, protocol: string, port?: number) => ({
    name: ruleName,
    description: `uStart: ${ruleName} between the cluster's nodes`,
    direction: 'ingress',
    etherType: 'IPv4',
    protocol,
    ...(port ? { portRangeMin: port, portRangeMax: port } : {}),
    remoteManagedGroups: ['controlplane', 'worker'],
  });
  const resourceSet = (addon: string, secret?: string) => ({
    apiVersion: 'addons.cluster.x-k8s.io/v1beta1',
    kind: 'ClusterResourceSet',
    metadata: { name: `${name}-${addon}`, namespace: 'garden' },
    spec: {
      clusterSelector: { matchLabels: { [`addons.ustart.io/${addon}`]: name } },
      resources: [
        ...(secret ? [{ kind: 'Secret', name: secret }] : []),
        { kind: 'ConfigMap', name: addonConfigMap(name, addon) },
      ],
      strategy: 'ApplyOnce',
    },
  });
  return toYamlDocuments([
    {
      apiVersion: 'cluster.x-k8s.io/v1beta1',
      kind: 'Cluster',
      metadata: {
        name,
        namespace: 'garden',
        labels: Object.fromEntries(
          WORKLOAD_ADDONS.map((a) => [`addons.ustart.io/${a.name}`, name]),
        ),
      },
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
        // The network ugarden.openstack-objects made: CAPO uses an existing network when
        // there are no managedSubnets (docs/upstream-facts.md#capo.pre-existing-network).
        network: { filter: { name: os.net.network } },
        subnets: [{ filter: { name: os.net.subnet } }],
        // docs/upstream-facts.md#capo.api-lb, #capo.endpoint: no load balancer (uStack has no
        // Octavia), and not CAPO's own floating IP, which it puts on the first control-plane
        // VM only. The endpoint is the floating IP of the port holding kube-vip's VIP, given
        // here, so CAPO uses it as it is and manages no floating IP itself.
        apiServerLoadBalancer: { enabled: false },
        disableAPIServerFloatingIP: true,
        controlPlaneEndpoint: { host: GARDEN_API_ADDRESS_PLACEHOLDER, port: 6443 },
        managedSecurityGroups: {
          allowAllInClusterTraffic: false,
          allNodesSecurityGroupRules: [
            calicoRule('BGP (Calico)', 'tcp', 179),
            calicoRule('IP-in-IP (Calico)', '4'),
          ],
        },
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
            imageRepository: 'registry.k8s.io',
            // kubeadm adds the endpoint (the floating IP) itself; the VIP is for clients on
            // the cluster's network.
            apiServer: { extraArgs: { 'cloud-provider': 'external' }, certSANs: [os.net.vip] },
            controllerManager: { extraArgs: { 'cloud-provider': 'external' } },
          },
          initConfiguration: { nodeRegistration: NODE_REGISTRATION },
          joinConfiguration: { nodeRegistration: NODE_REGISTRATION },
          files: [
            { path: KUBE_VIP_MANIFEST, owner: 'root:root', permissions: '0644', content: kubeVip },
            ...gardenMirrorFiles(ctx),
          ],
          preKubeadmCommands: [KUBE_VIP_INIT.pre],
          postKubeadmCommands: [KUBE_VIP_INIT.post],
        },
      },
    },
    // docs/upstream-facts.md#capo.ports, #neutron.allowed-address-pairs: Neutron's port
    // security lets a control-plane VM answer for the VIP only when its port allows it.
    machineTemplate('control-plane', os.controlPlane.name, [
      { allowedAddressPairs: [{ ipAddress: os.net.vip }] },
    ]),
    machineTemplate('md-0', os.worker.name),
    {
      apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1',
      kind: 'KubeadmConfigTemplate',
      metadata: { name: `${name}-md-0`, namespace: 'garden' },
      spec: {
        template: {
          spec: {
            joinConfiguration: { nodeRegistration: NODE_REGISTRATION },
            ...(ctx.plan.site.airGapped ? { files: gardenMirrorFiles(ctx) } : {}),
          },
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
    resourceSet('cni'),
    // The CCM's set also carries kube-system/cloud-config, which Cinder CSI reads too.
    resourceSet('ccm', cloudConfSecret(name)),
    resourceSet('csi'),
  ]);
}

/**
 * The Gitea Helm chart the bundle carries (gitea.com/gitea/helm-gitea). From 12.0.0 on its
 * cache, session and queue sub-chart is valkey-cluster (before: redis-cluster), enabled by
 * default, as is postgresql-ha (docs/upstream-facts.md#gitea.chart-12-defaults): giteaValues
 * turns off exactly the keys of this version.
 */
export const GITEA_CHART = { name: 'gitea', version: bomChart('gitea').version } as const;

/**
 * Gitea's Helm values: one admin from a Secret, no outside access, storage on Ceph. SQLite in
 * Gitea's own volume, and no cache cluster: with valkey and valkey-cluster both off the chart
 * sets memory session and cache and a level queue (docs/upstream-facts.md#gitea.chart-12-defaults),
 * so no bitnami StatefulSet with volumes of its own and images from outside the bundle.
 */
export function giteaValues(_ctx: HostContext): string {
  return toYaml({
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

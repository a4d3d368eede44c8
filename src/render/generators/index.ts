/**
 * Every generator a runbook may name in `files[].generate`: a pure function from one host's
 * context to the file's text. Adding a generator here makes it available to every runbook.
 */
import type { HostContext } from '../context.js';
import { rookCephCluster, rookOperatorValues } from './ceph.js';
import {
  ciliumValues,
  containerdConfig,
  kubeadmInit,
  kubeadmJoin,
  kubeVipManifest,
  nodeLabels,
} from './kubernetes.js';
import { hostNetworkConfig, hostNetworkLinks } from './host-network.js';
import { alloyValues, handoverEndpoints, lokiValues, prometheusStackValues } from './monitoring.js';
import { gardenObjectsConfig } from './garden-objects.js';
import { chronyConf, hostsBlock, netcheckPeers } from './os.js';
import {
  clusterctlConfig,
  fluxSync,
  giteaValues,
  workloadAddons,
  workloadCluster,
} from './ugarden.js';
import {
  ingressNginxValues,
  smokeTestConfig,
  YAOOK_SERVICES,
  type YaookService,
  yaookGenerator,
  yaookInfra,
} from './ustack.js';
import { providerNetworkConfig } from './ustack-network.js';
import {
  containerdHostsToml,
  hostsTomlGenerator,
  MIRRORED_REGISTRIES,
  siteRegistryConfig,
  siteRegistryWriterConfig,
} from './site-registry.js';

export type Generator = (ctx: HostContext) => string;

export const GENERATORS: Readonly<Record<string, Generator>> = {
  'hosts-block': hostsBlock,
  'chrony-conf': chronyConf,
  'netcheck-peers': netcheckPeers,
  'host-network-links': hostNetworkLinks,
  'host-network-config': hostNetworkConfig,
  'containerd-config': containerdConfig,
  ...Object.fromEntries(
    MIRRORED_REGISTRIES.map((r) => [hostsTomlGenerator(r), containerdHostsToml(r)]),
  ),
  'site-registry-config': siteRegistryConfig,
  'site-registry-writer-config': siteRegistryWriterConfig,
  'kubeadm-init': kubeadmInit,
  'kubeadm-join': kubeadmJoin,
  'kube-vip-manifest': kubeVipManifest,
  'node-labels': nodeLabels,
  'cilium-values': ciliumValues,
  'rook-operator-values': rookOperatorValues,
  'rook-ceph-cluster': rookCephCluster,
  'prometheus-stack-values': prometheusStackValues,
  'loki-values': lokiValues,
  'alloy-values': alloyValues,
  'handover-endpoints': handoverEndpoints,
  'ingress-nginx-values': ingressNginxValues,
  'yaook-infra': yaookInfra,
  ...Object.fromEntries(
    (Object.keys(YAOOK_SERVICES) as YaookService[]).map((s) => [`yaook-${s}`, yaookGenerator(s)]),
  ),
  'smoke-test-config': smokeTestConfig,
  'provider-network-config': providerNetworkConfig,
  'garden-objects-config': gardenObjectsConfig,
  'clusterctl-config': clusterctlConfig,
  'flux-sync': fluxSync,
  'workload-cluster': workloadCluster,
  'workload-addons': workloadAddons,
  'gitea-values': giteaValues,
};

export const GENERATOR_NAMES: ReadonlySet<string> = new Set(Object.keys(GENERATORS));

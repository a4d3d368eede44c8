/**
 * Which schema checks the output of which generator. Every generator of the uMetal and uStack runbooks
 * that writes an object for Kubernetes, a CRD or a Helm chart is listed in UPSTREAM_SCHEMAS;
 * the others are in UNCHECKED with the reason, so a new generator fails the schema test until
 * someone decides which it is (src/render/schemas.test.ts).
 */
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { KubeadmDocument } from '../kubeadm-schema.js';
import { AlloyValues } from './alloy-values.js';
import { WorkloadClusterDocument } from './capi.js';
import { CiliumValues } from './cilium-values.js';
import { ContainerdConfig, parseTomlSubset } from './containerd.js';
import { Pod } from './k8s-api.js';
import { KubePrometheusStackValues } from './kube-prometheus-stack-values.js';
import { LokiValues } from './loki-values.js';
import { RookCephValues } from './rook-ceph-values.js';
import { IngressNginxValues, YAOOK_SCHEMAS } from './yaook.js';
import { CephManifestDocument } from './rook-ceph.js';

/** A file's documents as plain data, in order; a YAML syntax error throws. */
export function yamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => {
    const [error] = d.errors;
    if (error) throw new Error(error.message, { cause: error });
    return d.toJS() as unknown;
  });
}

/** How to read a generator's file, and the schema each document must meet. */
export interface FileSchema {
  read: (text: string) => unknown[];
  schema: z.ZodType;
}

const yaml = (schema: z.ZodType): FileSchema => ({ read: yamlDocuments, schema });

export const UPSTREAM_SCHEMAS: Readonly<Record<string, FileSchema>> = {
  'containerd-config': { read: (t) => [parseTomlSubset(t)], schema: ContainerdConfig },
  'kubeadm-init': yaml(KubeadmDocument),
  'kubeadm-join': yaml(KubeadmDocument),
  'kube-vip-manifest': yaml(Pod),
  'cilium-values': yaml(CiliumValues),
  'rook-operator-values': yaml(RookCephValues),
  'rook-ceph-cluster': yaml(CephManifestDocument),
  'prometheus-stack-values': yaml(KubePrometheusStackValues),
  'loki-values': yaml(LokiValues),
  'alloy-values': yaml(AlloyValues),
  'ingress-nginx-values': yaml(IngressNginxValues),
  'yaook-keystone': yaml(YAOOK_SCHEMAS.KeystoneDeployment),
  'yaook-glance': yaml(YAOOK_SCHEMAS.GlanceDeployment),
  'yaook-nova': yaml(YAOOK_SCHEMAS.NovaDeployment),
  'yaook-neutron': yaml(YAOOK_SCHEMAS.NeutronDeployment),
  'yaook-cinder': yaml(YAOOK_SCHEMAS.CinderDeployment),
  'yaook-horizon': yaml(YAOOK_SCHEMAS.HorizonDeployment),
  // uGarden (checked by src/render/schemas/capi.test.ts; schemas.test.ts covers uMetal and uStack).
  'workload-cluster': yaml(WorkloadClusterDocument),
};

/** Generators whose files no schema here covers, and why. */
export const UNCHECKED: Readonly<Record<string, string>> = {
  'hosts-block': 'lines for /etc/hosts (address, names), not an API object',
  'chrony-conf': "chrony's own line format, not an API object",
  'netcheck-peers': "uStart's own table, read only by the netcheck script",
  'node-labels': "uStart's own table, read only by the node-labels script",
  'handover-endpoints': "uStart's own JSON for the handover report",
  'yaook-infra':
    "Kubernetes' Namespace and Service and cert-manager's Issuer (checked with kubernetes-models by the uStack lab's kubectl double), Rook's CephBlockPool and CephClient (the double checks each client's pools exist)",
  'smoke-test-config': "uStart's own YAML, read only by the smoke-test script",
  'host-network-links': "uStart's own table, read only by the host-network script",
  'host-network-config':
    'netplan YAML (Ubuntu) or ifupdown stanzas (Debian): no zod schema yet; src/render/generators/host-network.test.ts checks the output against the format rows of docs/upstream-facts.md',
  'provider-network-config':
    "uStart's own key/value table, read only by the ustack.provider-network script; the openstack commands it feeds are checked by the openstack double",
  'garden-objects-config':
    "uStart's own key/value table, read only by the ugarden.openstack-objects script; the openstack commands it feeds are checked by the openstack double",
  'containerd-hosts-docker-io':
    "containerd's hosts.toml (no zod schema): src/render/generators/site-registry.test.ts checks it, and site-registry-lab.test.ts pulls through it with real containerd",
  'containerd-hosts-quay-io': 'as containerd-hosts-docker-io',
  'containerd-hosts-ghcr-io': 'as containerd-hosts-docker-io',
  'containerd-hosts-registry-k8s-io': 'as containerd-hosts-docker-io',
  'containerd-hosts-docker-gitea-com': 'as containerd-hosts-docker-io',
  'site-registry-config':
    "distribution's config.yml (no zod schema): the real docker-registry reads it in site-registry-lab.test.ts and refuses a malformed one",
  'site-registry-writer-config': 'as site-registry-config',
};

/**
 * The part of kubeadm's v1beta4 configuration API that uStart renders, as strict zod
 * schemas (field names and types from kubeadm's Go types, kubernetes/kubernetes
 * cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go, and the v1.31 change list of the
 * kubernetes.io "kubeadm Configuration (v1beta4)" reference: extraArgs became lists of
 * {name, value} for the API server, controller manager, scheduler, local etcd and the
 * kubelet). Tests check every rendered kubeadm file against them, so a misspelt field fails
 * here: kubeadm itself only warns about an unknown field and goes on without it.
 * See docs/upstream-facts.md#schema.kubeadm-v1beta4.
 */
import { z } from 'zod';
import { KubeletConfiguration } from './schemas/kubelet.js';

export { KubeletConfiguration };

const API = z.literal('kubeadm.k8s.io/v1beta4');
const Arg = z.strictObject({ name: z.string().min(1), value: z.string() });
const Taint = z.strictObject({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});
const Endpoint = z.strictObject({
  advertiseAddress: z.ipv4(),
  bindPort: z.int().min(1).max(65535),
});
const NodeRegistration = z.strictObject({
  name: z.string().min(1),
  criSocket: z.string().startsWith('unix:///'),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
  kubeletExtraArgs: z.array(Arg),
  // `json:"taints"` without omitempty: unset means "the control-plane taint on a control-plane
  // node", an empty list means no taint. uStart always says which it wants.
  taints: z.array(Taint),
});
/** ControlPlaneComponent: extraArgs ([]Arg; duplicates allowed) and extraVolumes. */
const ControlPlaneComponent = z.strictObject({ extraArgs: z.array(Arg).optional() });

export const InitConfiguration = z.strictObject({
  apiVersion: API,
  kind: z.literal('InitConfiguration'),
  localAPIEndpoint: Endpoint,
  nodeRegistration: NodeRegistration,
});

export const ClusterConfiguration = z.strictObject({
  apiVersion: API,
  kind: z.literal('ClusterConfiguration'),
  clusterName: z.string().min(1),
  kubernetesVersion: z.string().regex(/^v1\.\d+\.\d+$/),
  controlPlaneEndpoint: z.string().regex(/^[^:]+:\d+$/),
  imageRepository: z.string().min(1),
  networking: z.strictObject({
    podSubnet: z.cidrv4(),
    serviceSubnet: z.cidrv4(),
    dnsDomain: z.string().min(1),
  }),
  apiServer: z.strictObject({
    extraArgs: z.array(Arg).optional(),
    certSANs: z.array(z.string().min(1)),
  }),
  // DNS{ImageMeta{imageRepository, imageTag}, disabled}: CoreDNS's image is
  // <dns.imageRepository or imageRepository>/coredns:<tag> (docs/upstream-facts.md#kubeadm.dns-image).
  dns: z
    .strictObject({
      imageRepository: z.string().min(1).optional(),
      imageTag: z.string().min(1).optional(),
      disabled: z.boolean().optional(),
    })
    .optional(),
  controllerManager: ControlPlaneComponent.optional(),
  scheduler: ControlPlaneComponent.optional(),
  // Etcd{local: LocalEtcd{dataDir (defaulted to /var/lib/etcd), extraArgs []Arg}}.
  etcd: z
    .strictObject({
      local: z.strictObject({
        dataDir: z.string().startsWith('/').optional(),
        extraArgs: z.array(Arg).optional(),
      }),
    })
    .optional(),
});

export const JoinConfiguration = z.strictObject({
  apiVersion: API,
  kind: z.literal('JoinConfiguration'),
  discovery: z.strictObject({
    bootstrapToken: z.strictObject({
      apiServerEndpoint: z.string().regex(/^[^:]+:\d+$/),
      token: z.string().min(1),
      caCertHashes: z.array(z.string().min(1)).min(1),
    }),
  }),
  nodeRegistration: NodeRegistration,
  controlPlane: z
    .strictObject({ localAPIEndpoint: Endpoint, certificateKey: z.string().min(1) })
    .optional(),
});

/** Any document uStart renders into a kubeadm file, by its kind. */
export const KubeadmDocument = z.discriminatedUnion('kind', [
  InitConfiguration,
  ClusterConfiguration,
  KubeletConfiguration,
  JoinConfiguration,
]);

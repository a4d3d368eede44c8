/**
 * The part of kubeadm's v1beta4 configuration API that uStart renders, as strict zod
 * schemas (field names and types from kubeadm's Go types, k8s.io/kubernetes
 * cmd/kubeadm/app/apis/kubeadm/v1beta4). Tests check every rendered kubeadm file against
 * them, so a misspelt field fails here and not in `kubeadm init` on a customer's server.
 */
import { z } from 'zod';

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
  taints: z.array(Taint),
});

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
  apiServer: z.strictObject({ certSANs: z.array(z.string().min(1)) }),
});

export const KubeletConfiguration = z.strictObject({
  apiVersion: z.literal('kubelet.config.k8s.io/v1beta1'),
  kind: z.literal('KubeletConfiguration'),
  cgroupDriver: z.enum(['systemd', 'cgroupfs']),
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

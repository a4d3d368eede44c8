/**
 * The part of the Kubernetes API that uStart's own manifests use (the kube-vip static Pod,
 * the Ceph StorageClass, tolerations and node affinity inside Rook's CephCluster), as strict
 * zod schemas. Field names, required fields and enums come from the Go types of Kubernetes
 * v1.31.4, read in the published staging repositories at the matching tag v0.31.4:
 *
 *   kubernetes/api           core/v1/types.go, storage/v1/types.go
 *   kubernetes/apimachinery  pkg/apis/meta/v1/types.go
 *
 * (the same files as kubernetes/kubernetes staging/src/k8s.io/{api,apimachinery} at v1.31.4).
 * The API server drops unknown fields with only a warning, and the kubelet reads static Pod
 * manifests without the API server at all, so a misspelt field would be lost silently: these
 * schemas are strict so the render test fails instead. See docs/upstream-facts.md#schema.k8s-api.
 */
import { z } from 'zod';

/** ObjectMeta (apimachinery meta/v1 types.go): the fields uStart sets. */
export const ObjectMeta = z.strictObject({
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** core/v1 TaintEffect: NoSchedule, PreferNoSchedule, NoExecute. */
export const TaintEffect = z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);

/** core/v1 Toleration: every field optional; operator Exists or Equal. */
export const Toleration = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: TaintEffect.optional(),
  tolerationSeconds: z.int().optional(),
});

/** core/v1 NodeSelectorRequirement: key and operator required, values optional. */
const NodeSelectorRequirement = z.strictObject({
  key: z.string().min(1),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']),
  values: z.array(z.string()).optional(),
});

/** core/v1 NodeSelectorTerm. */
const NodeSelectorTerm = z.strictObject({
  matchExpressions: z.array(NodeSelectorRequirement).optional(),
  matchFields: z.array(NodeSelectorRequirement).optional(),
});

/** core/v1 NodeAffinity: the required rule uStart uses (nodeSelectorTerms is required). */
export const NodeAffinity = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z
    .strictObject({ nodeSelectorTerms: z.array(NodeSelectorTerm) })
    .optional(),
});

/** core/v1 PullPolicy. */
export const PullPolicy = z.enum(['Always', 'Never', 'IfNotPresent']);

/** core/v1 Container: the fields of the kube-vip container. */
const Container = z.strictObject({
  name: z.string().min(1),
  image: z.string().min(1),
  imagePullPolicy: PullPolicy.optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  // EnvVar: name required; uStart sets plain values, never valueFrom.
  env: z.array(z.strictObject({ name: z.string().min(1), value: z.string() })).optional(),
  securityContext: z
    .strictObject({
      capabilities: z
        .strictObject({
          add: z.array(z.string().min(1)).optional(),
          drop: z.array(z.string().min(1)).optional(),
        })
        .optional(),
    })
    .optional(),
  // VolumeMount: name and mountPath required.
  volumeMounts: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        mountPath: z.string().startsWith('/'),
        readOnly: z.boolean().optional(),
      }),
    )
    .optional(),
});

/** core/v1 HostPathType. */
const HostPathType = z.enum([
  '',
  'DirectoryOrCreate',
  'Directory',
  'FileOrCreate',
  'File',
  'Socket',
  'CharDevice',
  'BlockDevice',
]);

/** core/v1 Volume with a HostPathVolumeSource (path required, type optional). */
const Volume = z.strictObject({
  name: z.string().min(1),
  hostPath: z.strictObject({ path: z.string().startsWith('/'), type: HostPathType.optional() }),
});

/** core/v1 Pod with the PodSpec fields of a static Pod such as kube-vip. */
export const Pod = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Pod'),
  metadata: ObjectMeta,
  spec: z.strictObject({
    containers: z.array(Container).min(1),
    // HostAlias: ip required.
    hostAliases: z
      .array(z.strictObject({ ip: z.ipv4(), hostnames: z.array(z.string().min(1)).optional() }))
      .optional(),
    hostNetwork: z.boolean().optional(),
    priorityClassName: z.string().min(1).optional(),
    tolerations: z.array(Toleration).optional(),
    volumes: z.array(Volume).optional(),
  }),
});

/** storage/v1 StorageClass: provisioner required; reclaimPolicy a PersistentVolumeReclaimPolicy. */
export function storageClass<P extends z.ZodType>(parameters: P) {
  return z.strictObject({
    apiVersion: z.literal('storage.k8s.io/v1'),
    kind: z.literal('StorageClass'),
    metadata: ObjectMeta,
    provisioner: z.string().min(1),
    parameters,
    reclaimPolicy: z.enum(['Recycle', 'Delete', 'Retain']).optional(),
    allowVolumeExpansion: z.boolean().optional(),
    volumeBindingMode: z.enum(['Immediate', 'WaitForFirstConsumer']).optional(),
    mountOptions: z.array(z.string()).optional(),
  });
}

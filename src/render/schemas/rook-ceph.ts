/**
 * Rook's CephCluster and CephBlockPool as uStart renders them, and the StorageClass for
 * Rook's RBD CSI driver, as strict zod schemas. Derived from rook/rook at tag v1.15.6 (the
 * operator chart uStart ships):
 *
 *   pkg/apis/ceph.rook.io/v1/types.go   field names, enums, kubebuilder min/max and patterns
 *   pkg/apis/ceph.rook.io/v1/keys.go    placement keys
 *   Documentation/CRDs/Cluster/ceph-cluster-crd.md  "Placement Configuration Settings"
 *   pkg/operator/ceph/pool/validate.go  what the operator refuses in a pool at reconcile time
 *   pkg/operator/ceph/version/version.go  supportedVersions: Quincy (17), Reef (18), Squid (19)
 *   deploy/examples/csi/rbd/storageclass.yaml       the RBD StorageClass parameters
 *
 * The CRD marks `placement` and `network` x-kubernetes-preserve-unknown-fields, so the API
 * server keeps a misspelt key there and Rook ignores it: only a strict schema catches it.
 * See docs/upstream-facts.md#schema.cephcluster and #schema.cephblockpool.
 */
import { z } from 'zod';
import { NodeAffinity, ObjectMeta, storageClass, Toleration } from './k8s-api.js';

const API = z.literal('ceph.rook.io/v1');

/** types.go CIDR: `+kubebuilder:validation:Pattern=^[0-9a-fA-F:.]{2,}\/[0-9]{1,3}$`. */
const Cidr = z.string().regex(/^[0-9a-fA-F:.]{2,}\/[0-9]{1,3}$/);

/** types.go Placement (core/v1 NodeAffinity and Tolerations): the fields uStart sets. */
const Placement = z.strictObject({
  nodeAffinity: NodeAffinity.optional(),
  tolerations: z.array(Toleration).optional(),
});

/**
 * PlacementSpec is map[KeyType]Placement; the keys Rook reads for a CephCluster are the ones
 * ceph-cluster-crd.md lists: mgr, mon, arbiter, osd, prepareosd, cleanup and all (keys.go).
 */
const PlacementSpec = z.strictObject({
  all: Placement.optional(),
  mon: Placement.optional(),
  arbiter: Placement.optional(),
  mgr: Placement.optional(),
  osd: Placement.optional(),
  prepareosd: Placement.optional(),
  cleanup: Placement.optional(),
});

export const CephCluster = z.strictObject({
  apiVersion: API,
  kind: z.literal('CephCluster'),
  metadata: ObjectMeta,
  spec: z.strictObject({
    // CephVersionSpec; imagePullPolicy `+kubebuilder:validation:Enum=IfNotPresent;Always;Never;""`.
    cephVersion: z.strictObject({
      // Rook refuses a Ceph release outside supportedVersions unless allowUnsupported is set.
      image: z
        .string()
        .regex(
          /:v(17|18|19)\.\d+\.\d+(-\d+)?$/,
          'Rook v1.15 runs Ceph v17, v18 or v19 (version.go)',
        ),
      allowUnsupported: z.boolean().optional(),
      imagePullPolicy: z.enum(['IfNotPresent', 'Always', 'Never', '']).optional(),
    }),
    // `+kubebuilder:validation:Pattern=^/(\S+)`
    dataDirHostPath: z.string().regex(/^\/(\S+)/),
    // MonSpec: count `Minimum=0`, `Maximum=9`.
    mon: z.strictObject({
      count: z.int().min(0).max(9),
      allowMultiplePerNode: z.boolean().optional(),
    }),
    // MgrSpec: count `Minimum=0`, `Maximum=5`; Module{name, enabled}.
    mgr: z.strictObject({
      count: z.int().min(0).max(5),
      allowMultiplePerNode: z.boolean().optional(),
      modules: z
        .array(z.strictObject({ name: z.string().min(1), enabled: z.boolean() }))
        .optional(),
    }),
    // DashboardSpec: port `Minimum=0`, `Maximum=65535`.
    dashboard: z
      .strictObject({
        enabled: z.boolean().optional(),
        ssl: z.boolean().optional(),
        port: z.int().min(0).max(65535).optional(),
        urlPrefix: z.string().optional(),
      })
      .optional(),
    // MonitoringSpec.
    monitoring: z.strictObject({ enabled: z.boolean().optional() }).optional(),
    // NetworkSpec: NetworkProviderType `+kubebuilder:validation:Enum="";host;multus`;
    // AddressRangesSpec{public, cluster: CIDRList}.
    network: z
      .strictObject({
        provider: z.enum(['', 'host', 'multus']).optional(),
        addressRanges: z
          .strictObject({
            public: z.array(Cidr).optional(),
            cluster: z.array(Cidr).optional(),
          })
          .optional(),
      })
      .optional(),
    placement: PlacementSpec.optional(),
    // StorageScopeSpec with the inline Selection; Node{name, Selection}; Device{name, fullpath}.
    storage: z.strictObject({
      useAllNodes: z.boolean().optional(),
      useAllDevices: z.boolean().optional(),
      nodes: z
        .array(
          z.strictObject({
            name: z.string().min(1),
            useAllDevices: z.boolean().optional(),
            devices: z
              .array(
                z.strictObject({
                  name: z.string().min(1),
                  fullpath: z.string().startsWith('/').optional(),
                }),
              )
              .optional(),
          }),
        )
        .optional(),
    }),
  }),
});

/**
 * ReplicatedSpec: size required (`Minimum=0`); validate.go refuses size 1 with
 * requireSafeReplicaSize true.
 */
const ReplicatedSpec = z
  .strictObject({
    size: z.int().min(0),
    requireSafeReplicaSize: z.boolean().optional(),
  })
  .refine((r) => !(r.size === 1 && r.requireSafeReplicaSize), {
    message: 'Rook refuses replicated.size 1 with requireSafeReplicaSize true (validate.go)',
  });

export const CephBlockPool = z.strictObject({
  apiVersion: API,
  kind: z.literal('CephBlockPool'),
  metadata: ObjectMeta,
  spec: z.strictObject({
    // PoolSpec.FailureDomain is free text, but validate.go refuses a name that is not a type
    // in the cluster's CRUSH map; without topology labels on the nodes (uStart sets none)
    // that is only `osd` or `host` (types.go: "osd/host/(region or zone if available)").
    failureDomain: z.enum(['osd', 'host']),
    deviceClass: z.string().min(1).optional(),
    replicated: ReplicatedSpec,
  }),
});

/**
 * The parameters of Rook's example RBD StorageClass (deploy/examples/csi/rbd/storageclass.yaml):
 * Ceph-CSI reads them by name, so a misspelt one is ignored (or the volume never provisions).
 */
export const RbdStorageClass = storageClass(
  z.strictObject({
    clusterID: z.string().min(1),
    pool: z.string().min(1),
    imageFormat: z.literal('2'),
    // A comma-separated list of the features the example names.
    imageFeatures: z
      .string()
      .regex(
        /^(layering|fast-diff|object-map|deep-flatten|exclusive-lock)(,(layering|fast-diff|object-map|deep-flatten|exclusive-lock))*$/,
      ),
    'csi.storage.k8s.io/provisioner-secret-name': z.string().min(1),
    'csi.storage.k8s.io/provisioner-secret-namespace': z.string().min(1),
    'csi.storage.k8s.io/controller-expand-secret-name': z.string().min(1),
    'csi.storage.k8s.io/controller-expand-secret-namespace': z.string().min(1),
    'csi.storage.k8s.io/node-stage-secret-name': z.string().min(1),
    'csi.storage.k8s.io/node-stage-secret-namespace': z.string().min(1),
    // The example: ext4 is the default; xfs "not recommended" where OSDs share the node.
    'csi.storage.k8s.io/fstype': z.enum(['ext4', 'xfs']),
  }),
).refine((s) => s.provisioner.endsWith('.rbd.csi.ceph.com'), {
  message: "the RBD provisioner is '<operator namespace>.rbd.csi.ceph.com'",
  path: ['provisioner'],
});

/** Any document of the rendered ceph-cluster manifest, by kind. */
export const CephManifestDocument = z.discriminatedUnion('kind', [
  CephCluster,
  CephBlockPool,
  RbdStorageClass,
]);

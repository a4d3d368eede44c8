/**
 * Rook-Ceph: a CephCluster whose OSDs are exactly the disks the plan marks `ceph-osd` (never
 * "all devices": a forgotten disk must not be wiped), its public network on the plan's
 * storage network, and a replicated pool with a StorageClass for Cinder and Glance.
 */
import type { HostContext } from '../context.js';
import { image } from '../images.js';
import { STORAGE_TAINT } from './kubernetes.js';
import { toYaml, toYamlDocuments } from '../yaml.js';

export const CEPH_IMAGE = 'quay.io/ceph/ceph:v19.2.2';
const NAMESPACE = 'rook-ceph';

/** Servers with at least one `ceph-osd` disk, and those disks' names without `/dev/`. */
export function cephNodes(
  ctx: HostContext,
): Array<{ name: string; devices: Array<{ name: string }> }> {
  return ctx.members
    .map((s) => ({
      name: s.hostname,
      devices: s.disks
        .filter((d) => d.use === 'ceph-osd')
        .map((d) => ({ name: d.device.replace(/^\/dev\//, '') })),
    }))
    .filter((n) => n.devices.length > 0);
}

export function rookCephCluster(ctx: HostContext): string {
  const nodes = cephNodes(ctx);
  const hosts = nodes.length;
  const [key, rest] = STORAGE_TAINT.split('=') as [string, string];
  const [value, effect] = rest.split(':') as [string, string];
  const toleration = { key, operator: 'Equal', value, effect };
  const cluster = {
    apiVersion: 'ceph.rook.io/v1',
    kind: 'CephCluster',
    metadata: { name: 'ceph', namespace: NAMESPACE },
    spec: {
      cephVersion: { image: image(ctx, CEPH_IMAGE) },
      dataDirHostPath: '/var/lib/rook',
      mon: { count: Math.min(3, Math.max(1, ctx.controllers.length)), allowMultiplePerNode: false },
      mgr: {
        count: Math.min(2, ctx.controllers.length),
        modules: [{ name: 'rook', enabled: true }],
      },
      dashboard: { enabled: true, ssl: false },
      monitoring: { enabled: true },
      network: ctx.storage
        ? {
            provider: 'host',
            addressRanges: { public: [ctx.storage.cidr], cluster: [ctx.storage.cidr] },
          }
        : { provider: 'host' },
      placement: {
        mon: { nodeAffinity: roleAffinity('node-role.uhurutec.com/controller') },
        mgr: { nodeAffinity: roleAffinity('node-role.uhurutec.com/controller') },
        osd: { tolerations: [toleration] },
        prepareosd: { tolerations: [toleration] },
      },
      storage: { useAllNodes: false, useAllDevices: false, nodes },
    },
  };
  const pool = {
    apiVersion: 'ceph.rook.io/v1',
    kind: 'CephBlockPool',
    metadata: { name: 'replicapool', namespace: NAMESPACE },
    spec: {
      failureDomain: hosts >= 3 ? 'host' : 'osd',
      replicated: { size: 3, requireSafeReplicaSize: hosts >= 3 },
    },
  };
  const storageClass = {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: 'ceph-block',
      annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
    },
    provisioner: `${NAMESPACE}.rbd.csi.ceph.com`,
    parameters: {
      clusterID: NAMESPACE,
      pool: 'replicapool',
      imageFormat: '2',
      imageFeatures: 'layering',
      'csi.storage.k8s.io/provisioner-secret-name': 'rook-csi-rbd-provisioner',
      'csi.storage.k8s.io/provisioner-secret-namespace': NAMESPACE,
      'csi.storage.k8s.io/controller-expand-secret-name': 'rook-csi-rbd-provisioner',
      'csi.storage.k8s.io/controller-expand-secret-namespace': NAMESPACE,
      'csi.storage.k8s.io/node-stage-secret-name': 'rook-csi-rbd-node',
      'csi.storage.k8s.io/node-stage-secret-namespace': NAMESPACE,
      'csi.storage.k8s.io/fstype': 'ext4',
    },
    reclaimPolicy: 'Delete',
    allowVolumeExpansion: true,
  };
  return toYamlDocuments([cluster, pool, storageClass]);
}

function roleAffinity(label: string) {
  return {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [{ key: label, operator: 'In', values: ['true'] }] }],
    },
  };
}

/** Helm values for the rook-ceph operator chart. */
export function rookOperatorValues(ctx: HostContext): string {
  return toYaml({
    image: { repository: image(ctx, 'docker.io/rook/ceph') },
    csi: { enableRbdDriver: true, enableCephfsDriver: false },
    monitoring: { enabled: true },
  });
}

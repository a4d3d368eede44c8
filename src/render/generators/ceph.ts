/**
 * Rook-Ceph: a CephCluster whose OSDs are exactly the disks the plan marks `ceph-osd` (never
 * "all devices": a forgotten disk must not be wiped), its public network on the plan's
 * storage network, and a replicated pool with a StorageClass for Cinder and Glance.
 */
import { cephMonCount } from '../../plan/quorum.js';
import type { HostContext } from '../context.js';
import { bomImage, bomRepository } from '../bom.js';
import { STORAGE_TAINT } from './kubernetes.js';
import { toYaml, toYamlDocuments } from '../yaml.js';

export const CEPH_IMAGE = bomImage('ceph');
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

/** How many OSDs the site has: every disk the plan marks ceph-osd. */
export function osdCount(ctx: HostContext): number {
  return cephNodes(ctx).reduce((n, node) => n + node.devices.length, 0);
}

/** The toleration of the storage-only nodes' taint, for what must run there too. */
export function storageToleration() {
  const [key, rest] = STORAGE_TAINT.split('=') as [string, string];
  const [value, effect] = rest.split(':') as [string, string];
  return { key, operator: 'Equal', value, effect };
}

/**
 * The replicated pool's size: 3 copies, or as many as there are OSDs on a smaller site, since
 * a pool cannot place more copies than OSDs and its placement groups would stay degraded
 * (docs/upstream-facts.md#ceph.fresh-warnings).
 */
export function poolSize(ctx: HostContext): number {
  return Math.max(1, Math.min(3, osdCount(ctx)));
}

/**
 * A replicated pool's placement: `poolSize` copies on distinct hosts, or on distinct OSDs when
 * the site has fewer than three Ceph hosts (a host failure domain could not place the copies).
 * uMetal's pool and uStack's pools for OpenStack share it.
 */
export function replicatedPoolSpec(ctx: HostContext) {
  const hosts = cephNodes(ctx).length;
  const size = poolSize(ctx);
  return {
    failureDomain: hosts >= 3 ? 'host' : 'osd',
    replicated: { size, requireSafeReplicaSize: size >= 3 && hosts >= 3 },
  };
}

/**
 * The Ceph health checks a fresh cluster of this plan reports for good, and the only ones
 * `ceph_healthy` accepts besides HEALTH_OK: a site with fewer OSDs than Ceph's default pool
 * size (3) raises TOO_FEW_OSDS, and a pool of one copy POOL_NO_REDUNDANCY
 * (docs/upstream-facts.md#ceph.fresh-warnings). Everything else (a crash, clock skew, degraded
 * placement groups once they should have peered) is a problem to look at, not to accept.
 */
export function acceptedCephWarnings(ctx: HostContext): string[] {
  const osds = osdCount(ctx);
  return [
    ...(osds > 0 && osds < 3 ? ['TOO_FEW_OSDS'] : []),
    ...(osds > 0 && poolSize(ctx) === 1 ? ['POOL_NO_REDUNDANCY'] : []),
  ];
}

export function rookCephCluster(ctx: HostContext): string {
  const nodes = cephNodes(ctx);
  const toleration = storageToleration();
  const cluster = {
    apiVersion: 'ceph.rook.io/v1',
    kind: 'CephCluster',
    metadata: { name: 'ceph', namespace: NAMESPACE },
    spec: {
      cephVersion: { image: CEPH_IMAGE },
      dataDirHostPath: '/var/lib/rook',
      // The same count capacity's rack loss and the rack-loss-quorum rule assume.
      mon: { count: cephMonCount(ctx.controllers.length), allowMultiplePerNode: false },
      mgr: {
        count: Math.min(2, ctx.controllers.length),
        modules: [{ name: 'rook', enabled: true }],
      },
      dashboard: { enabled: true, ssl: false },
      // Rook makes ServiceMonitors for it: kube-prometheus-stack (umetal.monitoring) installs
      // their CRD first, or Rook stops at the mgr and never makes an OSD
      // (docs/upstream-facts.md#rook.monitoring-crds).
      monitoring: { enabled: true },
      network: ctx.storage
        ? {
            provider: 'host',
            addressRanges: { public: [ctx.storage.cidr], cluster: [ctx.storage.cidr] },
          }
        : { provider: 'host' },
      // Mons and mgrs on the controllers (untainted, see kubernetes.ts); OSDs and their
      // prepare jobs, which Rook does not merge with each other, on storage-only nodes too
      // (docs/upstream-facts.md#rook.placement, #rook.osd-placement).
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
    spec: replicatedPoolSpec(ctx),
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

/**
 * Helm values for the rook-ceph operator chart. The RBD CSI node plugin has no tolerations by
 * default (docs/upstream-facts.md#rook.csi-tolerations): it tolerates the storage taint so
 * that it runs on every node, and a pod with a Ceph volume mounts it wherever it lands.
 */
export function rookOperatorValues(_ctx: HostContext): string {
  return toYaml({
    image: { repository: bomRepository('rook-ceph') },
    csi: {
      enableRbdDriver: true,
      enableCephfsDriver: false,
      pluginTolerations: [storageToleration()],
    },
    monitoring: { enabled: true },
  });
}

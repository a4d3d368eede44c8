/** Rules about Ceph: storage servers, their OSD disks and their network. */
import { pointer } from '../../finding.js';
import type { IndexedServer, PlanIndex } from '../plan-index.js';
import type { Rule } from '../rule.js';
import { attachedNetworks } from '../../host-links.js';
import { listNames, plural } from '../names.js';

/** Ceph keeps three replicas on three different hosts. */
const REPLICAS = 3;
/** Below this a storage NIC makes recovery after a disk failure take days. */
const STORAGE_NIC_MIN_GBPS = 10;
/** Ceph fills hosts in proportion to weight; beyond this ratio the small ones sit idle. */
const BALANCE_RATIO = 2;

const firstStoragePath = (index: PlanIndex) =>
  index.byRole.storage[0]
    ? pointer('servers', index.byRole.storage[0].index, 'roles')
    : pointer('servers');

export const storageRules: Rule[] = [
  {
    id: 'storage-count-production',
    severity: 'error',
    family: 'storage',
    description: `A production site has at least ${REPLICAS} storage servers, one per Ceph replica.`,
    fix: `Give ${REPLICAS} or more servers the storage role.`,
    check(index, report) {
      const n = index.byRole.storage.length;
      if (index.production && n < REPLICAS) {
        report(
          firstStoragePath(index),
          `this production site has ${plural(n, 'storage server')}; Ceph needs ${REPLICAS} to keep three replicas on different hosts`,
          `Give at least ${REPLICAS} servers the storage role, each with ceph-osd disks.`,
        );
      }
    },
  },
  {
    id: 'storage-count-poc',
    severity: 'warning',
    family: 'storage',
    description: `A proof of concept with fewer than ${REPLICAS} storage servers runs Ceph degraded.`,
    fix: `Use ${REPLICAS} storage servers, or accept degraded Ceph for the PoC.`,
    check(index, report) {
      const n = index.byRole.storage.length;
      if (!index.production && n < REPLICAS) {
        report(
          firstStoragePath(index),
          `this PoC has ${plural(n, 'storage server')}; Ceph stays degraded (HEALTH_WARN) with fewer than ${REPLICAS} hosts`,
          'Add storage servers, or acknowledge this warning for the PoC with a reason.',
        );
      }
    },
  },
  {
    id: 'storage-osd-missing',
    severity: 'error',
    family: 'storage',
    description: 'Every storage server has at least one disk with use: ceph-osd.',
    fix: 'Mark the data disks Ceph gets with use: ceph-osd.',
    check({ byRole, disks }, report) {
      for (const { server, index } of byRole.storage) {
        if (disks[index]!.osd.length === 0) {
          report(
            pointer('servers', index, 'disks'),
            `storage server ${server.hostname} has no disk with use: ceph-osd`,
            'Mark the disks Ceph should use with use: ceph-osd (they are wiped), or remove the storage role.',
          );
        }
      }
    },
  },
  {
    id: 'osd-on-non-storage',
    severity: 'warning',
    family: 'storage',
    description: 'Disks marked ceph-osd sit on servers with the storage role (others are ignored).',
    fix: 'Give the server the storage role, or mark the disk data or none.',
    check({ plan }, report) {
      plan.servers.forEach((s, i) => {
        if (s.roles.includes('storage')) return;
        s.disks.forEach((d, j) => {
          if (d.use === 'ceph-osd') {
            report(
              pointer('servers', i, 'disks', j, 'use'),
              `disk ${d.device} of ${s.hostname} is marked ceph-osd but the server has no storage role`,
              'Add the storage role to the server, or mark the disk use: data or use: none.',
            );
          }
        });
      });
    },
  },
  {
    id: 'storage-network-nic',
    severity: 'error',
    family: 'storage',
    description: 'Every storage server has a NIC on the storage network.',
    fix: 'Cable a NIC of the storage server to the storage network and list it.',
    check({ byRole, networksByPurpose }, report) {
      const names = new Set((networksByPurpose.get('storage') ?? []).map((n) => n.network.name));
      if (names.size === 0) return;
      for (const { server, index } of byRole.storage) {
        if (![...attachedNetworks(server)].some((name) => names.has(name))) {
          report(
            pointer('servers', index, 'nics'),
            `storage server ${server.hostname} has no NIC on the storage network (${[...names].join(', ')})`,
            'Add the NIC that connects it to the storage network; Ceph replication runs there.',
          );
        }
      }
    },
  },
  {
    id: 'storage-nic-speed',
    severity: 'warning',
    family: 'storage',
    description: `Storage servers reach the storage network at ${STORAGE_NIC_MIN_GBPS} Gbit/s or more.`,
    fix: `Use ${STORAGE_NIC_MIN_GBPS} Gbit/s or faster ports for Ceph.`,
    check({ byRole, networksByPurpose }, report) {
      const names = new Set((networksByPurpose.get('storage') ?? []).map((n) => n.network.name));
      for (const { server, index } of byRole.storage) {
        server.nics.forEach((nic, j) => {
          const carries = [nic.network, ...(nic.tagged ?? [])].some(
            (n) => n !== undefined && names.has(n),
          );
          if (carries && nic.speedGbps < STORAGE_NIC_MIN_GBPS) {
            report(
              pointer('servers', index, 'nics', j, 'speedGbps'),
              `storage server ${server.hostname} reaches the storage network over ${nic.name} at ${nic.speedGbps} Gbit/s`,
              `Use a ${STORAGE_NIC_MIN_GBPS} Gbit/s or faster port: rebuilding a failed disk moves terabytes.`,
            );
          }
        });
      }
    },
  },
  {
    id: 'storage-rack-spread',
    severity: 'warning',
    family: 'storage',
    description: 'When servers sit in several racks, the storage servers are not all in one rack.',
    fix: 'Spread the storage servers over the racks.',
    check(index, report) {
      const racks = new Set(index.byRole.storage.map((s) => s.server.rack));
      const occupied = [...index.serversByRack.keys()].filter((r) => index.racksByName.has(r));
      if (index.byRole.storage.length < 2 || racks.size !== 1 || occupied.length < 2) return;
      report(
        firstStoragePath(index),
        `all ${index.byRole.storage.length} storage servers are in rack ${[...racks][0]}; losing that rack loses every replica`,
        'Spread the storage servers over the racks so Ceph can keep replicas in different racks.',
      );
    },
  },
  {
    id: 'storage-capacity-balance',
    severity: 'warning',
    family: 'storage',
    description: `No storage server holds more than ${BALANCE_RATIO}× the raw OSD capacity of the smallest.`,
    fix: 'Even out the OSD disks between storage servers.',
    check({ byRole, disks }, report) {
      const rawGB = (s: IndexedServer) => disks[s.index]!.osdGB;
      const withOsds = byRole.storage.filter((s) => rawGB(s) > 0);
      if (withOsds.length < 2) return;
      let smallest = withOsds[0]!;
      for (const s of withOsds) if (rawGB(s) < rawGB(smallest)) smallest = s;
      const limit = rawGB(smallest) * BALANCE_RATIO;
      const big = withOsds.filter((s) => rawGB(s) > limit);
      if (big.length === 0) return;
      report(
        pointer('servers', big[0]!.index, 'disks'),
        `${listNames(
          big.map((s) => `${s.server.hostname} (${rawGB(s)} GB)`),
          3,
        )} hold more than ${BALANCE_RATIO}× the raw capacity of ${smallest.server.hostname} (${rawGB(smallest)} GB)`,
        'Ceph fills the small hosts first and the cluster is full when they are; even out the OSD disks.',
      );
    },
  },
  {
    id: 'storage-osd-mixed-media',
    severity: 'info',
    family: 'storage',
    description:
      'OSD disks mix spinning (hdd) and flash (ssd, nvme) media: plan separate pools per device class.',
    fix: 'Use one medium for OSDs, or plan a pool per device class.',
    check({ byRole }, report) {
      let hdd: string | undefined;
      let flash: { path: string; name: string } | undefined;
      for (const { server, index } of byRole.storage) {
        server.disks.forEach((d, j) => {
          if (d.use !== 'ceph-osd') return;
          if (d.type === 'hdd') hdd ??= `${server.hostname} ${d.device}`;
          else
            flash ??= {
              path: pointer('servers', index, 'disks', j, 'type'),
              name: `${server.hostname} ${d.device}`,
            };
        });
      }
      if (hdd && flash) {
        report(
          flash.path,
          `OSDs mix hdd (such as ${hdd}) and flash (such as ${flash.name}); one pool across both runs at hdd speed`,
          'Ceph puts them in separate device classes; plan a pool per class (flash for volumes, hdd for backups).',
        );
      }
    },
  },
];

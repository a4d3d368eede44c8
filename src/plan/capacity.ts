/**
 * Capacity of a planned site: what instances can use (vCPUs, RAM), what Ceph can store,
 * and what is left when the worst rack goes dark. Every figure comes with the assumptions
 * it rests on, so the report can print them beside the numbers: a capacity figure without
 * its overcommit ratio and reservations is not something a customer can sign off.
 */
import { fill, texts, type Lang } from '../i18n/catalogue.js';
import { rackQuorums } from './quorum.js';
import type { Plan, Server } from './schema.js';

export interface CapacityOptions {
  /** vCPUs handed out per hardware thread (Nova `cpu_allocation_ratio`). Default 4. */
  cpuOvercommit?: number;
  /** Instance RAM per GiB of host RAM left after reservations (`ram_allocation_ratio`). Default 1.0. */
  ramOvercommit?: number;
  /** Copies Ceph keeps of every object (pool `size`). Default 3. */
  cephReplicas?: number;
  /** Fill level at which Ceph warns and stops rebalancing onto an OSD. Default 0.85. */
  nearfullRatio?: number;
  /** Hardware threads kept for the host (OS, kubelet, Open vSwitch, nova-compute). Default 4. */
  reservedThreadsPerHost?: number;
  /** RAM kept for the host on every compute node, GiB. Default 16. */
  reservedRamGiBPerHost?: number;
  /** On a compute node that is also a controller: threads kept for the control plane. Default 8. */
  controllerThreads?: number;
  /** On a compute node that is also a controller: RAM kept for the control plane, GiB. Default 64. */
  controllerRamGiB?: number;
  /** On a compute node that is also storage: threads kept per Ceph OSD. Default 1. */
  osdThreads?: number;
  /** On a compute node that is also storage: RAM kept per Ceph OSD, GiB (osd_memory_target 4 GiB + overhead). Default 5. */
  osdRamGiB?: number;
}

export type CapacityAssumptions = Required<CapacityOptions>;

export const DEFAULT_CAPACITY_OPTIONS: CapacityAssumptions = {
  cpuOvercommit: 4,
  ramOvercommit: 1.0,
  cephReplicas: 3,
  nearfullRatio: 0.85,
  reservedThreadsPerHost: 4,
  reservedRamGiBPerHost: 16,
  controllerThreads: 8,
  controllerRamGiB: 64,
  osdThreads: 1,
  osdRamGiB: 5,
};

export interface ComputeCapacity {
  /** Servers with the compute role. */
  hosts: number;
  /** Hardware threads of those servers (sockets × cores × threads). */
  threads: number;
  /** Threads kept for the hosts themselves (see the assumptions). */
  reservedThreads: number;
  /** (threads − reserved) × cpuOvercommit. */
  vcpus: number;
  /** Installed RAM of the compute servers, GiB. */
  ramGiB: number;
  reservedRamGiB: number;
  /** (RAM − reserved) × ramOvercommit, GiB. */
  instanceRamGiB: number;
}

export interface CephCapacity {
  /** Servers with the storage role that have at least one `ceph-osd` disk. */
  hosts: number;
  osds: number;
  /** Sum of the `ceph-osd` disks of storage servers, TB (10^12 bytes). */
  rawTB: number;
  /**
   * What fits with `cephReplicas` copies on different hosts, TB: raw / replicas when the
   * hosts are balanced, less when one host holds more than its share (its surplus cannot
   * hold a copy), 0 with fewer hosts than replicas.
   */
  usableTB: number;
  /** usableTB × nearfullRatio: what to sell, so a full cluster can still recover. */
  usableAtNearfullTB: number;
  /** True when an unbalanced host makes usableTB smaller than raw / replicas. */
  limitedByHostBalance: boolean;
}

export interface CapacityFigures {
  compute: ComputeCapacity;
  ceph: CephCapacity;
  controllers: number;
}

export interface RackLoss {
  rack: string;
  /** Servers in that rack. */
  servers: number;
  /** What remains without that rack's servers. */
  remaining: CapacityFigures;
  /** True when more than half of all controllers remain (etcd, Galera and RabbitMQ keep quorum). */
  controlPlaneQuorum: boolean;
  /** Controllers in that rack (hostnames). */
  controllersLost: string[];
  /**
   * True when a majority of the Ceph monitors remains, assuming the worst placement where the
   * plan cannot tell which controllers hold them (src/plan/quorum.ts).
   */
  cephMonQuorum: boolean;
  /** Ceph monitors the rack can hold at worst, of `cephMons`. */
  cephMonsLost: number;
  cephMons: number;
}

export interface CapacityReport {
  assumptions: CapacityAssumptions;
  /** The assumptions as sentences, for reports. */
  statements: string[];
  total: CapacityFigures;
  /**
   * The rack whose loss costs the most: one that loses the control plane's or the Ceph
   * monitors' quorum first (then nothing else works, whatever capacity is left), then the
   * least usable Ceph left, then the fewest vCPUs; undefined with fewer than two racks in use.
   */
  worstRackLoss: RackLoss | undefined;
  /** The loss of each rack that holds servers, in plan order. */
  rackLosses: RackLoss[];
}

export function computeCapacity(plan: Plan, options: CapacityOptions = {}): CapacityReport {
  const a: CapacityAssumptions = { ...DEFAULT_CAPACITY_OPTIONS };
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined) (a as unknown as Record<string, number>)[k] = v;
  }
  const total = figures(plan.servers, a);
  const racks = [...new Set(plan.servers.map((s) => s.rack))];
  const order = new Map(plan.racks.map((r, i) => [r.name, i]));
  racks.sort((x, y) => (order.get(x) ?? Infinity) - (order.get(y) ?? Infinity));
  const quorums = rackQuorums(plan.servers, racks);
  const rackLosses =
    racks.length < 2
      ? []
      : racks.map((rack, i): RackLoss => {
          const left = plan.servers.filter((s) => s.rack !== rack);
          const q = quorums[i]!;
          return {
            rack,
            servers: plan.servers.length - left.length,
            remaining: figures(left, a),
            controlPlaneQuorum: q.etcdKept,
            controllersLost: q.controllers,
            cephMonQuorum: q.monsKept,
            cephMonsLost: q.monsAtRisk,
            cephMons: q.mons,
          };
        });
  const worstRackLoss = rackLosses.reduce<RackLoss | undefined>(
    (worst, r) => (worst === undefined || worse(r, worst) ? r : worst),
    undefined,
  );
  return { assumptions: a, statements: statements(a), total, worstRackLoss, rackLosses };
}

/** How many of the two quorums (etcd, Ceph monitors) a rack loss breaks. */
const quorumsLost = (r: RackLoss) => Number(!r.controlPlaneQuorum) + Number(!r.cephMonQuorum);

function worse(a: RackLoss, b: RackLoss): boolean {
  // A lost quorum stops the site however much capacity is left, so it outranks capacity.
  if (quorumsLost(a) !== quorumsLost(b)) return quorumsLost(a) > quorumsLost(b);
  const x = a.remaining;
  const y = b.remaining;
  if (x.ceph.usableTB !== y.ceph.usableTB) return x.ceph.usableTB < y.ceph.usableTB;
  return x.compute.vcpus < y.compute.vcpus;
}

function figures(servers: readonly Server[], a: CapacityAssumptions): CapacityFigures {
  const compute: ComputeCapacity = {
    hosts: 0,
    threads: 0,
    reservedThreads: 0,
    vcpus: 0,
    ramGiB: 0,
    reservedRamGiB: 0,
    instanceRamGiB: 0,
  };
  const perHostOsd: number[] = [];
  let osds = 0;
  for (const s of servers) {
    const osdDisks = s.roles.includes('storage') ? s.disks.filter((d) => d.use === 'ceph-osd') : [];
    if (osdDisks.length > 0) {
      perHostOsd.push(osdDisks.reduce((sum, d) => sum + d.sizeGB, 0) / 1000);
      osds += osdDisks.length;
    }
    if (!s.roles.includes('compute')) continue;
    const threads = s.cpu.sockets * s.cpu.cores * s.cpu.threads;
    const controller = s.roles.includes('controller');
    // A host never gives back more than it has: reservations are capped at what it holds.
    const reservedThreads = Math.min(
      threads,
      a.reservedThreadsPerHost +
        (controller ? a.controllerThreads : 0) +
        osdDisks.length * a.osdThreads,
    );
    const reservedRam = Math.min(
      s.memoryGiB,
      a.reservedRamGiBPerHost +
        (controller ? a.controllerRamGiB : 0) +
        osdDisks.length * a.osdRamGiB,
    );
    compute.hosts++;
    compute.threads += threads;
    compute.reservedThreads += reservedThreads;
    compute.vcpus += Math.floor((threads - reservedThreads) * a.cpuOvercommit);
    compute.ramGiB += s.memoryGiB;
    compute.reservedRamGiB += reservedRam;
    compute.instanceRamGiB += (s.memoryGiB - reservedRam) * a.ramOvercommit;
  }
  const rawTB = perHostOsd.reduce((x, y) => x + y, 0);
  const usable = usableWithHostFailureDomain(perHostOsd, a.cephReplicas);
  return {
    compute: { ...compute, instanceRamGiB: round(compute.instanceRamGiB, 1) },
    ceph: {
      hosts: perHostOsd.length,
      osds,
      rawTB: round(rawTB, 2),
      usableTB: round(usable, 2),
      usableAtNearfullTB: round(usable * a.nearfullRatio, 2),
      limitedByHostBalance: usable < rawTB / a.cephReplicas - 1e-9,
    },
    controllers: servers.filter((s) => s.roles.includes('controller')).length,
  };
}

/**
 * The most data that fits with `replicas` copies on distinct hosts. With hosts sorted by
 * capacity c₀ ≥ c₁ ≥ …, the answer is min over k < replicas of (Σ_{i≥k} cᵢ) / (replicas − k):
 * the k largest hosts can hold at most one copy of everything each, the rest share the
 * remaining copies.
 */
export function usableWithHostFailureDomain(perHost: readonly number[], replicas: number): number {
  if (replicas < 1) return 0;
  const sorted = [...perHost].sort((x, y) => y - x);
  let rest = sorted.reduce((x, y) => x + y, 0);
  let best = Infinity;
  for (let k = 0; k < replicas; k++) {
    if (k >= sorted.length) return 0;
    best = Math.min(best, rest / (replicas - k));
    rest -= sorted[k]!;
  }
  return best;
}

/** The assumptions as sentences in `lang`, from the catalogue (src/i18n/catalogue.ts). */
export function capacityStatements(a: CapacityAssumptions, lang: Lang = 'en'): string[] {
  const vars = { ...a };
  return Object.values(texts(lang, 'capacity')).map((s) => fill(s, vars));
}

function statements(a: CapacityAssumptions): string[] {
  return capacityStatements(a);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

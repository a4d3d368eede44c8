/**
 * What one rack's loss does to the site's two quorums: etcd on the controllers (kubeadm's
 * stacked etcd: every control-plane node runs a member, docs/upstream-facts.md#kubeadm.stacked-etcd),
 * and the Ceph monitors. Both need a strict majority of their members alive (etcd: quorum is n/2 + 1,
 * docs/upstream-facts.md#etcd.quorum; Ceph monitors use Paxos and need a majority,
 * docs/upstream-facts.md#ceph.mon-quorum). Capacity's rack-loss figures and the
 * `rack-loss-quorum` rule both read it from here, so they never disagree.
 */
import type { Server } from './schema.js';

/** At most this many Ceph monitors (Rook's recommended count; ceph.ts renders it). */
export const CEPH_MON_COUNT_MAX = 3;

/**
 * Monitors Rook runs for a plan with `controllers` controllers: one per controller, at most
 * three, each on its own node (docs/upstream-facts.md#rook.placement: `allowMultiplePerNode`
 * false, and host networking forces distinct nodes).
 */
export function cephMonCount(controllers: number): number {
  return Math.min(CEPH_MON_COUNT_MAX, Math.max(1, controllers));
}

export interface RackQuorum {
  rack: string;
  /** Hostnames of the controllers in that rack. */
  controllers: string[];
  /** All controllers of the plan. */
  controllerCount: number;
  /** True when more than half of the controllers (etcd members) remain without the rack. */
  etcdKept: boolean;
  /** Ceph monitors of the plan (0 without controllers). */
  mons: number;
  /**
   * Monitors the rack can hold at worst. With more controllers than monitors the scheduler
   * picks their nodes (uStart sets no zone labels), so the plan cannot say which ones: the
   * figure assumes the worst, min(controllers in the rack, monitors).
   */
  monsAtRisk: number;
  /** True when a majority of the monitors remains even in that worst case. */
  monsKept: boolean;
}

/** The quorum effect of losing each of `racks` (which may hold no controller at all). */
export function rackQuorums(servers: readonly Server[], racks: readonly string[]): RackQuorum[] {
  const controllers = servers.filter((s) => s.roles.includes('controller'));
  const n = controllers.length;
  const mons = n === 0 ? 0 : cephMonCount(n);
  return racks.map((rack) => {
    const here = controllers.filter((s) => s.rack === rack).map((s) => s.hostname);
    const monsAtRisk = Math.min(here.length, mons);
    return {
      rack,
      controllers: here,
      controllerCount: n,
      etcdKept: (n - here.length) * 2 > n,
      mons,
      monsAtRisk,
      monsKept: (mons - monsAtRisk) * 2 > mons,
    };
  });
}

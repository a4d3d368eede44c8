/** Shapes the core's results into the contract's views. */
import type { Capacity, IpPlan } from '../api/index.js';
import { computeCapacity } from '../plan/capacity.js';
import type { NetworkAddressPlan } from '../plan/ipam.js';
import { parseCidr, usableCount } from '../plan/ipv4.js';
import type { Plan } from '../plan/schema.js';

export function ipPlanView(summary: NetworkAddressPlan[]): IpPlan[] {
  return summary.map((n) => {
    const cidr = parseCidr(n.cidr);
    return {
      network: n.network,
      cidr: n.cidr,
      size: cidr ? usableCount(cidr) : 0,
      allocated: n.allocated.map((a) => ({
        address: a.address,
        owner: a.kind === 'bmc' ? `${a.hostname} (BMC)` : a.hostname,
      })),
      reserved: n.reserved.map((r) => ({ address: r.address, owner: r.reason })),
      poolFree: n.free,
      poolSize: n.poolSize,
    };
  });
}

/** Watts a server draws when the plan does not say: an estimate per rack unit. */
const WATTS_PER_U = 350;

export function capacityView(plan: Plan): Capacity {
  const report = computeCapacity(plan);
  const loss = report.worstRackLoss;
  return {
    vcpu: report.total.compute.vcpus,
    ramGiB: report.total.compute.instanceRamGiB,
    cephRawTB: report.total.ceph.rawTB,
    cephUsableTB: report.total.ceph.usableTB,
    rackLoss: loss
      ? {
          rack: loss.rack,
          vcpu: loss.remaining.compute.vcpus,
          ramGiB: loss.remaining.compute.instanceRamGiB,
          cephUsableTB: loss.remaining.ceph.usableTB,
          controlPlaneQuorum: loss.controlPlaneQuorum,
          controllersLost: loss.controllersLost,
          cephMonQuorum: loss.cephMonQuorum,
        }
      : null,
    assumptions: report.statements,
    assumptionValues: { ...report.assumptions },
    power: plan.racks.map((rack) => ({
      rack: rack.name,
      budgetKw: rack.powerKw,
      usedKw:
        plan.servers
          .filter((s) => s.rack === rack.name)
          .reduce((sum, s) => sum + (s.powerW ?? s.units * WATTS_PER_U), 0) / 1000,
    })),
  };
}

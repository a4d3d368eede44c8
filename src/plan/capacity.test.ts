import { beforeAll, describe, expect, it } from 'vitest';
import { assetPath } from '../util/assets.js';
import { computeCapacity, usableWithHostFailureDomain } from './capacity.js';
import { cephMonCount, rackQuorums } from './quorum.js';
import { loadPlanFile } from './load.js';
import type { Plan } from './schema.js';

let demo: Plan;
beforeAll(async () => {
  const parsed = await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'));
  if (!parsed.plan) throw new Error('the demo sample must load');
  demo = parsed.plan;
});

describe('computeCapacity', () => {
  it('computes the demo site with the default assumptions', () => {
    const report = computeCapacity(demo);
    // 4 compute servers of 2 × 64 cores × 2 threads = 256 threads, 1024 GiB each.
    expect(report.total.compute).toEqual({
      hosts: 4,
      threads: 1024,
      reservedThreads: 16,
      vcpus: (256 - 4) * 4 * 4,
      ramGiB: 4096,
      reservedRamGiB: 64,
      instanceRamGiB: (1024 - 16) * 4,
    });
    // 3 storage servers with 4 × 7.68 TB NVMe each.
    expect(report.total.ceph).toEqual({
      hosts: 3,
      osds: 12,
      rawTB: 92.16,
      usableTB: 30.72,
      usableAtNearfullTB: 26.11,
      limitedByHostBalance: false,
    });
    expect(report.total.controllers).toBe(3);
    expect(report.assumptions.cpuOvercommit).toBe(4);
    expect(report.statements.join('\n')).toContain('CPU overcommit of 4:1');
    expect(report.statements.join('\n')).toContain('raw / 3');
  });

  it('names the rack whose loss hurts most and what is left without it', () => {
    const report = computeCapacity(demo);
    expect(report.rackLosses.map((r) => [r.rack, r.servers, r.controllersLost])).toEqual([
      ['R01', 5, ['ctl-01']],
      ['R02', 4, ['ctl-02']],
      ['R03', 1, ['ctl-03']],
    ]);
    // One controller per rack: every loss keeps both quorums. Losing R01 or R02 leaves fewer
    // than 3 storage hosts (no usable replica-3 Ceph) and 2 compute servers; R01 comes first.
    expect(report.rackLosses.every((r) => r.controlPlaneQuorum && r.cephMonQuorum)).toBe(true);
    const worst = report.worstRackLoss!;
    expect(worst.rack).toBe('R01');
    expect(worst.remaining.ceph.usableTB).toBe(0);
    expect(worst.remaining.ceph.rawTB).toBe(30.72);
    expect(worst.remaining.compute.vcpus).toBe((256 - 4) * 4 * 2);
    expect(worst).toMatchObject({ cephMons: 3, cephMonsLost: 1 });
  });

  it('ranks a rack that breaks the control plane before one that costs more capacity', () => {
    // The imported customer list of issue 17: 2 of 3 controllers share a rack, while the
    // other rack's loss costs more vCPUs. The site without the controllers' rack is down.
    const plan = structuredClone(demo);
    const move = (host: string, rack: string) =>
      (plan.servers.find((s) => s.hostname === host)!.rack = rack);
    move('ctl-03', 'R02'); // R02: ctl-02, ctl-03
    move('cmp-04', 'R01'); // R01: 3 of the 4 compute servers
    const report = computeCapacity(plan);
    const [r01, r02] = report.rackLosses;
    expect(r01!.remaining.compute.vcpus).toBeLessThan(r02!.remaining.compute.vcpus);
    expect(r01!.controlPlaneQuorum).toBe(true);
    expect(r02).toMatchObject({
      controlPlaneQuorum: false,
      controllersLost: ['ctl-02', 'ctl-03'],
      cephMonQuorum: false,
      cephMonsLost: 2,
    });
    expect(report.worstRackLoss!.rack).toBe('R02');
  });

  it('counts the Ceph monitors the scheduler may put in one rack', () => {
    // Five controllers, two in R01: etcd keeps 3 of 5, but 2 of the 3 monitors may be there.
    const plan = structuredClone(demo);
    for (const host of ['cmp-01', 'cmp-02']) {
      plan.servers.find((s) => s.hostname === host)!.roles.push('controller');
    }
    const report = computeCapacity(plan);
    const r01 = report.rackLosses.find((r) => r.rack === 'R01')!;
    expect(r01).toMatchObject({
      controlPlaneQuorum: true,
      cephMons: 3,
      cephMonsLost: 2,
      cephMonQuorum: false,
    });
    expect(report.rackLosses.find((r) => r.rack === 'R03')!.cephMonQuorum).toBe(true);
    expect(['R01', 'R02']).toContain(report.worstRackLoss!.rack);
    expect(report.worstRackLoss!.cephMonQuorum).toBe(false);
  });

  it('applies the stated overcommit, replica count and reservations', () => {
    const report = computeCapacity(demo, {
      cpuOvercommit: 2,
      ramOvercommit: 1.5,
      cephReplicas: 2,
      reservedThreadsPerHost: 0,
      reservedRamGiBPerHost: 24,
    });
    expect(report.total.compute.vcpus).toBe(1024 * 2);
    expect(report.total.compute.instanceRamGiB).toBe((1024 - 24) * 1.5 * 4);
    expect(report.total.ceph.usableTB).toBe(46.08);
    expect(report.statements.join('\n')).toContain('CPU overcommit of 2:1');
  });

  it('reserves control-plane and OSD resources on hyperconverged servers', () => {
    const plan = structuredClone(demo);
    const sto = plan.servers.find((s) => s.hostname === 'sto-01')!;
    sto.roles = ['storage', 'compute', 'controller'];
    const report = computeCapacity(plan);
    // sto-01: 1 × 32 × 2 = 64 threads, 384 GiB, 4 OSDs.
    expect(report.total.compute.hosts).toBe(5);
    expect(report.total.compute.vcpus).toBe((256 - 4) * 4 * 4 + (64 - 4 - 8 - 4) * 4);
    expect(report.total.compute.instanceRamGiB).toBe((1024 - 16) * 4 + (384 - 16 - 64 - 20));
  });

  it('counts only ceph-osd disks of storage servers, and no rack loss with one rack', () => {
    const plan = structuredClone(demo);
    for (const s of plan.servers) s.rack = 'R01';
    plan.servers[0]!.disks.push({ device: '/dev/sdc', sizeGB: 1000, type: 'hdd', use: 'ceph-osd' });
    const report = computeCapacity(plan);
    expect(report.total.ceph.rawTB).toBe(92.16);
    expect(report.worstRackLoss).toBeUndefined();
    expect(report.rackLosses).toEqual([]);
  });
});

describe('usableWithHostFailureDomain', () => {
  it('is raw / replicas for balanced hosts', () => {
    expect(usableWithHostFailureDomain([10, 10, 10], 3)).toBe(10);
    expect(usableWithHostFailureDomain([10, 10, 10, 10, 10, 10], 3)).toBe(20);
  });
  it('cannot use the surplus of one oversized host', () => {
    // The big host can hold at most one copy of everything: 10 + 10 for the other two copies.
    expect(usableWithHostFailureDomain([30, 10, 10], 3)).toBe(10);
    expect(computeCapacity(unbalanced()).total.ceph.limitedByHostBalance).toBe(true);
  });
  it('is zero with fewer hosts than replicas', () => {
    expect(usableWithHostFailureDomain([50, 50], 3)).toBe(0);
    expect(usableWithHostFailureDomain([], 1)).toBe(0);
  });
});

function unbalanced(): Plan {
  const plan = structuredClone(demo);
  const sto = plan.servers.find((s) => s.hostname === 'sto-01')!;
  for (let i = 4; i < 12; i++) {
    sto.disks.push({ device: `/dev/nvme${i}n1`, sizeGB: 7680, type: 'nvme', use: 'ceph-osd' });
  }
  return plan;
}

describe('rackQuorums', () => {
  it('runs one monitor per controller, at most three, as ceph.ts renders them', () => {
    expect([1, 2, 3, 4, 5, 7].map(cephMonCount)).toEqual([1, 2, 3, 3, 3, 3]);
  });

  it('needs a strict majority: half of an even count is a lost quorum', () => {
    const plan = structuredClone(demo);
    plan.servers.find((s) => s.hostname === 'cmp-01')!.roles.push('controller'); // R01: 2 of 4
    const [r01, r02, r03] = rackQuorums(plan.servers, ['R01', 'R02', 'R03']);
    expect(r01).toMatchObject({ controllerCount: 4, etcdKept: false, mons: 3, monsAtRisk: 2 });
    expect(r01!.monsKept).toBe(false);
    expect(r02).toMatchObject({ etcdKept: true, monsAtRisk: 1, monsKept: true });
    expect(r03).toMatchObject({ etcdKept: true, monsKept: true });
  });

  it('loses nothing with a rack that holds no controller', () => {
    const [q] = rackQuorums(demo.servers, ['R09']);
    expect(q).toMatchObject({ controllers: [], etcdKept: true, monsAtRisk: 0, monsKept: true });
  });
});

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { assetPath } from '../util/assets.js';
import { allocateAddresses } from './ipam.js';
import { loadPlanFile } from './load.js';
import type { Plan } from './schema.js';

let demo: Plan;
beforeAll(async () => {
  const parsed = await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'));
  if (!parsed.plan) throw new Error('the demo sample must load');
  demo = parsed.plan;
});

/** The demo with the given servers' addresses on the given networks removed. */
function without(plan: Plan, hosts: string[], networks: string[]): Plan {
  const copy = structuredClone(plan);
  for (const s of copy.servers) {
    if (!hosts.includes(s.hostname)) continue;
    for (const n of networks) delete s.addresses[n];
  }
  return copy;
}

describe('allocateAddresses', () => {
  it('leaves a complete plan alone and summarises its networks', () => {
    const result = allocateAddresses(demo);
    expect(result.allocations).toEqual([]);
    expect(result.findings).toEqual([]);
    expect(result.plan).toEqual(demo);
    const mgmt = result.summary.find((s) => s.network === 'mgmt')!;
    expect(mgmt.poolSize).toBe(190); // 10.10.0.11 – 10.10.0.200
    expect(mgmt.allocated).toHaveLength(10);
    expect(mgmt.allocated[0]).toEqual({
      address: '10.10.0.11',
      hostname: 'ctl-01',
      kind: 'address',
      new: false,
    });
    expect(mgmt.free).toBe(180);
    expect(mgmt.reserved).toEqual([
      { address: '10.10.0.0', reason: 'network' },
      { address: '10.10.0.1', reason: 'gateway' },
      { address: '10.10.0.2', reason: 'dns' },
      { address: '10.10.0.2', reason: 'ntp' },
      { address: '10.10.0.3', reason: 'dns' },
      { address: '10.10.0.3', reason: 'ntp' },
      { address: '10.10.0.5', reason: 'kubernetes-vip' },
      { address: '10.10.0.255', reason: 'broadcast' },
    ]);
    const bmc = result.summary.find((s) => s.network === 'bmc')!;
    expect(bmc.allocated.every((a) => a.kind === 'bmc')).toBe(true);
    expect(bmc.allocated.map((a) => a.hostname)).toContain('sto-03');
  });

  it('fills missing addresses with the lowest free ones, servers in plan order', () => {
    const input = without(demo, ['ctl-02', 'cmp-01'], ['mgmt', 'storage']);
    const before = structuredClone(input);
    const result = allocateAddresses(input);
    expect(input).toEqual(before);
    expect(result.allocations).toEqual([
      {
        hostname: 'ctl-02',
        server: 1,
        network: 'mgmt',
        address: '10.10.0.12',
        path: '/servers/1/addresses/mgmt',
      },
      {
        hostname: 'ctl-02',
        server: 1,
        network: 'storage',
        address: '10.20.0.12',
        path: '/servers/1/addresses/storage',
      },
      {
        hostname: 'cmp-01',
        server: 3,
        network: 'mgmt',
        address: '10.10.0.14',
        path: '/servers/3/addresses/mgmt',
      },
      {
        hostname: 'cmp-01',
        server: 3,
        network: 'storage',
        address: '10.20.0.14',
        path: '/servers/3/addresses/storage',
      },
    ]);
    expect(result.plan.servers[3]!.addresses).toEqual({
      mgmt: '10.10.0.14',
      storage: '10.20.0.14',
      tenant: '10.30.0.21',
    });
    expect(allocateAddresses(input)).toEqual(result);
  });

  it('never hands out a gateway, VIP, BMC, DNS or another network’s address', () => {
    const plan = without(demo, ['ctl-01'], ['mgmt']);
    const mgmt = plan.networks[0]!;
    mgmt.pool = { start: '10.10.0.0', end: '10.10.0.255' };
    plan.kubernetes.controlPlaneVip = '10.10.0.4';
    plan.servers[1]!.bmc = { address: '10.10.0.6', protocol: 'redfish' };
    plan.servers[2]!.addresses.provider = '10.10.0.7';
    plan.access.jumpHost = { address: '10.10.0.8' };
    plan.servers[4]!.ssh = { address: '10.10.0.9' };
    plan.servers[5]!.addresses.mgmt = '10.10.0.10';
    const result = allocateAddresses(plan);
    // .0 network, .1 gateway, .2/.3 DNS+NTP, .4 VIP, .5 free again, but .6 BMC …
    expect(result.allocations.map((a) => a.address)).toEqual(['10.10.0.5']);
    plan.kubernetes.controlPlaneVip = '10.10.0.5';
    expect(allocateAddresses(plan).allocations.map((a) => a.address)).toEqual(['10.10.0.4']);
    plan.openstack.publicVip = '10.10.0.4';
    expect(allocateAddresses(plan).allocations.map((a) => a.address)).toEqual(['10.10.0.11']);
  });

  it('allocates on the management network and the cabled networks, never the BMC network', () => {
    const plan = structuredClone(demo);
    const s = plan.servers[0]!;
    s.addresses = {};
    s.nics = [{ name: 'eno2', mac: 'b0:7b:25:1a:99:01', speedGbps: 1, network: 'bmc' }];
    const result = allocateAddresses(plan);
    expect(result.allocations.map((a) => `${a.network}=${a.address}`)).toEqual(['mgmt=10.10.0.11']);
  });

  it('reports an exhausted pool with the network, the count and the hosts', () => {
    const plan = without(demo, ['cmp-01', 'cmp-02', 'cmp-03'], ['mgmt']);
    plan.networks[0]!.pool = { start: '10.10.0.24', end: '10.10.0.25' };
    const result = allocateAddresses(plan);
    // .24 is still cmp-04's.
    expect(result.allocations.map((a) => a.address)).toEqual(['10.10.0.25']);
    expect(result.findings).toEqual([
      {
        rule: 'ipam-pool-exhausted',
        severity: 'error',
        path: '/networks/0/pool',
        message:
          'the pool of network "mgmt" (10.10.0.24–10.10.0.25) has no free address left: 2 addresses missing (cmp-02, cmp-03)',
        hint: expect.stringContaining('Widen the pool of "mgmt" within 10.10.0.0/24') as string,
      },
    ]);
    const mgmt = result.summary.find((s) => s.network === 'mgmt')!;
    expect(mgmt.poolSize).toBe(2);
    expect(mgmt.free).toBe(0);
  });

  it('clips a pool to its network and skips network and broadcast addresses', () => {
    const plan = without(demo, ['ctl-01'], ['storage']);
    plan.networks[2]!.pool = { start: '10.19.255.250', end: '10.20.0.10' };
    const result = allocateAddresses(plan);
    expect(result.allocations.map((a) => a.address)).toEqual(['10.20.0.1']);
    expect(result.summary[2]!.poolSize).toBe(10);
  });

  it('reports a needed network without a pool: an error for management, else a warning', () => {
    const plan = without(demo, ['sto-01'], ['mgmt', 'storage']);
    delete plan.networks[0]!.pool;
    delete plan.networks[2]!.pool;
    const result = allocateAddresses(plan);
    expect(result.allocations).toEqual([]);
    expect(result.findings.map((f) => [f.rule, f.severity, f.path])).toEqual([
      ['ipam-no-pool', 'error', '/networks/0'],
      ['ipam-no-pool', 'warning', '/networks/2'],
    ]);
    expect(result.findings[0]!.message).toContain('1 address could not be allocated (sto-01)');
  });

  it('never hands out an address twice or outside the pool, whatever is missing', () => {
    const names = ['mgmt', 'storage', 'provider', 'tenant'];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(9), fc.constantFrom(...names)), { maxLength: 30 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 60 }),
        (holes, startOffset, length) => {
          const plan = structuredClone(demo);
          for (const [i, n] of holes) delete plan.servers[i]!.addresses[n];
          const mgmt = plan.networks[0]!;
          mgmt.pool = { start: `10.10.0.${startOffset}`, end: `10.10.0.${startOffset + length}` };
          const result = allocateAddresses(plan);
          const all = result.plan.servers.flatMap((s) => [
            ...Object.values(s.addresses),
            ...(s.bmc ? [s.bmc.address] : []),
          ]);
          expect(new Set(all).size).toBe(all.length);
          const forbidden = ['10.10.0.0', '10.10.0.1', '10.10.0.2', '10.10.0.3', '10.10.0.5'];
          for (const a of result.allocations) {
            expect(forbidden).not.toContain(a.address);
            if (a.network === 'mgmt') {
              const last = Number(a.address.split('.')[3]);
              expect(last).toBeGreaterThanOrEqual(startOffset);
              expect(last).toBeLessThanOrEqual(startOffset + length);
            }
          }
          const filled = result.allocations.length;
          const stillMissing = result.findings.reduce(
            (n, f) => n + Number(/(\d+) address/.exec(f.message)?.[1] ?? 0),
            0,
          );
          const emptied = new Set(
            holes.filter(([i, n]) => demo.servers[i]!.addresses[n]).map((h) => h.join('/')),
          );
          expect(filled + stillMissing).toBe(emptied.size);
        },
      ),
      { numRuns: 300 },
    );
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { loadPlanFile } from '../plan/load.js';
import type { Plan, Server } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
import type { HostFacts, NetcheckResult } from './facts.js';
import { networkMatrix } from './netmatrix.js';
import { preflight } from './preflight.js';

let demo: Plan;
beforeAll(async () => {
  demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
});

const NOW = 1_800_000_000_000;

/** Facts that match a planned server exactly. */
function factsOf(server: Server): HostFacts {
  return {
    hostname: server.hostname,
    os: { id: 'ubuntu', versionId: '24.04', prettyName: 'Ubuntu 24.04.1 LTS' },
    kernel: '6.8.0-45-generic',
    cpu: {
      model: server.cpu.model ?? 'x',
      count: server.cpu.sockets * server.cpu.cores * server.cpu.threads,
      virtualization: 'vmx',
    },
    memoryKiB: server.memoryGiB * 1024 * 1024,
    disks: {
      blockdevices: server.disks.map((d) => ({
        name: d.device.replace('/dev/', ''),
        path: d.device,
        size: d.sizeGB * 1e9,
        type: 'disk',
      })),
    },
    links: server.nics.map((n) => ({ ifname: n.name, address: n.mac, operstate: 'UP', mtu: 1500 })),
    addresses: [],
    time: { epochMs: NOW, ntpSynchronized: 'yes' },
    dns: { nameservers: ['10.10.0.2'] },
    freeBytes: { root: 200e9 },
    listeningTcpPorts: [22],
  };
}

function check(server: Server, edit: (f: HostFacts) => void, plan = demo) {
  const facts = factsOf(server);
  edit(facts);
  return preflight(
    plan,
    new Map([[server.hostname, { facts, window: { from: NOW, to: NOW + 500 } }]]),
  );
}

describe('preflight', () => {
  it('finds nothing when the host is as planned', () => {
    for (const server of demo.servers) expect(check(server, () => undefined)).toEqual([]);
  });

  it('finds a missing and a smaller ceph-osd disk at their plan paths', () => {
    const sto = demo.servers.find((s) => s.hostname === 'sto-01')!;
    const findings = check(sto, (f) => {
      f.disks!.blockdevices = f.disks!.blockdevices.filter((d) => d.path !== '/dev/nvme3n1');
      f.disks!.blockdevices.find((d) => d.path === '/dev/nvme0n1')!.size = 3_840e9;
    });
    expect(findings.map((f) => [f.rule, f.severity, f.path])).toEqual([
      ['facts-disk-smaller', 'error', '/servers/7/disks/2/sizeGB'],
      ['facts-disk-missing', 'error', '/servers/7/disks/5/device'],
    ]);
  });

  it('tells a renamed NIC from a wrong MAC', () => {
    const ctl = demo.servers[0]!;
    const renamed = check(ctl, (f) => {
      f.links![0]!.ifname = 'enp1s0';
    });
    expect(renamed.map((f) => [f.rule, f.hint])).toEqual([
      ['facts-nic-renamed', 'Rename the NIC to enp1s0 in the plan.'],
    ]);
    const swapped = check(ctl, (f) => {
      f.links![0]!.address = 'b0:7b:25:ff:ff:ff';
    });
    expect(swapped.map((f) => [f.rule, f.path])).toEqual([
      ['facts-mac-differs', '/servers/0/nics/0/mac'],
    ]);
  });

  it('wants VT-x/AMD-V on compute nodes only', () => {
    const noVirt = (f: HostFacts) => {
      f.cpu.virtualization = '';
    };
    expect(check(demo.servers[0]!, noVirt)).toEqual([]);
    const cmp = demo.servers.find((s) => s.roles.includes('compute'))!;
    expect(check(cmp, noVirt).map((f) => f.rule)).toEqual(['facts-no-virtualization']);
  });

  it('finds an unsupported OS, clock skew, ports in use, little space and less memory', () => {
    const findings = check(demo.servers[0]!, (f) => {
      f.os = { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' };
      f.time.epochMs = NOW - 5_000;
      f.listeningTcpPorts = [22, 2379, 6443];
      f.freeBytes.root = 5e9;
      f.memoryKiB = 200 * 1024 * 1024;
    });
    expect(findings.map((f) => f.rule).sort()).toEqual([
      'facts-clock-skew',
      'facts-disk-space',
      'facts-memory-less',
      'facts-os-unsupported',
      'facts-ports-in-use',
    ]);
    expect(findings.find((f) => f.rule === 'facts-ports-in-use')!.message).toContain(
      'TCP ports 2379, 6443',
    );
    expect(findings.find((f) => f.rule === 'facts-clock-skew')!.message).toContain('5.0 s');
  });

  it('holds each role to its hardware minimum', () => {
    const findings = check(demo.servers[0]!, (f) => {
      f.cpu.count = 4;
    });
    expect(findings.map((f) => f.rule)).toEqual(['facts-cpu-fewer', 'facts-below-role-minimum']);
    expect(findings[1]!.message).toContain('4 CPUs (minimum 8) for the controller role');
  });
});

describe('network matrix', () => {
  function probe(to: string, extra: Partial<NetcheckResult['probes'][number]> = {}) {
    const server = demo.servers.find((s) => s.hostname === to)!;
    return {
      to,
      network: 'mgmt',
      address: server.addresses.mgmt!,
      mtu: 1500,
      lossPercent: 0,
      avgMs: 0.3,
      mtuOk: true,
      ...extra,
    };
  }

  it('holds controller links to no loss and compute links to 1 %', () => {
    const plan = structuredClone(demo);
    plan.servers = plan.servers.filter((s) => ['ctl-01', 'ctl-02', 'cmp-01'].includes(s.hostname));
    for (const s of plan.servers) s.addresses = { mgmt: s.addresses.mgmt! };
    const results: NetcheckResult[] = [
      {
        from: 'ctl-01',
        probes: [probe('ctl-02', { lossPercent: 0.5 }), probe('cmp-01', { mtuOk: false })],
      },
      { from: 'ctl-02', probes: [probe('ctl-01', { avgMs: 150 }), probe('cmp-01')] },
      {
        from: 'cmp-01',
        probes: [probe('ctl-01'), probe('ctl-02', { lossPercent: 100, avgMs: null })],
      },
    ];
    const matrix = networkMatrix(plan, results);
    expect(matrix.networks.mgmt).toHaveLength(6);
    expect(matrix.findings.map((f) => [f.rule, f.message.split(':')[0]])).toEqual([
      ['net-loss', 'ctl-01 → ctl-02 on mgmt (10.10.0.12)'],
      ['net-mtu', 'ctl-01 → cmp-01 on mgmt (10.10.0.21)'],
      ['net-latency', 'ctl-02 → ctl-01 on mgmt (10.10.0.11)'],
      ['net-unreachable', 'cmp-01 → ctl-02 on mgmt (10.10.0.12)'],
    ]);
    expect(matrix.networks.mgmt!.filter((c) => c.ok).map((c) => `${c.from}>${c.to}`)).toEqual([
      'ctl-02>cmp-01',
      'cmp-01>ctl-01',
    ]);
  });
});

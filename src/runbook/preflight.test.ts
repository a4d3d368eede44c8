import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { endpointRecords } from '../plan/endpoints.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan, Server } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
import type { HostFacts, NetcheckResult } from './fact-schemas.js';
import { networkMatrix } from './netmatrix.js';
import { preflight } from './preflight.js';
import { PREFLIGHT_CHECKS } from './preflight-checks.js';
import { PREFLIGHT_DOC, preflightMarkdown } from './preflight-doc.js';

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
    freeBytes: { root: 200e9, var: 200e9, varLib: 200e9 },
    listeningTcpPorts: [22],
    mounts: { var: '/', varLib: '/' },
    machineId: hexOf(server.hostname, 'm'),
    productUuid: hexOf(server.hostname, 'u'),
    cgroupFs: 'cgroup2fs',
    kernelModules: { overlay: 'loaded', br_netfilter: 'builtin', rbd: 'loadable' },
    swap: { activeKiB: 0, fstabEntries: 1 },
    osdDisks: server.disks
      .filter((d) => d.use === 'ceph-osd')
      .map((d) => ({ device: d.device, present: true, children: [], signatures: [] })),
    vips: [
      vip('controlPlaneVip', demo.kubernetes.controlPlaneVip),
      vip('publicVip', demo.openstack.publicVip),
    ],
    // As facts.sh reports them where the customer's DNS holds every name.
    endpointNames: endpointRecords(demo).map((r) => ({ name: r.name, addresses: [r.address] })),
  };
}

/** A VIP as facts.sh reports it from a host on its network, before the install: silent. */
function vip(name: 'controlPlaneVip' | 'publicVip', address: string) {
  return { name, address, local: false, onLink: true, answers: false, mac: null };
}

/** 32 hex digits, different per host and per kind. */
function hexOf(host: string, kind: string): string {
  return [...`${kind}${host}`]
    .map((c) => c.charCodeAt(0).toString(16))
    .join('')
    .padEnd(32, '0')
    .slice(0, 32);
}

/** Every demo server with facts, each edited by `edit` (by host name). */
function checkAll(edit: (f: HostFacts, server: Server) => void = () => undefined, plan = demo) {
  return preflight(
    plan,
    new Map(
      plan.servers.map((s) => {
        const facts = factsOf(s);
        edit(facts, s);
        return [s.hostname, { facts, window: { from: NOW, to: NOW + 500 } }];
      }),
    ),
  );
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

describe('preflight: what the best installers check before they start', () => {
  const rulesOf = (findings: ReturnType<typeof checkAll>) => findings.map((f) => f.rule);

  it('finds nothing on a site of fresh hosts as planned', () => {
    expect(checkAll()).toEqual([]);
  });

  it('finds every host that shares a machine-id, naming the others', () => {
    const shared = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const findings = checkAll((f, s) => {
      if (['cmp-01', 'cmp-02', 'sto-03'].includes(s.hostname)) f.machineId = shared;
    });
    expect(findings.map((f) => [f.rule, f.severity, f.path, f.message])).toEqual([
      [
        'preflight-machine-id-duplicate',
        'error',
        '/servers/3',
        `cmp-01: /etc/machine-id ${shared} is also on cmp-02, sto-03`,
      ],
      [
        'preflight-machine-id-duplicate',
        'error',
        '/servers/4',
        `cmp-02: /etc/machine-id ${shared} is also on cmp-01, sto-03`,
      ],
      [
        'preflight-machine-id-duplicate',
        'error',
        '/servers/9',
        `sto-03: /etc/machine-id ${shared} is also on cmp-01, cmp-02`,
      ],
    ]);
    expect(findings[0]!.hint).toContain('systemd-machine-id-setup');
  });

  it('finds a shared product_uuid, and does not count empty or placeholder ids as shared', () => {
    const uuid = '4C4C4544-0042-3610-8057-B4C04F4A4E32';
    const shared = checkAll((f, s) => {
      if (s.hostname === 'ctl-01' || s.hostname === 'ctl-03') f.productUuid = uuid;
    });
    expect(shared.map((f) => [f.rule, f.path])).toEqual([
      ['preflight-product-uuid-duplicate', '/servers/0'],
      ['preflight-product-uuid-duplicate', '/servers/2'],
    ]);
    expect(shared[0]!.message).toBe(`ctl-01: product_uuid ${uuid.toLowerCase()} is also on ctl-03`);

    const placeholders = checkAll((f, s) => {
      if (s.hostname.startsWith('cmp-')) f.productUuid = '';
      if (s.hostname.startsWith('sto-')) f.productUuid = '00000000-0000-0000-0000-000000000000';
    });
    expect(new Set(rulesOf(placeholders))).toEqual(new Set(['preflight-fact-unknown']));
    expect(placeholders).toHaveLength(7);
    expect(placeholders[0]!.severity).toBe('info');
    expect(placeholders[0]!.message).toBe('cmp-01: could not tell the DMI product_uuid');

    const emptyIds = checkAll((f, s) => {
      if (s.hostname.startsWith('ctl-')) f.machineId = '';
    });
    expect(emptyIds.map((f) => [f.rule, f.message])).toEqual(
      ['ctl-01', 'ctl-02', 'ctl-03'].map((h) => [
        'preflight-fact-unknown',
        `${h}: could not tell /etc/machine-id (empty or a placeholder)`,
      ]),
    );
  });

  it('wants cgroup v2, and says so when the cgroup version could not be read', () => {
    const ctl = demo.servers[0]!;
    const v1 = check(ctl, (f) => {
      f.cgroupFs = 'tmpfs';
    });
    expect(v1.map((f) => [f.rule, f.severity, f.path])).toEqual([
      ['preflight-cgroup-v1', 'error', '/servers/0'],
    ]);
    expect(v1[0]!.hint).toContain('systemd.unified_cgroup_hierarchy=0');
    const unknown = check(ctl, (f) => {
      f.cgroupFs = 'unknown';
    });
    expect(unknown.map((f) => [f.rule, f.message])).toEqual([
      [
        'preflight-fact-unknown',
        'ctl-01: could not tell the cgroup version (/sys/fs/cgroup is unknown)',
      ],
    ]);
  });

  it('wants overlay and br_netfilter (error) and rbd (warning); loadable is enough', () => {
    const ctl = demo.servers[0]!;
    const missing = check(ctl, (f) => {
      f.kernelModules = { overlay: 'loadable', br_netfilter: 'missing', rbd: 'missing' };
    });
    expect(missing.map((f) => [f.rule, f.severity])).toEqual([
      ['preflight-kernel-module-missing', 'error'],
      ['preflight-rbd-module-missing', 'warning'],
    ]);
    expect(missing[0]!.message).toBe(
      'ctl-01: kernel 6.8.0-45-generic has no br_netfilter module (not loaded, not built in, not in /lib/modules)',
    );
    expect(missing[0]!.hint).toContain('linux-modules-6.8.0-45-generic');
    const unknown = check(ctl, (f) => {
      f.kernelModules = { overlay: 'loaded', br_netfilter: 'unknown', rbd: 'loadable' };
    });
    expect(unknown.map((f) => [f.rule, f.message])).toEqual([
      ['preflight-fact-unknown', 'ctl-01: could not tell whether the kernel has br_netfilter'],
    ]);
  });

  it('warns of swap that is on, not of a swap line in fstab alone', () => {
    const ctl = demo.servers[0]!;
    const on = check(ctl, (f) => {
      f.swap = { activeKiB: 8 * 1024 * 1024, fstabEntries: 1 };
    });
    expect(on.map((f) => [f.rule, f.severity, f.message])).toEqual([
      ['preflight-swap-on', 'warning', 'ctl-01: has 8.0 GiB of swap on'],
    ]);
    expect(check(ctl, (f) => void (f.swap = { activeKiB: 0, fstabEntries: 2 }))).toEqual([]);
  });

  it('holds a separate /var or /var/lib to 20 GB free, and leaves /var on / to the root check', () => {
    const ctl = demo.servers[0]!;
    const separate = check(ctl, (f) => {
      f.mounts = { var: '/var', varLib: '/var' };
      f.freeBytes.var = 12e9;
      f.freeBytes.varLib = 12e9;
    });
    expect(separate.map((f) => [f.rule, f.severity, f.path, f.message])).toEqual([
      [
        'preflight-var-space',
        'error',
        '/servers/0/disks',
        'ctl-01: has only 12.0 GB free on /var (which holds /var)',
      ],
    ]);
    const onRoot = check(ctl, (f) => {
      f.freeBytes = { root: 12e9, var: 12e9, varLib: 12e9 };
    });
    expect(rulesOf(onRoot)).toEqual(['facts-disk-space']);
    expect(
      check(ctl, (f) => {
        f.mounts = { var: '/', varLib: '/var/lib' };
        f.freeBytes.varLib = 500e9;
      }),
    ).toEqual([]);
  });

  it('wants every planned OSD disk empty: no partitions, volumes or signatures', () => {
    const sto = demo.servers.find((s) => s.hostname === 'sto-01')!;
    const findings = check(sto, (f) => {
      f.osdDisks = [
        { device: '/dev/nvme0n1', present: true, children: [], signatures: [] },
        {
          device: '/dev/nvme1n1',
          present: true,
          children: [{ name: 'nvme1n1p1', type: 'part' }],
          signatures: ['gpt', 'PMBR'],
        },
        { device: '/dev/nvme2n1', present: true, children: [], signatures: ['ceph_bluestore'] },
        { device: '/dev/nvme3n1', present: true, children: null, signatures: [] },
      ];
    });
    expect(findings.map((f) => [f.rule, f.severity, f.path, f.message])).toEqual([
      [
        'preflight-osd-disk-not-empty',
        'error',
        '/servers/7/disks/3/device',
        'sto-01: planned Ceph OSD disk /dev/nvme1n1 is not empty: nvme1n1p1 (part) on it; signatures gpt, PMBR',
      ],
      [
        'preflight-osd-disk-not-empty',
        'error',
        '/servers/7/disks/4/device',
        'sto-01: planned Ceph OSD disk /dev/nvme2n1 is not empty: signatures ceph_bluestore',
      ],
      [
        'preflight-fact-unknown',
        'info',
        '/servers/7',
        'sto-01: could not tell what is on /dev/nvme3n1',
      ],
    ]);
    expect(findings[0]!.hint).toContain('wipefs --all /dev/nvme1n1');
  });

  it('leaves an absent OSD disk to facts-disk-missing', () => {
    const sto = demo.servers.find((s) => s.hostname === 'sto-01')!;
    const findings = check(sto, (f) => {
      f.disks!.blockdevices = f.disks!.blockdevices.filter((d) => d.path !== '/dev/nvme0n1');
      f.osdDisks![0] = { device: '/dev/nvme0n1', present: false };
    });
    expect(rulesOf(findings)).toEqual(['facts-disk-missing']);
  });

  it('warns when timedatectl sees the clock unsynchronised', () => {
    const findings = check(demo.servers[0]!, (f) => {
      f.time.ntpSynchronized = 'no';
    });
    expect(findings.map((f) => [f.rule, f.severity, f.path])).toEqual([
      ['preflight-ntp-unsynchronized', 'warning', '/site/ntp'],
    ]);
  });

  describe('VIPs', () => {
    const ctl1 = () => demo.servers[0]!;
    const answers = (name: 'controlPlaneVip' | 'publicVip', mac: string | null) => ({
      ...vip(
        name,
        name === 'controlPlaneVip' ? demo.kubernetes.controlPlaneVip : demo.openstack.publicVip,
      ),
      answers: true,
      mac,
    });

    it('finds a VIP that answers from a machine that is no planned controller, once per MAC', () => {
      const findings = checkAll((f, s) => {
        if (s.hostname !== 'sto-03') f.vips![0] = answers('controlPlaneVip', '52:54:00:12:34:56');
      });
      expect(findings.map((f) => [f.rule, f.severity, f.path])).toEqual([
        ['preflight-vip-in-use', 'error', '/kubernetes/controlPlaneVip'],
      ]);
      expect(findings[0]!.message).toBe(
        'kubernetes.controlPlaneVip 10.10.0.5 is taken: it answers from MAC 52:54:00:12:34:56 (seen from ctl-01, ctl-02, ctl-03, cmp-01, cmp-02, cmp-03, cmp-04, sto-01, sto-02), which is no planned controller',
      );
    });

    it("passes a VIP held by a controller's NIC: kube-vip after the install", () => {
      const mac = ctl1().nics[0]!.mac;
      const findings = checkAll((f, s) => {
        if (s.hostname === 'ctl-01')
          f.vips![0] = { ...vip('controlPlaneVip', '10.10.0.5'), onLink: false, local: true };
        else f.vips![0] = answers('controlPlaneVip', mac.toUpperCase());
      });
      expect(findings).toEqual([]);
    });

    it('finds a VIP configured on a host that is no controller, and one answering without a MAC', () => {
      const findings = checkAll((f, s) => {
        if (s.hostname === 'cmp-01')
          f.vips![1] = { ...vip('publicVip', '203.0.113.5'), onLink: false, local: true };
        if (s.hostname === 'ctl-02') f.vips![1] = answers('publicVip', null);
      });
      expect(findings.map((f) => [f.rule, f.path, f.message])).toEqual([
        [
          'preflight-vip-in-use',
          '/openstack/publicVip',
          'openstack.publicVip 203.0.113.5 is taken: it answers from a machine whose MAC was not seen (seen from ctl-02), which is no planned controller',
        ],
        [
          'preflight-vip-in-use',
          '/openstack/publicVip',
          'openstack.publicVip 203.0.113.5 is taken: it is configured on cmp-01 itself (seen from cmp-01), which is no planned controller',
        ],
      ]);
      expect(findings[1]!.hint).toBe(
        'Remove 203.0.113.5 from cmp-01, or choose another VIP in the plan.',
      );
    });

    it('says when no host could see whether a VIP is free', () => {
      const findings = checkAll((f) => {
        f.vips![1] = { ...vip('publicVip', '203.0.113.5'), onLink: false };
      });
      expect(findings.map((f) => [f.rule, f.severity, f.path])).toEqual([
        ['preflight-vip-not-checked', 'info', '/openstack/publicVip'],
      ]);
    });
  });

  describe('OpenStack endpoint names', () => {
    const D = 'cloud.musterbau.example';
    const withDns = (mode: 'site-dns' | 'hosts-file' | undefined, environment = 'poc') => {
      const plan = structuredClone(demo);
      plan.site.environment = environment as Plan['site']['environment'];
      if (mode) plan.openstack.endpointDns = mode;
      return plan;
    };
    /** On cmp-02: keystone unknown to DNS, glance elsewhere, nova timed out, horizon twice. */
    const broken = (f: HostFacts, s: Server) => {
      if (s.hostname !== 'cmp-02') return;
      const set = (label: string, addresses: string[], timedOut?: boolean) => {
        const n = f.endpointNames!.find((x) => x.name === `${label}.${D}`)!;
        n.addresses = addresses;
        if (timedOut) n.timedOut = true;
      };
      set('keystone', []);
      set('glance', ['10.10.0.99']);
      set('nova', [], true);
      set('horizon', ['203.0.113.5', '10.10.0.98']);
    };

    it('passes with site-dns when every name resolves to the public VIP on every host', () => {
      expect(checkAll(undefined, withDns('site-dns'))).toEqual([]);
    });

    it('fails with site-dns naming the host, each name, what it resolved to and what to do', () => {
      const findings = checkAll(broken, withDns('site-dns'));
      expect(findings.map((f) => [f.rule, f.severity, f.path])).toEqual([
        ['preflight-endpoint-dns', 'error', '/openstack/endpointDns'],
      ]);
      expect(findings[0]!.message).toBe(
        `cmp-02: the OpenStack endpoint names must resolve to openstack.publicVip 203.0.113.5, but keystone.${D} does not resolve; glance.${D} resolves to 10.10.0.99; nova.${D} did not resolve: the lookup timed out (no DNS server answered); horizon.${D} resolves to 203.0.113.5, 10.10.0.98`,
      );
      expect(findings[0]!.hint).toBe(
        `Ask the customer's DNS team for an A record keystone.${D} → 203.0.113.5, glance.${D} → 203.0.113.5, nova.${D} → 203.0.113.5, horizon.${D} → 203.0.113.5; or, for a PoC, set openstack.endpointDns: hosts-file and uStart writes the names into /etc/hosts.`,
      );
    });

    it('checks a production site without endpointDns as site-dns, and a PoC as hosts-file', () => {
      expect(checkAll(broken, withDns(undefined, 'production')).map((f) => f.rule)).toEqual([
        'preflight-endpoint-dns',
      ]);
      expect(checkAll(broken, withDns(undefined, 'poc'))).toEqual([]);
    });

    it('passes with hosts-file whatever DNS says: uStart writes the names into /etc/hosts', () => {
      expect(checkAll(broken, withDns('hosts-file', 'production'))).toEqual([]);
    });

    it('says which names it could not judge: no getent, or facts without the name', () => {
      const findings = checkAll((f, s) => {
        if (s.hostname !== 'ctl-01') return;
        f.endpointNames = f.endpointNames!.filter((n) => !n.name.startsWith('cinder.'));
        f.endpointNames.find((n) => n.name.startsWith('neutron.'))!.addresses = null;
      }, withDns('site-dns'));
      expect(findings.map((f) => [f.rule, f.severity, f.message])).toEqual([
        [
          'preflight-fact-unknown',
          'info',
          `ctl-01: could not tell what neutron.${D}, cinder.${D} resolve to (no getent, or not looked up)`,
        ],
      ]);
    });

    it('skips the check for facts from an older runbook without endpointNames', () => {
      const findings = checkAll((f) => {
        delete f.endpointNames;
      }, withDns('site-dns'));
      expect(findings).toEqual([]);
    });
  });
});

describe('the preflight catalogue', () => {
  it('lists exactly the rules the preflight and the network matrix emit, with their severities', async () => {
    const sources = await Promise.all(
      ['preflight.ts', 'netmatrix.ts'].map((f) =>
        readFile(new URL(`./${f}`, import.meta.url), 'utf8'),
      ),
    );
    const emitted = new Set(
      sources.flatMap((text) =>
        [...text.matchAll(/'((?:facts|preflight|net)-[a-z0-9-]+)'/g)].map((m) => m[1]!),
      ),
    );
    expect([...emitted].sort()).toEqual(PREFLIGHT_CHECKS.map((c): string => c.id).sort());
  });

  it('gives every finding the severity the catalogue lists (data disks excepted, as documented)', () => {
    const bad = checkAll((f, s) => {
      f.cgroupFs = 'tmpfs';
      f.time.ntpSynchronized = 'no';
      f.swap = { activeKiB: 1024, fstabEntries: 0 };
      f.kernelModules = { overlay: 'missing', br_netfilter: 'missing', rbd: 'missing' };
      f.machineId = 'same';
      f.listeningTcpPorts = [6443, 10250];
      if (s.hostname === 'ctl-01') f.os.id = 'debian';
    });
    const bySeverity = new Map<string, string>(PREFLIGHT_CHECKS.map((c) => [c.id, c.severity]));
    expect(bad.length).toBeGreaterThan(50);
    for (const f of bad) expect([f.rule, f.severity]).toEqual([f.rule, bySeverity.get(f.rule)]);
  });

  it('is what docs/preflight-checks.md says', async () => {
    expect(await readFile(PREFLIGHT_DOC, 'utf8')).toBe(preflightMarkdown());
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

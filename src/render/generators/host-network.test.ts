import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPlanFile } from '../../plan/load.js';
import type { Plan } from '../../plan/schema.js';
import { runTranscript, transcriptContext } from '../../demo/transcripts.js';
import { assetPath } from '../../util/assets.js';
import { hostContext, siteContext } from '../context.js';
import { hostNetworkConfig, hostNetworkLinks, plannedLinks } from './host-network.js';

let demo: Plan;
beforeAll(async () => {
  demo = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
});

/** ctl-01 of the demo plan with the storage network on a bond of two ports, tagged. */
function bonded(os: 'ubuntu-24.04' | 'debian-12'): Plan {
  const plan = structuredClone(demo);
  plan.site.osRelease = os;
  const s = plan.servers[0]!;
  s.nics = [
    {
      name: 'eno1',
      mac: 'b0:7b:25:1a:00:01',
      speedGbps: 10,
      network: 'mgmt',
      tagged: ['tenant'],
      mtu: 9000,
    },
    { name: 'ens1f0', mac: 'B0:7B:25:1B:00:01', speedGbps: 25 },
    { name: 'ens1f1', mac: 'b0:7b:25:1b:00:02', speedGbps: 25 },
    { name: 'ens2f0', mac: 'b0:7b:25:1c:00:01', speedGbps: 25, network: 'provider' },
  ];
  s.bonds = [
    {
      name: 'bond0',
      mode: '802.3ad',
      members: ['ens1f0', 'ens1f1'],
      hashPolicy: 'layer3+4',
      tagged: ['storage'],
    },
  ];
  s.addresses.tenant = '10.30.0.11';
  return plan;
}
const ctx = (plan: Plan, i = 0) => hostContext(siteContext(plan), plan.servers[i]!);

describe('host network render', () => {
  it('keeps the management path to checks and builds the rest, parents first', () => {
    const links = plannedLinks(ctx(bonded('ubuntu-24.04')));
    expect(links.map((l) => `${l.action} ${l.kind} ${l.name} ${l.mtu}`)).toEqual([
      'check nic eno1 9000',
      'make nic ens1f0 9000',
      'make nic ens1f1 9000',
      'make nic ens2f0 1500',
      'make bond bond0 9000',
      'make vlan eno1.400 9000',
      'make vlan bond0.200 9000',
    ]);
    // A VLAN carrying a non-management network on the management NIC is built, not checked.
    expect(links.find((l) => l.name === 'eno1.400')!.network).toBe('tenant');
  });

  it('renders the table the step reads, one link a line', () => {
    const table = hostNetworkLinks(ctx(bonded('debian-12')));
    expect(table).toContain('make\tbond\tbond0\tens1f0,ens1f1\t-\t9000\t-\t802.3ad\tlayer3+4\n');
    expect(table).toContain('make\tvlan\tbond0.200\tbond0\t200\t9000\t10.20.0.11/24\t-\t-\n');
    expect(table).toContain('make\tnic\tens1f0\tbond0\t-\t9000\t-\t-\t-\n');
    expect(
      table
        .split('\n')
        .filter(Boolean)
        .every((l) => l.split('\t').length === 9),
    ).toBe(true);
  });

  it('writes netplan on Ubuntu: no management NIC, members by MAC, bond parameters, VLANs', () => {
    const text = hostNetworkConfig(ctx(bonded('ubuntu-24.04')));
    const doc = parse(text) as {
      network: { version: number; ethernets: object; bonds: object; vlans: object };
    };
    expect(doc.network.version).toBe(2);
    expect(Object.keys(doc.network.ethernets)).toEqual(['ens1f0', 'ens1f1', 'ens2f0']);
    expect(doc.network.ethernets).toMatchObject({
      ens1f0: { match: { macaddress: 'b0:7b:25:1b:00:01' }, 'set-name': 'ens1f0' },
      ens2f0: { mtu: 1500, dhcp4: false },
    });
    expect(doc.network.bonds).toEqual({
      bond0: {
        interfaces: ['ens1f0', 'ens1f1'],
        parameters: {
          mode: '802.3ad',
          'mii-monitor-interval': 100,
          'transmit-hash-policy': 'layer3+4',
        },
        mtu: 9000,
        dhcp4: false,
        dhcp6: false,
        'accept-ra': false,
      },
    });
    expect(doc.network.vlans).toMatchObject({
      'bond0.200': { id: 200, link: 'bond0', mtu: 9000, addresses: ['10.20.0.11/24'] },
      // On the management NIC, which the installer's netplan file defines.
      'eno1.400': { id: 400, link: 'eno1', mtu: 9000, addresses: ['10.30.0.11/22'] },
    });
    expect(text).not.toMatch(/^ {4}eno1:/m);
  });

  it('writes ifupdown on Debian: VLANs by dotted name, ifenslave bond options, no gateway', () => {
    const text = hostNetworkConfig(ctx(bonded('debian-12')));
    expect(text).toContain(
      [
        'auto bond0',
        'iface bond0 inet manual',
        '    mtu 9000',
        '    bond-slaves ens1f0 ens1f1',
        '    bond-mode 802.3ad',
        '    bond-miimon 100',
        '    bond-xmit-hash-policy layer3+4',
      ].join('\n'),
    );
    expect(text).toContain(
      [
        'auto bond0.200',
        'iface bond0.200 inet static',
        '    address 10.20.0.11/24',
        '    mtu 9000',
      ].join('\n'),
    );
    // Members are enslaved through bond-slaves; the management NIC is not in the file.
    expect(text).not.toMatch(/^iface (ens1f0|ens1f1|eno1) /m);
    expect(text).not.toContain('gateway');
  });

  it('renders the demo plan as it is: untagged ports, nothing for the management NIC', () => {
    const c = ctx(demo);
    expect(plannedLinks(c).map((l) => `${l.action} ${l.name}`)).toEqual([
      'check eno1',
      'make ens1f0',
      'make ens1f1',
    ]);
    const netplan = parse(hostNetworkConfig(c)) as {
      network: { ethernets: Record<string, { addresses?: string[] }> };
    };
    expect(netplan.network.ethernets.ens1f0!.addresses).toEqual(['10.20.0.11/24']);
    // Addresses exactly as the plan gives them (here also one on the provider network).
    expect(netplan.network.ethernets.ens1f1!.addresses).toEqual(['203.0.113.11/24']);
    expect(JSON.stringify(netplan)).not.toContain('10.10.0.11');
  });

  it('gives the demo a transcript naming the links it builds', () => {
    const lines = runTranscript(
      { id: 'umetal.host-network', title: 'Configure the host networks', phase: 'umetal' },
      transcriptContext(demo, demo.servers[0]!, 'umetal.host-network'),
    ).map((l) => l.text);
    expect(lines).toContain('  ens1f0: MTU 9000, address 10.20.0.11/24');
    expect(lines.join('\n')).toContain('/etc/netplan/60-ustart.yaml');
  });
});

const byName = (plan: Plan, hostname: string) =>
  hostContext(
    siteContext(plan),
    plan.servers.find((s) => s.hostname === hostname)!,
  );

describe('the compute servers’ provider interface carries no address', () => {
  it('brings the uplink up with its MTU and no address, even when the plan gives one', () => {
    const plan = structuredClone(demo);
    const cmp = plan.servers.find((s) => s.hostname === 'cmp-01')!;
    cmp.addresses.provider = '203.0.113.50';
    const ctx = byName(plan, 'cmp-01');
    const uplink = plannedLinks(ctx).find((l) => l.name === 'ens1f1.300')!;
    expect(uplink).toMatchObject({ action: 'make', kind: 'vlan', mtu: 1500 });
    expect(uplink.address).toBeUndefined();
    // The tenant network on the same NIC keeps its address.
    expect(plannedLinks(ctx).find((l) => l.name === 'ens1f1')!.address).toBe('10.30.0.21/22');
    const netplan = parse(hostNetworkConfig(ctx)) as {
      network: { vlans: Record<string, { addresses?: string[]; mtu: number; id: number }> };
    };
    expect(netplan.network.vlans['ens1f1.300']).toMatchObject({ id: 300, mtu: 1500 });
    expect(netplan.network.vlans['ens1f1.300']!.addresses).toBeUndefined();
    plan.site.osRelease = 'debian-12';
    const ifupdown = hostNetworkConfig(byName(plan, 'cmp-01'));
    expect(ifupdown).toContain('iface ens1f1.300 inet manual\n    mtu 1500\n');
    expect(ifupdown).not.toContain('203.0.113.50');
  });

  it('keeps a controller’s address on the provider network (the public VIP’s interface)', () => {
    const ctl = plannedLinks(byName(demo, 'ctl-01')).find((l) => l.network === 'provider')!;
    expect(ctl.address).toBe('203.0.113.11/24');
  });
});

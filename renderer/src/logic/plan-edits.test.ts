import { produce } from 'immer';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/api';
import {
  addDisks,
  addNics,
  bondOf,
  deleteNetwork,
  freshNetworkName,
  networkNameProblem,
  networkUses,
  removeNic,
  renameNetwork,
  renameNic,
  setNicBond,
  type BulkResult,
} from './plan-edits';

type Server = Plan['servers'][number];

function server(hostname: string, extra: Partial<Server> = {}): Server {
  return {
    hostname,
    rack: 'R01',
    position: 1,
    units: 1,
    model: 'm',
    cpu: { sockets: 1, cores: 1, threads: 1 },
    memoryGiB: 1,
    disks: [],
    nics: [{ name: 'eno1', mac: '02:00:00:00:00:01', speedGbps: 10, network: 'mgmt' }],
    addresses: {},
    roles: [],
    ...extra,
  };
}

const net = (name: string, cidr: string) => ({ name, purpose: 'tenant' as const, cidr });

/** A plan where `storage` is referenced in every way the schema allows. */
const plan = {
  networks: [net('mgmt', '10.10.0.0/24'), net('storage', '10.20.0.0/24'), net('t', '10.30.0.0/24')],
  servers: [
    server('sto-01', {
      nics: [
        { name: 'eno1', mac: '02:00:00:00:00:01', speedGbps: 10, network: 'mgmt' },
        { name: 'eno2', mac: '02:00:00:00:00:02', speedGbps: 25, network: 'storage' },
      ],
      addresses: { mgmt: '10.10.0.11', storage: '10.20.0.11', t: '10.30.0.11' },
    }),
    server('cmp-01', {
      nics: [
        { name: 'eno1', mac: '02:00:00:00:01:01', speedGbps: 10, network: 'mgmt' },
        { name: 'eno2', mac: '02:00:00:00:01:02', speedGbps: 25, tagged: ['t', 'storage'] },
        { name: 'eno3', mac: '02:00:00:00:01:03', speedGbps: 25 },
      ],
      bonds: [
        { name: 'bond0', mode: 'active-backup', members: ['eno3'], network: 'storage' },
        { name: 'bond1', mode: '802.3ad', members: ['eno2'], tagged: ['storage'] },
      ],
      addresses: { storage: '10.20.0.21', mgmt: '10.10.0.21' },
    }),
  ],
  acknowledgements: [
    { rule: 'a', path: '/servers/1/addresses/storage', reason: 'r' },
    { rule: 'b', path: '/networks/1/gateway', reason: 'r' },
    { rule: 'c', path: '/networks/2/cidr', reason: 'r' },
    { rule: 'd', reason: 'everywhere' },
  ],
} as unknown as Plan;

describe('network uses', () => {
  it('lists every reference: NIC, tagged, bond, bond tagged, address, acknowledgement', () => {
    expect(networkUses(plan, 'storage')).toEqual([
      { kind: 'nic', server: 'sto-01', name: 'eno2', path: '/servers/0/nics/1/network' },
      {
        kind: 'address',
        server: 'sto-01',
        name: '10.20.0.11',
        path: '/servers/0/addresses/storage',
      },
      { kind: 'nic-tagged', server: 'cmp-01', name: 'eno2', path: '/servers/1/nics/1/tagged' },
      { kind: 'bond', server: 'cmp-01', name: 'bond0', path: '/servers/1/bonds/0/network' },
      { kind: 'bond-tagged', server: 'cmp-01', name: 'bond1', path: '/servers/1/bonds/1/tagged' },
      {
        kind: 'address',
        server: 'cmp-01',
        name: '10.20.0.21',
        path: '/servers/1/addresses/storage',
      },
      { kind: 'acknowledgement', name: 'a', path: '/acknowledgements/0/path' },
    ]);
    expect(networkUses(plan, 'nowhere')).toEqual([]);
  });
});

describe('rename network', () => {
  it('renames the network and every reference, keeping the order of addresses', () => {
    const next = produce(plan, (d) => renameNetwork(d, 1, 'ceph'));
    expect(next.networks.map((n) => n.name)).toEqual(['mgmt', 'ceph', 't']);
    expect(networkUses(next, 'storage')).toEqual([]);
    expect(networkUses(next, 'ceph').map((u) => u.path)).toEqual(
      networkUses(plan, 'storage').map((u) => u.path.replace('/storage', '/ceph')),
    );
    expect(Object.keys(next.servers[0]!.addresses)).toEqual(['mgmt', 'ceph', 't']);
    expect(Object.keys(next.servers[1]!.addresses)).toEqual(['ceph', 'mgmt']);
    expect(next.servers[1]!.nics[1]!.tagged).toEqual(['t', 'ceph']);
    expect(next.acknowledgements![0]!.path).toBe('/servers/1/addresses/ceph');
    // Nothing else moved: mgmt references are the same objects.
    expect(next.servers[0]!.nics[0]).toBe(plan.servers[0]!.nics[0]);
  });

  it('refuses an empty name or another network’s name', () => {
    expect(networkNameProblem(plan, 1, '  ')).toBe('empty');
    expect(networkNameProblem(plan, 1, 'mgmt')).toBe('taken');
    expect(networkNameProblem(plan, 1, 'storage')).toBeUndefined();
    expect(() => produce(plan, (d) => renameNetwork(d, 1, 'mgmt'))).toThrow(/taken/);
  });

  it('escapes a name with a slash in acknowledgement pointers (RFC 6901)', () => {
    const next = produce(plan, (d) => renameNetwork(d, 1, 'a/b'));
    expect(next.acknowledgements![0]!.path).toBe('/servers/1/addresses/a~1b');
    expect(networkUses(next, 'a/b').some((u) => u.kind === 'acknowledgement')).toBe(true);
  });

  it('keeps references when a duplicate still has the old name', () => {
    const dup = produce(plan, (d) => void d.networks.push(net('storage', '10.50.0.0/24')));
    const next = produce(dup, (d) => renameNetwork(d, 3, 'other'));
    expect(next.servers).toBe(dup.servers);
    expect(next.networks[3]!.name).toBe('other');
  });
});

describe('delete network', () => {
  it('removes the network and every reference; acknowledgements of later networks move down', () => {
    const next = produce(plan, (d) => deleteNetwork(d, 1));
    expect(next.networks.map((n) => n.name)).toEqual(['mgmt', 't']);
    expect(networkUses(next, 'storage')).toEqual([]);
    expect(next.servers[0]!.nics[1]).toEqual({
      name: 'eno2',
      mac: '02:00:00:00:00:02',
      speedGbps: 25,
    });
    expect(next.servers[1]!.nics[1]!.tagged).toEqual(['t']);
    expect(next.servers[1]!.bonds![0]!.network).toBeUndefined();
    expect(next.servers[1]!.bonds![1]!.tagged).toBeUndefined();
    expect(next.servers[0]!.addresses).toEqual({ mgmt: '10.10.0.11', t: '10.30.0.11' });
    expect(next.acknowledgements).toEqual([
      { rule: 'c', path: '/networks/1/cidr', reason: 'r' },
      { rule: 'd', reason: 'everywhere' },
    ]);
  });

  it('keeps references when a duplicate still has the name', () => {
    const dup = produce(plan, (d) => void d.networks.push(net('storage', '10.50.0.0/24')));
    const next = produce(dup, (d) => deleteNetwork(d, 1));
    expect(next.servers).toBe(dup.servers);
    expect(networkUses(next, 'storage').length).toBe(networkUses(plan, 'storage').length);
  });

  it('names a new network that no network has yet', () => {
    expect(freshNetworkName(plan)).toBe('net-4');
    const taken = produce(plan, (d) => void d.networks.push(net('net-5', '10.60.0.0/24')));
    expect(freshNetworkName(taken)).toBe('net-6');
  });
});

describe('bulk hardware edits', () => {
  it('adds a NIC to each selected server with its own MAC, skipping ones that have it', () => {
    let result: BulkResult | undefined;
    const next = produce(plan, (d) => {
      result = addNics(
        d,
        [0, 1],
        { name: 'eno4', speedGbps: 25, network: 'storage' },
        new Map([
          [0, '02:00:00:00:00:04'],
          [1, ' 02:00:00:00:01:04 '],
        ]),
      );
    });
    expect(result).toEqual({ changed: ['sto-01', 'cmp-01'], skipped: [] });
    expect(next.servers[0]!.nics.at(-1)).toEqual({
      name: 'eno4',
      mac: '02:00:00:00:00:04',
      speedGbps: 25,
      network: 'storage',
    });
    expect(next.servers[1]!.nics.at(-1)!.mac).toBe('02:00:00:00:01:04');

    const again = produce(next, (d) => {
      result = addNics(d, [0, 1], { name: 'eno2', speedGbps: 25 }, new Map([[0, 'x']]));
    });
    expect(result).toEqual({
      changed: [],
      skipped: [
        { server: 'sto-01', reason: 'exists' },
        { server: 'cmp-01', reason: 'exists' },
      ],
    });
    expect(again).toBe(next);
  });

  it('never makes up a MAC: a server without one is skipped', () => {
    let result: BulkResult | undefined;
    produce(plan, (d) => {
      result = addNics(d, [0], { name: 'eno9', speedGbps: 25 }, new Map());
    });
    expect(result!.skipped).toEqual([{ server: 'sto-01', reason: 'no-mac' }]);
  });

  it('adds a disk to each selected server that has no disk of that device', () => {
    const disk = {
      device: '/dev/sdb',
      sizeGB: 960,
      type: 'ssd' as const,
      use: 'ceph-osd' as const,
    };
    let result: BulkResult | undefined;
    const next = produce(plan, (d) => {
      result = addDisks(d, [1], disk);
      result = addDisks(d, [0, 1], disk);
    });
    expect(result).toEqual({
      changed: ['sto-01'],
      skipped: [{ server: 'cmp-01', reason: 'exists' }],
    });
    expect(next.servers.map((s) => s.disks.length)).toEqual([1, 1]);
  });
});

describe('NICs and bonds', () => {
  it('renaming a NIC renames its bond membership', () => {
    const next = produce(plan, (d) => renameNic(d.servers[1]!, 2, 'ens3f0'));
    expect(next.servers[1]!.bonds![0]!.members).toEqual(['ens3f0']);
    expect(bondOf(next.servers[1]!, 'ens3f0')).toBe('bond0');
  });

  it('removing a NIC removes it from its bond', () => {
    const next = produce(plan, (d) => removeNic(d.servers[1]!, 2));
    expect(next.servers[1]!.nics.map((n) => n.name)).toEqual(['eno1', 'eno2']);
    expect(next.servers[1]!.bonds![0]!.members).toEqual([]);
  });

  it('moving a NIC into a bond leaves the other bond and drops its own networks', () => {
    const next = produce(plan, (d) => setNicBond(d.servers[1]!, 1, 'bond0'));
    expect(next.servers[1]!.bonds!.map((b) => b.members)).toEqual([['eno3', 'eno2'], []]);
    expect(next.servers[1]!.nics[1]!.tagged).toBeUndefined();
    const out = produce(next, (d) => setNicBond(d.servers[1]!, 1, undefined));
    expect(out.servers[1]!.bonds!.map((b) => b.members)).toEqual([['eno3'], []]);
    expect(bondOf(out.servers[1]!, 'eno2')).toBeUndefined();
  });
});

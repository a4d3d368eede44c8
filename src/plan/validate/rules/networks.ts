/** Rules about the site's networks: names, VLANs, CIDRs, gateways, pools, MTUs, purposes. */
import { pointer } from '../../finding.js';
import { contains, formatIpv4, isNetworkOrBroadcast, usableCount } from '../../ipv4.js';
import type { IndexedNetwork, PlanIndex } from '../plan-index.js';
import type { Rule } from '../rule.js';
import { attachedNetworks } from '../../host-links.js';
import { listNames, plural, repeats } from '../names.js';

const DEFAULT_MTU = 1500;
/** Geneve (OVN) adds up to 58 bytes: a tenant network needs this much for 1500-byte VMs. */
const TENANT_MTU_FOR_1500 = 1558;

const mtuOf = (n: IndexedNetwork) => n.network.mtu ?? DEFAULT_MTU;

/** How many servers sit on a network: those with an address on it or a NIC cabled to it. */
function attachedCounts(index: PlanIndex): Map<string, number> {
  const counts = new Map<string, number>();
  const providerName = index.networkOfPurpose('provider')?.network.name;
  for (const server of index.plan.servers) {
    const names = new Set(Object.keys(server.addresses));
    // A compute server's provider interface is OVN's uplink: attached, but with no address.
    const uplink = server.roles.includes('compute') ? providerName : undefined;
    for (const name of attachedNetworks(server)) if (name !== uplink) names.add(name);
    for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

export const networkRules: Rule[] = [
  {
    id: 'network-name-unique',
    severity: 'error',
    family: 'networks',
    description: 'Every network has its own name (addresses and NICs refer to networks by name).',
    fix: 'Rename one of the networks and update the addresses and NICs that refer to it.',
    check({ networks }, report) {
      for (const { item, first } of repeats(networks, (n) => n.network.name)) {
        report(
          pointer('networks', item.index, 'name'),
          `network name "${item.network.name}" is already used by networks[${first}]`,
          'Give each network its own name; servers refer to networks by name.',
        );
      }
    },
  },
  {
    id: 'network-vlan-unique',
    severity: 'error',
    family: 'networks',
    description: 'No two networks share a VLAN id.',
    fix: 'Give each network the VLAN id the switch team configured for it.',
    check({ networks }, report) {
      for (const { item, first } of repeats(networks, (n) => n.network.vlan)) {
        report(
          pointer('networks', item.index, 'vlan'),
          `network "${item.network.name}" uses VLAN ${item.network.vlan}, already used by network "${networks[first]!.network.name}"`,
          'Check the VLAN plan with the network team; two subnets on one VLAN share a broadcast domain.',
        );
      }
    },
  },
  {
    id: 'network-cidr-host-bits',
    severity: 'warning',
    family: 'networks',
    description: 'A network CIDR is written with its network address (no host bits set).',
    fix: 'Write the network address, such as 10.10.0.0/24 instead of 10.10.0.5/24.',
    check({ networks }, report) {
      for (const n of networks) {
        if (n.cidr?.hostBitsSet) {
          report(
            pointer('networks', n.index, 'cidr'),
            `network "${n.network.name}" is written ${n.network.cidr}, which has host bits set; it means ${formatIpv4(n.cidr.network)}/${n.cidr.prefix}`,
            `Write ${formatIpv4(n.cidr.network)}/${n.cidr.prefix}, or correct the prefix length if the address was right.`,
          );
        }
      }
    },
  },
  {
    id: 'network-overlap',
    severity: 'error',
    family: 'networks',
    description: 'Site networks do not overlap each other.',
    fix: 'Correct the CIDR of one network so the ranges are disjoint.',
    check({ networks }, report) {
      const sorted = networks
        .filter((n) => n.cidr !== undefined)
        .sort((a, b) => a.cidr!.network - b.cidr!.network || a.index - b.index);
      let reach: IndexedNetwork | undefined;
      for (const n of sorted) {
        if (reach && n.cidr!.network <= reach.cidr!.last) {
          const [earlier, later] = reach.index < n.index ? [reach, n] : [n, reach];
          report(
            pointer('networks', later.index, 'cidr'),
            `network "${later.network.name}" (${later.network.cidr}) overlaps network "${earlier.network.name}" (${earlier.network.cidr})`,
            'Each network needs its own address range; correct one of the CIDRs with the network team.',
          );
        }
        if (!reach || n.cidr!.last > reach.cidr!.last) reach = n;
      }
    },
  },
  {
    id: 'network-gateway-inside',
    severity: 'error',
    family: 'networks',
    description:
      'A gateway lies inside its network and is neither the network nor the broadcast address.',
    fix: 'Correct the gateway to the router address on that network.',
    check({ networks }, report) {
      for (const n of networks) {
        if (n.gateway === undefined || !n.cidr) continue;
        const where = pointer('networks', n.index, 'gateway');
        if (!contains(n.cidr, n.gateway)) {
          report(
            where,
            `gateway ${n.network.gateway} of network "${n.network.name}" is outside ${n.network.cidr}`,
            `Use the router's address inside ${n.network.cidr}; hosts cannot reach a gateway outside their subnet.`,
          );
        } else if (isNetworkOrBroadcast(n.cidr, n.gateway)) {
          report(
            where,
            `gateway ${n.network.gateway} of network "${n.network.name}" is the ${n.gateway === n.cidr.network ? 'network' : 'broadcast'} address of ${n.network.cidr}`,
            "Use the router's host address, usually the first (.1) or last usable one.",
          );
        }
      }
    },
  },
  {
    id: 'network-pool-inside',
    severity: 'error',
    family: 'networks',
    description:
      'An allocation pool starts and ends inside its network, on host addresses (not network or broadcast).',
    fix: 'Move the pool start and end inside the CIDR.',
    check({ networks }, report) {
      for (const n of networks) {
        if (!n.cidr || !n.network.pool) continue;
        for (const end of ['start', 'end'] as const) {
          const addr = end === 'start' ? n.poolStart : n.poolEnd;
          if (addr === undefined) continue;
          const text = n.network.pool[end];
          if (!contains(n.cidr, addr) || isNetworkOrBroadcast(n.cidr, addr)) {
            report(
              pointer('networks', n.index, 'pool', end),
              `pool ${end} ${text} of network "${n.network.name}" is ${contains(n.cidr, addr) ? 'the network or broadcast address of' : 'outside'} ${n.network.cidr}`,
              `Choose a pool ${end} among the host addresses of ${n.network.cidr}.`,
            );
          }
        }
      }
    },
  },
  {
    id: 'network-pool-order',
    severity: 'error',
    family: 'networks',
    description: 'An allocation pool starts at or before its end.',
    fix: 'Swap pool.start and pool.end.',
    check({ networks }, report) {
      for (const n of networks) {
        if (n.poolStart !== undefined && n.poolEnd !== undefined && n.poolStart > n.poolEnd) {
          report(
            pointer('networks', n.index, 'pool'),
            `pool of network "${n.network.name}" starts at ${n.network.pool!.start}, after its end ${n.network.pool!.end}`,
            'Swap start and end: the pool is the inclusive range start..end.',
          );
        }
      }
    },
  },
  {
    id: 'network-pool-reserved',
    severity: 'error',
    family: 'networks',
    description:
      'An allocation pool contains neither its gateway nor a virtual IP, so IPAM never hands them to a server.',
    fix: 'Shrink the pool so the gateway and VIPs lie outside it.',
    check({ networks, vips }, report) {
      for (const n of networks) {
        if (n.poolStart === undefined || n.poolEnd === undefined) continue;
        const inPool = (ip: number | undefined) =>
          ip !== undefined && ip >= n.poolStart! && ip <= n.poolEnd!;
        const taken: string[] = [];
        if (inPool(n.gateway)) taken.push(`its gateway ${n.network.gateway}`);
        for (const vip of vips) if (inPool(vip.ip)) taken.push(`${vip.label} ${vip.text}`);
        if (taken.length) {
          report(
            pointer('networks', n.index, 'pool'),
            `pool ${n.network.pool!.start}–${n.network.pool!.end} of network "${n.network.name}" contains ${listNames(taken)}`,
            'Move the pool start or end so it excludes these addresses; IPAM would otherwise hand them to a server.',
          );
        }
      }
    },
  },
  {
    id: 'network-size',
    severity: 'error',
    family: 'networks',
    description:
      'A network has enough host addresses for every server attached to it, its gateway and VIPs.',
    fix: 'Use a larger CIDR (a shorter prefix).',
    check(index, report) {
      const counts = attachedCounts(index);
      for (const n of index.networks) {
        if (!n.cidr || index.networksByName.get(n.network.name) !== n) continue;
        const reserved =
          (n.gateway !== undefined ? 1 : 0) +
          index.vips.filter((v) => v.ip !== undefined && contains(n.cidr!, v.ip)).length;
        const need = (counts.get(n.network.name) ?? 0) + reserved;
        const have = usableCount(n.cidr);
        if (need > have) {
          report(
            pointer('networks', n.index, 'cidr'),
            `network "${n.network.name}" (${n.network.cidr}) has ${plural(have, 'host address', 'host addresses')} but needs ${need} (servers, gateway and VIPs)`,
            `Use a shorter prefix; /${32 - Math.ceil(Math.log2(need + 2))} or larger fits.`,
          );
        }
      }
    },
  },
  {
    id: 'network-management-count',
    severity: 'error',
    family: 'networks',
    description:
      "There is exactly one management network: the hosts' default addresses, SSH and the Kubernetes API live on it.",
    fix: 'Mark the one network the hosts are installed and reached over with purpose: management.',
    check({ networksByPurpose }, report) {
      const list = networksByPurpose.get('management') ?? [];
      if (list.length === 0) {
        report(
          pointer('networks'),
          'no network has purpose "management"',
          'Add the network the servers are reached over (SSH, Kubernetes API) with purpose: management.',
        );
      }
      for (const extra of list.slice(1)) {
        report(
          pointer('networks', extra.index, 'purpose'),
          `network "${extra.network.name}" is a second management network (the first is "${list[0]!.network.name}")`,
          'Keep one management network; give this one another purpose (tenant, provider, storage) or merge them.',
        );
      }
    },
  },
  {
    id: 'network-storage-missing',
    severity: 'error',
    family: 'networks',
    description: 'A site with storage servers has a storage network for Ceph traffic.',
    fix: 'Add a network with purpose: storage and cable the storage servers to it.',
    check({ networksByPurpose, byRole }, report) {
      if (byRole.storage.length > 0 && !networksByPurpose.has('storage')) {
        report(
          pointer('networks'),
          `the plan has ${plural(byRole.storage.length, 'storage server')} but no network with purpose "storage"`,
          'Add a storage network (ideally MTU 9000 on its own VLAN); Ceph replication would otherwise saturate the management network.',
        );
      }
    },
  },
  {
    id: 'network-bmc-missing',
    severity: 'warning',
    family: 'networks',
    description: 'Servers with a BMC have a BMC (out-of-band) network to reach it on.',
    fix: 'Add a network with purpose: bmc covering the BMC addresses.',
    check({ networksByPurpose, plan }, report) {
      if (networksByPurpose.has('bmc')) return;
      const withBmc = plan.servers.filter((s) => s.bmc).length;
      if (withBmc > 0) {
        report(
          pointer('networks'),
          `${plural(withBmc, 'server has', 'servers have')} a BMC address but no network has purpose "bmc"`,
          'Add the out-of-band network (purpose: bmc) so BMC addresses can be checked and reached.',
        );
      }
    },
  },
  {
    id: 'network-storage-mtu',
    severity: 'warning',
    family: 'networks',
    description:
      'The storage network uses jumbo frames (MTU 9000), which Ceph replication needs for full speed.',
    fix: 'Set mtu: 9000 on the storage network (and on its switch ports).',
    check({ networksByPurpose }, report) {
      for (const n of networksByPurpose.get('storage') ?? []) {
        if (mtuOf(n) < 9000) {
          report(
            pointer('networks', n.index, 'mtu'),
            `storage network "${n.network.name}" has MTU ${mtuOf(n)}; Ceph replication runs well below line rate without jumbo frames`,
            'Set mtu: 9000 and make sure the switch ports carry jumbo frames end to end.',
          );
        }
      }
    },
  },
  {
    id: 'network-mtu-consistent',
    severity: 'warning',
    family: 'networks',
    description: 'Networks of the same purpose use the same MTU.',
    fix: 'Use one MTU for all networks of a purpose.',
    check({ networks }, report) {
      const firstOf = new Map<string, IndexedNetwork>();
      for (const n of networks) {
        const first = firstOf.get(n.network.purpose);
        if (!first) firstOf.set(n.network.purpose, n);
        else if (mtuOf(first) !== mtuOf(n)) {
          report(
            pointer('networks', n.index, 'mtu'),
            `${n.network.purpose} network "${n.network.name}" has MTU ${mtuOf(n)} but "${first.network.name}" has ${mtuOf(first)}`,
            'Mixed MTUs on one kind of traffic cause silent drops of large packets; use one MTU.',
          );
        }
      }
    },
  },
  {
    id: 'network-tenant-mtu',
    severity: 'info',
    family: 'networks',
    description: `A tenant network has an MTU of at least ${TENANT_MTU_FOR_1500}, so instances get a full 1500-byte MTU through Geneve.`,
    fix: 'Raise the tenant network MTU (9000 where the switches allow).',
    check({ networksByPurpose }, report) {
      for (const n of networksByPurpose.get('tenant') ?? []) {
        if (mtuOf(n) < TENANT_MTU_FOR_1500) {
          report(
            pointer('networks', n.index, 'mtu'),
            `tenant network "${n.network.name}" has MTU ${mtuOf(n)}; instances get ${mtuOf(n) - 58} after Geneve encapsulation`,
            'Raise the MTU to 9000 (or at least 1558) so instances keep the 1500 bytes their images expect.',
          );
        }
      }
    },
  },
  {
    id: 'network-provider-gateway',
    severity: 'warning',
    family: 'networks',
    description: 'A provider network has a gateway, so floating IPs and routers reach outside.',
    fix: 'Add the upstream router address as gateway.',
    check({ networksByPurpose }, report) {
      for (const n of networksByPurpose.get('provider') ?? []) {
        if (n.network.gateway === undefined) {
          report(
            pointer('networks', n.index, 'gateway'),
            `provider network "${n.network.name}" has no gateway; instances with floating IPs cannot reach beyond it`,
            'Ask the network team for the upstream router address on this network and set it as gateway.',
          );
        }
      }
    },
  },
  {
    id: 'network-tenant-missing',
    severity: 'info',
    family: 'networks',
    description: 'A tenant network carries instance overlay traffic apart from management traffic.',
    fix: 'Add a network with purpose: tenant and cable the compute servers to it.',
    check({ networksByPurpose, byRole }, report) {
      if (byRole.compute.length > 0 && !networksByPurpose.has('tenant')) {
        report(
          pointer('networks'),
          'no network has purpose "tenant"; instance traffic will share the management network',
          'Add a tenant network (its own VLAN, MTU 9000) so instances cannot crowd out the control plane.',
        );
      }
    },
  },
  {
    id: 'network-untagged',
    severity: 'info',
    family: 'networks',
    description: 'At most one network is untagged (no VLAN id): a trunk has one native VLAN.',
    fix: 'Give each network but one its VLAN id.',
    check({ networks }, report) {
      const untagged = networks.filter((n) => n.network.vlan === undefined);
      for (const n of untagged.slice(1)) {
        report(
          pointer('networks', n.index, 'vlan'),
          `network "${n.network.name}" has no VLAN id, like "${untagged[0]!.network.name}"`,
          'Set the VLAN id the switch team uses; only one network can ride untagged on a trunk port.',
        );
      }
    },
  },
];

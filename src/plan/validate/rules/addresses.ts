/** Rules about the IPv4 addresses given to servers and their BMCs. */
import { pointer } from '../../finding.js';
import { contains, isNetworkOrBroadcast } from '../../ipv4.js';
import type { AssignedAddress, IndexedNetwork, PlanIndex } from '../plan-index.js';
import type { Rule } from '../rule.js';
import { attachedNetworks } from '../../host-links.js';

/**
 * Networks a server needs a host address on: management always, and every network one of
 * its NICs or bonds carries (untagged or tagged), except provider (OVN bridges it without a host address) and bmc.
 */
function neededNetworks(index: PlanIndex, serverIndex: number): string[] {
  const server = index.plan.servers[serverIndex]!;
  const needed = new Set<string>();
  const mgmt = index.networkOfPurpose('management');
  if (mgmt) needed.add(mgmt.network.name);
  for (const name of attachedNetworks(server)) {
    const net = index.networksByName.get(name);
    if (net && net.network.purpose !== 'provider' && net.network.purpose !== 'bmc') {
      needed.add(net.network.name);
    }
  }
  return [...needed].filter((name) => server.addresses[name] === undefined);
}

/** What a reserved address of a network is, or undefined for an ordinary host address. */
function reservedAs(net: IndexedNetwork, ip: number): string | undefined {
  if (net.cidr && isNetworkOrBroadcast(net.cidr, ip)) {
    return ip === net.cidr.network ? 'the network address' : 'the broadcast address';
  }
  return ip === net.gateway ? 'the gateway' : undefined;
}

const hostAddresses = (index: PlanIndex): AssignedAddress[] =>
  index.addresses.filter((a) => a.kind === 'address');

export const addressRules: Rule[] = [
  {
    id: 'address-network-known',
    severity: 'error',
    family: 'addresses',
    description: 'Each key of servers[].addresses names a network of the plan.',
    fix: 'Rename the key to a network name, or add the network.',
    check(index, report) {
      for (const a of hostAddresses(index)) {
        if (!index.networksByName.has(a.key)) {
          report(
            a.path,
            `server ${a.hostname} has an address on network "${a.key}", which the plan does not define`,
            `Use one of the network names (${[...index.networksByName.keys()].join(', ') || 'none defined yet'}), or add network "${a.key}".`,
          );
        }
      }
    },
  },
  {
    id: 'address-inside-network',
    severity: 'error',
    family: 'addresses',
    description: 'A server address lies inside the CIDR of the network it is keyed by.',
    fix: 'Correct the address, or key it by the network it belongs to.',
    check(index, report) {
      for (const a of hostAddresses(index)) {
        const net = index.networksByName.get(a.key);
        if (!net?.cidr || a.ip === undefined || contains(net.cidr, a.ip)) continue;
        const actual = index.networkContaining(a.ip);
        report(
          a.path,
          `address ${a.text} of server ${a.hostname} is outside network "${a.key}" (${net.network.cidr})${actual ? `; it lies in network "${actual.network.name}"` : ''}`,
          actual
            ? `Key it by "${actual.network.name}", or choose an address inside ${net.network.cidr}.`
            : `Choose an address inside ${net.network.cidr}, or run \`ustart plan ipam\` after removing it.`,
          actual
            ? undefined
            : {
                hint: `Choose an address inside ${net.network.cidr}, or clear it and press Run IPAM.`,
                action: 'ipam',
              },
        );
      }
    },
  },
  {
    id: 'address-reserved',
    severity: 'error',
    family: 'addresses',
    description: 'No server address is the network, broadcast or gateway address of its network.',
    fix: 'Choose a free host address, or let `ustart plan ipam` choose one.',
    check(index, report) {
      for (const a of index.addresses) {
        const net =
          a.kind === 'bmc'
            ? a.ip === undefined
              ? undefined
              : index.networkContaining(a.ip)
            : index.networksByName.get(a.key);
        if (!net?.cidr || a.ip === undefined || !contains(net.cidr, a.ip)) continue;
        const what = reservedAs(net, a.ip);
        if (what) {
          report(
            a.path,
            `${a.kind === 'bmc' ? 'BMC address' : 'address'} ${a.text} of server ${a.hostname} is ${what} of network "${net.network.name}"`,
            'Choose another host address (remove it and run `ustart plan ipam` to pick one from the pool).',
            {
              hint: 'Choose another host address, or clear it and press Run IPAM to take one from the pool.',
              action: 'ipam',
            },
          );
        }
      }
    },
  },
  {
    id: 'address-vip-conflict',
    severity: 'error',
    family: 'addresses',
    description:
      'No server or BMC holds a virtual IP (the Kubernetes API or OpenStack public VIP).',
    fix: 'Give the server another address; VIPs float between controllers.',
    check(index, report) {
      const vipByIp = new Map(index.vips.filter((v) => v.ip !== undefined).map((v) => [v.ip!, v]));
      for (const a of index.addresses) {
        const vip = a.ip === undefined ? undefined : vipByIp.get(a.ip);
        if (vip) {
          report(
            a.path,
            `server ${a.hostname} has ${a.text}, which is ${vip.label}`,
            'Give the server another address; the VIP moves between controllers and must stay free.',
          );
        }
      }
    },
  },
  {
    id: 'address-unique',
    severity: 'error',
    family: 'addresses',
    description: 'No IPv4 address is given twice (server addresses and BMC addresses together).',
    fix: 'Give one of the two a free address.',
    check(index, report) {
      const first = new Map<number, AssignedAddress>();
      for (const a of index.addresses) {
        if (a.ip === undefined) continue;
        const seen = first.get(a.ip);
        if (!seen) first.set(a.ip, a);
        else
          report(
            a.path,
            `address ${a.text} of server ${a.hostname} is already used by ${seen.serverIndex === a.serverIndex ? 'this server' : `server ${seen.hostname}`} (${seen.kind === 'bmc' ? 'its BMC' : `on "${seen.key}"`})`,
            'Each address may be used once; remove one and run `ustart plan ipam` to pick a free one.',
            {
              hint: 'Each address may be used once: clear one and press Run IPAM to take a free one.',
              action: 'ipam',
            },
          );
      }
    },
  },
  {
    id: 'address-missing',
    severity: 'error',
    family: 'addresses',
    description:
      'Every server has an address on the management network and on each network its NICs use (bar provider), or a pool IPAM can fill it from.',
    fix: 'Add the address, or give the network a pool and run `ustart plan ipam`.',
    check(index, report) {
      index.plan.servers.forEach((server, i) => {
        for (const name of neededNetworks(index, i)) {
          if (index.networksByName.get(name)?.network.pool) continue;
          report(
            pointer('servers', i, 'addresses', name),
            `server ${server.hostname} has no address on network "${name}", and that network has no pool to allocate one from`,
            `Add servers[${i}].addresses.${name}, or give network "${name}" a pool and run \`ustart plan ipam\`.`,
            {
              hint: `Type ${server.hostname}'s address on "${name}", or give network "${name}" a pool and press Run IPAM.`,
            },
          );
        }
      });
    },
  },
  {
    id: 'address-ipam-pending',
    severity: 'warning',
    family: 'addresses',
    description: 'Addresses that IPAM can fill from a pool are filled before installing.',
    fix: 'Run `ustart plan ipam FILE --write`.',
    check(index, report) {
      index.plan.servers.forEach((server, i) => {
        for (const name of neededNetworks(index, i)) {
          if (!index.networksByName.get(name)?.network.pool) continue;
          report(
            pointer('servers', i, 'addresses', name),
            `server ${server.hostname} has no address on network "${name}" yet`,
            'Run `ustart plan ipam FILE --write` to allocate it from the pool, or write one by hand.',
            {
              hint: 'Press Run IPAM to take it from the pool, or type one by hand.',
              action: 'ipam',
            },
          );
        }
      });
    },
  },
  {
    id: 'address-nic-missing',
    severity: 'warning',
    family: 'addresses',
    description:
      'A server with an address on a network also has a NIC or bond carrying that network (untagged or tagged).',
    fix: 'Add the NIC (with its MAC), or remove the address.',
    check(index, report) {
      index.plan.servers.forEach((server, i) => {
        const cabled = attachedNetworks(server);
        for (const name of Object.keys(server.addresses)) {
          if (cabled.has(name) || !index.networksByName.has(name)) continue;
          report(
            pointer('servers', i, 'addresses', name),
            `server ${server.hostname} has an address on network "${name}" but no NIC or bond carries it`,
            `Add the NIC that connects to "${name}" (name, MAC, speed), list "${name}" under a NIC's or bond's tagged networks, or remove the address.`,
          );
        }
      });
    },
  },
  {
    id: 'bmc-address-network',
    severity: 'error',
    family: 'addresses',
    description: 'A BMC address lies inside a network with purpose bmc.',
    fix: "Correct the BMC address, or the BMC network's CIDR.",
    check(index, report) {
      const bmcNets = (index.networksByPurpose.get('bmc') ?? []).filter((n) => n.cidr);
      if (bmcNets.length === 0) return;
      for (const a of index.addresses) {
        if (a.kind !== 'bmc' || a.ip === undefined) continue;
        if (bmcNets.some((n) => contains(n.cidr!, a.ip!))) continue;
        report(
          a.path,
          `BMC address ${a.text} of server ${a.hostname} is outside the BMC network${bmcNets.length > 1 ? 's' : ''} (${bmcNets.map((n) => n.network.cidr).join(', ')})`,
          'Check the address on the BMC (iDRAC, iLO, XCC) and correct it here, or widen the BMC network.',
        );
      }
    },
  },
  {
    id: 'address-on-bmc-network',
    severity: 'warning',
    family: 'addresses',
    description:
      'Host operating systems get no address on the out-of-band (bmc) network, which stays isolated.',
    fix: 'Remove the host address on the BMC network.',
    check(index, report) {
      for (const a of hostAddresses(index)) {
        if (index.networksByName.get(a.key)?.network.purpose !== 'bmc') continue;
        report(
          a.path,
          `server ${a.hostname} has a host address on the BMC network "${a.key}"`,
          'Remove it: a compromised host should not reach every BMC. The BMC address goes in servers[].bmc.address.',
        );
      }
    },
  },
  {
    id: 'vip-reserved',
    severity: 'error',
    family: 'addresses',
    description: 'A virtual IP is not the network, broadcast or gateway address of its network.',
    fix: 'Choose a free host address for the VIP.',
    check(index, report) {
      for (const vip of index.vips) {
        if (vip.ip === undefined) continue;
        const net = index.networkContaining(vip.ip);
        if (!net?.cidr) continue;
        const what = reservedAs(net, vip.ip);
        if (what) {
          report(
            vip.path,
            `${vip.label} ${vip.text} is ${what} of network "${net.network.name}"`,
            `Choose a free host address of ${net.network.cidr} outside its pool.`,
          );
        }
      }
    },
  },
  {
    id: 'vip-distinct',
    severity: 'warning',
    family: 'addresses',
    description: 'The Kubernetes API VIP and the OpenStack public VIP are different addresses.',
    fix: 'Give the OpenStack public endpoints their own VIP.',
    check({ vips }, report) {
      const [k8s, os] = vips;
      if (k8s && os && k8s.ip !== undefined && k8s.ip === os.ip) {
        report(
          os.path,
          `${os.label} ${os.text} is the same address as ${k8s.label}`,
          'Give the public endpoints their own VIP (usually on the provider network) so the Kubernetes API is not exposed with them.',
        );
      }
    },
  },
  {
    id: 'vip-site-service',
    severity: 'error',
    family: 'addresses',
    description: 'No virtual IP is the address of an NTP server or DNS resolver of the site.',
    fix: 'Choose a VIP no existing machine uses.',
    check({ vips, plan, ip }, report) {
      const services = new Map<number, string>();
      for (const entry of plan.site.ntp) {
        const a = ip(entry);
        if (a !== undefined) services.set(a, `NTP server ${entry}`);
      }
      for (const entry of plan.site.dns) {
        const a = ip(entry);
        if (a !== undefined) services.set(a, `DNS resolver ${entry}`);
      }
      for (const vip of vips) {
        const clash = vip.ip === undefined ? undefined : services.get(vip.ip);
        if (clash) {
          report(
            vip.path,
            `${vip.label} ${vip.text} is the address of the site's ${clash}`,
            "Choose a VIP no existing machine uses; the VIP would take over that machine's traffic.",
          );
        }
      }
    },
  },
];

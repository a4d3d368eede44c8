/**
 * Rules about how each server carries its networks: tagged VLANs on NICs and bonds, bond
 * members, MTUs of VLANs against their parents. The umetal.host-network step builds exactly
 * this (docs/host-network.md), so what it could not build is an error here.
 */
import { pointer } from '../../finding.js';
import { DEFAULT_MTU, vlanName } from '../../host-links.js';
import type { Bond, Nic, Server } from '../../schema.js';
import type { PlanIndex } from '../plan-index.js';
import type { Reporter, Rule } from '../rule.js';

/** Linux interface names are at most 15 characters (IFNAMSIZ 16 with the NUL). */
const IFNAME_MAX = 15;
/** Bond modes in which the transmit hash policy means something. */
const HASHED_MODES = new Set(['802.3ad', 'balance-xor', 'balance-tlb']);

/** A NIC or bond: where a network can ride, with its JSON pointer. */
interface Carrier {
  kind: 'NIC' | 'bond';
  item: Nic | Bond;
  path: string;
}

function carriers(server: Server, i: number): Carrier[] {
  return [
    ...server.nics.map((nic, j) => ({
      kind: 'NIC' as const,
      item: nic,
      path: pointer('servers', i, 'nics', j),
    })),
    ...(server.bonds ?? []).map((bond, j) => ({
      kind: 'bond' as const,
      item: bond,
      path: pointer('servers', i, 'bonds', j),
    })),
  ];
}

function eachCarrier(
  index: PlanIndex,
  fn: (server: Server, c: Carrier, i: number, report: Reporter) => void,
  report: Reporter,
): void {
  index.plan.servers.forEach((server, i) => {
    for (const c of carriers(server, i)) fn(server, c, i, report);
  });
}

const mtuOfNetwork = (index: PlanIndex, name: string) =>
  index.networksByName.get(name)?.network.mtu ?? DEFAULT_MTU;

export const hostNetworkRules: Rule[] = [
  {
    id: 'tagged-network-known',
    severity: 'error',
    family: 'host-network',
    description: 'Every tagged network of a NIC or bond is a network of the plan.',
    fix: 'Correct the name under `tagged`, or add the network.',
    check(index, report) {
      eachCarrier(
        index,
        (server, c) => {
          (c.item.tagged ?? []).forEach((name, k) => {
            if (index.networksByName.has(name)) return;
            report(
              `${c.path}/tagged/${k}`,
              `${c.kind} ${c.item.name} of ${server.hostname} carries network "${name}" tagged, which the plan does not define`,
              `Use one of ${[...index.networksByName.keys()].join(', ') || 'the networks (none defined yet)'}, or add network "${name}".`,
            );
          });
        },
        report,
      );
    },
  },
  {
    id: 'tagged-network-vlan',
    severity: 'error',
    family: 'host-network',
    description: 'A network carried tagged has a VLAN id (the tag the host puts on its frames).',
    fix: 'Set `vlan` on the network to the id the switch team gave it.',
    check(index, report) {
      eachCarrier(
        index,
        (server, c) => {
          (c.item.tagged ?? []).forEach((name, k) => {
            const net = index.networksByName.get(name);
            if (!net || net.network.vlan !== undefined) return;
            report(
              `${c.path}/tagged/${k}`,
              `${c.kind} ${c.item.name} of ${server.hostname} carries network "${name}" tagged, but "${name}" has no VLAN id`,
              `Set networks[${net.index}].vlan to the VLAN id the switch uses for "${name}", or carry it untagged (network: ${name}) on a port of its own.`,
            );
          });
        },
        report,
      );
    },
  },
  {
    id: 'network-carried-once',
    severity: 'error',
    family: 'host-network',
    description:
      'A server carries each network on one interface only (one NIC, bond or VLAN), so its address has one place.',
    fix: 'Remove the network from all but one NIC or bond of the server.',
    check(index, report) {
      index.plan.servers.forEach((server, i) => {
        const seen = new Map<string, string>();
        for (const c of carriers(server, i)) {
          const carried: [string, string][] = [];
          if (c.item.network !== undefined) carried.push([c.item.network, `${c.path}/network`]);
          (c.item.tagged ?? []).forEach((t, k) => carried.push([t, `${c.path}/tagged/${k}`]));
          for (const [name, path] of carried) {
            const first = seen.get(name);
            if (first === undefined) {
              seen.set(name, `${c.kind} ${c.item.name}`);
              continue;
            }
            report(
              path,
              `${server.hostname} carries network "${name}" on ${c.kind} ${c.item.name} and on ${first}`,
              'A host has one address per network, on one interface: keep the network on one NIC or bond (bond the ports if you want both).',
            );
          }
        }
      });
    },
  },
  {
    id: 'bond-name-unique',
    severity: 'error',
    family: 'host-network',
    description: 'A bond has a name no NIC or other bond of the server has.',
    fix: 'Rename the bond, such as bond0, bond1.',
    check({ plan }, report) {
      plan.servers.forEach((server, i) => {
        const names = new Set(server.nics.map((n) => n.name));
        (server.bonds ?? []).forEach((bond, j) => {
          if (names.has(bond.name)) {
            report(
              pointer('servers', i, 'bonds', j, 'name'),
              `bond ${bond.name} of ${server.hostname} has the name of another NIC or bond`,
              'Give the bond its own interface name, such as bond0.',
            );
          }
          names.add(bond.name);
        });
      });
    },
  },
  {
    id: 'bond-member-known',
    severity: 'error',
    family: 'host-network',
    description: 'Every bond member is a NIC of the same server.',
    fix: 'List the NIC under `nics`, or correct the member name.',
    check({ plan }, report) {
      plan.servers.forEach((server, i) => {
        const nics = new Set(server.nics.map((n) => n.name));
        (server.bonds ?? []).forEach((bond, j) => {
          bond.members.forEach((m, k) => {
            if (nics.has(m)) return;
            report(
              pointer('servers', i, 'bonds', j, 'members', k),
              `bond ${bond.name} of ${server.hostname} has member ${m}, which is not a NIC of ${server.hostname}`,
              `Use one of ${server.nics.map((n) => n.name).join(', ') || 'its NICs (none listed yet)'}, or add NIC ${m} (name, MAC, speed).`,
            );
          });
        });
      });
    },
  },
  {
    id: 'bond-member-unique',
    severity: 'error',
    family: 'host-network',
    description: 'A NIC is a member of at most one bond, once.',
    fix: 'Remove the NIC from all bonds but one.',
    check({ plan }, report) {
      plan.servers.forEach((server, i) => {
        const owner = new Map<string, string>();
        (server.bonds ?? []).forEach((bond, j) => {
          bond.members.forEach((m, k) => {
            const first = owner.get(m);
            if (first === undefined) {
              owner.set(m, bond.name);
              return;
            }
            report(
              pointer('servers', i, 'bonds', j, 'members', k),
              first === bond.name
                ? `bond ${bond.name} of ${server.hostname} lists member ${m} twice`
                : `NIC ${m} of ${server.hostname} is a member of bond ${first} and of bond ${bond.name}`,
              'A port can belong to one bond only; remove it from the other.',
            );
          });
        });
      });
    },
  },
  {
    id: 'bond-member-network',
    severity: 'error',
    family: 'host-network',
    description:
      'A NIC that is a bond member carries no network of its own: the bond carries the networks.',
    fix: 'Move `network` and `tagged` from the member NIC to the bond.',
    check({ plan }, report) {
      plan.servers.forEach((server, i) => {
        const bondOf = new Map<string, string>();
        for (const bond of server.bonds ?? [])
          for (const m of bond.members) bondOf.set(m, bond.name);
        server.nics.forEach((nic, j) => {
          const bond = bondOf.get(nic.name);
          if (bond === undefined) return;
          if (nic.network === undefined && (nic.tagged ?? []).length === 0) return;
          report(
            pointer('servers', i, 'nics', j, nic.network !== undefined ? 'network' : 'tagged'),
            `NIC ${nic.name} of ${server.hostname} is a member of bond ${bond} but carries networks itself`,
            `Remove network/tagged from ${nic.name} and put them on bond ${bond}; a bond member's frames belong to the bond.`,
          );
        });
      });
    },
  },
  {
    id: 'vlan-mtu-exceeds-parent',
    severity: 'error',
    family: 'host-network',
    description:
      "No network on a NIC or bond (tagged or untagged) has a larger MTU than the NIC's or bond's planned MTU.",
    fix: 'Raise the NIC or bond `mtu`, or lower the network MTU.',
    check(index, report) {
      eachCarrier(
        index,
        (server, c) => {
          if (c.item.mtu === undefined) return;
          const parent = c.item.mtu;
          const carried: [string, string][] = [];
          if (c.item.network !== undefined) carried.push([c.item.network, `${c.path}/network`]);
          (c.item.tagged ?? []).forEach((t, k) => carried.push([t, `${c.path}/tagged/${k}`]));
          for (const [name, path] of carried) {
            if (!index.networksByName.has(name)) continue;
            const mtu = mtuOfNetwork(index, name);
            if (mtu <= parent) continue;
            report(
              path,
              `network "${name}" has MTU ${mtu} but ${c.kind} ${c.item.name} of ${server.hostname} has MTU ${parent}; frames larger than ${parent} bytes would be dropped`,
              `Set ${c.kind === 'NIC' ? 'the NIC' : 'the bond'}'s mtu to at least ${mtu} (and the switch ports with it), or lower the MTU of "${name}".`,
            );
          }
        },
        report,
      );
    },
  },
  {
    id: 'vlan-interface-name-length',
    severity: 'error',
    family: 'host-network',
    description: 'A VLAN interface name `<nic or bond>.<vlan>` fits Linux’s 15 characters.',
    fix: 'Use a shorter NIC or bond name (the OS name of the port, or bond0).',
    check(index, report) {
      eachCarrier(
        index,
        (server, c) => {
          (c.item.tagged ?? []).forEach((name, k) => {
            const vlan = index.networksByName.get(name)?.network.vlan;
            if (vlan === undefined) return;
            const ifname = vlanName(c.item.name, vlan);
            if (ifname.length <= IFNAME_MAX) return;
            report(
              `${c.path}/tagged/${k}`,
              `the VLAN interface ${ifname} of ${server.hostname} would have ${ifname.length} characters; Linux allows ${IFNAME_MAX}`,
              `Shorten the ${c.kind === 'NIC' ? "NIC's name to the name the OS gives the port" : "bond's name, such as bond0"}.`,
            );
          });
        },
        report,
      );
    },
  },
  {
    id: 'bond-hash-policy-mode',
    severity: 'warning',
    family: 'host-network',
    description:
      'A bond sets a transmit hash policy only in a mode that uses it (802.3ad, balance-xor, balance-tlb).',
    fix: 'Remove hashPolicy, or use mode 802.3ad.',
    check({ plan }, report) {
      plan.servers.forEach((server, i) => {
        (server.bonds ?? []).forEach((bond, j) => {
          if (bond.hashPolicy === undefined || HASHED_MODES.has(bond.mode)) return;
          report(
            pointer('servers', i, 'bonds', j, 'hashPolicy'),
            `bond ${bond.name} of ${server.hostname} sets hashPolicy ${bond.hashPolicy}, which mode ${bond.mode} ignores`,
            'Remove hashPolicy, or use mode 802.3ad (with a LAG on the switch) to spread flows over the members.',
          );
        });
      });
    },
  },
];

/**
 * A server's network interfaces as the plan describes them: its NICs, its bonds, and a VLAN
 * interface for every tagged network. One model for validation, IPAM and the render, so they
 * all agree on which networks a server is attached to and over which interface.
 */
import type { Network, Plan, Server } from './schema.js';

/** Linux's default MTU; a network or link without `mtu` has it. */
export const DEFAULT_MTU = 1500;

/** One interface uStart knows of on a host. */
export interface HostLink {
  /** `nic`: a physical port; `bond`: a Linux bond; `vlan`: an 802.1Q interface on a NIC or bond. */
  kind: 'nic' | 'bond' | 'vlan';
  /** Interface name on the host: `eno1`, `bond0`, `eno2.200`. */
  name: string;
  /** The network it carries untagged (for a `vlan`: the network of its VLAN id). */
  network?: string;
  /** For a `vlan`: the NIC or bond it sits on, and its id. */
  parent?: string;
  vlan?: number;
  /** For a `nic`: the bond it is a member of. */
  bond?: string;
  /** The MTU it must have: as planned, or the largest MTU of the networks it carries. */
  mtu: number;
  /** True when the MTU comes from the plan's `mtu` on the NIC or bond. */
  mtuPlanned: boolean;
}

/**
 * The interface name of a VLAN on a parent. `<parent>.<vlan>` is the name ifupdown derives
 * the VLAN from (docs/upstream-facts.md#ifupdown-vlan-dot-name); Linux allows 15 characters.
 */
export function vlanName(parent: string, vlan: number): string {
  return `${parent}.${vlan}`;
}

/** Every network a server is attached to: untagged or tagged, on a NIC or a bond. */
export function attachedNetworks(server: Server): Set<string> {
  const names = new Set<string>();
  for (const nic of server.nics) {
    if (nic.network !== undefined) names.add(nic.network);
    for (const t of nic.tagged ?? []) names.add(t);
  }
  for (const bond of server.bonds ?? []) {
    if (bond.network !== undefined) names.add(bond.network);
    for (const t of bond.tagged ?? []) names.add(t);
  }
  return names;
}

/**
 * The server's interfaces: each NIC, each bond, and a VLAN interface per tagged network (the
 * tagged networks with a known VLAN id; validation reports the others). Plan order: NICs,
 * then bonds, each followed by its VLANs.
 */
export function hostLinks(plan: Plan, server: Server): HostLink[] {
  const byName = new Map<string, Network>(plan.networks.map((n) => [n.name, n]));
  const mtuOf = (name: string | undefined) =>
    name === undefined ? undefined : (byName.get(name)?.mtu ?? DEFAULT_MTU);
  const bondOf = new Map<string, string>();
  for (const bond of server.bonds ?? []) for (const m of bond.members) bondOf.set(m, bond.name);

  const links: HostLink[] = [];
  const withVlans = (
    parent: { name: string; network?: string; tagged?: string[]; mtu?: number },
    kind: 'nic' | 'bond',
    extra: Partial<HostLink>,
  ) => {
    const carried = [parent.network, ...(parent.tagged ?? [])]
      .map(mtuOf)
      .filter((m): m is number => m !== undefined);
    const mtu = parent.mtu ?? Math.max(DEFAULT_MTU, ...carried);
    links.push({
      kind,
      name: parent.name,
      ...(parent.network !== undefined ? { network: parent.network } : {}),
      mtu,
      mtuPlanned: parent.mtu !== undefined,
      ...extra,
    });
    for (const t of parent.tagged ?? []) {
      const vlan = byName.get(t)?.vlan;
      if (vlan === undefined) continue;
      links.push({
        kind: 'vlan',
        name: vlanName(parent.name, vlan),
        network: t,
        parent: parent.name,
        vlan,
        mtu: mtuOf(t) ?? DEFAULT_MTU,
        mtuPlanned: false,
      });
    }
  };
  for (const nic of server.nics) {
    const bond = bondOf.get(nic.name);
    withVlans(nic, 'nic', bond ? { bond } : {});
  }
  for (const bond of server.bonds ?? []) withVlans(bond, 'bond', {});
  // The kernel gives a bond's members the bond's MTU: that is the MTU they must have.
  const bondMtu = new Map(links.filter((l) => l.kind === 'bond').map((l) => [l.name, l.mtu]));
  for (const l of links) if (l.bond !== undefined) l.mtu = bondMtu.get(l.bond) ?? l.mtu;
  return links;
}

/**
 * The interface of a server that carries the plan's provider network untagged: a NIC or bond
 * whose `network` it is (the interface itself), or the VLAN interface `<nic-or-bond>.<vlan>`
 * of a NIC or bond that carries it tagged. On a compute server this interface is the uplink
 * OVN's provider bridge takes over as a port, so it must carry no address
 * (docs/upstream-facts.md#ovs-port-no-ip). Undefined when the server does not carry it (or
 * carries it tagged while the network has no VLAN id, which validation reports).
 */
export function providerUplink(plan: Plan, server: Server): HostLink | undefined {
  const provider = providerNetwork(plan);
  if (!provider) return undefined;
  return hostLinks(plan, server).find((l) => l.network === provider.name && l.bond === undefined);
}

/** The plan's provider network (purpose `provider`), where OpenStack's floating IPs live. */
export function providerNetwork(plan: Plan): Plan['networks'][number] | undefined {
  return plan.networks.find((n) => n.purpose === 'provider');
}

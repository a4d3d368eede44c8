/**
 * Host networking from the plan (docs/host-network.md): which interfaces the
 * umetal.host-network step builds on a host, and the OS file that rebuilds them at boot —
 * netplan on Ubuntu, ifupdown on Debian.
 *
 * The management network's interfaces (the NIC or bond carrying it, a bond's members, a VLAN
 * carrying it, and the parent of such a VLAN) are the SSH path: they are never written to,
 * only checked (present, up, MTU at least what the networks on them need).
 */
import { type HostLink, hostLinks, providerUplink } from '../../plan/host-links.js';
import type { Bond } from '../../plan/schema.js';
import type { HostContext } from '../context.js';

/** Where the persisted file goes on each OS family; the step script uses the same paths. */
export const NETPLAN_FILE = '/etc/netplan/60-ustart.yaml';
export const IFUPDOWN_FILE = '/etc/network/interfaces.d/ustart';
/** MII link monitoring every 100 ms: without it the bonding driver never notices a dead member. */
const MIIMON_MS = 100;

/** A link as the step handles it: made from the plan, or only checked (the management path). */
export interface PlannedLink extends HostLink {
  action: 'make' | 'check';
  /** `10.20.0.11/24` when the host has an address on the link's network. */
  address?: string;
  /** For a bond. */
  members?: string[];
  mode?: Bond['mode'];
  hashPolicy?: Bond['hashPolicy'];
}

/** The links of this host the step makes or checks, parents before children. */
export function plannedLinks(ctx: HostContext): PlannedLink[] {
  const { plan, server } = ctx;
  const mgmt = ctx.management.name;
  const links = hostLinks(plan, server);
  const byName = new Map(links.map((l) => [l.name, l]));
  const bonds = new Map((server.bonds ?? []).map((b) => [b.name, b]));
  // The management path: what carries the management network, and everything under it.
  const kept = new Set<string>();
  const keep = (name: string | undefined) => {
    if (name === undefined || kept.has(name)) return;
    kept.add(name);
    const link = byName.get(name);
    if (link?.parent !== undefined) keep(link.parent);
    for (const m of bonds.get(name)?.members ?? []) keep(m);
  };
  for (const l of links) if (l.network === mgmt) keep(l.name);
  const uplink = ctx.roles.has('compute') ? providerUplink(plan, server)?.name : undefined;

  const out: PlannedLink[] = [];
  for (const l of links) {
    const unused =
      l.kind === 'nic' &&
      l.network === undefined &&
      l.bond === undefined &&
      !links.some((v) => v.parent === l.name);
    if (unused) continue;
    const net =
      l.network === undefined ? undefined : plan.networks.find((n) => n.name === l.network);
    // A compute server's provider uplink is brought up (link, MTU) with no address: OVN's
    // provider bridge takes it over as a port, where an address would not work
    // (docs/upstream-facts.md#ovs-port-no-ip); validation reports a planned one
    // (compute-provider-no-address), and the step removes one the host has.
    const ip =
      l.network === undefined || l.name === uplink ? undefined : server.addresses[l.network];
    const bond = l.kind === 'bond' ? bonds.get(l.name) : undefined;
    out.push({
      ...l,
      action: kept.has(l.name) ? 'check' : 'make',
      ...(ip && net ? { address: `${ip}/${net.cidr.split('/')[1]}` } : {}),
      ...(bond
        ? {
            members: bond.members,
            mode: bond.mode,
            ...(bond.hashPolicy ? { hashPolicy: bond.hashPolicy } : {}),
          }
        : {}),
    });
  }
  // Bonds before the VLANs on them and members after their bond only matter to `ip`; the
  // script orders by kind itself. Here: NICs, bonds, VLANs.
  const rank = { nic: 0, bond: 1, vlan: 2 } as const;
  return out.sort((a, b) => rank[a.kind] - rank[b.kind]);
}

/**
 * Tab-separated, one link a line, for the step script:
 * `action kind name link vlan mtu address mode hash-policy`; `-` for an empty field; `link`
 * is a VLAN's parent, a bond's members joined by commas, or a NIC's bond.
 */
export function hostNetworkLinks(ctx: HostContext): string {
  const rows = plannedLinks(ctx).map((l) =>
    [
      l.action,
      l.kind,
      l.name,
      l.kind === 'vlan' ? l.parent : l.kind === 'bond' ? l.members!.join(',') : (l.bond ?? '-'),
      l.vlan ?? '-',
      l.mtu,
      l.address ?? '-',
      l.mode ?? '-',
      l.hashPolicy ?? '-',
    ].join('\t'),
  );
  return rows.join('\n') + (rows.length ? '\n' : '');
}

/** The persisted configuration for this host's OS: netplan on Ubuntu, ifupdown on Debian. */
export function hostNetworkConfig(ctx: HostContext): string {
  const os = ctx.plan.site.osRelease ?? 'ubuntu-24.04';
  return os.startsWith('debian-') ? ifupdownConfig(ctx) : netplanConfig(ctx);
}

const HEADER = "uStart: the site plan's host networks. Rendered, do not edit.";

/**
 * /etc/network/interfaces.d/ustart. VLANs are named `<parent>.<id>`, from which ifupdown
 * itself creates them (docs/upstream-facts.md#ifupdown-vlan-dot-name); bonds use ifenslave's
 * `bond-*` options (docs/upstream-facts.md#ifenslave-bond-options); `address` takes
 * `a.b.c.d/prefix` and `mtu` is an option of both `static` and `manual`
 * (docs/upstream-facts.md#ifupdown-inet-static-options). No gateway: the default route stays
 * on the management network.
 */
export function ifupdownConfig(ctx: HostContext): string {
  const links = plannedLinks(ctx).filter((l) => l.action === 'make');
  const lines = [`# ${HEADER}`, `# Management interfaces are not here: uStart never changes them.`];
  if (links.length === 0) lines.push('# This host has no other planned interfaces.');
  for (const l of links) {
    // Bond members are enslaved by ifenslave from the bond's bond-slaves; listing them too
    // would bring them up on their own first.
    if (l.kind === 'nic' && l.bond !== undefined) continue;
    lines.push('', `auto ${l.name}`, `iface ${l.name} inet ${l.address ? 'static' : 'manual'}`);
    if (l.address) lines.push(`    address ${l.address}`);
    lines.push(`    mtu ${l.mtu}`);
    if (l.kind === 'bond') {
      lines.push(
        `    bond-slaves ${l.members!.join(' ')}`,
        `    bond-mode ${l.mode}`,
        `    bond-miimon ${MIIMON_MS}`,
      );
      if (l.hashPolicy) lines.push(`    bond-xmit-hash-policy ${l.hashPolicy}`);
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * /etc/netplan/60-ustart.yaml (mode 0600: netplan warns about files others can read,
 * docs/upstream-facts.md#netplan-file-permissions). Files are merged in name order, so the
 * management NIC stays defined by the installer's file (50-cloud-init.yaml,
 * 00-installer-config.yaml); a VLAN's `link` and a bond's `interfaces` must name
 * interfaces defined in some netplan file (docs/upstream-facts.md#netplan-vlan-link-defined).
 * Ethernets are matched by MAC, as netplan asks for devices whose MTU it sets
 * (docs/upstream-facts.md#netplan-mtu-match-mac).
 */
export function netplanConfig(ctx: HostContext): string {
  const links = plannedLinks(ctx).filter((l) => l.action === 'make');
  const nics = new Map(ctx.server.nics.map((n) => [n.name, n]));
  const out = [`# ${HEADER}`, `# Management interfaces are not here: uStart never changes them.`];
  out.push('network:', '  version: 2');
  const section = (kind: HostLink['kind'], key: string) => {
    const of = links.filter((l) => l.kind === kind);
    if (of.length === 0) return;
    out.push(`  ${key}:`);
    for (const l of of) {
      out.push(`    ${l.name}:`);
      if (kind === 'nic') {
        const mac = nics.get(l.name)?.mac.toLowerCase();
        if (mac)
          out.push('      match:', `        macaddress: "${mac}"`, `      set-name: ${l.name}`);
      }
      if (kind === 'vlan') out.push(`      id: ${l.vlan}`, `      link: ${l.parent}`);
      if (kind === 'bond') {
        out.push(`      interfaces: [${l.members!.join(', ')}]`, '      parameters:');
        out.push(`        mode: ${l.mode}`, `        mii-monitor-interval: ${MIIMON_MS}`);
        if (l.hashPolicy) out.push(`        transmit-hash-policy: ${l.hashPolicy}`);
      }
      // A bond member takes the bond's MTU; netplan sets it on the bond.
      if (!(kind === 'nic' && l.bond !== undefined)) out.push(`      mtu: ${l.mtu}`);
      out.push('      dhcp4: false', '      dhcp6: false', '      accept-ra: false');
      if (l.address) out.push(`      addresses: ["${l.address}"]`);
    }
  };
  section('nic', 'ethernets');
  section('bond', 'bonds');
  section('vlan', 'vlans');
  return out.join('\n') + '\n';
}

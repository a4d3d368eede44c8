/**
 * IP address management: fills the addresses a plan leaves open from each network's pool,
 * and summarises every network's address plan for the UI.
 *
 * A server needs an address on the management network and on every network one of its NICs
 * is attached to (`nics[].network`, tagged networks, bonds), except the BMC network: the BMC's own address lives in
 * `servers[].bmc.address`; and except the provider network on a compute server, where the
 * interface is OVN's uplink and carries no address. Allocation is deterministic — servers in plan order, networks in
 * plan order, lowest free address first — so running it twice, or on two laptops, gives the
 * same plan. An address is free only when nothing the plan names holds it: no server address
 * on any network, no BMC, no gateway, no VIP, no DNS/NTP server or jump host written as an
 * IPv4 address, and never the network or broadcast address.
 */
import { type Finding, pointer } from './finding.js';
import {
  type Cidr,
  contains,
  formatIpv4,
  isNetworkOrBroadcast,
  parseCidr,
  parseIpv4,
} from './ipv4.js';
import type { Network, Plan } from './schema.js';
import { attachedNetworks } from './host-links.js';

/** One address IPAM handed out. */
export interface Allocation {
  hostname: string;
  /** Index of the server in `servers[]`. */
  server: number;
  network: string;
  address: string;
  /** JSON pointer of the field that was filled, such as `/servers/3/addresses/mgmt`. */
  path: string;
}

/** Why an address is not available to servers. */
export type ReservedReason =
  | 'network'
  | 'broadcast'
  | 'gateway'
  | 'kubernetes-vip'
  | 'openstack-vip'
  | 'dns'
  | 'ntp'
  | 'jump-host';

export interface NetworkAddressPlan {
  network: string;
  cidr: string;
  /** The pool as written, or undefined when the network has none. */
  pool: { start: string; end: string } | undefined;
  /** Host addresses in the pool that lie inside the CIDR. */
  poolSize: number;
  /** Addresses inside the CIDR held by servers, ascending; `bmc` marks a BMC address. */
  allocated: Array<{ address: string; hostname: string; kind: 'address' | 'bmc'; new: boolean }>;
  /** Addresses inside the CIDR no server may take, ascending. */
  reserved: Array<{ address: string; reason: ReservedReason }>;
  /** Pool addresses still free after allocation. */
  free: number;
}

export interface IpamResult {
  /** A copy of the input with the filled addresses; the input is never changed. */
  plan: Plan;
  allocations: Allocation[];
  /** `ipam-pool-exhausted` (error) and `ipam-no-pool` findings. */
  findings: Finding[];
  /** Per network, in plan order: what is allocated, reserved and free. */
  summary: NetworkAddressPlan[];
}

interface Pool {
  cidr: Cidr;
  first: number;
  last: number;
}

/** The usable part of a network's pool: inside the CIDR, without network and broadcast. */
function poolOf(network: Network): Pool | undefined {
  const cidr = parseCidr(network.cidr);
  if (!cidr || !network.pool) return undefined;
  const start = parseIpv4(network.pool.start);
  const end = parseIpv4(network.pool.end);
  if (start === undefined || end === undefined) return undefined;
  let first = Math.max(start, cidr.network);
  let last = Math.min(end, cidr.last);
  if (isNetworkOrBroadcast(cidr, first)) first++;
  if (isNetworkOrBroadcast(cidr, last)) last--;
  return { cidr, first, last };
}

/** Every address the plan names outside `servers[].addresses`, with why it is taken. */
function reservations(plan: Plan): Array<{ ip: number; reason: ReservedReason }> {
  const out: Array<{ ip: number; reason: ReservedReason }> = [];
  const add = (text: string | undefined, reason: ReservedReason) => {
    const ip = text === undefined ? undefined : parseIpv4(text);
    if (ip !== undefined) out.push({ ip, reason });
  };
  for (const n of plan.networks) add(n.gateway, 'gateway');
  add(plan.kubernetes.controlPlaneVip, 'kubernetes-vip');
  add(plan.openstack.publicVip, 'openstack-vip');
  for (const d of plan.site.dns) add(d, 'dns');
  for (const t of plan.site.ntp) add(t, 'ntp');
  add(plan.access.jumpHost?.address, 'jump-host');
  return out;
}

/** Names of the networks a server needs an address on, in plan order. */
function networksNeeded(plan: Plan, serverIndex: number, management: string | undefined) {
  const server = plan.servers[serverIndex]!;
  const cabled = attachedNetworks(server);
  // A compute server's provider interface is OVN's uplink, a port of its provider bridge: an
  // address there would not work (docs/upstream-facts.md#ovs-port-no-ip).
  const uplink = server.roles.includes('compute');
  return plan.networks.filter(
    (n) =>
      n.purpose !== 'bmc' &&
      !(uplink && n.purpose === 'provider') &&
      (n.name === management || cabled.has(n.name)),
  );
}

/**
 * Fills every missing `servers[].addresses[network]` from the network's pool. Existing
 * addresses are kept as written (validation reports wrong ones). Exhaustion is reported as
 * an `ipam-pool-exhausted` error on the pool; a needed network without a pool as
 * `ipam-no-pool` (an error for the management network, a warning for the others).
 */
export function allocateAddresses(input: Plan): IpamResult {
  const plan = structuredClone(input);
  const used = new Set<number>();
  const reserved = reservations(plan);
  for (const r of reserved) used.add(r.ip);
  for (const s of plan.servers) {
    for (const a of Object.values(s.addresses)) {
      const ip = parseIpv4(a);
      if (ip !== undefined) used.add(ip);
    }
    const bmc = s.bmc ? parseIpv4(s.bmc.address) : undefined;
    if (bmc !== undefined) used.add(bmc);
    const ssh = s.ssh?.address === undefined ? undefined : parseIpv4(s.ssh.address);
    if (ssh !== undefined) used.add(ssh);
  }

  const management = plan.networks.find((n) => n.purpose === 'management')?.name;
  const pools = new Map(plan.networks.map((n) => [n.name, poolOf(n)]));
  // Where to resume the search in each pool, so a large plan is allocated in one pass.
  const cursor = new Map<string, number>();
  const missing = new Map<string, string[]>();
  const allocations: Allocation[] = [];

  plan.servers.forEach((server, i) => {
    for (const network of networksNeeded(plan, i, management)) {
      if (server.addresses[network.name] !== undefined) continue;
      const pool = pools.get(network.name);
      let ip = pool ? (cursor.get(network.name) ?? pool.first) : undefined;
      if (pool && ip !== undefined) {
        while (ip <= pool.last && used.has(ip)) ip++;
        cursor.set(network.name, ip);
      }
      if (!pool || ip === undefined || ip > pool.last) {
        missing.set(network.name, [...(missing.get(network.name) ?? []), server.hostname]);
        continue;
      }
      const address = formatIpv4(ip);
      used.add(ip);
      server.addresses[network.name] = address;
      allocations.push({
        hostname: server.hostname,
        server: i,
        network: network.name,
        address,
        path: pointer('servers', i, 'addresses', network.name),
      });
    }
  });

  const findings: Finding[] = [];
  plan.networks.forEach((network, n) => {
    const hosts = missing.get(network.name);
    if (!hosts) return;
    findings.push(missingFinding(network, n, hosts, management));
  });

  const newAddresses = new Set(allocations.map((a) => `${a.server}/${a.network}`));
  const summary = plan.networks.map((network) =>
    summarise(plan, network, reserved, newAddresses, pools.get(network.name)),
  );
  return { plan, allocations, findings, summary };
}

function missingFinding(
  network: Network,
  index: number,
  hosts: string[],
  management: string | undefined,
): Finding {
  const names = listNames(hosts);
  const count = `${hosts.length} address${hosts.length === 1 ? '' : 'es'}`;
  if (!network.pool) {
    return {
      rule: 'ipam-no-pool',
      severity: network.name === management ? 'error' : 'warning',
      path: pointer('networks', index),
      message: `network "${network.name}" has no pool, so ${count} could not be allocated (${names})`,
      hint: `Add a pool (start and end inside ${network.cidr}) to network "${network.name}", or write the addresses into servers[].addresses by hand.`,
    };
  }
  return {
    rule: 'ipam-pool-exhausted',
    severity: 'error',
    path: pointer('networks', index, 'pool'),
    message: `the pool of network "${network.name}" (${network.pool.start}–${network.pool.end}) has no free address left: ${count} missing (${names})`,
    hint: `Widen the pool of "${network.name}" within ${network.cidr}, free addresses in it, or write the missing addresses by hand.`,
  };
}

function listNames(hosts: string[]): string {
  return hosts.length <= 5
    ? hosts.join(', ')
    : `${hosts.slice(0, 5).join(', ')} and ${hosts.length - 5} more`;
}

function summarise(
  plan: Plan,
  network: Network,
  reserved: ReadonlyArray<{ ip: number; reason: ReservedReason }>,
  newAddresses: ReadonlySet<string>,
  pool: Pool | undefined,
): NetworkAddressPlan {
  const cidr = parseCidr(network.cidr);
  const base = {
    network: network.name,
    cidr: network.cidr,
    pool: network.pool ? { start: network.pool.start, end: network.pool.end } : undefined,
  };
  if (!cidr) return { ...base, poolSize: 0, allocated: [], reserved: [], free: 0 };

  const allocated: Array<NetworkAddressPlan['allocated'][number] & { ip: number }> = [];
  plan.servers.forEach((s, i) => {
    for (const [name, address] of Object.entries(s.addresses)) {
      const ip = parseIpv4(address);
      if (ip !== undefined && contains(cidr, ip)) {
        const isNew = newAddresses.has(`${i}/${name}`);
        allocated.push({ ip, address, hostname: s.hostname, kind: 'address', new: isNew });
      }
    }
    const bmc = s.bmc ? parseIpv4(s.bmc.address) : undefined;
    if (s.bmc && bmc !== undefined && contains(cidr, bmc)) {
      allocated.push({
        ip: bmc,
        address: s.bmc.address,
        hostname: s.hostname,
        kind: 'bmc',
        new: false,
      });
    }
  });
  const inside: Array<{ ip: number; reason: ReservedReason }> = reserved.filter((r) =>
    contains(cidr, r.ip),
  );
  if (cidr.prefix < 31) {
    inside.push({ ip: cidr.network, reason: 'network' }, { ip: cidr.last, reason: 'broadcast' });
  }
  const byIp = (a: { ip: number }, b: { ip: number }) => a.ip - b.ip;
  allocated.sort(byIp);
  inside.sort(byIp);

  const poolSize = pool && pool.last >= pool.first ? pool.last - pool.first + 1 : 0;
  const taken = new Set<number>();
  if (pool) {
    for (const x of [...allocated, ...inside]) {
      if (x.ip >= pool.first && x.ip <= pool.last) taken.add(x.ip);
    }
  }
  return {
    ...base,
    poolSize,
    allocated: allocated.map(({ ip: _ip, ...rest }) => rest),
    reserved: inside.map((r) => ({ address: formatIpv4(r.ip), reason: r.reason })),
    free: poolSize - taken.size,
  };
}

/**
 * The site plan: the consultant's model of a customer's site, stored as one YAML file.
 *
 * This schema is the public file format (documented for people in docs/plan-format.md).
 * Names marked "kept" are a promise: plans written today keep loading. New optional
 * fields may be added freely; a change that would break an existing plan needs a new
 * `schemaVersion` and a migration in ./migrate.ts.
 *
 * Structural checks live here (types, ranges, formats); rules that relate fields to each
 * other (overlaps, duplicates, role counts) live in ./validate so they can report every
 * problem at once with a fix hint.
 */
import { z } from 'zod';

/** The schema version this build writes. Older versions are migrated on load. */
export const CURRENT_SCHEMA_VERSION = 1;

const ipv4 = z.ipv4({ error: 'must be an IPv4 address such as 10.10.0.11' });
const cidr = z.cidrv4({ error: 'must be an IPv4 network in CIDR form such as 10.10.0.0/24' });
const nonEmpty = z.string().trim().min(1, { error: 'must not be empty' });
const port = z.int().min(1).max(65535);

/** Node roles. A server may hold several (for example controller + storage). */
export const ROLES = ['controller', 'compute', 'storage'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** What a network is for; drives which services bind to it. */
export const NETWORK_PURPOSES = ['management', 'bmc', 'storage', 'provider', 'tenant'] as const;
export const NetworkPurpose = z.enum(NETWORK_PURPOSES);
export type NetworkPurpose = z.infer<typeof NetworkPurpose>;

/** Operating system releases the runbook supports on the servers. */
export const OS_RELEASES = ['ubuntu-22.04', 'ubuntu-24.04', 'debian-12', 'debian-13'] as const;

export const Site = z.strictObject({
  /** Short name of the site, used in file names and reports (kept). */
  name: nonEmpty,
  /** The customer's name as it should appear in the handover report (kept). */
  customer: nonEmpty,
  /** Where the datacenter is, free text such as "Stuttgart, DC2 room 1.14" (kept). */
  location: nonEmpty,
  /** `poc` relaxes high-availability rules; `production` enforces them (kept). */
  environment: z.enum(['poc', 'production']),
  /** DNS domain of the site; hosts are named `<hostname>.<domain>` (kept). */
  domain: nonEmpty,
  /** NTP servers the hosts synchronise with, host names or IPv4 addresses (kept). */
  ntp: z.array(nonEmpty),
  /** DNS resolvers the hosts use, IPv4 addresses (kept). */
  dns: z.array(ipv4),
  /** True when the site has no internet: everything comes from an offline bundle (kept). */
  airGapped: z.boolean(),
  /** Operating system on the servers; defaults to `ubuntu-24.04` when absent. */
  osRelease: z.enum(OS_RELEASES).optional(),
});
export type Site = z.infer<typeof Site>;

export const Pool = z.strictObject({
  /** First address handed out by IPAM (kept). */
  start: ipv4,
  /** Last address handed out by IPAM, inclusive (kept). */
  end: ipv4,
});

export const Network = z.strictObject({
  /** Unique name, referenced by `servers[].addresses` and `servers[].nics[].network` (kept). */
  name: nonEmpty,
  /** What the network carries (kept). */
  purpose: NetworkPurpose,
  /** 802.1Q VLAN id, 1–4094; absent for an untagged network (kept). */
  vlan: z.int().min(1).max(4094).optional(),
  /** The network in CIDR form, such as `10.10.0.0/24` (kept). */
  cidr,
  /** Default gateway on this network, if it has one (kept). */
  gateway: ipv4.optional(),
  /** Layer-2 MTU in bytes, 576–9216; 1500 when absent (kept). */
  mtu: z.int().min(576).max(9216).optional(),
  /** Range IPAM allocates server addresses from (kept). */
  pool: Pool.optional(),
});
export type Network = z.infer<typeof Network>;

export const Rack = z.strictObject({
  /** Unique rack name as labelled in the datacenter, such as `R01` (kept). */
  name: nonEmpty,
  /** Usable height in rack units (U), 1–60 (kept). */
  units: z.int().min(1).max(60),
  /** Power budget of the rack in kW (kept). */
  powerKw: z.number().positive().max(100),
});
export type Rack = z.infer<typeof Rack>;

export const Cpu = z.strictObject({
  /** Populated CPU sockets (kept). */
  sockets: z.int().min(1).max(16),
  /** Physical cores per socket (kept). */
  cores: z.int().min(1).max(512),
  /** Hardware threads per core: 2 with SMT/Hyper-Threading, else 1 (kept). */
  threads: z.int().min(1).max(8),
  /** CPU model as sold, for the report. */
  model: z.string().optional(),
});

export const DISK_TYPES = ['ssd', 'hdd', 'nvme'] as const;
export const DISK_USES = ['os', 'ceph-osd', 'data', 'none'] as const;
export const Disk = z.strictObject({
  /** Device path or stable name on the host, such as `/dev/nvme0n1` (kept). */
  device: nonEmpty,
  /** Size in GB (10^9 bytes), as printed on the disk (kept). */
  sizeGB: z.number().positive(),
  /** Medium (kept). */
  type: z.enum(DISK_TYPES),
  /** `os` holds the operating system (two `os` disks are mirrored), `ceph-osd` is given
   * whole to Ceph, `data` is local scratch, `none` is left alone (kept). */
  use: z.enum(DISK_USES),
});
export type Disk = z.infer<typeof Disk>;

const mac = z.string().regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, {
  error: 'must be a MAC address written as six pairs with colons, such as b0:7b:25:1a:00:01',
});

/** A Linux interface name: at most 15 characters, no slash, colon or blank (the kernel's IFNAMSIZ). */
const ifname = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, {
  error:
    'must be an interface name of 1–15 letters, digits, dots, hyphens or underscores, such as eno1',
});

export const Nic = z.strictObject({
  /** Interface name on the host, such as `eno1` (kept). */
  name: nonEmpty,
  /** Hardware address, six hex pairs separated by colons (kept). */
  mac,
  /** Link speed in Gbit/s (kept). */
  speedGbps: z.number().positive().max(800),
  /**
   * The network this port carries untagged (the switch port's access or native VLAN) (kept).
   * Leave it out on a port that is a member of a bond (the bond carries the networks) or that
   * carries only tagged VLANs.
   */
  network: nonEmpty.optional(),
  /**
   * Networks this port carries 802.1Q-tagged, by name; each needs its `vlan` id. uStart makes
   * a VLAN interface `<nic>.<vlan>` for each, such as `eno2.200`. Absent: none.
   */
  tagged: z.array(nonEmpty).optional(),
  /**
   * The port's own MTU in bytes. Absent: the largest MTU of the networks it carries. On the
   * management NIC uStart never changes anything: there this is the MTU the port must already
   * have (set when the OS was installed), and uStart only checks it.
   */
  mtu: z.int().min(576).max(9216).optional(),
});
export type Nic = z.infer<typeof Nic>;

/** Bonding modes of the Linux bonding driver, as netplan and ifenslave name them. */
export const BOND_MODES = [
  '802.3ad',
  'active-backup',
  'balance-rr',
  'balance-xor',
  'balance-tlb',
  'balance-alb',
  'broadcast',
] as const;
/** Transmit hash policies of the Linux bonding driver. */
export const BOND_HASH_POLICIES = [
  'layer2',
  'layer2+3',
  'layer3+4',
  'encap2+3',
  'encap3+4',
] as const;

export const Bond = z.strictObject({
  /** Interface name of the bond on the host, such as `bond0`. */
  name: ifname,
  /**
   * How the members share traffic: `802.3ad` (LACP; the switch ports must form a LAG) or
   * `active-backup` (one member at a time, no switch configuration) are the usual choices.
   */
  mode: z.enum(BOND_MODES),
  /** Names of this server's NICs that form the bond (at least one; two for redundancy). */
  members: z.array(nonEmpty).min(1),
  /** Bond MTU in bytes. Absent: the largest MTU of the networks it carries. */
  mtu: z.int().min(576).max(9216).optional(),
  /** How `802.3ad`, `balance-xor` and `balance-tlb` spread flows over the members. Absent: the
   * kernel's default (`layer2`). `layer3+4` spreads Ceph's many TCP connections best. */
  hashPolicy: z.enum(BOND_HASH_POLICIES).optional(),
  /** Network the bond carries untagged, if any. */
  network: nonEmpty.optional(),
  /** Networks the bond carries 802.1Q-tagged, each as a VLAN interface `<bond>.<vlan>`. */
  tagged: z.array(nonEmpty).optional(),
});
export type Bond = z.infer<typeof Bond>;

export const Bmc = z.strictObject({
  /** BMC (iDRAC, iLO, XCC) address on the BMC network (kept). */
  address: ipv4,
  /** Management protocol the BMC speaks (kept). */
  protocol: z.enum(['ipmi', 'redfish']),
});

export const SshEndpoint = z.strictObject({
  /** Address uStart connects to; defaults to the server's management address (kept). */
  address: nonEmpty.optional(),
  /** SSH port; 22 when absent (kept). */
  port: port.optional(),
  /** Login user; `access.user` when absent (kept). */
  user: nonEmpty.optional(),
});

export const Server = z.strictObject({
  /** Short host name, unique, RFC 1123 (letters, digits, hyphens) (kept). */
  hostname: nonEmpty,
  /** Name of the rack the server is mounted in (kept). */
  rack: nonEmpty,
  /** Lowest rack unit the server occupies, counted from 1 at the bottom (kept). */
  position: z.int().min(1),
  /** Height in rack units (kept). */
  units: z.int().min(1).max(20),
  /** Server model as sold, such as "PowerEdge R650" (kept). */
  model: nonEmpty,
  /** Manufacturer, such as Dell or HPE. */
  vendor: z.string().optional(),
  /** Processor configuration (kept). */
  cpu: Cpu,
  /** Installed memory in GiB (kept). */
  memoryGiB: z.number().positive(),
  /** Local disks (kept). */
  disks: z.array(Disk),
  /** Network interfaces (kept). */
  nics: z.array(Nic),
  /** Out-of-band management controller (kept). */
  bmc: Bmc.optional(),
  /**
   * Link aggregates (Linux bonds) built from this server's NICs. Absent: none. The members
   * carry no network of their own; the bond carries its `network` untagged and its `tagged`
   * networks as VLAN interfaces `<bond>.<vlan>`.
   */
  bonds: z.array(Bond).optional(),
  /** IPv4 address per network name; IPAM fills missing ones from the pools (kept). */
  addresses: z.record(z.string(), ipv4),
  /** Node roles; an empty list means the server is planned but not used yet (kept). */
  roles: z.array(Role),
  /** How uStart reaches the server over SSH, when it differs from the defaults (kept). */
  ssh: SshEndpoint.optional(),
  /** Typical power draw in watts, for the rack power budget; estimated from the height
   * (350 W per U) when absent. */
  powerW: z.number().positive().max(20000).optional(),
  /** Free-text remark from the customer's inventory. */
  notes: z.string().optional(),
});
export type Server = z.infer<typeof Server>;

export const Kubernetes = z.strictObject({
  /** Kubernetes version to install, such as `1.31.4` (kept). */
  version: z.string().regex(/^v?1\.\d+\.\d+$/, { error: 'must be a version such as 1.31.4' }),
  /** Virtual IP of the Kubernetes API, on the management network (kept). */
  controlPlaneVip: ipv4,
  /** Pod network, must not overlap any site network (kept). */
  podCidr: cidr,
  /** Service network, must not overlap any site network (kept). */
  serviceCidr: cidr,
});

/**
 * The provider network as Neutron knows it: an external, flat network on the compute servers'
 * provider uplinks (docs/ustack-provider-network.md). uStart creates it, its subnet and
 * optionally a router once Neutron runs (runbook step ustack.provider-network).
 */
export const ExternalNetwork = z.strictObject({
  /**
   * The addresses of the provider network Neutron may hand out (floating IPs, router
   * gateways), inclusive. Inside the provider network's `cidr`, clear of its server `pool`,
   * its `gateway`, the public VIP and every server address.
   */
  floatingRange: Pool,
  /**
   * True: uStart also creates a router with its gateway on the provider network, to which
   * projects can attach their networks. Absent: no router.
   */
  router: z.boolean().optional(),
});
export type ExternalNetwork = z.infer<typeof ExternalNetwork>;

export const OpenStack = z.strictObject({
  /** OpenStack release, such as `2025.1` (kept). */
  release: nonEmpty,
  /** Region name in the Keystone catalogue (kept). */
  region: nonEmpty,
  /** Virtual IP of the public API endpoints (kept). */
  publicVip: ipv4,
  /**
   * How the endpoint names `<service>.<site domain>` (keystone., nova., horizon. …) reach
   * `publicVip`. `site-dns`: the customer's DNS holds an A record for every name; the
   * preflight checks that each server resolves them. `hosts-file`: uStart writes the names
   * into the managed block of /etc/hosts on every server, and users put the same lines into
   * their own hosts file (the handover report lists them). Absent: `site-dns` for a
   * `production` site, whose users need real DNS, and `hosts-file` for a `poc`, which
   * usually runs before (or without) the customer's DNS team is involved.
   */
  endpointDns: z.enum(['site-dns', 'hosts-file']).optional(),
  /**
   * The provider network in Neutron: what floating IPs come from and whether a router is made.
   * Absent: uStart creates no Neutron network; the provider uplinks are configured anyway.
   */
  externalNetwork: ExternalNetwork.optional(),
});

export const JumpHost = z.strictObject({
  /** Address of the jump (bastion) host (kept). */
  address: nonEmpty,
  /** SSH port of the jump host; 22 when absent (kept). */
  port: port.optional(),
  /** Login user on the jump host; `access.user` when absent (kept). */
  user: nonEmpty.optional(),
});

export const Access = z.strictObject({
  /** Default SSH login user on the servers (kept). Never a password: credentials live in
   * the OS keychain or the SSH agent. */
  user: nonEmpty,
  /** Jump host every connection goes through, when the servers are not directly reachable (kept). */
  jumpHost: JumpHost.optional(),
});

export const Acknowledgement = z.strictObject({
  /** Id of the rule whose warning is accepted, such as `controller-spread`. */
  rule: nonEmpty,
  /** JSON pointer of the finding; absent to accept the rule everywhere. */
  path: z.string().optional(),
  /** Why the warning is accepted; shown in the handover report. */
  reason: nonEmpty,
  /** Who accepted it. */
  by: z.string().optional(),
});
export type Acknowledgement = z.infer<typeof Acknowledgement>;

export const Plan = z.strictObject({
  /** Version of this file format; this build writes 1 (kept). */
  schemaVersion: z.literal(CURRENT_SCHEMA_VERSION),
  site: Site,
  networks: z.array(Network),
  racks: z.array(Rack),
  servers: z.array(Server),
  kubernetes: Kubernetes,
  openstack: OpenStack,
  access: Access,
  /** Warnings the consultant has accepted, each with a reason. Errors cannot be accepted. */
  acknowledgements: z.array(Acknowledgement).optional(),
});
export type Plan = z.infer<typeof Plan>;

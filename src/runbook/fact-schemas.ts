/**
 * What the connect phase reports: the facts of one host (scripts/connect/facts.sh) and its
 * network probes (scripts/connect/netcheck.sh), as zod schemas. Both scripts write JSON the
 * engine collects as step outputs; parsing here keeps a malformed document from ever
 * reaching the preflight as if it were a fact.
 */
import { z } from 'zod';

const num = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]);

/** `lsblk -J -b -d -o NAME,PATH,SIZE,TYPE,ROTA,MODEL,SERIAL` (sizes are strings in older util-linux). */
export const BlockDevice = z.object({
  name: z.string(),
  path: z.string().optional(),
  size: num,
  type: z.string(),
  model: z.string().nullable().optional(),
  serial: z.string().nullable().optional(),
});

/** `ip -j link show`, the fields the preflight reads. */
export const Link = z.object({
  ifname: z.string(),
  address: z.string().optional(),
  operstate: z.string().optional(),
  mtu: z.number().optional(),
});

/** What a module's state is on the host: scripts/connect/facts.sh `module_state`. */
export const ModuleState = z.enum(['loaded', 'builtin', 'loadable', 'missing', 'unknown']);

/** A planned Ceph OSD disk as facts.sh found it; `null` lists mean the tool was missing. */
export const OsdDisk = z.union([
  z.object({ device: z.string(), present: z.literal(false) }),
  z.object({
    device: z.string(),
    present: z.literal(true),
    /** Partitions, LVM volumes, device-mapper or md devices on the disk (`lsblk`). */
    children: z.array(z.object({ name: z.string(), type: z.string() })).nullable(),
    /** Signatures on the disk itself: partition tables, file systems, LVM, bluestore (`wipefs`). */
    signatures: z.array(z.string()).nullable(),
  }),
]);
export type OsdDisk = z.infer<typeof OsdDisk>;

/** One VIP probed from one host: is it this host's own, on a local network, and taken? */
export const VipProbe = z.object({
  name: z.enum(['controlPlaneVip', 'publicVip']),
  address: z.string(),
  /** Configured on this host. */
  local: z.boolean(),
  /** Reached without a gateway, so ARP tells who holds it; false means not judged from here. */
  onLink: z.boolean(),
  answers: z.boolean(),
  /** The MAC that answered (the neighbour table), when it did. */
  mac: z.string().nullable(),
});
export type VipProbe = z.infer<typeof VipProbe>;

/**
 * One OpenStack endpoint name as this host resolves it (`getent ahostsv4`, through nsswitch:
 * /etc/hosts, then DNS): its IPv4 addresses, `[]` when it does not resolve, `null` when the
 * host has no getent. facts.sh resolves them only for `openstack.endpointDns: site-dns`.
 */
export const EndpointName = z.object({
  name: z.string(),
  addresses: z.array(z.string()).nullable(),
  /** The lookup ran into facts.sh's time limit (a resolver that does not answer). */
  timedOut: z.boolean().optional(),
});
export type EndpointName = z.infer<typeof EndpointName>;

export const HostFacts = z.object({
  hostname: z.string(),
  os: z.object({ id: z.string(), versionId: z.string(), prettyName: z.string() }),
  kernel: z.string(),
  cpu: z.object({
    model: z.string(),
    count: z.int().min(1),
    /** `vmx` (Intel VT-x), `svm` (AMD-V), both, or empty. */
    virtualization: z.string(),
  }),
  memoryKiB: z.number().min(0),
  disks: z.object({ blockdevices: z.array(BlockDevice) }).nullable(),
  links: z.array(Link).nullable(),
  addresses: z.array(z.unknown()).nullable(),
  time: z.object({ epochMs: z.number(), ntpSynchronized: z.string() }),
  dns: z.object({ nameservers: z.array(z.string()) }),
  freeBytes: z.object({
    root: z.number().min(0),
    var: z.number().min(0).optional(),
    varLib: z.number().min(0).optional(),
  }),
  listeningTcpPorts: z.array(z.int()),
  // What follows came with the preflight checks (docs/preflight-checks.md); facts from an
  // older runbook lack it and those checks are then skipped, not failed.
  /** Mount points holding /var and /var/lib (`/` when they are not separate). */
  mounts: z.object({ var: z.string(), varLib: z.string() }).optional(),
  /** /etc/machine-id; empty when unreadable or not yet set. */
  machineId: z.string().optional(),
  /** /sys/class/dmi/id/product_uuid; empty where the host has no DMI. */
  productUuid: z.string().optional(),
  /** `stat -fc %T /sys/fs/cgroup/`: `cgroup2fs` (v2), `tmpfs` (v1 or hybrid), or `unknown`. */
  cgroupFs: z.string().optional(),
  kernelModules: z.record(z.string(), ModuleState).optional(),
  swap: z.object({ activeKiB: z.number().min(0), fstabEntries: z.int().min(0) }).optional(),
  osdDisks: z.array(OsdDisk).optional(),
  vips: z.array(VipProbe).optional(),
  /** The endpoint names as this host resolves them; `[]` when it was not asked to. */
  endpointNames: z.array(EndpointName).optional(),
});
export type HostFacts = z.infer<typeof HostFacts>;

export const NetProbe = z.object({
  to: z.string(),
  network: z.string(),
  address: z.string(),
  mtu: z.int(),
  lossPercent: z.number().min(0).max(100),
  avgMs: z.number().nullable(),
  mtuOk: z.boolean(),
});
export type NetProbe = z.infer<typeof NetProbe>;

export const NetcheckResult = z.object({ from: z.string(), probes: z.array(NetProbe) });
export type NetcheckResult = z.infer<typeof NetcheckResult>;

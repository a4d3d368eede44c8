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
  freeBytes: z.object({ root: z.number().min(0) }),
  listeningTcpPorts: z.array(z.int()),
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

/**
 * Discovery (docs/bare-metal.md, "Discovery"): read each server's hardware from its BMC over
 * Redfish and propose plan changes — CPU, memory, NICs with MACs, disks with size and type —
 * as a reviewable diff per server. Nothing is written here; `applyDiscoveries` makes the plan
 * with the accepted servers' changes, and the caller validates and saves it.
 *
 * What Redfish cannot know is kept from the plan: interface names (the OS names them),
 * networks, disk device paths and uses. Planned NICs are matched by MAC first, then the
 * rest in order; planned disks in order. Hardware the plan lacks is added (NIC named after
 * its Redfish Id, disk device guessed and `use: none`, flagged in the diff); planned items
 * the BMC does not report are kept and flagged.
 */
import { isUstartError, messageOf } from '../errors.js';
import type { Disk, Nic, Plan, Server } from '../plan/schema.js';
import { copyDiscovered } from '../plan/discovered.js';
import type { BmcCertificates } from './certificates.js';
import type { BmcCredentials } from './credentials.js';
import type { BmcInventory, InventoryBmc } from './inventory.js';
import { RedfishBmc } from './redfish.js';

export type DiscoveryStatus =
  /** The inventory was read; `changes` may be empty. */
  | 'read'
  /** The plan names no BMC for the server. */
  | 'no-bmc'
  /** The BMC speaks only IPMI, which has no inventory. */
  | 'ipmi'
  /** No login for this BMC was given. */
  | 'no-credentials'
  /** The BMC did not answer (address, network, service off). */
  | 'unanswered'
  /** Its TLS certificate is not pinned yet (`fingerprint` says which to accept) or changed. */
  | 'certificate'
  /** It answered, but refused the login or failed. */
  | 'failed';

export interface Change {
  /** Plan field, as in the plan file: `cpu`, `memoryGiB`, `nics[1]`, `disks[0]`, `model`, `vendor`. */
  field: string;
  kind: 'changed' | 'added' | 'kept';
  /** One line a consultant reads: `before → after`, or why it was kept. */
  text: string;
}

export interface ServerDiscovery {
  hostname: string;
  address?: string;
  status: DiscoveryStatus;
  message?: string;
  /** For `failed`: the error's code (`AuthFailed`: the BMC refused the login). */
  code?: string;
  /** For `certificate`: the offered fingerprint, when it is unknown (not when it changed). */
  fingerprint?: string;
  inventory?: BmcInventory;
  changes: Change[];
  /** The server with the changes applied (when `status` is `read`). */
  proposed?: Server;
}

export interface DiscoverOptions {
  credentials: BmcCredentials;
  certificates: BmcCertificates;
  /** Redfish port of every BMC; 443 when absent. */
  port?: number;
  /** BMCs read at once; 8 when absent (each holds one session and up to 4 connections). */
  concurrency?: number;
  /** Per request; 15 s when absent. */
  timeoutMs?: number;
  /** Called as each server is done, for progress. */
  onServer?: (d: ServerDiscovery) => void;
  /** Opens a BMC; RedfishBmc.connect when absent. */
  connect?: (o: Parameters<typeof RedfishBmc.connect>[0]) => Promise<InventoryBmc>;
}

export async function discoverPlan(plan: Plan, o: DiscoverOptions): Promise<ServerDiscovery[]> {
  const results: ServerDiscovery[] = new Array(plan.servers.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= plan.servers.length) return;
      const d = await discoverServer(plan.servers[i]!, o);
      results[i] = d;
      o.onServer?.(d);
    }
  };
  const n = Math.max(1, Math.min(o.concurrency ?? 8, plan.servers.length));
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}

async function discoverServer(server: Server, o: DiscoverOptions): Promise<ServerDiscovery> {
  const base = { hostname: server.hostname, changes: [] as Change[] };
  if (!server.bmc)
    return { ...base, status: 'no-bmc', message: 'the plan names no BMC (servers[].bmc)' };
  const address = server.bmc.address;
  if (server.bmc.protocol === 'ipmi') {
    return {
      ...base,
      address,
      status: 'ipmi',
      message: 'IPMI has no hardware inventory; set bmc.protocol to redfish if the BMC speaks it',
    };
  }
  const login = await o.credentials.get(address);
  if (!login) {
    return {
      ...base,
      address,
      status: 'no-credentials',
      message: `no BMC login for ${address} (USTART_BMC_USERNAME/USTART_BMC_PASSWORD, --bmc-auth-file, or answer the prompt)`,
    };
  }
  let bmc: InventoryBmc | undefined;
  try {
    bmc = await (o.connect ?? RedfishBmc.connect)({
      address,
      ...(o.port !== undefined ? { port: o.port } : {}),
      login,
      certificates: o.certificates,
      timeoutMs: o.timeoutMs ?? 15_000,
    });
    const inventory = await bmc.inventory();
    const { proposed, changes } = proposeServer(server, inventory);
    return { ...base, address, status: 'read', inventory, changes, proposed };
  } catch (e) {
    const message = messageOf(e);
    if (isUstartError(e, 'BmcCertificateUnknown')) {
      return {
        ...base,
        address,
        status: 'certificate',
        message,
        fingerprint: String(e.detail.fingerprint),
      };
    }
    if (isUstartError(e, 'BmcCertificateMismatch'))
      return { ...base, address, status: 'certificate', message };
    if (isUstartError(e, 'BmcFailed') && e.detail.unreachable)
      return { ...base, address, status: 'unanswered', message };
    return {
      ...base,
      address,
      status: 'failed',
      message,
      ...(isUstartError(e) ? { code: e.code } : {}),
    };
  } finally {
    await bmc?.close();
  }
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** The server as its BMC reports it, and the changes that takes. Exported for tests. */
export function proposeServer(
  server: Server,
  inv: BmcInventory,
): { proposed: Server; changes: Change[] } {
  const changes: Change[] = [];
  const proposed: Server = structuredClone(server);

  const cpus = inv.processors;
  if (cpus.length > 0 && cpus[0]!.cores) {
    const cores = cpus[0]!.cores;
    const threads = Math.max(1, Math.round((cpus[0]!.threads ?? cores) / cores));
    const model = cpus[0]!.model;
    const cpu = {
      sockets: cpus.length,
      cores,
      threads,
      ...(model ? { model } : server.cpu.model ? { model: server.cpu.model } : {}),
    };
    const fmt = (c: typeof cpu) =>
      `${c.sockets} × ${c.cores} cores × ${c.threads} threads${c.model ? ` (${c.model})` : ''}`;
    if (fmt(cpu) !== fmt(server.cpu)) {
      changes.push({ field: 'cpu', kind: 'changed', text: `${fmt(server.cpu)} → ${fmt(cpu)}` });
      proposed.cpu = cpu;
    }
  }

  if (inv.memoryGiB !== undefined) {
    const gib = Math.round(inv.memoryGiB * 10) / 10;
    if (gib !== server.memoryGiB) {
      changes.push({ field: 'memoryGiB', kind: 'changed', text: `${server.memoryGiB} → ${gib}` });
      proposed.memoryGiB = gib;
    }
  }

  if (inv.model && inv.model !== server.model) {
    changes.push({ field: 'model', kind: 'changed', text: `${server.model} → ${inv.model}` });
    proposed.model = inv.model;
  }
  if (inv.manufacturer && inv.manufacturer !== server.vendor) {
    changes.push({
      field: 'vendor',
      kind: 'changed',
      text: `${server.vendor ?? '(none)'} → ${inv.manufacturer}`,
    });
    proposed.vendor = inv.manufacturer;
  }

  proposed.nics = mergeNics(server.nics, inv.nics, changes);
  proposed.disks = mergeDisks(server.disks, inv.drives, changes);
  return { proposed, changes };
}

function mergeNics(planned: Nic[], found: BmcInventory['nics'], changes: Change[]): Nic[] {
  const out = planned.map((n) => ({ ...n }));
  const used = new Set<number>();
  const rest: BmcInventory['nics'] = [];
  for (const f of found) {
    const i = out.findIndex((n, k) => !used.has(k) && n.mac.toLowerCase() === f.mac);
    if (i >= 0) used.add(i);
    else rest.push(f);
    if (i >= 0) updateNic(out, i, f, changes, planned);
  }
  for (const f of rest) {
    const i = out.findIndex((_, k) => !used.has(k));
    if (i >= 0) {
      used.add(i);
      updateNic(out, i, f, changes, planned);
      continue;
    }
    const name = IFNAME.test(f.id) && !out.some((n) => n.name === f.id) ? f.id : `nic${out.length}`;
    const nic: Nic = { name, mac: f.mac, speedGbps: f.speedMbps ? f.speedMbps / 1000 : 1 };
    out.push(nic);
    changes.push({
      field: `nics[${out.length - 1}]`,
      kind: 'added',
      text: `+ ${name} ${f.mac} ${f.speedMbps ? `${nic.speedGbps} Gbit/s` : 'speed unknown (1 Gbit/s written)'} — named after the BMC's "${f.id}": rename it to the OS's interface name, and give it a network`,
    });
  }
  planned.forEach((n, k) => {
    if (!used.has(k))
      changes.push({
        field: `nics[${k}]`,
        kind: 'kept',
        text: `${n.name} ${n.mac}: not reported by the BMC (kept)`,
      });
  });
  return out;
}

function updateNic(
  out: Nic[],
  i: number,
  f: BmcInventory['nics'][number],
  changes: Change[],
  planned: Nic[],
): void {
  const before = planned[i]!;
  const parts: string[] = [];
  if (before.mac.toLowerCase() !== f.mac) {
    parts.push(`mac ${before.mac} → ${f.mac}`);
    out[i]!.mac = f.mac;
  }
  if (f.speedMbps && f.speedMbps / 1000 !== before.speedGbps) {
    parts.push(`speed ${before.speedGbps} → ${f.speedMbps / 1000} Gbit/s`);
    out[i]!.speedGbps = f.speedMbps / 1000;
  }
  if (parts.length)
    changes.push({
      field: `nics[${i}]`,
      kind: 'changed',
      text: `${before.name}: ${parts.join(', ')}`,
    });
}

function diskType(d: BmcInventory['drives'][number]): Disk['type'] {
  if (d.protocol === 'NVMe') return 'nvme';
  return d.mediaType === 'SSD' ? 'ssd' : 'hdd';
}

function mergeDisks(planned: Disk[], found: BmcInventory['drives'], changes: Change[]): Disk[] {
  const out = planned.map((d) => ({ ...d }));
  let sd = 0;
  let nvme = 0;
  found.forEach((f, i) => {
    const sizeGB = Math.round(f.capacityBytes / 1e8) / 10;
    const type = diskType(f);
    if (i < out.length) {
      const before = planned[i]!;
      const parts: string[] = [];
      if (before.sizeGB !== sizeGB) parts.push(`${before.sizeGB} → ${sizeGB} GB`);
      if (before.type !== type) parts.push(`${before.type} → ${type}`);
      if (parts.length) {
        changes.push({
          field: `disks[${i}]`,
          kind: 'changed',
          text: `${before.device}: ${parts.join(', ')}`,
        });
        out[i] = { ...out[i]!, sizeGB, type };
      }
      return;
    }
    // Linux names disks in probe order; the first name the plan does not use yet is a guess.
    const taken = new Set(out.map((d) => d.device));
    let device: string;
    do {
      device =
        type === 'nvme' ? `/dev/nvme${nvme++}n1` : `/dev/sd${String.fromCharCode(97 + sd++)}`;
    } while (taken.has(device));
    out.push({ device, sizeGB, type, use: 'none' });
    changes.push({
      field: `disks[${out.length - 1}]`,
      kind: 'added',
      text: `+ ${device} ${sizeGB} GB ${type} (BMC "${f.id}"), use none — the device path is a guess: check it on the installed host`,
    });
  });
  for (let k = found.length; k < planned.length; k++) {
    changes.push({
      field: `disks[${k}]`,
      kind: 'kept',
      text: `${planned[k]!.device}: not reported by the BMC (kept)`,
    });
  }
  return out;
}

/**
 * The plan with the discovered fields (DISCOVERED_FIELDS) of the proposed servers of `accept`
 * (host names, or every server that was read). Servers not read or not accepted stay as they
 * were, and so does everything discovery does not read (roles, addresses, ...), even when
 * `plan` was edited after the BMCs were read.
 */
export function applyDiscoveries(
  plan: Plan,
  discoveries: readonly ServerDiscovery[],
  accept: ReadonlySet<string> | 'all',
): Plan {
  const byHost = new Map(discoveries.filter((d) => d.proposed).map((d) => [d.hostname, d]));
  return {
    ...plan,
    servers: plan.servers.map((s) => {
      const d = byHost.get(s.hostname);
      if (!d || (accept !== 'all' && !accept.has(s.hostname))) return s;
      // Merged again into the server as it is now: NIC names and networks, disk uses edited
      // since the read stay (the read's own proposal was merged into the server of then).
      const proposed = d.inventory ? proposeServer(s, d.inventory).proposed : d.proposed!;
      const merged = structuredClone(s);
      copyDiscovered(merged, proposed);
      return merged;
    }),
  };
}

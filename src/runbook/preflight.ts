/**
 * Preflight: the facts gathered on each host compared with the plan, as findings in the same
 * shape as plan validation (src/plan/finding.ts), so the Review and Connect views show them
 * side by side. Paths point into the plan (`/servers/3/nics/1/mac`), so a finding says
 * which planned value the host contradicts.
 */
import { type Finding, pointer } from '../plan/finding.js';
import type { Plan, Role, Server } from '../plan/schema.js';
import type { HostFacts } from './facts.js';

/** Per-role hardware minimums: below them the install may run but the site will not hold. */
export const ROLE_MINIMUMS: Record<
  Role,
  { cores: number; memoryGiB: number; installDiskGB: number }
> = {
  controller: { cores: 8, memoryGiB: 32, installDiskGB: 200 },
  compute: { cores: 16, memoryGiB: 64, installDiskGB: 200 },
  storage: { cores: 8, memoryGiB: 32, installDiskGB: 200 },
};

/** Ports a fresh host must have free: the API, etcd and the kubelet (controllers need all). */
export const REQUIRED_PORTS: Record<Role, readonly number[]> = {
  controller: [6443, 2379, 2380, 10250, 10257, 10259],
  compute: [10250],
  storage: [10250],
};

/** The largest clock difference etcd and Ceph tolerate before they misbehave. */
export const MAX_CLOCK_SKEW_MS = 2_000;
/** Below this much free space on / the images and logs do not fit. */
export const MIN_ROOT_FREE_BYTES = 20e9;

/** The os-release ID and VERSION_ID of each supported `site.osRelease`. */
const OS_IDS: Record<NonNullable<Plan['site']['osRelease']>, { id: string; versionId: string }> = {
  'ubuntu-22.04': { id: 'ubuntu', versionId: '22.04' },
  'ubuntu-24.04': { id: 'ubuntu', versionId: '24.04' },
  'debian-12': { id: 'debian', versionId: '12' },
  'debian-13': { id: 'debian', versionId: '13' },
};

/** One host's facts with when the laptop received them (to measure the host's clock). */
export interface GatheredFacts {
  facts: HostFacts;
  /** Epoch ms on the laptop when the step started and finished on that host. */
  window: { from: number; to: number };
}

/** Findings for every planned host with facts; hosts without facts are not judged here. */
export function preflight(plan: Plan, gathered: ReadonlyMap<string, GatheredFacts>): Finding[] {
  const findings: Finding[] = [];
  plan.servers.forEach((server, index) => {
    const g = gathered.get(server.hostname);
    if (g && server.roles.length > 0) findings.push(...hostFindings(plan, server, index, g));
  });
  return findings;
}

function hostFindings(plan: Plan, server: Server, i: number, g: GatheredFacts): Finding[] {
  const { facts } = g;
  const out: Finding[] = [];
  const host = server.hostname;
  const add = (
    rule: string,
    severity: Finding['severity'],
    path: string,
    message: string,
    hint: string,
  ) => out.push({ rule, severity, path, message: `${host}: ${message}`, hint });

  const release = plan.site.osRelease ?? 'ubuntu-24.04';
  const wanted = OS_IDS[release];
  if (facts.os.id !== wanted.id || facts.os.versionId !== wanted.versionId) {
    add(
      'facts-os-unsupported',
      'error',
      '/site/osRelease',
      `runs ${facts.os.prettyName || `${facts.os.id} ${facts.os.versionId}`}, but the plan says ${release}`,
      `Install ${release} on ${host}, or change site.osRelease if all servers run the other release.`,
    );
  }

  const devices = new Map(
    (facts.disks?.blockdevices ?? []).map((d) => [d.path ?? `/dev/${d.name}`, d]),
  );
  server.disks.forEach((disk, j) => {
    if (disk.use === 'none') return;
    const found = devices.get(disk.device);
    const path = pointer('servers', i, 'disks', j);
    if (!found) {
      add(
        'facts-disk-missing',
        'error',
        pointer('servers', i, 'disks', j, 'device'),
        `planned disk ${disk.device} (${disk.use}) is not there; the host has ${[...devices.keys()].join(', ') || 'no disks'}`,
        'Check the cabling/RAID controller, or correct the device name in the plan.',
      );
    } else if (found.size < disk.sizeGB * 1e9 * 0.95) {
      add(
        'facts-disk-smaller',
        disk.use === 'data' ? 'warning' : 'error',
        `${path}/sizeGB`,
        `disk ${disk.device} has ${(found.size / 1e9).toFixed(0)} GB, the plan says ${disk.sizeGB} GB`,
        'Correct sizeGB in the plan, or fit the planned disk.',
      );
    }
  });

  const links = facts.links ?? [];
  server.nics.forEach((nic, j) => {
    const byName = links.find((l) => l.ifname === nic.name);
    const byMac = links.find((l) => l.address?.toLowerCase() === nic.mac.toLowerCase());
    const path = pointer('servers', i, 'nics', j, 'mac');
    if (byName && byName.address?.toLowerCase() !== nic.mac.toLowerCase()) {
      add(
        'facts-mac-differs',
        'error',
        path,
        `NIC ${nic.name} has MAC ${byName.address ?? 'none'}, the plan says ${nic.mac}${byMac ? ` (that MAC is on ${byMac.ifname})` : ''}`,
        byMac
          ? `The NICs are named differently on the host: set the NIC's name to ${byMac.ifname} in the plan.`
          : 'Check that this is the right server (its BMC, its rack position), or correct the MAC in the plan.',
      );
    } else if (!byName) {
      add(
        byMac ? 'facts-nic-renamed' : 'facts-nic-missing',
        byMac ? 'warning' : 'error',
        pointer('servers', i, 'nics', j, 'name'),
        byMac
          ? `NIC ${nic.name} is called ${byMac.ifname} on the host`
          : `NIC ${nic.name} (${nic.mac}) is not on the host`,
        byMac
          ? `Rename the NIC to ${byMac.ifname} in the plan.`
          : 'Check the server and its NICs, or correct the plan.',
      );
    }
  });

  const memoryGiB = facts.memoryKiB / 1024 / 1024;
  // Firmware and the kernel keep a few percent of the installed memory for themselves.
  if (memoryGiB < server.memoryGiB * 0.95) {
    add(
      'facts-memory-less',
      'warning',
      pointer('servers', i, 'memoryGiB'),
      `has ${memoryGiB.toFixed(1)} GiB of memory, the plan says ${server.memoryGiB} GiB`,
      'Check for failed DIMMs, or correct memoryGiB in the plan.',
    );
  }
  const plannedCpus = server.cpu.sockets * server.cpu.cores * server.cpu.threads;
  if (facts.cpu.count < plannedCpus) {
    add(
      'facts-cpu-fewer',
      'warning',
      pointer('servers', i, 'cpu'),
      `has ${facts.cpu.count} CPUs, the plan says ${plannedCpus} (${server.cpu.sockets}×${server.cpu.cores}×${server.cpu.threads})`,
      'Check the BIOS (SMT, disabled cores), or correct the CPU in the plan.',
    );
  }
  if (server.roles.includes('compute') && !/\b(vmx|svm)\b/.test(facts.cpu.virtualization)) {
    add(
      'facts-no-virtualization',
      'error',
      pointer('servers', i, 'roles'),
      'has no hardware virtualisation (VT-x/AMD-V) but the compute role runs virtual machines',
      'Turn on VT-x/AMD-V in the BIOS, or take the compute role away from this server.',
    );
  }

  for (const role of new Set(server.roles)) {
    const min = ROLE_MINIMUMS[role];
    const osDisk = server.disks.find((d) => d.use === 'os');
    const osSize = osDisk ? (devices.get(osDisk.device)?.size ?? 0) / 1e9 : 0;
    const below = [
      facts.cpu.count < min.cores ? `${facts.cpu.count} CPUs (minimum ${min.cores})` : '',
      memoryGiB < min.memoryGiB * 0.95
        ? `${memoryGiB.toFixed(0)} GiB memory (minimum ${min.memoryGiB})`
        : '',
      osDisk && osSize > 0 && osSize < min.installDiskGB
        ? `a ${osSize.toFixed(0)} GB install disk (minimum ${min.installDiskGB})`
        : '',
    ].filter(Boolean);
    if (below.length > 0) {
      add(
        'facts-below-role-minimum',
        'error',
        pointer('servers', i, 'roles'),
        `has ${below.join(', ')} for the ${role} role`,
        `Give the ${role} role to a larger server, or upgrade this one.`,
      );
    }
  }

  const skew =
    facts.time.epochMs < g.window.from
      ? g.window.from - facts.time.epochMs
      : facts.time.epochMs > g.window.to
        ? facts.time.epochMs - g.window.to
        : 0;
  if (skew > MAX_CLOCK_SKEW_MS) {
    add(
      'facts-clock-skew',
      'error',
      '/site/ntp',
      `its clock is ${(skew / 1000).toFixed(1)} s off this machine's`,
      `Set the time (the time-sync step points chrony at ${plan.site.ntp.join(', ') || 'the NTP servers'}), and check this laptop's clock too.`,
    );
  }

  const ports = new Set(facts.listeningTcpPorts);
  const busy = [...new Set(server.roles.flatMap((r) => REQUIRED_PORTS[r]))]
    .filter((p) => ports.has(p))
    .sort((a, b) => a - b);
  if (busy.length > 0) {
    add(
      'facts-ports-in-use',
      'error',
      pointer('servers', i, 'roles'),
      `TCP port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} already in use`,
      'An earlier Kubernetes is still there: run the uMetal reset, or stop what listens there.',
    );
  }
  if (facts.freeBytes.root < MIN_ROOT_FREE_BYTES) {
    add(
      'facts-disk-space',
      'error',
      pointer('servers', i, 'disks'),
      `has only ${(facts.freeBytes.root / 1e9).toFixed(1)} GB free on /`,
      'Free at least 20 GB on the root file system.',
    );
  }
  return out;
}

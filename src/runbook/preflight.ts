/**
 * Preflight: the facts gathered on each host compared with the plan, as findings in the same
 * shape as plan validation (src/plan/finding.ts), so the Review and Connect views show them
 * side by side. Paths point into the plan (`/servers/3/nics/1/mac`), so a finding says
 * which planned value the host contradicts.
 */
import { endpointDns, endpointRecords } from '../plan/endpoints.js';
import { type Finding, pointer } from '../plan/finding.js';
import type { Plan, Role, Server } from '../plan/schema.js';
import type { HostFacts, VipProbe } from './fact-schemas.js';
import { type PreflightCheckId, severityOf } from './preflight-checks.js';

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
/** The same floor for /var or /var/lib when they are file systems of their own. */
export const MIN_VAR_FREE_BYTES = 20e9;

/** Modules the install cannot do without: containerd's overlay snapshotter and bridged
 * traffic through iptables (docs/upstream-facts.md#k8s-kernel-modules). */
export const REQUIRED_MODULES = ['overlay', 'br_netfilter'] as const;

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
  const judged: Array<{ server: Server; index: number; facts: HostFacts }> = [];
  plan.servers.forEach((server, index) => {
    const g = gathered.get(server.hostname);
    if (!g || server.roles.length === 0) return;
    findings.push(...hostFindings(plan, server, index, g));
    judged.push({ server, index, facts: g.facts });
  });
  findings.push(...duplicates(judged, 'machineId', 'preflight-machine-id-duplicate'));
  findings.push(...duplicates(judged, 'productUuid', 'preflight-product-uuid-duplicate'));
  findings.push(...vipFindings(plan, judged));
  return findings;
}

function finding(
  rule: PreflightCheckId,
  path: string,
  message: string,
  hint: string,
  severity = severityOf(rule),
): Finding {
  return { rule, severity, path, message, hint };
}

/** Values that firmware and hypervisors put where they have no real one; never unique. */
const PLACEHOLDER_IDS = /^(|0+|[0-]+|f+|[f-]+|not settable|not present|none|default string)$/i;

/** kubeadm and k0sctl both refuse nodes that share an identity: one finding per sharer. */
function duplicates(
  judged: ReadonlyArray<{ server: Server; index: number; facts: HostFacts }>,
  field: 'machineId' | 'productUuid',
  rule: 'preflight-machine-id-duplicate' | 'preflight-product-uuid-duplicate',
): Finding[] {
  const byValue = new Map<string, string[]>();
  for (const { server, facts } of judged) {
    const value = facts[field]?.trim().toLowerCase() ?? '';
    if (PLACEHOLDER_IDS.test(value)) continue;
    byValue.set(value, [...(byValue.get(value) ?? []), server.hostname]);
  }
  const out: Finding[] = [];
  for (const { server, index, facts } of judged) {
    const value = facts[field]?.trim().toLowerCase() ?? '';
    const sharers = (byValue.get(value) ?? []).filter((h) => h !== server.hostname);
    if (sharers.length === 0) continue;
    out.push(
      field === 'machineId'
        ? finding(
            rule,
            pointer('servers', index),
            `${server.hostname}: /etc/machine-id ${value} is also on ${sharers.join(', ')}`,
            `The hosts were cloned from one image. On ${server.hostname}: rm /etc/machine-id, run systemd-machine-id-setup and reboot.`,
          )
        : finding(
            rule,
            pointer('servers', index),
            `${server.hostname}: product_uuid ${value} is also on ${sharers.join(', ')}`,
            'kubeadm needs a unique product_uuid per node: give each virtual machine its own SMBIOS UUID, or have the vendor set it in the firmware.',
          ),
    );
  }
  return out;
}

const VIP_PATHS: Record<VipProbe['name'], { path: string; label: string }> = {
  controlPlaneVip: {
    path: pointer('kubernetes', 'controlPlaneVip'),
    label: 'kubernetes.controlPlaneVip',
  },
  publicVip: { path: pointer('openstack', 'publicVip'), label: 'openstack.publicVip' },
};

/**
 * A VIP is free when no host sees it answer, or when what answers is a planned controller:
 * kube-vip on the controllers holds both VIPs after the install, so a second connect run
 * must not flag them (docs/upstream-facts.md#kube-vip-arp). Judged only from hosts that
 * reach the VIP without a gateway, where the neighbour table names the MAC.
 */
function vipFindings(
  plan: Plan,
  judged: ReadonlyArray<{ server: Server; facts: HostFacts }>,
): Finding[] {
  const controllers = judged.filter((j) => j.server.roles.includes('controller'));
  const controllerMacs = new Set(
    plan.servers
      .filter((s) => s.roles.includes('controller'))
      .flatMap((s) => s.nics.map((n) => n.mac.toLowerCase()))
      .concat(
        controllers.flatMap((c) =>
          (c.facts.links ?? []).map((l) => l.address?.toLowerCase() ?? ''),
        ),
      )
      .filter((m) => m && m !== '00:00:00:00:00:00'),
  );
  const isController = new Set(controllers.map((c) => c.server.hostname));
  const out: Finding[] = [];
  for (const name of ['controlPlaneVip', 'publicVip'] as const) {
    const address =
      name === 'controlPlaneVip' ? plan.kubernetes.controlPlaneVip : plan.openstack.publicVip;
    const { path, label } = VIP_PATHS[name];
    const probes = judged.flatMap((j) =>
      (j.facts.vips ?? [])
        .filter((v) => v.name === name && v.address === address)
        .map((v) => ({ host: j.server.hostname, probe: v })),
    );
    if (probes.length === 0) continue;
    const holders = new Map<string, string[]>();
    for (const { host, probe } of probes) {
      if (probe.local && !isController.has(host)) {
        holders.set(`${host} itself`, [...(holders.get(`${host} itself`) ?? []), host]);
      } else if (probe.onLink && probe.answers) {
        const mac = probe.mac?.toLowerCase() ?? null;
        if (mac && controllerMacs.has(mac)) continue;
        const who = mac ? `MAC ${mac}` : 'a machine whose MAC was not seen';
        holders.set(who, [...(holders.get(who) ?? []), host]);
      }
    }
    for (const [who, seenFrom] of holders) {
      out.push(
        finding(
          'preflight-vip-in-use',
          path,
          `${label} ${address} is taken: ${who.endsWith('itself') ? `it is configured on ${who}` : `it answers from ${who}`} (seen from ${seenFrom.join(', ')}), which is no planned controller`,
          who.endsWith('itself')
            ? `Remove ${address} from ${seenFrom[0]}, or choose another VIP in the plan.`
            : `Find the machine with that MAC (the switch's MAC table) and free ${address}, or choose another VIP in the plan.`,
        ),
      );
    }
    if (!probes.some(({ probe }) => probe.onLink || probe.local)) {
      out.push(
        finding(
          'preflight-vip-not-checked',
          path,
          `${label} ${address} is on no network a host is on, so whether it is free was not seen`,
          `Check by hand that nothing answers on ${address}.`,
        ),
      );
    }
  }
  return out;
}

function hostFindings(plan: Plan, server: Server, i: number, g: GatheredFacts): Finding[] {
  const { facts } = g;
  const out: Finding[] = [];
  const host = server.hostname;
  const add = (
    rule: PreflightCheckId,
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
  out.push(...systemFindings(plan, server, i, facts));
  return out;
}

/** The host's OS set-up as kubeadm, Kubespray and Rook expect it before an install. */
function systemFindings(plan: Plan, server: Server, i: number, facts: HostFacts): Finding[] {
  const out: Finding[] = [];
  const host = server.hostname;
  const at = pointer('servers', i);
  const add = (rule: PreflightCheckId, path: string, message: string, hint: string) =>
    out.push(finding(rule, path, `${host}: ${message}`, hint));
  const unknown: string[] = [];

  // /var on / is covered by facts-disk-space; a separate /var or /var/lib gets its own floor.
  if (facts.mounts) {
    const seen = new Set<string>(['/']);
    for (const [dir, mount, free] of [
      ['/var', facts.mounts.var, facts.freeBytes.var],
      ['/var/lib', facts.mounts.varLib, facts.freeBytes.varLib],
    ] as const) {
      if (!mount) unknown.push(`the file system of ${dir}`);
      if (!mount || seen.has(mount) || free === undefined) continue;
      seen.add(mount);
      if (free < MIN_VAR_FREE_BYTES) {
        add(
          'preflight-var-space',
          pointer('servers', i, 'disks'),
          `has only ${(free / 1e9).toFixed(1)} GB free on ${mount} (which holds ${dir})`,
          `Free at least ${MIN_VAR_FREE_BYTES / 1e9} GB on ${mount}, or grow it: container images, etcd and the kubelet live under /var/lib.`,
        );
      }
    }
  }

  if (facts.cgroupFs !== undefined) {
    if (facts.cgroupFs === 'tmpfs') {
      add(
        'preflight-cgroup-v1',
        at,
        'runs cgroup v1 (/sys/fs/cgroup is tmpfs, not cgroup2fs)',
        'Remove systemd.unified_cgroup_hierarchy=0 from GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot.',
      );
    } else if (facts.cgroupFs !== 'cgroup2fs') {
      unknown.push(`the cgroup version (/sys/fs/cgroup is ${facts.cgroupFs || 'unreadable'})`);
    }
  }

  if (facts.kernelModules) {
    const modules = facts.kernelModules;
    const missing = REQUIRED_MODULES.filter((m) => modules[m] === 'missing');
    if (missing.length > 0) {
      add(
        'preflight-kernel-module-missing',
        at,
        `kernel ${facts.kernel} has no ${missing.join(' and ')} module (not loaded, not built in, not in /lib/modules)`,
        `Install the modules of the running kernel (Ubuntu: linux-modules-${facts.kernel}; Debian: linux-image-${facts.kernel}), or boot the distribution kernel.`,
      );
    }
    if (modules.rbd === 'missing') {
      add(
        'preflight-rbd-module-missing',
        at,
        `kernel ${facts.kernel} has no rbd module, so Ceph block volumes cannot be attached here`,
        'Install the modules of the running kernel, or boot the distribution kernel.',
      );
    }
    for (const [m, state] of Object.entries(modules)) {
      if (state === 'unknown') unknown.push(`whether the kernel has ${m}`);
    }
  }

  // Swap only in /etc/fstab harms nothing yet: umetal.swap-off comments it out before kubeadm.
  if (facts.swap && facts.swap.activeKiB > 0) {
    add(
      'preflight-swap-on',
      at,
      `has ${(facts.swap.activeKiB / 1024 / 1024).toFixed(1)} GiB of swap on`,
      'The umetal.swap-off step turns it off and out of /etc/fstab before kubeadm runs; if the host needs swap to get by, it lacks memory.',
    );
  }

  if (facts.machineId !== undefined && PLACEHOLDER_IDS.test(facts.machineId.trim())) {
    unknown.push('/etc/machine-id (empty or a placeholder)');
  }
  if (facts.productUuid !== undefined && PLACEHOLDER_IDS.test(facts.productUuid.trim())) {
    unknown.push('the DMI product_uuid');
  }

  if (facts.time.ntpSynchronized === 'no') {
    add(
      'preflight-ntp-unsynchronized',
      '/site/ntp',
      'timedatectl sees the clock unsynchronised',
      'The time-sync step points chrony at site.ntp; check that those servers answer from this host.',
    );
  }

  const osd = new Map((facts.osdDisks ?? []).map((d) => [d.device, d]));
  server.disks.forEach((disk, j) => {
    if (disk.use !== 'ceph-osd') return;
    const found = osd.get(disk.device);
    if (!found?.present) return; // facts-disk-missing says so, from lsblk
    if (found.children === null || found.signatures === null) {
      unknown.push(`what is on ${disk.device}`);
    }
    const children = found.children ?? [];
    const signatures = found.signatures ?? [];
    if (children.length === 0 && signatures.length === 0) return;
    const what = [
      children.length > 0 ? `${children.map((c) => `${c.name} (${c.type})`).join(', ')} on it` : '',
      signatures.length > 0 ? `signatures ${signatures.join(', ')}` : '',
    ].filter(Boolean);
    add(
      'preflight-osd-disk-not-empty',
      pointer('servers', i, 'disks', j, 'device'),
      `planned Ceph OSD disk ${disk.device} is not empty: ${what.join('; ')}`,
      `Rook only takes empty disks. If nothing on it is needed: remove what is on it and run wipefs --all ${disk.device}; else plan another disk.`,
    );
  });

  const names = endpointNameProblems(plan, facts);
  unknown.push(...names.unknown);
  if (names.problems.length > 0) {
    const vip = plan.openstack.publicVip;
    add(
      'preflight-endpoint-dns',
      pointer('openstack', 'endpointDns'),
      `the OpenStack endpoint names must resolve to openstack.publicVip ${vip}, but ${names.problems.join('; ')}`,
      `Ask the customer's DNS team for an A record ${names.wrong.map((n) => `${n} → ${vip}`).join(', ')}; or, for a PoC, set openstack.endpointDns: hosts-file and uStart writes the names into /etc/hosts.`,
    );
  }

  if (unknown.length > 0) {
    add(
      'preflight-fact-unknown',
      at,
      `could not tell ${unknown.join('; ')}`,
      'Check these by hand on the host; the checks that need them were skipped.',
    );
  }
  return out;
}

/**
 * With `site-dns`, what facts.sh's `getent ahostsv4` found for each endpoint name, against
 * the public VIP. Nothing to judge with `hosts-file` (uStart writes the names itself, after
 * this phase) or from an older runbook's facts without `endpointNames`.
 */
function endpointNameProblems(
  plan: Plan,
  facts: HostFacts,
): { problems: string[]; wrong: string[]; unknown: string[] } {
  const out = { problems: [] as string[], wrong: [] as string[], unknown: [] as string[] };
  if (endpointDns(plan) !== 'site-dns' || facts.endpointNames === undefined) return out;
  const seen = new Map(facts.endpointNames.map((n) => [n.name, n]));
  const vip = plan.openstack.publicVip;
  const unresolved: string[] = [];
  for (const { name } of endpointRecords(plan)) {
    const found = seen.get(name);
    if (!found || found.addresses === null) {
      unresolved.push(name);
      continue;
    }
    const addresses = found.addresses;
    if (addresses.length === 1 && addresses[0] === vip) continue;
    out.wrong.push(name);
    out.problems.push(
      addresses.length === 0
        ? found.timedOut
          ? `${name} did not resolve: the lookup timed out (no DNS server answered)`
          : `${name} does not resolve`
        : `${name} resolves to ${addresses.join(', ')}`,
    );
  }
  if (unresolved.length > 0) {
    out.unknown.push(
      `what ${unresolved.join(', ')} resolve${unresolved.length > 1 ? '' : 's'} to (no getent, or not looked up)`,
    );
  }
  return out;
}

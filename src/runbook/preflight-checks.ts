/**
 * Every check the connect phase makes, by its stable id: what it checks, how severe a finding
 * is, and what to do. The preflight (preflight.ts) and the network matrix (netmatrix.ts) take
 * their severities from here, and docs/preflight-checks.md is generated from this list, so
 * the list people read is the list that runs (a test keeps the three in step).
 *
 * The `facts-` ids came first and stay as they are (acknowledgements and scripts name them);
 * the checks added with the install's early failure (issue 12) are `preflight-`.
 */
import type { Severity } from '../plan/finding.js';

export interface PreflightCheck {
  id: string;
  severity: Severity;
  /** Checks made on each host alone, across hosts, or between hosts (network probes). */
  scope: 'host' | 'across hosts' | 'between hosts';
  checks: string;
  fix: string;
}

export const PREFLIGHT_CHECKS = [
  {
    id: 'facts-os-unsupported',
    severity: 'error',
    scope: 'host',
    checks: 'The host runs the OS release of `site.osRelease` (os-release ID and VERSION_ID).',
    fix: 'Install the planned release, or change site.osRelease if every server runs the other one.',
  },
  {
    id: 'facts-disk-missing',
    severity: 'error',
    scope: 'host',
    checks: 'Every planned disk (other than `use: none`) is on the host under its device name.',
    fix: 'Check the cabling or RAID controller, or correct the device name in the plan.',
  },
  {
    id: 'facts-disk-smaller',
    severity: 'error',
    scope: 'host',
    checks:
      'Each planned disk has at least 95 % of its planned size (a warning for `data` disks, an error otherwise).',
    fix: 'Correct sizeGB in the plan, or fit the planned disk.',
  },
  {
    id: 'facts-mac-differs',
    severity: 'error',
    scope: 'host',
    checks:
      'Each planned NIC has its planned MAC. With the plan rule that MACs are unique, this is what makes every MAC unique across hosts, as kubeadm requires.',
    fix: 'Check that this is the right server (BMC, rack position), or correct the MAC in the plan.',
  },
  {
    id: 'facts-nic-renamed',
    severity: 'warning',
    scope: 'host',
    checks: "The planned MAC is on the host, under another NIC name than the plan's.",
    fix: 'Rename the NIC in the plan to the name the host uses.',
  },
  {
    id: 'facts-nic-missing',
    severity: 'error',
    scope: 'host',
    checks: 'Every planned NIC is on the host, by name or by MAC.',
    fix: 'Check the server and its NICs, or correct the plan.',
  },
  {
    id: 'facts-memory-less',
    severity: 'warning',
    scope: 'host',
    checks: 'The host has at least 95 % of its planned memory.',
    fix: 'Check for failed DIMMs, or correct memoryGiB in the plan.',
  },
  {
    id: 'facts-cpu-fewer',
    severity: 'warning',
    scope: 'host',
    checks: 'The host has at least the planned number of CPUs (sockets × cores × threads).',
    fix: 'Check the BIOS (SMT, disabled cores), or correct the CPU in the plan.',
  },
  {
    id: 'facts-no-virtualization',
    severity: 'error',
    scope: 'host',
    checks: 'A compute host has hardware virtualisation (vmx or svm in /proc/cpuinfo).',
    fix: 'Turn on VT-x/AMD-V in the BIOS, or take the compute role away from the server.',
  },
  {
    id: 'facts-below-role-minimum',
    severity: 'error',
    scope: 'host',
    checks: "The host meets each of its roles' minimum CPUs, memory and install disk.",
    fix: 'Give the role to a larger server, or upgrade this one.',
  },
  {
    id: 'facts-clock-skew',
    severity: 'error',
    scope: 'host',
    checks: "The host's clock is within 2 s of this machine's while the facts step ran.",
    fix: 'Set the time (the time-sync step points chrony at site.ntp), and check this machine too.',
  },
  {
    id: 'facts-ports-in-use',
    severity: 'error',
    scope: 'host',
    checks:
      'Nothing listens on the TCP ports Kubernetes needs: 6443, 2379, 2380, 10250, 10257, 10259 on controllers, 10250 on every other node.',
    fix: 'An earlier Kubernetes is still there: run the uMetal reset, or stop what listens there.',
  },
  {
    id: 'facts-disk-space',
    severity: 'error',
    scope: 'host',
    checks: 'At least 20 GB are free on /.',
    fix: 'Free space on the root file system.',
  },
  {
    id: 'preflight-var-space',
    severity: 'error',
    scope: 'host',
    checks:
      'Where /var or /var/lib is a file system of its own (images, etcd, kubelet, Ceph monitors live there), it has at least 20 GB free.',
    fix: 'Free space on that file system, or grow it.',
  },
  {
    id: 'preflight-machine-id-duplicate',
    severity: 'error',
    scope: 'across hosts',
    checks: 'No two hosts share /etc/machine-id (hosts cloned from one image do).',
    fix: 'On each clone: remove /etc/machine-id, run systemd-machine-id-setup, reboot.',
  },
  {
    id: 'preflight-product-uuid-duplicate',
    severity: 'error',
    scope: 'across hosts',
    checks:
      'No two hosts share the DMI product_uuid (/sys/class/dmi/id/product_uuid), which kubeadm requires unique.',
    fix: 'Give each virtual machine its own SMBIOS UUID in the hypervisor, or ask the vendor to set it in the firmware.',
  },
  {
    id: 'preflight-cgroup-v1',
    severity: 'error',
    scope: 'host',
    checks:
      'The host runs cgroup v2 (`stat -fc %T /sys/fs/cgroup/` prints cgroup2fs). Kubernetes deprecated cgroup v1; from 1.35 the kubelet does not start on it.',
    fix: 'Remove systemd.unified_cgroup_hierarchy=0 from the kernel command line (GRUB_CMDLINE_LINUX) and reboot.',
  },
  {
    id: 'preflight-kernel-module-missing',
    severity: 'error',
    scope: 'host',
    checks:
      'The kernel has overlay (containerd) and br_netfilter (Kubernetes networking): loaded, built in, or loadable.',
    fix: 'Install the kernel modules package of the running kernel (linux-modules-$(uname -r) on Ubuntu), or boot the distribution kernel.',
  },
  {
    id: 'preflight-rbd-module-missing',
    severity: 'warning',
    scope: 'host',
    checks: "The kernel has rbd, which Rook's Ceph CSI needs to attach block volumes on a node.",
    fix: 'Install the kernel modules package of the running kernel, or boot the distribution kernel.',
  },
  {
    id: 'preflight-swap-on',
    severity: 'warning',
    scope: 'host',
    checks:
      'No swap is on. The kubelet refuses to start with swap by default; the umetal.swap-off step turns it off (and out of /etc/fstab), which a host that lives on swap does not survive.',
    fix: 'Nothing before the install if the host has the memory; if it needs swap to get by, it lacks memory.',
  },
  {
    id: 'preflight-ntp-unsynchronized',
    severity: 'warning',
    scope: 'host',
    checks: 'timedatectl sees the clock synchronised (NTPSynchronized=yes).',
    fix: 'Nothing if the clock is right: the time-sync step sets up chrony with site.ntp. Check that the NTP servers answer from this host.',
  },
  {
    id: 'preflight-osd-disk-not-empty',
    severity: 'error',
    scope: 'host',
    checks:
      'Each planned Ceph OSD disk has no partitions, LVM volumes or signatures (partition table, file system, LVM, an old bluestore): Rook only takes empty raw disks.',
    fix: 'If nothing on it is needed, wipe it (wipefs --all DEVICE, after removing its partitions and volumes); else plan another disk.',
  },
  {
    id: 'preflight-endpoint-dns',
    severity: 'error',
    scope: 'host',
    checks:
      'With `openstack.endpointDns: site-dns` (the default for production), every OpenStack endpoint name (keystone., glance., nova., placement., novnc., neutron., cinder., horizon. in the site domain) resolves on the host to `openstack.publicVip` and nothing else (`getent ahostsv4`: /etc/hosts, then DNS). With `hosts-file` it passes: uStart writes the names into /etc/hosts.',
    fix: "Ask the customer's DNS team for an A record NAME → the public VIP for each name, or set openstack.endpointDns: hosts-file for a PoC.",
  },
  {
    id: 'preflight-vip-in-use',
    severity: 'error',
    scope: 'across hosts',
    checks:
      "The Kubernetes API VIP and the OpenStack public VIP do not answer, or answer from a planned controller's NIC (kube-vip holds them after the install, so a second connect run passes).",
    fix: 'Find the machine with that MAC and free the address, or choose another VIP in the plan.',
  },
  {
    id: 'preflight-vip-not-checked',
    severity: 'info',
    scope: 'across hosts',
    checks: 'At least one host shares a network with each VIP, so whether it is free was seen.',
    fix: 'Check by hand that nothing answers on the VIP, or give a host an address on its network.',
  },
  {
    id: 'preflight-fact-unknown',
    severity: 'info',
    scope: 'host',
    checks:
      'Each fact a check needs could be read (a minimal host may lack a tool, a virtual machine its DMI).',
    fix: 'Check that fact by hand on the host.',
  },
  {
    id: 'net-not-measured',
    severity: 'warning',
    scope: 'between hosts',
    checks: 'Every pair of hosts on a shared network was measured.',
    fix: 'Run the network check again; the host may not have reported.',
  },
  {
    id: 'net-unreachable',
    severity: 'error',
    scope: 'between hosts',
    checks: 'Each host reaches every other host on each network they share.',
    fix: 'Check the VLAN, cabling and addresses of both hosts on this network.',
  },
  {
    id: 'net-loss',
    severity: 'error',
    scope: 'between hosts',
    checks: 'Packet loss between two hosts is within the limit of their roles.',
    fix: 'Look for a faulty cable, port or an overloaded link.',
  },
  {
    id: 'net-latency',
    severity: 'error',
    scope: 'between hosts',
    checks: 'Average latency between two hosts is within the limit of their roles.',
    fix: 'The hosts are too far apart for their roles; check the network path.',
  },
  {
    id: 'net-mtu',
    severity: 'error',
    scope: 'between hosts',
    checks: "Packets of the network's planned MTU pass unfragmented (don't-fragment pings).",
    fix: 'Set the MTU on every switch port and NIC of the network, or lower the planned MTU.',
  },
] as const satisfies readonly PreflightCheck[];

export type PreflightCheckId = (typeof PREFLIGHT_CHECKS)[number]['id'];

const BY_ID = new Map<string, PreflightCheck>(PREFLIGHT_CHECKS.map((c) => [c.id, c]));

/** The severity of a check by id (the catalogue is the one place severities are set). */
export function severityOf(id: PreflightCheckId): Severity {
  return BY_ID.get(id)!.severity;
}

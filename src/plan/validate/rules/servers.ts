/** Rules about each server on its own: names, NICs, disks, BMC. */
import { pointer } from '../../finding.js';
import type { Rule } from '../rule.js';
import { RFC1123_LABEL, listNames, repeats } from '../names.js';

/** Below this an OS disk fills up with container images, logs and etcd snapshots. */
export const OS_DISK_MIN_GB = 200;

export const serverRules: Rule[] = [
  {
    id: 'hostname-format',
    severity: 'error',
    family: 'servers',
    description: 'Host names are RFC 1123 labels: lower-case letters, digits and hyphens.',
    fix: 'Rename the server, such as "cmp-01".',
    check({ plan }, report) {
      plan.servers.forEach((s, i) => {
        if (!RFC1123_LABEL.test(s.hostname)) {
          const bad = [...new Set(s.hostname.replace(/[a-z0-9-]/g, ''))].join('');
          report(
            pointer('servers', i, 'hostname'),
            `host name ${JSON.stringify(s.hostname)} is not a valid RFC 1123 name${bad ? ` (it contains ${JSON.stringify(bad)})` : ''}`,
            'Use 1–63 lower-case letters, digits and hyphens, not starting or ending with a hyphen, such as "cmp-01".',
          );
        }
      });
    },
  },
  {
    id: 'hostname-unique',
    severity: 'error',
    family: 'servers',
    description: 'Every server has its own host name (compared case-insensitively).',
    fix: 'Give each server its own host name.',
    check({ plan }, report) {
      for (const { item, index, first } of repeats(plan.servers, (s) => s.hostname.toLowerCase())) {
        report(
          pointer('servers', index, 'hostname'),
          `host name "${item.hostname}" is already used by servers[${first}]`,
          'Give each server its own host name.',
        );
      }
    },
  },
  {
    id: 'hostname-fqdn-length',
    severity: 'error',
    family: 'servers',
    description: 'The fully qualified name <hostname>.<domain> is at most 253 characters.',
    fix: 'Shorten the host name or the site domain.',
    check({ plan }, report) {
      plan.servers.forEach((s, i) => {
        const fqdn = `${s.hostname}.${plan.site.domain}`;
        if (fqdn.length > 253) {
          report(
            pointer('servers', i, 'hostname'),
            `the full name of server ${s.hostname} is ${fqdn.length} characters; DNS allows 253`,
            'Shorten the host name or the site domain.',
          );
        }
      });
    },
  },
  {
    id: 'mac-unique',
    severity: 'error',
    family: 'servers',
    description: 'No MAC address appears twice (compared case-insensitively).',
    fix: 'Check the MAC on the NIC label or in the BMC inventory and correct the copy.',
    check({ plan }, report) {
      const seen = new Map<string, { hostname: string; nic: string }>();
      plan.servers.forEach((s, i) => {
        s.nics.forEach((nic, j) => {
          const key = nic.mac.toLowerCase();
          const first = seen.get(key);
          if (!first) seen.set(key, { hostname: s.hostname, nic: nic.name });
          else
            report(
              pointer('servers', i, 'nics', j, 'mac'),
              `MAC ${nic.mac} of ${s.hostname} ${nic.name} is already used by ${first.hostname} ${first.nic}`,
              'A copy-and-paste slip is likely: read the MAC from the BMC inventory and correct it.',
            );
        });
      });
    },
  },
  {
    id: 'mac-unicast',
    severity: 'error',
    family: 'servers',
    description: 'A NIC MAC is a unicast, non-zero hardware address.',
    fix: 'Copy the burned-in MAC from the BMC inventory.',
    check({ plan }, report) {
      plan.servers.forEach((s, i) => {
        s.nics.forEach((nic, j) => {
          const first = Number.parseInt(nic.mac.slice(0, 2), 16);
          const zero = /^(00:){5}00$/.test(nic.mac);
          if (zero || (first & 1) === 1) {
            report(
              pointer('servers', i, 'nics', j, 'mac'),
              `MAC ${nic.mac} of ${s.hostname} ${nic.name} is ${zero ? 'all zeros' : 'a multicast or broadcast address'}, not a NIC's own address`,
              'Copy the burned-in MAC of the port from the BMC inventory or the label on the card.',
            );
          }
        });
      });
    },
  },
  {
    id: 'nic-network-known',
    severity: 'error',
    family: 'servers',
    description: 'Every NIC is cabled to a network the plan defines.',
    fix: 'Correct servers[].nics[].network to a network name, or add the network.',
    check({ plan, networksByName }, report) {
      plan.servers.forEach((s, i) => {
        s.nics.forEach((nic, j) => {
          if (nic.network !== undefined && !networksByName.has(nic.network)) {
            report(
              pointer('servers', i, 'nics', j, 'network'),
              `NIC ${nic.name} of ${s.hostname} is cabled to network "${nic.network}", which the plan does not define`,
              `Use one of ${[...networksByName.keys()].join(', ') || 'the networks (none defined yet)'}, or add network "${nic.network}".`,
            );
          }
        });
      });
    },
  },
  {
    id: 'nic-name-unique',
    severity: 'error',
    family: 'servers',
    description: 'A server does not list two NICs with the same interface name.',
    fix: 'Use the interface names the OS gives the ports (eno1, ens1f0, …).',
    check({ plan }, report) {
      plan.servers.forEach((s, i) => {
        for (const { item, index } of repeats(s.nics, (nic) => nic.name)) {
          report(
            pointer('servers', i, 'nics', index, 'name'),
            `server ${s.hostname} lists NIC ${item.name} twice`,
            'Each port has its own interface name; check with `ip link` on the server or the BMC inventory.',
          );
        }
      });
    },
  },
  {
    id: 'management-nic-missing',
    severity: 'error',
    family: 'servers',
    description: 'Every server has a NIC cabled to the management network.',
    fix: 'Add the NIC that connects the server to the management network.',
    check({ plan, networkOfPurpose }, report) {
      const mgmt = networkOfPurpose('management');
      if (!mgmt) return;
      plan.servers.forEach((s, i) => {
        if (!s.nics.some((nic) => nic.network === mgmt.network.name)) {
          report(
            pointer('servers', i, 'nics'),
            `server ${s.hostname} has no NIC on the management network "${mgmt.network.name}"`,
            'Add the NIC (name, MAC, speed) the server is installed and reached over.',
          );
        }
      });
    },
  },
  {
    id: 'disk-device-unique',
    severity: 'error',
    family: 'servers',
    description:
      'A server does not list the same disk device twice (so no disk is both os and ceph-osd).',
    fix: 'Correct the device names; each disk is listed once with one use.',
    check({ plan }, report) {
      plan.servers.forEach((s, i) => {
        for (const { item, index, first } of repeats(s.disks, (d) => d.device)) {
          report(
            pointer('servers', i, 'disks', index, 'device'),
            `server ${s.hostname} lists disk ${item.device} twice (as ${s.disks[first]!.use} and as ${item.use})`,
            'A disk has one use: the installer would wipe the OS disk to give it to Ceph. List each device once.',
          );
        }
      });
    },
  },
  {
    id: 'os-disk-missing',
    severity: 'error',
    family: 'servers',
    description: 'Every server has a disk with use: os.',
    fix: 'Mark the disk (or the two mirrored disks) the OS is installed on with use: os.',
    check({ plan, disks }, report) {
      plan.servers.forEach((s, i) => {
        if (disks[i]!.os.length === 0) {
          report(
            pointer('servers', i, 'disks'),
            `server ${s.hostname} has no disk with use: os`,
            'Mark the disk the OS goes on with use: os (two such disks are installed as a mirror).',
          );
        }
      });
    },
  },
  {
    id: 'os-disk-mirror',
    severity: 'warning',
    family: 'servers',
    description: 'In production every server has two OS disks, installed as a mirror.',
    fix: 'Add a second disk with use: os of the same size.',
    check({ plan, production, disks }, report) {
      if (!production) return;
      plan.servers.forEach((s, i) => {
        const os = disks[i]!.os;
        if (os.length === 1) {
          report(
            pointer('servers', i, 'disks', os[0]!),
            `server ${s.hostname} has a single OS disk; when it fails the node is down until reinstalled`,
            'Add a second disk of the same size with use: os; the installer mirrors the two (RAID 1).',
          );
        }
      });
    },
  },
  {
    id: 'os-disk-count',
    severity: 'warning',
    family: 'servers',
    description: 'A server has at most two OS disks: the installer mirrors two and ignores more.',
    fix: 'Mark the extra disks data or none.',
    check({ plan, disks }, report) {
      plan.servers.forEach((s, i) => {
        const os = disks[i]!.os;
        if (os.length > 2) {
          report(
            pointer('servers', i, 'disks', os[2]!, 'use'),
            `server ${s.hostname} has ${os.length} OS disks; only the first two are mirrored`,
            'Mark the extra disks use: data (local scratch) or use: none.',
          );
        }
      });
    },
  },
  {
    id: 'os-disk-size',
    severity: 'warning',
    family: 'servers',
    description: `An OS disk holds at least ${OS_DISK_MIN_GB} GB (container images, logs, etcd).`,
    fix: `Use a disk of ${OS_DISK_MIN_GB} GB or more for the OS.`,
    check({ plan, disks }, report) {
      plan.servers.forEach((s, i) => {
        for (const j of disks[i]!.os) {
          const disk = s.disks[j]!;
          if (disk.sizeGB < OS_DISK_MIN_GB) {
            report(
              pointer('servers', i, 'disks', j, 'sizeGB'),
              `OS disk ${disk.device} of ${s.hostname} holds ${disk.sizeGB} GB; container images and logs need ${OS_DISK_MIN_GB} GB`,
              `Use a disk of at least ${OS_DISK_MIN_GB} GB for the OS.`,
            );
          }
        }
      });
    },
  },
  {
    id: 'os-disk-mirror-size',
    severity: 'info',
    family: 'servers',
    description:
      'Two mirrored OS disks have the same size (a mirror is as large as its smaller disk).',
    fix: 'Pair OS disks of equal size.',
    check({ plan, disks }, report) {
      plan.servers.forEach((s, i) => {
        const [a, b] = disks[i]!.os.map((j) => s.disks[j]!);
        if (a && b && a.sizeGB !== b.sizeGB) {
          report(
            pointer('servers', i, 'disks'),
            `OS disks ${a.device} (${a.sizeGB} GB) and ${b.device} (${b.sizeGB} GB) of ${s.hostname} differ in size; the mirror gets ${Math.min(a.sizeGB, b.sizeGB)} GB`,
            'Pair two disks of the same size for the OS mirror.',
          );
        }
      });
    },
  },
  {
    id: 'server-bmc-missing',
    severity: 'info',
    family: 'servers',
    description: 'Every server has a BMC, so it can be power-cycled and reinstalled remotely.',
    fix: 'Add servers[].bmc with the BMC address and protocol.',
    check({ plan }, report) {
      const without = plan.servers.flatMap((s, i) => (s.bmc ? [] : [i]));
      for (const i of without) {
        report(
          pointer('servers', i, 'bmc'),
          `server ${plan.servers[i]!.hostname} has no BMC listed`,
          'Add its BMC address and protocol (redfish or ipmi): without it a hung server needs someone on-site.',
        );
      }
    },
  },
  {
    id: 'nic-speed-mixed',
    severity: 'info',
    family: 'servers',
    description: 'All NICs cabled to one network run at the same speed.',
    fix: 'Cable the slower ports to faster switch ports, or note why.',
    check({ plan }, report) {
      const fastest = new Map<string, number>();
      for (const s of plan.servers)
        for (const nic of s.nics)
          if (nic.network !== undefined)
            fastest.set(nic.network, Math.max(fastest.get(nic.network) ?? 0, nic.speedGbps));
      const slow = new Map<string, string[]>();
      plan.servers.forEach((s) => {
        for (const nic of s.nics) {
          if (nic.network !== undefined && nic.speedGbps < fastest.get(nic.network)!) {
            const list = slow.get(nic.network) ?? [];
            list.push(`${s.hostname} ${nic.name}`);
            slow.set(nic.network, list);
          }
        }
      });
      for (const [network, nics] of slow) {
        const at = plan.servers.findIndex((s) =>
          s.nics.some((n) => n.network === network && n.speedGbps < fastest.get(network)!),
        );
        report(
          pointer('servers', at, 'nics'),
          `on network "${network}", ${listNames(nics, 3)} run slower than the fastest port (${fastest.get(network)} Gbit/s)`,
          'The slowest port bounds replication and migration traffic; check the cabling and the switch ports.',
        );
      }
    },
  },
];

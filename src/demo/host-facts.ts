/**
 * What a demo host says it is, taken from its planned server: CPU, memory, disks, NICs
 * with MACs and addresses, OS release. The same data feeds `lsblk -J`, `ip -j addr`, the
 * runbook's facts JSON and the interactive shell's `free -h`.
 */
import { createHash } from 'node:crypto';
import { endpointDns, endpointRecords } from '../plan/endpoints.js';
import { contains, parseCidr, parseIpv4 } from '../plan/ipv4.js';
import type { Plan, Server } from '../plan/schema.js';

export interface OsInfo {
  id: string;
  versionId: string;
  prettyName: string;
  codename: string;
  kernel: string;
}

const OS: Record<string, OsInfo> = {
  'ubuntu-22.04': {
    id: 'ubuntu',
    versionId: '22.04',
    prettyName: 'Ubuntu 22.04.5 LTS',
    codename: 'jammy',
    kernel: '5.15.0-126-generic',
  },
  'ubuntu-24.04': {
    id: 'ubuntu',
    versionId: '24.04',
    prettyName: 'Ubuntu 24.04.1 LTS',
    codename: 'noble',
    kernel: '6.8.0-49-generic',
  },
  'debian-12': {
    id: 'debian',
    versionId: '12',
    prettyName: 'Debian GNU/Linux 12 (bookworm)',
    codename: 'bookworm',
    kernel: '6.1.0-27-amd64',
  },
  'debian-13': {
    id: 'debian',
    versionId: '13',
    prettyName: 'Debian GNU/Linux 13 (trixie)',
    codename: 'trixie',
    kernel: '6.12.12-amd64',
  },
};

export interface DemoNic {
  name: string;
  mac: string;
  mtu: number;
  speedGbps: number;
  address?: string;
  prefix?: number;
}

/** Everything the simulated host reports about its hardware and OS. */
export interface HostFacts {
  hostname: string;
  fqdn: string;
  os: OsInfo;
  cpuModel: string;
  cpuCount: number;
  memoryKiB: number;
  disks: {
    name: string;
    path: string;
    bytes: number;
    rotational: boolean;
    model: string;
    serial: string;
    use: string;
  }[];
  nics: DemoNic[];
  /** The host's /etc/machine-id: 32 hex digits, stable and unique per host. */
  bootId: string;
  /** The DMI product_uuid: unique per host, as on real servers. */
  productUuid: string;
}

export function hostFacts(
  plan: Plan,
  server: Server,
  options: { macMismatch?: boolean } = {},
): HostFacts {
  const os = OS[plan.site.osRelease ?? 'ubuntu-24.04'] ?? OS['ubuntu-24.04']!;
  const nics: DemoNic[] = server.nics.map((nic, i) => {
    const net = plan.networks.find((n) => n.name === nic.network);
    const address = nic.network === undefined ? undefined : server.addresses[nic.network];
    return {
      name: nic.name,
      // The scenario: the management NIC was swapped and nobody updated the spreadsheet.
      mac: options.macMismatch && i === 0 ? otherMac(nic.mac) : nic.mac.toLowerCase(),
      mtu: net?.mtu ?? 1500,
      speedGbps: nic.speedGbps,
      ...(address && net ? { address, prefix: Number(net.cidr.split('/')[1]) } : {}),
    };
  });
  return {
    hostname: server.hostname,
    fqdn: `${server.hostname}.${plan.site.domain}`,
    os,
    cpuModel: server.cpu.model ?? `${server.vendor ?? 'Generic'} CPU`,
    cpuCount: server.cpu.sockets * server.cpu.cores * server.cpu.threads,
    // The firmware and kernel keep some memory for themselves, as on a real host.
    memoryKiB: Math.round(server.memoryGiB * 1024 * 1024 * 0.985),
    disks: server.disks.map((d, i) => ({
      name: d.device.replace(/^\/dev\//, ''),
      path: d.device,
      bytes: Math.round(d.sizeGB * 1e9),
      rotational: d.type === 'hdd',
      model:
        d.type === 'nvme'
          ? 'Dell Ent NVMe P5600'
          : d.type === 'ssd'
            ? 'SSDSC2KG480G8R'
            : 'ST8000NM017B',
      serial: stableHex(`${server.hostname}/${d.device}`, 10).toUpperCase() + String(i),
      use: d.use,
    })),
    nics,
    bootId: stableHex(`boot/${server.hostname}`, 32),
    productUuid: uuidOf(stableHex(`product-uuid/${server.hostname}`, 32)),
  };
}

/** 8-4-4-4-12 upper-case hex, as Dell and HPE firmware report product_uuid. */
function uuidOf(hex: string): string {
  const h = hex.toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A MAC of the same vendor prefix that differs from `mac` in its last byte. */
export function otherMac(mac: string): string {
  const parts = mac.toLowerCase().split(':');
  parts[5] = ((parseInt(parts[5]!, 16) + 0x80) & 0xff).toString(16).padStart(2, '0');
  return parts.join(':');
}

function stableHex(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

export function osReleaseText(os: OsInfo): string {
  const ubuntu = os.id === 'ubuntu';
  return [
    `PRETTY_NAME="${os.prettyName}"`,
    `NAME="${ubuntu ? 'Ubuntu' : 'Debian GNU/Linux'}"`,
    `VERSION_ID="${os.versionId}"`,
    `VERSION="${os.prettyName.replace(/^\S+ (GNU\/Linux )?/, '')}"`,
    `VERSION_CODENAME=${os.codename}`,
    `ID=${os.id}`,
    ...(ubuntu ? ['ID_LIKE=debian'] : []),
    `HOME_URL="${ubuntu ? 'https://www.ubuntu.com/' : 'https://www.debian.org/'}"`,
    '',
  ].join('\n');
}

export function unameA(f: HostFacts): string {
  return f.os.id === 'ubuntu'
    ? `Linux ${f.hostname} ${f.os.kernel} #50-Ubuntu SMP PREEMPT_DYNAMIC Sat Nov  9 17:40:58 UTC 2024 x86_64 x86_64 x86_64 GNU/Linux`
    : `Linux ${f.hostname} ${f.os.kernel} #1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01) x86_64 GNU/Linux`;
}

/** `lsblk -J` (sizes in bytes with `-b`), with the OS disk partitioned and mounted. */
export function lsblkJson(f: HostFacts, bytes: boolean): string {
  const size = (n: number) => (bytes ? n : humanBytes(n));
  const osDisk = f.disks.find((d) => d.use === 'os');
  const blockdevices = f.disks.map((d, i) => ({
    name: d.name,
    path: d.path,
    'maj:min': d.name.startsWith('nvme') ? `259:${i}` : `8:${i * 16}`,
    rm: false,
    size: size(d.bytes),
    ro: false,
    type: 'disk',
    rota: d.rotational,
    model: d.model,
    serial: d.serial,
    mountpoints: [null],
    ...(d === osDisk
      ? {
          children: [
            {
              name: `${d.name}1`,
              size: size(1_074_790_400),
              type: 'part',
              mountpoints: ['/boot/efi'],
            },
            {
              name: `${d.name}2`,
              size: size(d.bytes - 1_074_790_400),
              type: 'part',
              mountpoints: ['/'],
            },
          ],
        }
      : {}),
  }));
  return JSON.stringify({ blockdevices }, null, 3) + '\n';
}

interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  link_type: string;
  address: string;
  broadcast: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string; label?: string }[];
}

function ipLinks(f: HostFacts): IpLink[] {
  return [
    {
      ifindex: 1,
      ifname: 'lo',
      flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
      mtu: 65536,
      operstate: 'UNKNOWN',
      link_type: 'loopback',
      address: '00:00:00:00:00:00',
      broadcast: '00:00:00:00:00:00',
      addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo' }],
    },
    ...f.nics.map((n, i) => ({
      ifindex: i + 2,
      ifname: n.name,
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: n.mtu,
      operstate: 'UP',
      link_type: 'ether',
      address: n.mac,
      broadcast: 'ff:ff:ff:ff:ff:ff',
      addr_info: n.address
        ? [
            {
              family: 'inet',
              local: n.address,
              prefixlen: n.prefix!,
              scope: 'global',
              label: n.name,
            },
          ]
        : [],
    })),
  ];
}

/** `ip -j addr show` or `ip -j link show`. */
export function ipJson(f: HostFacts, what: 'addr' | 'link'): string {
  const links = ipLinks(f).map((l) => {
    if (what === 'addr') return l;
    const { addr_info: _dropped, ...link } = l;
    return link;
  });
  return JSON.stringify(links) + '\n';
}

/** `ip a` as people read it. */
export function ipText(f: HostFacts): string {
  return (
    ipLinks(f)
      .map((l) => {
        const head = `${l.ifindex}: ${l.ifname}: <${l.flags.join(',')}> mtu ${l.mtu} qdisc ${l.ifname === 'lo' ? 'noqueue' : 'mq'} state ${l.operstate} group default qlen 1000`;
        const link = `    link/${l.link_type} ${l.address} brd ${l.broadcast}`;
        const addrs = (l.addr_info ?? []).map(
          (a) =>
            `    inet ${a.local}/${a.prefixlen} scope ${a.scope} ${a.label ?? ''}\n       valid_lft forever preferred_lft forever`,
        );
        return [head, link, ...addrs].join('\n');
      })
      .join('\n') + '\n'
  );
}

/** `free -b` / `free -h`. */
export function freeText(f: HostFacts, human: boolean): string {
  const total = f.memoryKiB * 1024;
  const used = Math.round(total * 0.06);
  const cache = Math.round(total * 0.03);
  const free = total - used - cache;
  const v = (n: number) => (human ? humanBytes(n, true) : String(n));
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(6) : c.padStart(12))).join('') + '\n';
  return (
    row(['', 'total', 'used', 'free', 'shared', 'buff/cache', 'available']) +
    row(['Mem:', v(total), v(used), v(free), v(4 << 20), v(cache), v(total - used)]) +
    row(['Swap:', v(0), v(0), v(0)])
  );
}

/**
 * What facts.sh's VIP probe sees from this host: a VIP on one of its networks does not
 * answer until kube-vip on a controller holds it, then answers from that controller's NIC
 * on the VIP's network; a VIP on no network of this host is not judged from here.
 */
function vipProbes(
  f: HostFacts,
  plan: Plan,
  holderOf: (vip: 'controlPlaneVip' | 'publicVip') => HostFacts | null,
) {
  const onNetworkOf = (nics: readonly DemoNic[], address: string) => {
    const ip = parseIpv4(address);
    return nics.find((n) => {
      const cidr = n.address && n.prefix !== undefined && parseCidr(`${n.address}/${n.prefix}`);
      return ip !== undefined && cidr && contains(cidr, ip);
    });
  };
  return (
    [
      ['controlPlaneVip', plan.kubernetes.controlPlaneVip],
      ['publicVip', plan.openstack.publicVip],
    ] as const
  ).map(([name, address]) => {
    const holder = holderOf(name);
    const onLink = onNetworkOf(f.nics, address) !== undefined;
    const local = holder?.hostname === f.hostname;
    const mac =
      holder && onLink && !local ? (onNetworkOf(holder.nics, address)?.mac ?? null) : null;
    return { name, address, local, onLink: onLink && !local, answers: mac !== null, mac };
  });
}

/** The runbook's facts document (scripts/connect/facts.sh), built from the plan. */
export function factsDocument(
  f: HostFacts,
  now: number,
  nameservers: readonly string[],
  cluster?: {
    plan: Plan;
    vipHolder: (vip: 'controlPlaneVip' | 'publicVip') => HostFacts | null;
  },
): string {
  const rootFree = Math.round((f.disks.find((d) => d.use === 'os')?.bytes ?? 1e11) * 0.91);
  const doc = {
    hostname: f.hostname,
    os: { id: f.os.id, versionId: f.os.versionId, prettyName: f.os.prettyName },
    kernel: f.os.kernel,
    cpu: {
      model: f.cpuModel,
      count: f.cpuCount,
      virtualization: f.cpuModel.startsWith('AMD') ? 'svm' : 'vmx',
    },
    memoryKiB: f.memoryKiB,
    disks: JSON.parse(lsblkJson(f, true)) as unknown,
    links: JSON.parse(ipJson(f, 'link')) as unknown,
    addresses: JSON.parse(ipJson(f, 'addr')) as unknown,
    time: { epochMs: now, ntpSynchronized: 'yes' },
    dns: { nameservers },
    freeBytes: { root: rootFree, var: rootFree, varLib: rootFree },
    listeningTcpPorts: [22],
    mounts: { var: '/', varLib: '/' },
    machineId: f.bootId,
    productUuid: f.productUuid,
    // Every supported release boots the unified hierarchy, with the distribution kernel.
    cgroupFs: 'cgroup2fs',
    kernelModules: { overlay: 'loaded', br_netfilter: 'loadable', rbd: 'loadable' },
    // The installer's /swap.img line is in fstab (host.ts writes it), swap itself is off.
    swap: { activeKiB: 0, fstabEntries: 1 },
    // Ceph OSD disks arrive empty from the vendor.
    osdDisks: f.disks
      .filter((d) => d.use === 'ceph-osd')
      .map((d) => ({ device: d.path, present: true, children: [], signatures: [] })),
    vips: cluster ? vipProbes(f, cluster.plan, cluster.vipHolder) : [],
    // facts.sh resolves the endpoint names only for site-dns; the demo site's DNS has them.
    endpointNames:
      cluster && endpointDns(cluster.plan) === 'site-dns'
        ? endpointRecords(cluster.plan).map((r) => ({ name: r.name, addresses: [r.address] }))
        : [],
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** `447G`, `1.5T` as lsblk and free print them. */
export function humanBytes(n: number, iec = false): string {
  const units = iec ? ['B', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'] : ['B', 'K', 'M', 'G', 'T', 'P'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 10 || u === 0 ? Math.round(v) : v.toFixed(1)}${units[u]}`;
}

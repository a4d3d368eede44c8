/**
 * Debian 12 (bookworm) preseed files, one per server, rendered from the plan: host name and
 * domain, the OS disk or a software-RAID1 mirror of the two `os` disks, the static management
 * address, the SSH user with the consultant's public keys (no password login), the package
 * source (a Debian mirror) and openssh-server. The file goes into the installer's initrd as
 * `/preseed.cfg` (docs/upstream-facts.md#di-initrd-preseed), beside two small scripts: the
 * early command prints a marker on the console, the late command installs the keys and
 * reports the installed host's SSH host keys to uStart (docs/upstream-facts.md#di-late-command).
 *
 * Every value that reaches the file is checked against a strict pattern first: a preseed line
 * cannot carry a newline, and the scripts run as root in the installer.
 */
import { z } from 'zod';
import { UstartError } from '../errors.js';
import type { Plan, Server } from '../plan/index.js';
import { formatIpv4, parseCidr, parseIpv4 } from '../plan/ipv4.js';

/** The Debian release this renderer installs; the only one supported so far. */
export const OS_RELEASE = 'debian-12';
export const DEBIAN_SUITE = 'bookworm';

export interface PreseedOptions {
  /**
   * A Debian mirror with `dists/bookworm` (including the installer's udebs), such as
   * `http://deb.debian.org/debian` or the site's mirror, or a mirror tree served from this
   * laptop. The offline bundle's flat apt repository cannot be one (docs/bare-metal.md).
   */
  mirrorUrl: string;
  /** OpenSSH public key lines (`ssh-ed25519 AAAA… comment`) for the SSH user. */
  authorizedKeys: readonly string[];
  /** Base URL the late command reports host keys to: `http://laptop:port/<run token>`. */
  reportUrl: string;
  /** Per-server token; the report path is `<reportUrl>/hostkey/<token>`. Not a log value. */
  reportToken: string;
  /** A nonce the early command prints (`USTART-PRESEED <hostname> <marker>`). */
  marker: string;
}

/** The files the installer's initrd gets for one server. */
export interface RenderedPreseed {
  hostname: string;
  /** `/preseed.cfg` */
  preseed: string;
  /** `/ustart/early.sh`, run by `preseed/early_command` */
  early: string;
  /** `/ustart/late.sh`, run by `preseed/late_command` */
  late: string;
  /** `/ustart/authorized_keys` */
  authorizedKeys: string;
  /** What the server's disks become, for the dry-run and the report. */
  disks: { mode: 'single'; disk: string } | { mode: 'raid1'; disks: [string, string] };
}

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DOMAIN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const DEVICE = /^\/dev\/[A-Za-z0-9._\-/]+$/;
const IFNAME = /^[A-Za-z0-9._-]{1,15}$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const TOKEN = /^[A-Za-z0-9_-]{8,128}$/;
const PUBKEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+( [\x20-\x7e]*)?$/;
const HOSTLIKE = /^[A-Za-z0-9.-]+$/;

function refuse(server: string, field: string, what: string): never {
  throw new UstartError('InvalidArgument', `server ${server}: ${field}: ${what}`, {
    detail: { host: server, field },
  });
}

/** The `os` disks: one, or two for a RAID1 mirror. */
export function osDisks(server: Server): RenderedPreseed['disks'] {
  const os = server.disks.filter((d) => d.use === 'os');
  for (const d of os) {
    if (!DEVICE.test(d.device)) {
      refuse(
        server.hostname,
        'disks[].device',
        `${d.device} is not a /dev/ path the installer can use`,
      );
    }
  }
  if (os.length === 1) return { mode: 'single', disk: os[0]!.device };
  if (os.length === 2) return { mode: 'raid1', disks: [os[0]!.device, os[1]!.device] };
  return refuse(
    server.hostname,
    'disks',
    os.length === 0
      ? 'no disk has use: os; mark the disk (or two disks, for a mirror) the OS goes on'
      : `${os.length} disks have use: os; the installer mirrors exactly two (RAID1): mark the others data or none`,
  );
}

/**
 * Partition `n` of a disk: `/dev/sda1`, `/dev/nvme0n1p1` (a kernel name ending in a digit gets
 * `p`), and udev's `-part1` for a `/dev/disk/by-id/…` or `/dev/disk/by-path/…` link
 * (docs/upstream-facts.md#udev.persistent-storage.part-suffix).
 */
export function partition(device: string, n: number): string {
  if (/^\/dev\/disk\/by-(id|path)\//.test(device)) return `${device}-part${n}`;
  return /[0-9]$/.test(device) ? `${device}p${n}` : `${device}${n}`;
}

/** Partition 1 of a disk (see `partition`). */
export function firstPartition(device: string): string {
  return partition(device, 1);
}

interface ManagementNet {
  nic: string;
  /** The NIC's MAC, lower case: how the installer picks it (docs/upstream-facts.md#di-netcfg-mac). */
  mac: string;
  address: string;
  netmask: string;
  gateway?: string;
}

/** The server's management NIC and static address (the installer configures one plain NIC). */
export function managementNet(plan: Plan, server: Server): ManagementNet {
  const net = plan.networks.find((n) => n.purpose === 'management');
  if (!net)
    throw new UstartError('InvalidArgument', 'the plan has no network with purpose: management');
  const address = server.addresses[net.name];
  if (address === undefined || parseIpv4(address) === undefined) {
    refuse(
      server.hostname,
      `addresses.${net.name}`,
      'no management address; run `ustart plan ipam --write`',
    );
  }
  const nic = server.nics.find((n) => n.network === net.name);
  if (!nic) {
    refuse(
      server.hostname,
      'nics',
      `no NIC carries the management network ${net.name} untagged; the installer configures one plain NIC (not a bond or a tagged VLAN)`,
    );
  }
  if (!IFNAME.test(nic.name))
    refuse(server.hostname, 'nics[].name', `${nic.name} is not an interface name`);
  const cidr = parseCidr(net.cidr)!;
  const mask = cidr.prefix === 0 ? 0 : (0xffffffff << (32 - cidr.prefix)) >>> 0;
  return {
    nic: nic.name,
    mac: nic.mac.toLowerCase(),
    address,
    netmask: formatIpv4(mask),
    ...(net.gateway ? { gateway: net.gateway } : {}),
  };
}

export function sshUser(plan: Plan, server: Server): string {
  const user = server.ssh?.user ?? plan.access.user;
  if (!USER.test(user) || user === 'root') {
    refuse(
      server.hostname,
      'ssh.user',
      `${user} cannot be the installed user: a lower-case login name other than root`,
    );
  }
  return user;
}

function mirrorParts(url: string): { host: string; directory: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UstartError(
      'InvalidArgument',
      `mirror ${url}: not a URL; give http://HOST[:PORT]/PATH`,
    );
  }
  if (u.protocol !== 'http:' || u.username || u.password || u.search || u.hash) {
    throw new UstartError(
      'InvalidArgument',
      `mirror ${url}: the installer fetches from an http:// mirror without credentials or query (give http://HOST[:PORT]/PATH)`,
    );
  }
  const directory = u.pathname.replace(/\/+$/, '') || '/';
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(directory))
    throw new UstartError('InvalidArgument', `mirror ${url}: unusual path`);
  return { host: u.host, directory };
}

/** One preseed line: `d-i KEY TYPE VALUE`. */
function line(key: string, type: PreseedType, value: string, owner = 'd-i'): string {
  if (/[\r\n]/.test(value)) throw new Error(`preseed ${key}: a value has no line break`);
  return `${owner} ${key} ${type} ${value}`.trimEnd();
}

export type PreseedType = 'string' | 'boolean' | 'select' | 'multiselect' | 'password' | 'note';

/**
 * Every key the renderer writes, with its owner and type: the rendered file is checked
 * against it (`checkPreseed`), so a typo in a key fails a test instead of making the
 * installer stop and ask. Sources: docs/upstream-facts.md#di-preseed-keys.
 */
export const KNOWN_KEYS: Readonly<Record<string, { owner: string; type: PreseedType }>> = {
  'debian-installer/locale': { owner: 'd-i', type: 'string' },
  'keyboard-configuration/xkb-keymap': { owner: 'd-i', type: 'select' },
  'netcfg/enable': { owner: 'd-i', type: 'boolean' },
  'netcfg/choose_interface': { owner: 'd-i', type: 'select' },
  'netcfg/disable_autoconfig': { owner: 'd-i', type: 'boolean' },
  'netcfg/get_ipaddress': { owner: 'd-i', type: 'string' },
  'netcfg/get_netmask': { owner: 'd-i', type: 'string' },
  'netcfg/get_gateway': { owner: 'd-i', type: 'string' },
  'netcfg/no_default_route': { owner: 'd-i', type: 'boolean' },
  'netcfg/get_nameservers': { owner: 'd-i', type: 'string' },
  'netcfg/confirm_static': { owner: 'd-i', type: 'boolean' },
  'netcfg/get_hostname': { owner: 'd-i', type: 'string' },
  'netcfg/get_domain': { owner: 'd-i', type: 'string' },
  'netcfg/hostname': { owner: 'd-i', type: 'string' },
  'hw-detect/load_firmware': { owner: 'd-i', type: 'boolean' },
  'mirror/country': { owner: 'd-i', type: 'string' },
  'mirror/protocol': { owner: 'd-i', type: 'string' },
  'mirror/http/hostname': { owner: 'd-i', type: 'string' },
  'mirror/http/directory': { owner: 'd-i', type: 'string' },
  'mirror/http/proxy': { owner: 'd-i', type: 'string' },
  'mirror/suite': { owner: 'd-i', type: 'string' },
  'passwd/root-login': { owner: 'd-i', type: 'boolean' },
  'passwd/make-user': { owner: 'd-i', type: 'boolean' },
  'passwd/user-fullname': { owner: 'd-i', type: 'string' },
  'passwd/username': { owner: 'd-i', type: 'string' },
  'passwd/user-password-crypted': { owner: 'd-i', type: 'password' },
  'clock-setup/utc': { owner: 'd-i', type: 'boolean' },
  'time/zone': { owner: 'd-i', type: 'string' },
  'clock-setup/ntp': { owner: 'd-i', type: 'boolean' },
  'clock-setup/ntp-server': { owner: 'd-i', type: 'string' },
  'partman-auto/disk': { owner: 'd-i', type: 'string' },
  'partman-auto/method': { owner: 'd-i', type: 'string' },
  'partman-auto/expert_recipe': { owner: 'd-i', type: 'string' },
  'partman-auto-raid/recipe': { owner: 'd-i', type: 'string' },
  'partman-lvm/device_remove_lvm': { owner: 'd-i', type: 'boolean' },
  'partman-md/device_remove_md': { owner: 'd-i', type: 'boolean' },
  'partman-md/confirm': { owner: 'd-i', type: 'boolean' },
  'partman-basicfilesystems/no_swap': { owner: 'd-i', type: 'boolean' },
  'partman-partitioning/confirm_write_new_label': { owner: 'd-i', type: 'boolean' },
  'partman/choose_partition': { owner: 'd-i', type: 'select' },
  'partman/confirm': { owner: 'd-i', type: 'boolean' },
  'partman/confirm_nooverwrite': { owner: 'd-i', type: 'boolean' },
  'apt-setup/services-select': { owner: 'd-i', type: 'multiselect' },
  'tasksel/first': { owner: 'tasksel', type: 'multiselect' },
  'pkgsel/include': { owner: 'd-i', type: 'string' },
  'pkgsel/upgrade': { owner: 'd-i', type: 'select' },
  'popularity-contest/participate': { owner: 'popularity-contest', type: 'boolean' },
  'grub-installer/only_debian': { owner: 'd-i', type: 'boolean' },
  'grub-installer/bootdev': { owner: 'd-i', type: 'string' },
  // docs/upstream-facts.md#di-efi-keys: templates seen in installers' debconf dumps, not in
  // partman-efi's or grub-installer's sources (not reachable here).
  'grub-installer/force-efi-extra-removable': { owner: 'd-i', type: 'boolean' },
  'partman-efi/non_efi_system': { owner: 'd-i', type: 'boolean' },
  'finish-install/reboot_in_progress': { owner: 'd-i', type: 'note' },
  'preseed/early_command': { owner: 'd-i', type: 'string' },
  'preseed/late_command': { owner: 'd-i', type: 'string' },
};

function known(key: string, value: string): string {
  const k = KNOWN_KEYS[key];
  if (!k) throw new Error(`preseed key ${key} is not in KNOWN_KEYS`);
  return line(key, k.type, value, k.owner);
}

const PreseedLine = z.object({
  owner: z.string().regex(/^[a-z0-9-]+$/),
  key: z.string().regex(/^[a-z0-9-]+(\/[a-z0-9_-]+)+$/),
  type: z.enum(['string', 'boolean', 'select', 'multiselect', 'password', 'note']),
  value: z.string(),
});

/**
 * Checks a rendered preseed file: every non-comment line is `owner key type value`, the key
 * is one uStart knows with its owner and type, a boolean is `true` or `false`, and no key is
 * given twice. Returns the problems (empty when it is fine).
 */
export function checkPreseed(text: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '' || raw.startsWith('#')) return;
    const m = /^(\S+) (\S+) (\S+)(?: (.*))?$/.exec(raw);
    const parsed =
      m && PreseedLine.safeParse({ owner: m[1], key: m[2], type: m[3], value: m[4] ?? '' });
    if (!parsed || !parsed.success) {
      problems.push(`line ${i + 1}: not "owner key type value"`);
      return;
    }
    const { owner, key, type, value } = parsed.data;
    const k = KNOWN_KEYS[key];
    if (!k) problems.push(`line ${i + 1}: unknown key ${key}`);
    else if (k.owner !== owner || k.type !== type) {
      problems.push(`line ${i + 1}: ${key} is "${k.owner} … ${k.type}", not "${owner} … ${type}"`);
    }
    if (type === 'boolean' && value !== 'true' && value !== 'false') {
      problems.push(`line ${i + 1}: ${key} is boolean, not "${value}"`);
    }
    if (seen.has(key)) problems.push(`line ${i + 1}: ${key} given twice`);
    seen.add(key);
  });
  return problems;
}

/** Renders the installer files of one server. */
export function renderPreseed(plan: Plan, server: Server, opts: PreseedOptions): RenderedPreseed {
  const host = server.hostname;
  if (!HOSTNAME.test(host)) refuse(host, 'hostname', 'not an RFC 1123 host name');
  if (!DOMAIN.test(plan.site.domain))
    refuse(host, 'site.domain', `${plan.site.domain} is not a DNS domain`);
  if ((plan.site.osRelease ?? 'ubuntu-24.04') !== OS_RELEASE) {
    throw new UstartError(
      'Unsupported',
      `site.osRelease is ${plan.site.osRelease ?? 'ubuntu-24.04 (the default)'}; uStart installs the OS only for debian-12 so far: set site.osRelease: debian-12, or install the servers yourself`,
      { detail: { field: 'site.osRelease' } },
    );
  }
  if (!TOKEN.test(opts.reportToken) || !TOKEN.test(opts.marker)) {
    throw new Error('report token and marker: 8-128 characters of [A-Za-z0-9_-]');
  }
  const report = new URL(opts.reportUrl);
  if (report.protocol !== 'http:' || !/^[A-Za-z0-9._~\-/:[\]]+$/.test(report.href)) {
    throw new Error(`report URL ${opts.reportUrl}: http:// and plain characters only`);
  }
  if (opts.authorizedKeys.length === 0) {
    throw new UstartError(
      'InvalidArgument',
      'no SSH public key for the installed user: give --authorized-key FILE.pub',
    );
  }
  for (const k of opts.authorizedKeys) {
    if (!PUBKEY.test(k.trim())) {
      throw new UstartError(
        'InvalidArgument',
        `not an OpenSSH public key line: ${k.slice(0, 40)}…`,
      );
    }
  }
  for (const d of plan.site.dns)
    if (parseIpv4(d) === undefined) refuse(host, 'site.dns', `${d} is not IPv4`);
  const ntp = plan.site.ntp[0];
  if (ntp !== undefined && !HOSTLIKE.test(ntp))
    refuse(host, 'site.ntp', `${ntp} is not a host name or address`);

  const disks = osDisks(server);
  const net = managementNet(plan, server);
  const user = sshUser(plan, server);
  const mirror = mirrorParts(opts.mirrorUrl);

  const out: string[] = [
    `# uStart: Debian 12 (bookworm) preseed for ${host}.${plan.site.domain}, rendered from the site plan.`,
    '# Format: docs/bare-metal.md "OS installation"; keys: docs/upstream-facts.md#di-preseed-keys.',
    known('preseed/early_command', 'sh /ustart/early.sh'),
    known('debian-installer/locale', 'en_US.UTF-8'),
    known('keyboard-configuration/xkb-keymap', 'us'),
    '# Network: static management address, no DHCP.',
    known('netcfg/enable', 'true'),
    // By MAC, not by the plan's name: the installer's kernel may name the NIC otherwise (an
    // e1000 in slot 3 is ens3, not enp0s3), and the MAC is what discovery read from the BMC.
    known('netcfg/choose_interface', net.mac),
    known('netcfg/disable_autoconfig', 'true'),
    known('netcfg/get_ipaddress', net.address),
    known('netcfg/get_netmask', net.netmask),
    ...(net.gateway
      ? [known('netcfg/get_gateway', net.gateway)]
      : [known('netcfg/get_gateway', ''), known('netcfg/no_default_route', 'true')]),
    known('netcfg/get_nameservers', plan.site.dns.join(' ')),
    known('netcfg/confirm_static', 'true'),
    known('netcfg/get_hostname', host),
    known('netcfg/get_domain', plan.site.domain),
    known('netcfg/hostname', host),
    known('hw-detect/load_firmware', 'false'),
    '# Package source: a Debian mirror with the installer udebs.',
    known('mirror/country', 'manual'),
    known('mirror/protocol', 'http'),
    known('mirror/http/hostname', mirror.host),
    known('mirror/http/directory', mirror.directory),
    known('mirror/http/proxy', ''),
    known('mirror/suite', DEBIAN_SUITE),
    '# The SSH user: no root login, a locked password; the late command installs the keys.',
    known('passwd/root-login', 'false'),
    known('passwd/make-user', 'true'),
    known('passwd/user-fullname', 'uStart'),
    known('passwd/username', user),
    known('passwd/user-password-crypted', '!'),
    known('clock-setup/utc', 'true'),
    known('time/zone', 'Etc/UTC'),
    ...(ntp === undefined
      ? [known('clock-setup/ntp', 'false')]
      : [known('clock-setup/ntp', 'true'), known('clock-setup/ntp-server', ntp)]),
    ...partitioning(disks),
    known('apt-setup/services-select', 'security, updates'),
    known('tasksel/first', ''),
    known('pkgsel/include', 'openssh-server sudo'),
    known('pkgsel/upgrade', 'none'),
    known('popularity-contest/participate', 'false'),
    known('grub-installer/only_debian', 'true'),
    known('grub-installer/bootdev', disks.mode === 'single' ? disks.disk : disks.disks.join(' ')),
    // Booted by UEFI (inert on BIOS): GRUB also at the removable-media path, so the server
    // boots when its firmware lost or refused the NVRAM entry.
    known('grub-installer/force-efi-extra-removable', 'true'),
    known('finish-install/reboot_in_progress', ''),
    known('preseed/late_command', 'sh /ustart/late.sh'),
    '',
  ];
  return {
    hostname: host,
    preseed: out.join('\n'),
    early: earlyScript(host, opts.marker, efiPartitioning(disks)),
    late: lateScript(user, `${report.href.replace(/\/+$/, '')}/hostkey/${opts.reportToken}`),
    authorizedKeys: opts.authorizedKeys.map((k) => k.trim()).join('\n') + '\n',
    disks,
  };
}

/**
 * No swap (Kubernetes' kubelet wants none), one ext4 root over the whole disk, or over a
 * RAID1 of partition 1 of both disks. Recipes: docs/upstream-facts.md#di-partman-recipes.
 * These are the BIOS layouts; `efiPartitioning` gives what early.sh sets instead when the
 * installer was booted by UEFI.
 */
const ROOT_PART =
  '4000 10000 -1 ext4 $primary{ } $bootable{ } method{ format } format{ } use_filesystem{ } filesystem{ ext4 } mountpoint{ / } .';
const RAID_PART = '4000 10000 -1 raid $primary{ } $bootable{ } method{ raid } .';
/**
 * The EFI system partition of partman-auto's own amd64-efi recipes (538–1075 MB, FAT,
 * `method{ efi }`), only on a GPT label — which partman gives every disk when booted by UEFI
 * (docs/upstream-facts.md#di-partman-efi).
 */
const ESP_PART = '538 538 1075 free $iflabel{ gpt } $reusemethod{ } method{ efi } format{ } .';
/**
 * The UEFI layouts' root and md parts: no `$primary{ }` (GPT has none) and no `$bootable{ }`,
 * which on GPT would give the root the EFI system partition's type
 * (docs/upstream-facts.md#parted-gpt-boot-flag); as partman-auto's amd64-efi recipes.
 */
const EFI_ROOT_PART =
  '4000 10000 -1 ext4 method{ format } format{ } use_filesystem{ } filesystem{ ext4 } mountpoint{ / } .';
const EFI_RAID_PART = '4000 10000 -1 raid method{ raid } .';

function raidRecipe(a: string, b: string, n: number): string {
  return `1 2 0 ext4 / ${partition(a, n)}#${partition(b, n)} .`;
}

function partitioning(disks: RenderedPreseed['disks']): string[] {
  const common = [
    known('partman-lvm/device_remove_lvm', 'true'),
    known('partman-md/device_remove_md', 'true'),
    known('partman-basicfilesystems/no_swap', 'false'),
    known('partman-partitioning/confirm_write_new_label', 'true'),
    known('partman/choose_partition', 'finish'),
    known('partman/confirm', 'true'),
    known('partman/confirm_nooverwrite', 'true'),
    // Booted by UEFI over a disk whose OS was installed for BIOS (a reinstall): install for
    // UEFI without asking "Force UEFI installation?" (inert on BIOS).
    known('partman-efi/non_efi_system', 'true'),
  ];
  if (disks.mode === 'single') {
    return [
      `# OS disk: ${disks.disk}, one ext4 root, no swap (booted by UEFI: an EFI system partition first, set by early.sh).`,
      known('partman-auto/disk', disks.disk),
      known('partman-auto/method', 'regular'),
      known('partman-auto/expert_recipe', `ustart-root :: ${ROOT_PART}`),
      ...common,
    ];
  }
  const [a, b] = disks.disks;
  return [
    `# OS disks: ${a} and ${b} mirrored (software RAID1, md), one ext4 root, no swap (booted by UEFI: early.sh sets the EFI layout).`,
    known('partman-auto/disk', `${a} ${b}`),
    known('partman-auto/method', 'raid'),
    known('partman-auto/expert_recipe', `ustart-raid :: ${RAID_PART}`),
    known('partman-auto-raid/recipe', raidRecipe(a, b, 1)),
    known('partman-md/confirm', 'true'),
    ...common,
  ];
}

/**
 * What early.sh sets with `debconf-set` when the installer was booted by UEFI: an EFI system
 * partition in front of the root (on each disk of a mirror, where the md RAID1 then takes
 * partition 2; the boot loader goes to the first disk's). Exported for tests.
 */
export function efiPartitioning(disks: RenderedPreseed['disks']): [string, string][] {
  if (disks.mode === 'single')
    return [['partman-auto/expert_recipe', `ustart-root :: ${ESP_PART} ${EFI_ROOT_PART}`]];
  const [a, b] = disks.disks;
  return [
    ['partman-auto/expert_recipe', `ustart-raid :: ${ESP_PART} ${EFI_RAID_PART}`],
    ['partman-auto-raid/recipe', raidRecipe(a, b, 2)],
  ];
}

function earlyScript(
  host: string,
  marker: string,
  efi: readonly (readonly [string, string])[],
): string {
  for (const [key, value] of efi) {
    if (!KNOWN_KEYS[key] || /['\n]/.test(value))
      throw new Error(`early.sh: ${key} cannot be set to ${value}`);
  }
  return [
    '#!/bin/sh',
    '# uStart: run by preseed/early_command, before the network is up.',
    '# Booted by UEFI: the disks get a GPT label and the boot loader an EFI system partition',
    '# (docs/upstream-facts.md#di-partman-efi); the preseed holds the BIOS layout. The line on',
    '# the console says whether debconf-set took the settings.',
    'if [ -d /sys/firmware/efi ]; then',
    '  ' +
      efi.map(([key, value]) => `debconf-set ${key} '${value}'`).join(' &&\n  ') +
      ' &&\n  echo "USTART-BOOT uefi: EFI system partition set" >/dev/console 2>/dev/null ||\n  echo "USTART-BOOT uefi: could not set the EFI partitioning" >/dev/console 2>/dev/null || true',
    'fi',
    "# Last: the marker that proves this installer booted from uStart's ISO and read its preseed.",
    `echo "USTART-PRESEED ${host} ${marker}" >/dev/console 2>/dev/null || true`,
    '',
  ].join('\n');
}

function lateScript(user: string, reportUrl: string): string {
  return [
    '#!/bin/sh',
    '# uStart: run by preseed/late_command with the installed system at /target. Installs the',
    "# consultant's public keys for the SSH user, allows sudo without a password (the user has",
    '# none), turns password logins off, and reports the SSH host keys to uStart.',
    'set -e',
    `U=${user}`,
    'H=/target/home/$U',
    'mkdir -p "$H/.ssh"',
    'cp /ustart/authorized_keys "$H/.ssh/authorized_keys"',
    'chmod 700 "$H/.ssh"',
    'chmod 600 "$H/.ssh/authorized_keys"',
    'in-target chown -R "$U:$U" "/home/$U/.ssh"',
    'echo "$U ALL=(ALL) NOPASSWD:ALL" >/target/etc/sudoers.d/ustart',
    'chmod 440 /target/etc/sudoers.d/ustart',
    'mkdir -p /target/etc/ssh/sshd_config.d',
    'printf "PasswordAuthentication no\\nKbdInteractiveAuthentication no\\nPermitRootLogin no\\n" >/target/etc/ssh/sshd_config.d/ustart.conf',
    'for f in /target/etc/ssh/ssh_host_*_key.pub; do',
    '  [ -f "$f" ] || continue',
    '  read -r type key rest <"$f"',
    '  echo "USTART-HOSTKEY $type $key" >/dev/console 2>/dev/null || true',
    '  enc=$(echo "$key" | sed -e "s/+/%2B/g" -e "s#/#%2F#g" -e "s/=/%3D/g")',
    `  wget -q -O /dev/null "${reportUrl}?type=$type&key=$enc" || echo "uStart: could not report $type" >/dev/console`,
    'done',
    '',
  ].join('\n');
}

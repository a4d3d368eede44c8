import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parsePlanText, type Plan, type Server } from '../plan/index.js';
import { isolinuxConfig, preseedArchive } from './iso.js';
import {
  checkPreseed,
  efiPartitioning,
  firstPartition,
  renderPreseed,
  type PreseedOptions,
} from './preseed.js';

const sample = parsePlanText(
  readFileSync('assets/samples/demo-stuttgart.yaml', 'utf8'),
  'demo-stuttgart.yaml',
).plan!;

function plan(edit: (p: Plan) => void = () => undefined): Plan {
  const p = structuredClone(sample);
  p.site.osRelease = 'debian-12';
  edit(p);
  return p;
}

const KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzdGFydC10ZXN0LWtleS1ub3QtdXNlZC1hbnl3aGVyZQ consultant@laptop';
const OPTS: PreseedOptions = {
  mirrorUrl: 'http://mirror.musterbau.example:8080/debian/',
  authorizedKeys: [KEY],
  reportUrl: 'http://10.10.0.250:8123/RUNTOKENabcdefgh',
  reportToken: 'SERVERTOKEN12345',
  marker: 'marker1234abcd',
};

function values(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split('\n')) {
    const r = /^\S+ (\S+) \S+ ?(.*)$/.exec(l);
    if (r && !l.startsWith('#')) m.set(r[1]!, r[2]!);
  }
  return m;
}

function server(p: Plan, i = 0): Server {
  return p.servers[i]!;
}

/**
 * What early.sh's UEFI branch hands `debconf-set`, as sh parses it: the branch's lines run by
 * a real sh with `debconf-set` standing for a function that prints its arguments.
 */
function efiSettings(early: string): string[][] {
  const lines = early.split('\n');
  const from = lines.indexOf('if [ -d /sys/firmware/efi ]; then');
  const to = lines.indexOf('fi', from);
  expect(from).toBeGreaterThan(0);
  const body = lines.slice(from + 1, to).join('\n');
  expect(body).toContain('echo "USTART-BOOT uefi');
  // dash allows no "-" in a function name: the calls go to `record`, with the same words;
  // the console line goes nowhere.
  const script = body.replaceAll('debconf-set ', 'record ').replaceAll('/dev/console', '/dev/null');
  const out = execFileSync('sh', ['-c', `record() { printf '%s\\0' "$#" "$@"; }\n${script}`], {
    encoding: 'utf8',
  });
  const parts = out.split('\0').slice(0, -1);
  const calls: string[][] = [];
  for (let i = 0; i < parts.length;) {
    const n = Number(parts[i]);
    calls.push(parts.slice(i + 1, i + 1 + n));
    i += n + 1;
  }
  return calls;
}

describe('renderPreseed', () => {
  it('one os disk: a plain ext4 root on it, grub there, and a file of known keys only', () => {
    const p = plan((p) => {
      server(p).disks = [
        { device: '/dev/sda', sizeGB: 480, type: 'ssd', use: 'os' },
        { device: '/dev/nvme0n1', sizeGB: 3840, type: 'nvme', use: 'ceph-osd' },
      ];
    });
    const r = renderPreseed(p, server(p), OPTS);
    const v = values(r.preseed);
    expect(r.disks).toEqual({ mode: 'single', disk: '/dev/sda' });
    expect(v.get('partman-auto/disk')).toBe('/dev/sda');
    expect(v.get('partman-auto/method')).toBe('regular');
    expect(v.get('grub-installer/bootdev')).toBe('/dev/sda');
    expect(v.has('partman-auto-raid/recipe')).toBe(false);
    expect(r.preseed).not.toContain('nvme0n1');
    expect(checkPreseed(r.preseed)).toEqual([]);
    // BIOS: no EFI system partition in the preseed; booted by UEFI, early.sh puts one first.
    expect(v.get('partman-auto/expert_recipe')).not.toContain('method{ efi }');
    const efi = efiSettings(r.early);
    expect(efi).toEqual(efiPartitioning(r.disks).map(([k, v]) => [k, v]));
    expect(efi).toHaveLength(1);
    expect(efi[0]![0]).toBe('partman-auto/expert_recipe');
    expect(efi[0]![1]).toBe(
      'ustart-root :: 538 538 1075 free $iflabel{ gpt } $reusemethod{ } method{ efi } format{ } . ' +
        '4000 10000 -1 ext4 method{ format } format{ } use_filesystem{ } filesystem{ ext4 } mountpoint{ / } .',
    );
    // Inert on BIOS, needed on UEFI: no "Force UEFI installation?" over a BIOS install, and
    // GRUB at the removable path too.
    expect(v.get('partman-efi/non_efi_system')).toBe('true');
    expect(v.get('grub-installer/force-efi-extra-removable')).toBe('true');
    expect(execFileSync('sh', ['-n', '-c', r.early]).length).toBe(0);
  });

  it('two os disks: a RAID1 mirror of partition 1 of each (nvme partitions get "p")', () => {
    const p = plan((p) => {
      server(p).disks = [
        { device: '/dev/nvme0n1', sizeGB: 960, type: 'nvme', use: 'os' },
        { device: '/dev/nvme1n1', sizeGB: 960, type: 'nvme', use: 'os' },
        { device: '/dev/sdc', sizeGB: 8000, type: 'hdd', use: 'data' },
      ];
    });
    const r = renderPreseed(p, server(p), OPTS);
    const v = values(r.preseed);
    expect(r.disks).toEqual({ mode: 'raid1', disks: ['/dev/nvme0n1', '/dev/nvme1n1'] });
    expect(v.get('partman-auto/method')).toBe('raid');
    expect(v.get('partman-auto/disk')).toBe('/dev/nvme0n1 /dev/nvme1n1');
    expect(v.get('partman-auto-raid/recipe')).toBe('1 2 0 ext4 / /dev/nvme0n1p1#/dev/nvme1n1p1 .');
    // Booted by UEFI: an EFI system partition on each disk, the mirror on partition 2.
    const efi = new Map(efiSettings(r.early).map(([k, v]) => [k!, v!]));
    expect(efi.get('partman-auto/expert_recipe')).not.toContain('$bootable');
    expect(efi.get('partman-auto/expert_recipe')).toMatch(
      /^ustart-raid :: 538 538 1075 free .*method\{ efi \}.* raid /,
    );
    expect(efi.get('partman-auto-raid/recipe')).toBe(
      '1 2 0 ext4 / /dev/nvme0n1p2#/dev/nvme1n1p2 .',
    );
    expect(v.get('grub-installer/bootdev')).toBe('/dev/nvme0n1 /dev/nvme1n1');
    expect(r.preseed).not.toContain('/dev/sdc');
    expect(checkPreseed(r.preseed)).toEqual([]);
    expect(firstPartition('/dev/sdb')).toBe('/dev/sdb1');
    // udev names the partitions of a by-id or by-path link with -partN, whatever its last
    // character (a serial often ends in a digit).
    expect(firstPartition('/dev/disk/by-id/nvme-SAMSUNG_MZ7L3480_S6KNNA0T123456')).toBe(
      '/dev/disk/by-id/nvme-SAMSUNG_MZ7L3480_S6KNNA0T123456-part1',
    );
    expect(firstPartition('/dev/disk/by-id/wwn-0x5002538e40a1b2c3')).toBe(
      '/dev/disk/by-id/wwn-0x5002538e40a1b2c3-part1',
    );
    expect(firstPartition('/dev/disk/by-path/pci-0000:3b:00.0-ata-1')).toBe(
      '/dev/disk/by-path/pci-0000:3b:00.0-ata-1-part1',
    );
  });

  it('refuses no os disk and three, naming the server', () => {
    const none = plan((p) => (server(p).disks = []));
    expect(() => renderPreseed(none, server(none), OPTS)).toThrow(
      /server ctl-01.*no disk has use: os/,
    );
    const three = plan((p) => {
      server(p).disks = ['/dev/sda', '/dev/sdb', '/dev/sdc'].map((device) => ({
        device,
        sizeGB: 480,
        type: 'ssd' as const,
        use: 'os' as const,
      }));
    });
    expect(() => renderPreseed(three, server(three), OPTS)).toThrow(/3 disks have use: os/);
  });

  it('static management address, netmask, gateway, DNS, host name and domain from the plan', () => {
    const p = plan();
    const s = server(p);
    const r = renderPreseed(p, s, OPTS);
    const v = values(r.preseed);
    const mgmtNic = s.nics.find((n) => n.network === 'mgmt')!;
    // Chosen by its MAC (netcfg matches a preseeded link-layer address), not its planned name.
    expect(v.get('netcfg/choose_interface')).toBe(mgmtNic.mac.toLowerCase());
    expect(v.get('netcfg/choose_interface')).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(v.get('netcfg/disable_autoconfig')).toBe('true');
    expect(v.get('netcfg/get_ipaddress')).toBe(s.addresses.mgmt);
    expect(v.get('netcfg/get_netmask')).toBe('255.255.255.0');
    expect(v.get('netcfg/get_gateway')).toBe('10.10.0.1');
    expect(v.get('netcfg/get_nameservers')).toBe(p.site.dns.join(' '));
    expect(v.get('netcfg/get_hostname')).toBe(s.hostname);
    expect(v.get('netcfg/hostname')).toBe(s.hostname);
    expect(v.get('netcfg/get_domain')).toBe(p.site.domain);
    expect(v.get('mirror/http/hostname')).toBe('mirror.musterbau.example:8080');
    expect(v.get('mirror/http/directory')).toBe('/debian');
    expect(v.get('pkgsel/include')).toContain('openssh-server');

    const noGw = plan((p) => delete p.networks.find((n) => n.name === 'mgmt')!.gateway);
    const v2 = values(renderPreseed(noGw, server(noGw), OPTS).preseed);
    expect(v2.get('netcfg/no_default_route')).toBe('true');
    expect(v2.get('netcfg/get_gateway')).toBe('');
  });

  it('the SSH user gets the public key, no password; nothing secret in the preseed or on the command line', () => {
    const p = plan();
    const r = renderPreseed(p, server(p), OPTS);
    const v = values(r.preseed);
    expect(v.get('passwd/username')).toBe(p.access.user);
    expect(v.get('passwd/root-login')).toBe('false');
    expect(v.get('passwd/user-password-crypted')).toBe('!');
    expect(r.preseed).not.toMatch(/user-password |root-password/);
    expect(r.authorizedKeys).toBe(`${KEY}\n`);
    expect(r.late).toContain('PasswordAuthentication no');
    // The report token is in the late script only, never in the preseed (installer logs
    // debconf values) nor on the kernel command line.
    expect(r.preseed).not.toContain(OPTS.reportToken);
    expect(r.late).toContain(`/hostkey/${OPTS.reportToken}?type=`);
    expect(isolinuxConfig()).not.toMatch(/preseed|TOKEN|marker/i);
  });

  it('refuses a release other than debian-12, a bad key, a mirror with credentials, root as user', () => {
    const ubuntu = plan((p) => (p.site.osRelease = 'ubuntu-24.04'));
    expect(() => renderPreseed(ubuntu, server(ubuntu), OPTS)).toThrow(/only for debian-12/);
    const p = plan();
    expect(() =>
      renderPreseed(p, server(p), {
        ...OPTS,
        authorizedKeys: ['-----BEGIN OPENSSH PRIVATE KEY-----'],
      }),
    ).toThrow(/not an OpenSSH public key/);
    expect(() =>
      renderPreseed(p, server(p), { ...OPTS, mirrorUrl: 'http://u:pw@m/debian' }),
    ).toThrow(/without credentials/);
    const root = plan((p) => (p.access.user = 'root'));
    expect(() => renderPreseed(root, server(root), OPTS)).toThrow(/other than root/);
  });

  it('checkPreseed finds unknown keys, wrong types and booleans', () => {
    expect(checkPreseed('d-i netcfg/get_ipadress string 1.2.3.4\n')).toEqual([
      'line 1: unknown key netcfg/get_ipadress',
    ]);
    expect(checkPreseed('d-i netcfg/confirm_static string true\n')[0]).toMatch(
      /is "d-i … boolean"/,
    );
    expect(checkPreseed('d-i netcfg/confirm_static boolean yes\n')).toEqual([
      'line 1: netcfg/confirm_static is boolean, not "yes"',
    ]);
  });
});

describe('preseedArchive', () => {
  it('is a gzip cpio that cpio(1) unpacks to /preseed.cfg and the scripts', () => {
    const p = plan();
    const r = renderPreseed(p, server(p), OPTS);
    const dir = mkdtempSync(join(tmpdir(), 'ustart-cpio-'));
    try {
      execFileSync('cpio', ['-idm', '--quiet'], { cwd: dir, input: gunzipSync(preseedArchive(r)) });
      expect(readFileSync(join(dir, 'preseed.cfg'), 'utf8')).toBe(r.preseed);
      expect(readFileSync(join(dir, 'ustart/late.sh'), 'utf8')).toBe(r.late);
      expect(readFileSync(join(dir, 'ustart/early.sh'), 'utf8')).toContain(
        `USTART-PRESEED ${r.hostname} marker1234abcd`,
      );
      expect(readFileSync(join(dir, 'ustart/authorized_keys'), 'utf8')).toBe(`${KEY}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

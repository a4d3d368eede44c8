/**
 * The installer ISO boots and reads uStart's preseed, on BIOS and on UEFI machines: uStart
 * renders the preseed of a plan server, builds its ISO with xorriso once, and QEMU (TCG, the
 * ISO as its CD-ROM) boots it three ways, at once:
 * - BIOS (SeaBIOS): El Torito entry 1, ISOLINUX;
 * - UEFI (OVMF, Debian's package ovmf): El Torito entry 2, the FAT image's shim, then the CD
 *   GRUB and our /boot/grub/grub.cfg;
 * - UEFI with Secure Boot enforced (OVMF's secboot build with Microsoft's keys enrolled,
 *   SMM on, as Debian's ovmf README says): shim (signed by Microsoft) verifies GRUB, GRUB
 *   verifies the kernel through shim (both signed by Debian).
 * Each test waits on its VM's serial stream — not on a timer — for the line the preseed's
 * early command prints, `USTART-PRESEED <host> <marker>`, with a marker made for this run: it
 * can only appear when the boot loader started Debian's installer kernel from our ISO, the
 * kernel unpacked our appended cpio, and debian-installer loaded /preseed.cfg and ran its
 * early_command. Each VM is killed as soon as its marker shows (the next one gets the CPU),
 * and afterAll kills any left, whatever happened (`timeout` kills them if this process dies).
 *
 * The full install to an SSH login is os-install-full.test.ts (opt-in, far too slow for CI
 * under TCG).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { copyFile, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, type ExpectStatic, it } from 'vitest';
import { parsePlanText } from '../../src/plan/index.js';
import { buildIso, INSTALLER_KERNEL_ARGS, isoToolsMissing } from '../../src/osinstall/iso.js';
import { renderPreseed } from '../../src/osinstall/preseed.js';

/**
 * Debian's ovmf package (2022.11): the 4 MiB builds, code read-only, a copy of the vars
 * (docs/upstream-facts.md#ovmf-secboot).
 */
const OVMF = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  vars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
  secbootCode: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
  msVars: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
  /** Secure Boot on, only Debian's test "snakeoil" key trusted: Microsoft-signed shim is not. */
  snakeoilVars: '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd',
};

/** BIOS needs the ISO's packages and QEMU; UEFI also OVMF. In CI nothing may be skipped. */
const missing = (await isoToolsMissing()) ?? (await qemuMissing());
const uefiMissing = missing ?? (await ovmfMissing());
if (uefiMissing !== undefined) {
  if (process.env.CI)
    throw new Error(`the installer ISO's QEMU tests cannot run in CI: ${uefiMissing}`);
  console.warn(`os-install-iso-qemu.test.ts: skipping what needs ${uefiMissing}`);
}

async function qemuMissing(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const p = spawn('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    p.on('error', () => resolve('qemu-system-x86_64 (Debian package qemu-system-x86)'));
    p.on('exit', () => resolve(undefined));
  });
}

async function ovmfMissing(): Promise<string | undefined> {
  for (const f of Object.values(OVMF)) {
    if (!(await stat(f).catch(() => undefined))) return `${f} (Debian package ovmf)`;
  }
  return undefined;
}

const vms = new Set<ChildProcess>();
let dir: string | undefined;

async function kill(vm: ChildProcess): Promise<void> {
  if (vm.pid !== undefined && vm.exitCode === null && vm.signalCode === null) {
    const gone = new Promise((r) => vm.once('exit', r));
    try {
      process.kill(-vm.pid, 'SIGKILL');
    } catch {
      vm.kill('SIGKILL');
    }
    await gone;
  }
  vms.delete(vm);
}

afterAll(async () => {
  await Promise.all([...vms].map(kill));
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Boot {
  seen: boolean;
  serial: string;
  stderr: string;
}

/**
 * Boots the ISO in a fresh QEMU until `wanted` shows on its serial port, then kills it.
 * The serial port goes to a file, read as it grows (inotify): QEMU's UART drops characters
 * when a pipe's reader falls behind (its write is retried a few times, then given up), which
 * happens when the kernel replays its log on a loaded machine; a file is never "full" that way
 * (docs/upstream-facts.md#qemu-uart-drop).
 */
async function bootUntil(
  iso: string,
  name: string,
  wanted: string,
  machine: string[],
): Promise<Boot> {
  const log = join(dir!, `${name}.serial`);
  await writeFile(log, '');
  const file = await open(log, 'r');
  const watcher = watch(log);
  const vm = spawn(
    'timeout',
    [
      '-s',
      'KILL',
      '600',
      'qemu-system-x86_64',
      ...machine,
      '-accel',
      'tcg',
      '-m',
      '1024M',
      '-smp',
      '1',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-monitor',
      'none',
      '-chardev',
      `file,id=serial0,path=${log}`,
      '-serial',
      'chardev:serial0',
      '-no-reboot',
      '-drive',
      `file=${iso},media=cdrom,if=ide,readonly=on`,
      '-boot',
      'order=d',
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  vms.add(vm);
  let serial = '';
  let stderr = '';
  let offset = 0;
  const chunk = Buffer.alloc(65536);
  // One read at a time, each to the current end of the file.
  let reading = Promise.resolve();
  const readNew = (): Promise<void> =>
    (reading = reading.then(async () => {
      for (;;) {
        const { bytesRead } = await file.read(chunk, 0, chunk.length, offset);
        if (bytesRead === 0) return;
        offset += bytesRead;
        serial += chunk.subarray(0, bytesRead).toString('latin1');
      }
    }));
  try {
    const seen = await new Promise<boolean>((resolve, reject) => {
      watcher.on('change', () => {
        readNew().then(() => {
          if (serial.includes(wanted)) resolve(true);
        }, reject);
      });
      watcher.on('error', reject);
      vm.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      vm.once('exit', () => {
        readNew().then(() => resolve(serial.includes(wanted)), reject);
      });
    });
    return { seen, serial, stderr };
  } finally {
    watcher.close();
    await kill(vm);
    await reading.catch(() => undefined);
    await file.close();
  }
}

/**
 * The kernel's own record of its command line on the serial console. The kernel's other lines
 * the tests read: docs/upstream-facts.md#linux-efi-boot-log.
 */
function commandLine(serial: string): string {
  return /Command line: (.*)/.exec(serial)?.[1]?.trim() ?? '';
}

/** The command line without what the boot loaders add themselves (BOOT_IMAGE=, initrd=). */
function ourArgs(cmdline: string): string {
  return cmdline
    .split(' ')
    .filter((w) => w && !/^(BOOT_IMAGE|initrd)=/.test(w))
    .join(' ');
}

/** OVMF with Secure Boot enforced: the secboot build needs SMM (q35, SMM on, the flash secure). */
function secureBootMachine(vars: string): string[] {
  return [
    '-machine',
    'q35,smm=on',
    '-global',
    'driver=cfi.pflash01,property=secure,value=on',
    '-drive',
    `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF.secbootCode}`,
    '-drive',
    `if=pflash,format=raw,unit=1,file=${vars}`,
  ];
}

describe.skipIf(missing !== undefined)('installer ISO in QEMU', () => {
  let iso = '';
  let wanted = '';
  let marker = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-os-iso-'));
    const { plan: parsed } = parsePlanText(
      await readFile('assets/samples/demo-stuttgart.yaml', 'utf8'),
      'demo-stuttgart.yaml',
    );
    if (!parsed) throw new Error('the sample plan does not parse');
    const plan = { ...parsed, site: { ...parsed.site, osRelease: 'debian-12' as const } };
    const server = plan.servers[0]!;
    marker = randomBytes(12).toString('hex');
    const rendered = renderPreseed(plan, server, {
      mirrorUrl: 'http://deb.debian.org/debian',
      authorizedKeys: [
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzdGFydC10ZXN0LWtleS1ub3QtdXNlZC1hbnl3aGVyZQ test',
      ],
      reportUrl: 'http://10.0.2.2:8080/run-token-abc',
      reportToken: 'server-token-123',
      marker,
    });
    iso = join(dir, `${server.hostname}.iso`);
    const size = await buildIso(rendered, iso);
    if (size < 10_000_000) throw new Error(`the ISO is only ${size} bytes`);
    wanted = `USTART-PRESEED ${server.hostname} ${marker}`;
  });

  /** What every boot shows: our kernel, our command line, nothing of the preseed on it. */
  function installerStarted(boot: Boot, expect: ExpectStatic): void {
    expect(
      boot.seen,
      `no marker on the serial console; QEMU stderr: ${boot.stderr}\nserial tail:\n${boot.serial.slice(-3000)}`,
    ).toBe(true);
    expect(boot.serial).toMatch(/Linux version .*Debian/);
    // The boot loader passed exactly the one command line iso.ts defines for both; the marker
    // and the report token are not on it (nothing of the preseed is).
    const cmdline = commandLine(boot.serial);
    expect(ourArgs(cmdline), cmdline).toBe(INSTALLER_KERNEL_ARGS);
    expect(cmdline).not.toContain(marker);
    expect(cmdline).not.toContain('server-token-123');
  }

  describe.concurrent('boots the installer kernel from the ISO, which reads our preseed', () => {
    it('BIOS: SeaBIOS starts ISOLINUX (El Torito entry 1)', async ({ expect }) => {
      const boot = await bootUntil(iso, 'bios', wanted, ['-machine', 'pc']);
      installerStarted(boot, expect);
      expect(boot.serial).toMatch(/ISOLINUX/);
      expect(commandLine(boot.serial)).toMatch(/(^| )initrd=\/install\/initrd\.gz( |$)/);
      expect(boot.serial).not.toMatch(/efi: EFI v/);
      // early.sh kept the BIOS partitioning of the preseed.
      expect(boot.serial).not.toContain('USTART-BOOT uefi');
    }, 660_000);

    it.skipIf(uefiMissing !== undefined)(
      'UEFI: OVMF starts shim, shim the CD GRUB, GRUB our grub.cfg (El Torito entry 2)',
      async ({ expect }) => {
        const vars = join(dir!, 'OVMF_VARS_4M.fd');
        await copyFile(OVMF.vars, vars);
        const boot = await bootUntil(iso, 'uefi', wanted, [
          '-machine',
          'q35',
          '-drive',
          `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF.code}`,
          '-drive',
          `if=pflash,format=raw,unit=1,file=${vars}`,
        ]);
        installerStarted(boot, expect);
        // GRUB ran our /boot/grub/grub.cfg (its echo), and the kernel was started by UEFI.
        expect(boot.serial).toMatch(/Welcome to GRUB!/);
        expect(boot.serial).toContain('uStart: loading the Debian installer (UEFI)');
        expect(commandLine(boot.serial)).toBe(`BOOT_IMAGE=/install/linux ${INSTALLER_KERNEL_ARGS}`);
        expect(boot.serial).toMatch(/efi: EFI v2\.\d+ by EDK II/);
        expect(boot.serial).toMatch(/secureboot: Secure boot disabled/);
        expect(boot.serial).not.toMatch(/ISOLINUX/);
        // early.sh saw UEFI and the installer's debconf-set exited 0 for the EFI partitioning.
        expect(boot.serial).toContain('USTART-BOOT uefi: EFI system partition set');
        expect(boot.serial).not.toContain('could not set the EFI partitioning');
      },
      660_000,
    );

    it.skipIf(uefiMissing !== undefined)(
      'UEFI with Secure Boot enforced: every stage is verified and the installer still starts',
      async ({ expect }) => {
        const vars = join(dir!, 'OVMF_VARS_4M.ms.fd');
        await copyFile(OVMF.msVars, vars);
        const boot = await bootUntil(iso, 'secure-boot', wanted, secureBootMachine(vars));
        installerStarted(boot, expect);
        expect(boot.serial).toContain('uStart: loading the Debian installer (UEFI)');
        expect(boot.serial).toMatch(/secureboot: Secure boot enabled/);
        // Locked down: the kernel knows it was verified by the Secure Boot chain.
        expect(boot.serial).toMatch(/Kernel is locked down from EFI Secure Boot/);
        expect(boot.serial).toContain('USTART-BOOT uefi: EFI system partition set');
      },
      660_000,
    );

    it.skipIf(uefiMissing !== undefined)(
      'Secure Boot is really enforced there: firmware that does not trust Microsoft refuses the shim',
      async ({ expect }) => {
        // The control for the test above: the same firmware and flags, but only Debian's test
        // key in db. It must refuse our BOOTX64.EFI (signed by Microsoft's UEFI CA,
        // docs/upstream-facts.md#shim-ms-ca), so the
        // passing boot above was verified, not merely allowed.
        const vars = join(dir!, 'OVMF_VARS_4M.snakeoil.fd');
        await copyFile(OVMF.snakeoilVars, vars);
        const boot = await bootUntil(
          iso,
          'secure-boot-refused',
          'Access Denied',
          secureBootMachine(vars),
        );
        expect(boot.seen, `serial:\n${boot.serial.slice(-3000)}`).toBe(true);
        expect(boot.serial).toMatch(
          /failed to load Boot\d+ "UEFI QEMU DVD-ROM[^"]*" from .*: Access Denied/,
        );
        expect(boot.serial).not.toMatch(/Welcome to GRUB/);
      },
      660_000,
    );
  });
});

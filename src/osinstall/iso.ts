/**
 * A bootable installer ISO per server: Debian's netboot installer kernel and initrd (package
 * debian-installer-12-netboot-amd64), the initrd with the server's preseed appended as a
 * second, gzip'd cpio archive (docs/upstream-facts.md#di-initrd-preseed), mastered with
 * xorriso. It boots two ways, both to the same kernel with the same command line:
 * - BIOS: ISOLINUX (packages isolinux, syslinux-common; docs/upstream-facts.md#xorriso-isolinux);
 * - UEFI, Secure Boot too: an El Torito EFI image (a FAT image made with mtools, no loop
 *   mount) holding Debian's signed shim as EFI/BOOT/BOOTX64.EFI and Debian's signed CD GRUB
 *   beside it as grubx64.efi, which reads /boot/grub/grub.cfg of the ISO
 *   (docs/upstream-facts.md#shim-second-stage, #grub-gcd-prefix, #xorriso-efi-eltorito).
 * The image is isohybrid (MBR + GPT) so a BMC's virtual USB or a stick boots it as well.
 * The kernel command line carries no secret: only `auto=true priority=critical` and the
 * consoles (docs/upstream-facts.md#di-boot-params).
 */
import { execFile } from 'node:child_process';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { UstartError } from '../errors.js';
import { cpioNewc } from '../util/cpio.js';
import type { RenderedPreseed } from './preseed.js';

const run = promisify(execFile);

/** Where Debian's packages put what the ISO is made of; each can be overridden. */
export interface IsoSources {
  /** Folder with `linux` and `initrd.gz` of the d-i netboot (text) image. */
  installerDir: string;
  /** `isolinux.bin` (package isolinux). */
  isolinuxBin: string;
  /** `ldlinux.c32` (package syslinux-common). */
  ldlinux: string;
  /** The isohybrid MBR (package isolinux), so the image also boots written to a USB stick. */
  isohybridMbr: string;
  /**
   * Debian's shim, signed by Microsoft's UEFI CA, the first stage on UEFI. The netboot
   * package ships it as `bootnetx64.efi`: d-i copies shim-signed's `shimx64.efi.signed` there
   * (docs/upstream-facts.md#di-bootnet-is-shim), so it comes with the kernel it must trust.
   */
  shim: string;
  /**
   * Debian's signed GRUB for CDs (`gcdx64.efi.signed`, package grub-efi-amd64-signed): it
   * finds the ISO by `/.disk/info` and reads `/boot/grub/grub.cfg` (docs/upstream-facts.md#grub-gcd-prefix).
   */
  grubCd: string;
}

export const DEBIAN_ISO_SOURCES: IsoSources = {
  installerDir: '/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64',
  isolinuxBin: '/usr/lib/ISOLINUX/isolinux.bin',
  ldlinux: '/usr/lib/syslinux/modules/bios/ldlinux.c32',
  isohybridMbr: '/usr/lib/ISOLINUX/isohdpfx.bin',
  shim: '/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/bootnetx64.efi',
  grubCd: '/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed',
};

/** The Debian packages the ISO is built from, for an error that says what to install. */
export const ISO_PACKAGES =
  'xorriso isolinux syslinux-common debian-installer-12-netboot-amd64 grub-efi-amd64-signed mtools';

/** The tools the ISO is built with: xorriso, and mtools for the EFI image. */
const ISO_TOOLS: readonly [tool: string, args: string[]][] = [
  ['xorriso', ['-version']],
  ['mformat', ['--version']],
  ['mmd', ['--version']],
  ['mcopy', ['--version']],
];

/** What is missing to build ISOs here, or undefined when nothing is. */
export async function isoToolsMissing(
  src: IsoSources = DEBIAN_ISO_SOURCES,
): Promise<string | undefined> {
  const files = [
    join(src.installerDir, 'linux'),
    join(src.installerDir, 'initrd.gz'),
    src.isolinuxBin,
    src.ldlinux,
    src.isohybridMbr,
    src.shim,
    src.grubCd,
  ];
  const missing: string[] = [];
  for (const f of files) {
    if (!(await stat(f).catch(() => undefined))) missing.push(f);
  }
  for (const [tool, args] of ISO_TOOLS) {
    try {
      await run(tool, args);
    } catch {
      missing.push(tool);
    }
  }
  return missing.length
    ? `missing ${missing.join(', ')}; install the Debian packages ${ISO_PACKAGES}`
    : undefined;
}

/** Where the installer's kernel and initrd are on the ISO, for both boot loaders. */
const KERNEL = '/install/linux';
const INITRD = '/install/initrd.gz';

/**
 * The installer's kernel command line, the one source for ISOLINUX and GRUB. The last
 * console= is /dev/console: the serial port, where the early command's marker and a BMC's
 * serial-over-LAN show. Nothing secret here: the kernel command line is readable by every
 * process and printed on the console.
 */
export const INSTALLER_KERNEL_ARGS =
  'auto=true priority=critical console=tty0 console=ttyS0,115200n8 ---';

/** The ISOLINUX menu (BIOS): boot the installer at once, unattended, console on the first serial port. */
export function isolinuxConfig(): string {
  return [
    'SERIAL 0 115200',
    'DEFAULT install',
    'PROMPT 0',
    'TIMEOUT 1',
    'LABEL install',
    `  KERNEL ${KERNEL}`,
    // ISOLINUX names the initrd on the command line (initrd=); the kernel ignores it.
    `  APPEND initrd=${INITRD} ${INSTALLER_KERNEL_ARGS}`,
    '',
  ].join('\n');
}

/**
 * GRUB's menu (UEFI), `/boot/grub/grub.cfg` on the ISO: the same kernel and command line as
 * ISOLINUX's, at once. GRUB talks on the first serial port too, so a BMC's serial-over-LAN
 * shows the boot. Only commands built into the signed CD image are used: under Secure Boot
 * GRUB loads no modules (docs/upstream-facts.md#grub-gcd-prefix,
 * docs/upstream-facts.md#grub-sb-no-modules).
 */
export function grubConfig(): string {
  return [
    'serial --unit=0 --speed=115200',
    'terminal_input console serial',
    'terminal_output console serial',
    'set default=0',
    'set timeout=0',
    "menuentry 'uStart: install Debian 12' {",
    "  echo 'uStart: loading the Debian installer (UEFI)'",
    `  linux ${KERNEL} ${INSTALLER_KERNEL_ARGS}`,
    `  initrd ${INITRD}`,
    '}',
    '',
  ].join('\n');
}

/** The cpio (gzip'd) appended to the installer's initrd: the preseed and uStart's scripts. */
export function preseedArchive(r: RenderedPreseed): Buffer {
  return gzipSync(
    cpioNewc([
      { kind: 'file', path: '/preseed.cfg', mode: 0o644, data: r.preseed },
      { kind: 'file', path: '/ustart/early.sh', mode: 0o755, data: r.early },
      { kind: 'file', path: '/ustart/late.sh', mode: 0o755, data: r.late },
      { kind: 'file', path: '/ustart/authorized_keys', mode: 0o644, data: r.authorizedKeys },
    ]),
  );
}

/** The ISO's path of the El Torito EFI image (where debian-cd puts it too). */
export const EFI_IMAGE = 'boot/grub/efi.img';

/**
 * Writes the El Torito EFI image, a FAT file system made by mtools in a file (no loop mount,
 * no root): EFI/BOOT/BOOTX64.EFI, the removable-media path UEFI firmware starts
 * (docs/upstream-facts.md#uefi-removable-path), is the shim; it starts `grubx64.efi` from its
 * own folder (docs/upstream-facts.md#shim-second-stage). No `fbx64.efi` beside it: with one,
 * shim would run the fallback that writes boot entries instead of GRUB.
 */
async function writeEfiImage(out: string, src: IsoSources): Promise<void> {
  const files = [
    { from: src.shim, to: '::/EFI/BOOT/BOOTX64.EFI' },
    { from: src.grubCd, to: '::/EFI/BOOT/grubx64.efi' },
  ];
  let bytes = 0;
  for (const f of files) bytes += Math.ceil((await stat(f.from)).size / 4096) * 4096;
  // FAT tables, directories and slack: 1 MiB is ample; whole MiB for the size.
  const mib = Math.ceil(bytes / 1048576) + 1;
  await writeFile(out, Buffer.alloc(0));
  await truncate(out, mib * 1048576);
  // mtools refuses some image geometries unless told not to check, as debian-cd does
  // (docs/upstream-facts.md#mtools-image).
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  const mtools = async (tool: string, args: string[]): Promise<void> => {
    await run(tool, ['-i', out, ...args], { env }).catch((e: unknown) => {
      const stderr = (e as { stderr?: string }).stderr ?? String(e);
      throw new UstartError(
        'WriteFailed',
        `${tool} could not write the EFI boot image ${out}: ${stderr.trim()}`,
      );
    });
  };
  await mtools('mformat', ['-v', 'USTART_EFI', '::']);
  await mtools('mmd', ['::/EFI', '::/EFI/BOOT']);
  for (const f of files) await mtools('mcopy', [f.from, f.to]);
}

/** Builds `out` (an ISO 9660 image) for one server; returns its size in bytes. */
export async function buildIso(
  r: RenderedPreseed,
  out: string,
  src: IsoSources = DEBIAN_ISO_SOURCES,
): Promise<number> {
  const missing = await isoToolsMissing(src);
  if (missing) throw new UstartError('Unsupported', `cannot build the installer ISO: ${missing}`);
  const work = await mkdtemp(join(tmpdir(), 'ustart-iso-'));
  try {
    const tree = join(work, 'tree');
    await mkdir(join(tree, 'isolinux'), { recursive: true });
    await mkdir(join(tree, 'install'), { recursive: true });
    await mkdir(join(tree, 'boot', 'grub'), { recursive: true });
    await mkdir(join(tree, '.disk'), { recursive: true });
    await copyFile(src.isolinuxBin, join(tree, 'isolinux', 'isolinux.bin'));
    await copyFile(src.ldlinux, join(tree, 'isolinux', 'ldlinux.c32'));
    await writeFile(join(tree, 'isolinux', 'isolinux.cfg'), isolinuxConfig());
    // GRUB's CD image finds the ISO by this file (docs/upstream-facts.md#grub-gcd-prefix).
    await writeFile(join(tree, '.disk', 'info'), 'uStart Debian 12 installer\n');
    await writeFile(join(tree, 'boot', 'grub', 'grub.cfg'), grubConfig());
    await writeEfiImage(join(tree, EFI_IMAGE), src);
    await copyFile(join(src.installerDir, 'linux'), join(tree, KERNEL));
    const initrd = await readFile(join(src.installerDir, 'initrd.gz'));
    // gzip members one after the other: the kernel unpacks each (docs/upstream-facts.md#linux-initramfs-newc).
    await writeFile(join(tree, INITRD), Buffer.concat([initrd, preseedArchive(r)]), {
      mode: 0o600,
    });
    await mkdir(dirname(out), { recursive: true });
    const tmp = `${out}.tmp`;
    await run(
      'xorriso',
      [
        '-as',
        'mkisofs',
        '-o',
        tmp,
        '-V',
        'USTART_DI',
        '-r',
        '-J',
        // BIOS: ISOLINUX, the first El Torito entry (docs/upstream-facts.md#xorriso-isolinux).
        '-b',
        'isolinux/isolinux.bin',
        '-c',
        'isolinux/boot.cat',
        '-no-emul-boot',
        '-boot-load-size',
        '4',
        '-boot-info-table',
        '-isohybrid-mbr',
        src.isohybridMbr,
        // UEFI: the FAT image as a second entry, and as a GPT/MBR partition for USB
        // (docs/upstream-facts.md#xorriso-efi-eltorito).
        '-eltorito-alt-boot',
        '-e',
        EFI_IMAGE,
        '-no-emul-boot',
        '-isohybrid-gpt-basdat',
        tree,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    ).catch((e: unknown) => {
      const stderr = (e as { stderr?: string }).stderr ?? String(e);
      throw new UstartError(
        'WriteFailed',
        `xorriso could not build ${out}: ${stderr.trim().split('\n').slice(-3).join(' ')}`,
      );
    });
    await rename(tmp, out);
    return (await stat(out)).size;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

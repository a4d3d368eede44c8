/**
 * A bootable installer ISO per server: Debian's netboot installer kernel and initrd (package
 * debian-installer-12-netboot-amd64), the initrd with the server's preseed appended as a
 * second, gzip'd cpio archive (docs/upstream-facts.md#di-initrd-preseed), booted by ISOLINUX
 * for BIOS (packages isolinux, syslinux-common), mastered with xorriso
 * (docs/upstream-facts.md#xorriso-isolinux). The kernel command line carries no secret: only
 * `auto=true priority=critical` and the consoles (docs/upstream-facts.md#di-boot-params).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
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
}

export const DEBIAN_ISO_SOURCES: IsoSources = {
  installerDir: '/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64',
  isolinuxBin: '/usr/lib/ISOLINUX/isolinux.bin',
  ldlinux: '/usr/lib/syslinux/modules/bios/ldlinux.c32',
  isohybridMbr: '/usr/lib/ISOLINUX/isohdpfx.bin',
};

/** The Debian packages the ISO is built from, for an error that says what to install. */
export const ISO_PACKAGES = 'xorriso isolinux syslinux-common debian-installer-12-netboot-amd64';

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
  ];
  const missing: string[] = [];
  for (const f of files) {
    if (!(await stat(f).catch(() => undefined))) missing.push(f);
  }
  try {
    await run('xorriso', ['-version']);
  } catch {
    missing.push('xorriso');
  }
  return missing.length
    ? `missing ${missing.join(', ')}; install the Debian packages ${ISO_PACKAGES}`
    : undefined;
}

/** The ISOLINUX menu: boot the installer at once, unattended, console on the first serial port. */
export function isolinuxConfig(): string {
  return [
    'SERIAL 0 115200',
    'DEFAULT install',
    'PROMPT 0',
    'TIMEOUT 1',
    'LABEL install',
    '  KERNEL /install/linux',
    // The last console= is /dev/console: the serial port, where the early command's marker and
    // a BMC's serial-over-LAN show. Nothing secret here: the kernel command line is readable
    // by every process and printed on the console.
    '  APPEND initrd=/install/initrd.gz auto=true priority=critical console=tty0 console=ttyS0,115200n8 ---',
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
    await copyFile(src.isolinuxBin, join(tree, 'isolinux', 'isolinux.bin'));
    await copyFile(src.ldlinux, join(tree, 'isolinux', 'ldlinux.c32'));
    await writeFile(join(tree, 'isolinux', 'isolinux.cfg'), isolinuxConfig());
    await copyFile(join(src.installerDir, 'linux'), join(tree, 'install', 'linux'));
    const initrd = await readFile(join(src.installerDir, 'initrd.gz'));
    // gzip members one after the other: the kernel unpacks each (docs/upstream-facts.md#linux-initramfs-newc).
    await writeFile(
      join(tree, 'install', 'initrd.gz'),
      Buffer.concat([initrd, preseedArchive(r)]),
      {
        mode: 0o600,
      },
    );
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

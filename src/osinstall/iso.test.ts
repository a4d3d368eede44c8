/**
 * The ISO's structure, read back with the tools that made it: xorriso's El Torito and
 * partition reports, the files extracted from the ISO, and the FAT image read with mtools.
 * Building one ISO takes a few seconds (the 40 MB initrd is copied); it needs the Debian
 * packages of ISO_PACKAGES, else those tests are skipped and the missing files are printed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildIso,
  DEBIAN_ISO_SOURCES,
  EFI_IMAGE,
  grubConfig,
  INSTALLER_KERNEL_ARGS,
  isolinuxConfig,
  isoToolsMissing,
} from './iso.js';
import type { RenderedPreseed } from './preseed.js';

const run = promisify(execFile);

const rendered: RenderedPreseed = {
  hostname: 'cmp-01',
  preseed: 'd-i debian-installer/locale string en_US.UTF-8\n',
  early: '#!/bin/sh\necho early\n',
  late: '#!/bin/sh\necho late\n',
  authorizedKeys: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzdGFydC10ZXN0 test\n',
  disks: { mode: 'single', disk: '/dev/sda' },
};

describe('boot loader configurations', () => {
  it('ISOLINUX (BIOS) and GRUB (UEFI) boot the same kernel and initrd with the same command line', () => {
    const isolinux = isolinuxConfig();
    const grub = grubConfig();
    expect(isolinux).toContain('KERNEL /install/linux\n');
    expect(isolinux).toContain(`APPEND initrd=/install/initrd.gz ${INSTALLER_KERNEL_ARGS}\n`);
    expect(grub).toContain(`  linux /install/linux ${INSTALLER_KERNEL_ARGS}\n`);
    expect(grub).toContain('  initrd /install/initrd.gz\n');
    expect(INSTALLER_KERNEL_ARGS).toBe(
      'auto=true priority=critical console=tty0 console=ttyS0,115200n8 ---',
    );
    // GRUB boots at once and talks on the serial port, as ISOLINUX does (SERIAL 0 115200).
    expect(grub).toMatch(/^serial --unit=0 --speed=115200$/m);
    expect(grub).toMatch(/^terminal_output console serial$/m);
    expect(grub).toMatch(/^set timeout=0$/m);
    // Under Secure Boot GRUB loads no modules: the config must not ask for one.
    expect(grub).not.toMatch(/insmod/);
  });

  it('names the missing EFI files and the Debian packages that have them', async () => {
    const msg = await isoToolsMissing({
      ...DEBIAN_ISO_SOURCES,
      grubCd: '/nonexistent/gcdx64.efi.signed',
      shim: '/nonexistent/bootnetx64.efi',
    });
    expect(msg).toContain('/nonexistent/gcdx64.efi.signed');
    expect(msg).toContain('/nonexistent/bootnetx64.efi');
    expect(msg).toMatch(/install the Debian packages .*grub-efi-amd64-signed/);
    expect(msg).toMatch(/install the Debian packages .*mtools/);
    await expect(
      buildIso(rendered, '/nonexistent/x.iso', {
        ...DEBIAN_ISO_SOURCES,
        grubCd: '/nonexistent/gcdx64.efi.signed',
      }),
    ).rejects.toThrow(/cannot build the installer ISO: missing .*gcdx64\.efi\.signed/);
  });
});

const missing = await isoToolsMissing();
if (missing) {
  if (process.env.CI) throw new Error(`the ISO build tests cannot run in CI: ${missing}`);
  console.warn(`iso.test.ts: ISO build tests skipped: ${missing}`);
}

describe.skipIf(missing !== undefined)('the built ISO', () => {
  let dir = '';
  let iso = '';
  const extract = async (path: string): Promise<Buffer> => {
    const out = join(dir, 'extract', path.replaceAll('/', '_'));
    await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', path, out]);
    return readFile(out);
  };
  const report = async (what: string): Promise<string> =>
    (await run('xorriso', ['-indev', iso, what, 'plain'])).stdout;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-iso-test-'));
    iso = join(dir, 'cmp-01.iso');
    await buildIso(rendered, iso);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has two El Torito entries: ISOLINUX for BIOS and the FAT image for UEFI', async () => {
    const eltorito = await report('-report_el_torito');
    expect(eltorito).toMatch(/^El Torito boot img :\s+1\s+BIOS\s+y\s+none\b/m);
    expect(eltorito).toMatch(/^El Torito img path :\s+1\s+\/isolinux\/isolinux\.bin$/m);
    expect(eltorito).toMatch(/^El Torito boot img :\s+2\s+UEFI\s+y\s+none\b/m);
    expect(eltorito).toMatch(new RegExp(`^El Torito img path :\\s+2\\s+/${EFI_IMAGE}$`, 'm'));
  });

  it('is hybrid: an MBR and a GPT, the EFI image an 0xEF partition for USB boot', async () => {
    const area = await report('-report_system_area');
    expect(area).toMatch(/^System area summary: MBR isohybrid .*GPT/m);
    expect(area).toMatch(/^MBR partition\s+:\s+2\s+0x00\s+0xef\b/m);
    expect(area).toMatch(new RegExp(`^MBR partition path :\\s+2\\s+/${EFI_IMAGE}$`, 'm'));
    expect(area).toMatch(new RegExp(`^GPT partition path :\\s+\\d+\\s+/${EFI_IMAGE}$`, 'm'));
  });

  it('holds the signed shim as EFI/BOOT/BOOTX64.EFI and the CD GRUB beside it, nothing else', async () => {
    const img = join(dir, 'efi.img');
    const bytes = await extract(`/${EFI_IMAGE}`);
    await writeFile(img, bytes);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    const listing = (await run('mdir', ['-/', '-b', '-i', img, '::'], { env })).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^::/, '').toLowerCase())
      .sort();
    expect(listing).toEqual([
      '/efi/',
      '/efi/boot/',
      '/efi/boot/bootx64.efi',
      '/efi/boot/grubx64.efi',
    ]);
    const shim = join(dir, 'BOOTX64.EFI');
    const grub = join(dir, 'grubx64.efi');
    await run('mcopy', ['-i', img, '::/EFI/BOOT/BOOTX64.EFI', shim], { env });
    await run('mcopy', ['-i', img, '::/EFI/BOOT/grubx64.efi', grub], { env });
    expect((await readFile(shim)).equals(await readFile(DEBIAN_ISO_SOURCES.shim))).toBe(true);
    expect((await readFile(grub)).equals(await readFile(DEBIAN_ISO_SOURCES.grubCd))).toBe(true);
  });

  it('has the GRUB config and the /.disk/info the CD GRUB looks for', async () => {
    expect((await extract('/boot/grub/grub.cfg')).toString()).toBe(grubConfig());
    expect((await extract('/.disk/info')).length).toBeGreaterThan(0);
    expect((await extract('/isolinux/isolinux.cfg')).toString()).toBe(isolinuxConfig());
    const kernel = await extract('/install/linux');
    expect(kernel.equals(await readFile(join(DEBIAN_ISO_SOURCES.installerDir, 'linux')))).toBe(
      true,
    );
  });
});

/**
 * The installer ISO boots and reads uStart's preseed: uStart renders the preseed of a plan
 * server, builds its ISO with xorriso, and QEMU (TCG, BIOS, the ISO as its CD-ROM) boots it.
 * The test waits on the serial stream — not on a timer — for the line the preseed's early
 * command prints, `USTART-PRESEED <host> <marker>`, with a marker made for this run: it can
 * only appear when ISOLINUX started Debian's installer kernel from our ISO, the kernel unpacked
 * our appended cpio, and debian-installer loaded /preseed.cfg and ran its early_command.
 * QEMU is killed in afterAll, whatever happened (and `timeout` kills it if this process dies).
 *
 * The full install to an SSH login is os-install-full.test.ts (opt-in, far too slow for CI
 * under TCG).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePlanText } from '../../src/plan/index.js';
import { buildIso, isoToolsMissing } from '../../src/osinstall/iso.js';
import { renderPreseed } from '../../src/osinstall/preseed.js';

const missing = (await isoToolsMissing()) ?? (await qemuMissing());

async function qemuMissing(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const p = spawn('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    p.on('error', () => resolve('qemu-system-x86_64 (Debian package qemu-system-x86)'));
    p.on('exit', () => resolve(undefined));
  });
}

let qemu: ChildProcess | undefined;
let dir: string | undefined;

afterAll(async () => {
  if (qemu?.pid !== undefined && qemu.exitCode === null && qemu.signalCode === null) {
    const gone = new Promise((r) => qemu!.once('exit', r));
    try {
      process.kill(-qemu.pid, 'SIGKILL');
    } catch {
      qemu.kill('SIGKILL');
    }
    await gone;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(missing !== undefined)('installer ISO in QEMU', () => {
  it('boots the installer kernel from the ISO, which reads our preseed (marker on the serial console)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ustart-os-iso-'));
    const { plan: parsed } = parsePlanText(
      await readFile('assets/samples/demo-stuttgart.yaml', 'utf8'),
      'demo-stuttgart.yaml',
    );
    expect(parsed).toBeDefined();
    const plan = { ...parsed!, site: { ...parsed!.site, osRelease: 'debian-12' as const } };
    const server = plan.servers[0]!;
    const marker = randomBytes(12).toString('hex');
    const rendered = renderPreseed(plan, server, {
      mirrorUrl: 'http://deb.debian.org/debian',
      authorizedKeys: [
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzdGFydC10ZXN0LWtleS1ub3QtdXNlZC1hbnl3aGVyZQ test',
      ],
      reportUrl: 'http://10.0.2.2:8080/run-token-abc',
      reportToken: 'server-token-123',
      marker,
    });
    const iso = join(dir, `${server.hostname}.iso`);
    const size = await buildIso(rendered, iso);
    expect(size).toBeGreaterThan(10_000_000);

    const wanted = `USTART-PRESEED ${server.hostname} ${marker}`;
    qemu = spawn(
      'timeout',
      [
        '-s',
        'KILL',
        '600',
        'qemu-system-x86_64',
        '-machine',
        'pc',
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
        '-serial',
        'stdio',
        '-no-reboot',
        '-drive',
        `file=${iso},media=cdrom,if=ide,readonly=on`,
        '-boot',
        'order=d',
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let serial = '';
    let stderr = '';
    const seen = await new Promise<boolean>((resolve) => {
      qemu!.stdout!.on('data', (b: Buffer) => {
        serial += b.toString('latin1');
        if (serial.includes(wanted)) resolve(true);
      });
      qemu!.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      qemu!.once('exit', () => resolve(serial.includes(wanted)));
    });
    const tail = serial.slice(-3000);
    expect(
      seen,
      `no marker on the serial console; QEMU stderr: ${stderr}\nserial tail:\n${tail}`,
    ).toBe(true);
    // The kernel that printed it is Debian's installer kernel, started by ISOLINUX from the CD.
    expect(serial).toMatch(/ISOLINUX/);
    expect(serial).toMatch(/Linux version .*Debian/);
    // The marker is not on the kernel command line (nothing of the preseed is).
    const cmdline = /Command line: (.*)/.exec(serial)?.[1] ?? '';
    expect(cmdline).toContain('auto=true priority=critical');
    expect(cmdline).not.toContain(marker);
    expect(cmdline).not.toContain('server-token-123');
  }, 660_000);
});

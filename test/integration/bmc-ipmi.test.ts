/**
 * The IPMI fallback (ipmitool, lanplus) against OpenIPMI's ipmi_sim, whose chassis is a real
 * QEMU VM: ipmi_sim hands power, reset and the boot flags to its `chassis_control` program
 * (docs/upstream-facts.md#openipmi.chassis-control), here a small shell script that starts
 * QEMU on power on (with `-boot once=d` when the boot flags say CD/DVD, consumed by that
 * one boot, as the flags' "next boot only" means), stops it on power off, and can be told to
 * refuse the boot flags. SeaBIOS's debug console shows what the VM booted.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IpmiBmc } from '../../src/bmc/ipmi.js';
import { isUstartError } from '../../src/errors.js';

const run = promisify(execFile);
const LOGIN = { username: 'admin', password: 'Ipmi-s3cret-7' };

let dir: string;
let sim: ChildProcess | undefined;
let bmc: IpmiBmc;
let udpPort: number;

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The running VM's pid (the chassis program's pid file), or undefined when it is off. */
async function vmPid(): Promise<number | undefined> {
  const pid = Number((await readFile(join(dir, 'vm.pid'), 'utf8').catch(() => '')).trim());
  if (!(pid > 0)) return undefined;
  const r = await run('ps', ['-o', 'stat=', '-p', String(pid)]).catch(() => ({ stdout: '' }));
  const stat = r.stdout.trim();
  return stat && !stat.startsWith('Z') ? pid : undefined;
}

const bootLog = () => readFile(join(dir, 'boot.log'), 'utf8').catch(() => '');
/** The first device SeaBIOS tried (it goes on to the next when one has nothing to boot). */
const firstBoot = async () => /Booting from ([^.\r\n]+)/.exec(await bootLog())?.[1];

/**
 * The chassis: ipmi_sim runs `PROG get NAME…` (answering `NAME:VALUE` lines) and
 * `PROG set NAME "VALUE"…` through popen (lanserv/extcmd.c); boot values are ipmi_sim's
 * names (none, pxe, default, cdrom, bios: lanserv/bmc_chassis.c).
 */
function chassisProgram(qemu: string): string {
  return `#!/bin/sh
D='${dir}'
echo "$*" >> "$D/chassis.log"
running() {
  pid=$(cat "$D/vm.pid" 2>/dev/null) || return 1
  st=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  case $st in ''|Z*) return 1;; esac
}
start() {
  boot=c
  [ "$(cat "$D/boot" 2>/dev/null)" = cdrom ] && boot=d
  echo default > "$D/boot"
  setsid ${qemu} -boot once=$boot </dev/null >/dev/null 2>&1 &
  echo $! > "$D/vm.pid"
}
stop() {
  running || { rm -f "$D/vm.pid"; return; }
  kill "$pid"
  # Powered off once the VM is gone (at most ~5 s), so the next start never overlaps it.
  n=0; while running && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
  running && kill -9 "$pid"
  rm -f "$D/vm.pid"
}
op=$1; shift
if [ "$op" = get ]; then
  for name in "$@"; do
    case $name in
      power) if running; then echo power:1; else echo power:0; fi;;
      boot) echo "boot:$(cat "$D/boot" 2>/dev/null || echo default)";;
      *) exit 1;;
    esac
  done
  exit 0
fi
[ "$op" = set ] || exit 1
while [ $# -ge 2 ]; do
  case $1 in
    power) if [ "$2" = 1 ]; then running || start; else stop; fi;;
    reset) stop; start;;
    shutdown) stop;;
    boot) [ -e "$D/refuse-boot" ] && exit 1; echo "$2" > "$D/boot";;
    *) exit 1;;
  esac
  shift 2
done
`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-bmc-ipmi-'));
  udpPort = await freeUdpPort();
  // A CD with a file on it (no boot record): SeaBIOS names the device it tries either way.
  await mkdir(join(dir, 'cd'));
  await writeFile(join(dir, 'cd', 'marker.txt'), 'ustart\n');
  await run('xorriso', ['-as', 'mkisofs', '-quiet', '-o', join(dir, 'cd.iso'), join(dir, 'cd')]);
  const qemu = [
    'timeout -s KILL 600 qemu-system-x86_64 -machine pc,accel=tcg -m 32 -nodefaults',
    '-display none -serial none -monitor none -nic none',
    `-drive if=ide,index=1,media=cdrom,readonly=on,format=raw,file=${dir}/cd.iso`,
    `-debugcon file:${dir}/boot.log -global isa-debugcon.iobase=0x402`,
  ].join(' ');
  await writeFile(join(dir, 'chassis'), chassisProgram(qemu));
  await chmod(join(dir, 'chassis'), 0o755);
  // ipmi_lan(5): LAN channel 1 on loopback, the chassis program, users.
  await writeFile(
    join(dir, 'lan.conf'),
    [
      'name "ustart-test"',
      'set_working_mc 0x20',
      '  startlan 1',
      `    addr 127.0.0.1 ${udpPort}`,
      '    priv_limit admin',
      '    allowed_auths_callback none md2 md5 straight',
      '    allowed_auths_user none md2 md5 straight',
      '    allowed_auths_operator none md2 md5 straight',
      '    allowed_auths_admin none md2 md5 straight',
      '    guid a123456789abcdefa123456789abcdef',
      '  endlan',
      `  chassis_control "${join(dir, 'chassis')}"`,
      `  user 2 true "${LOGIN.username}" "${LOGIN.password}" admin 10 md5`,
      '',
    ].join('\n'),
  );
  // ipmi_sim_cmd(5): one BMC at 0x20 with chassis support.
  await writeFile(
    join(dir, 'bmc.emu'),
    'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\nmc_enable 0x20\n',
  );
  await mkdir(join(dir, 'state'));
  sim = spawn(
    'ipmi_sim',
    ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', join(dir, 'state'), '-n'],
    {
      stdio: 'ignore',
    },
  );
  // A wrapper that records what ipmitool was given, to prove the password is not in argv.
  await writeFile(
    join(dir, 'ipmitool'),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${dir}/argv.log'\n[ -n "$IPMI_PASSWORD" ] && echo env-has-password >> '${dir}/argv.log'\nexec ipmitool "$@"\n`,
  );
  await chmod(join(dir, 'ipmitool'), 0o755);
  bmc = new IpmiBmc({
    address: '127.0.0.1',
    port: udpPort,
    login: LOGIN,
    cipherSuite: 3,
    ipmitool: join(dir, 'ipmitool'),
  });
  // ipmi_sim answers once it has read its files: wait for the first answer.
  await vi.waitFor(
    async () => {
      if ((await bmc.powerState()) !== 'Off') throw new Error('the VM should start off');
    },
    { timeout: 20_000, interval: 200 },
  );
}, 60_000);

afterAll(async () => {
  const pid = dir ? await vmPid() : undefined;
  try {
    if (pid) process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  if (sim?.pid) sim.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

describe('IPMI through ipmitool against ipmi_sim and a QEMU VM', () => {
  it('powers the VM on and off', async () => {
    await bmc.power('On');
    await expect.poll(() => bmc.powerState(), { timeout: 20_000, interval: 200 }).toBe('On');
    expect(await vmPid()).toBeGreaterThan(0);
    // The VM really runs: SeaBIOS writes to the debug console.
    await expect.poll(bootLog, { timeout: 30_000, interval: 200 }).toContain('SeaBIOS');

    await bmc.power('ForceOff');
    await expect.poll(() => bmc.powerState(), { timeout: 20_000, interval: 200 }).toBe('Off');
    await expect.poll(() => vmPid(), { timeout: 20_000, interval: 200 }).toBeUndefined();

    await bmc.power('PowerCycle'); // from Off: on
    await expect.poll(() => bmc.powerState(), { timeout: 20_000, interval: 200 }).toBe('On');
    await bmc.power('ForceOff');
    await expect.poll(() => bmc.powerState(), { timeout: 20_000, interval: 200 }).toBe('Off');
  }, 120_000);

  it('never puts the password on ipmitool’s command line', async () => {
    const log = await readFile(join(dir, 'argv.log'), 'utf8');
    expect(log).toContain('-E');
    expect(log).toContain('env-has-password');
    expect(log).not.toContain(LOGIN.password);
  });

  it('has no virtual media: insertMedia is BmcUnsupported', async () => {
    const e = await bmc.insertMedia('http://127.0.0.1/x.iso').catch((x: unknown) => x);
    expect(isUstartError(e, 'BmcUnsupported')).toBe(true);
  });

  it('sets a one-time boot from CD: the next power-on boots the CD, the one after the disk', async () => {
    expect(await bmc.powerState()).toBe('Off');
    await bmc.setOneTimeBoot('Cd');
    // ipmi_sim passed the flags' device to the chassis as `boot "cdrom"`.
    expect(await readFile(join(dir, 'chassis.log'), 'utf8')).toMatch(/^set boot "?cdrom"?$/m);
    await bmc.power('On');
    await expect.poll(firstBoot, { timeout: 30_000, interval: 200 }).toBe('DVD/CD');
    await bmc.power('ForceOff');
    await expect.poll(() => vmPid(), { timeout: 20_000, interval: 200 }).toBeUndefined();

    // The flags held for one boot only: the next start tries the disk, not the CD.
    await bmc.power('On');
    await expect.poll(firstBoot, { timeout: 30_000, interval: 200 }).toBe('Hard Disk');
    await bmc.power('ForceOff');
    await expect.poll(() => bmc.powerState(), { timeout: 20_000, interval: 200 }).toBe('Off');
  }, 120_000);

  it('a BMC that refuses the boot flags is BmcFailed, although ipmitool exits 0', async () => {
    await writeFile(join(dir, 'refuse-boot'), '');
    try {
      const e = await bmc.setOneTimeBoot('Cd').catch((x: unknown) => x);
      expect(isUstartError(e, 'BmcFailed')).toBe(true);
      expect((e as Error).message).toContain('chassis bootdev cdrom');
      expect((e as Error).message).toContain('Set Chassis Boot Parameter 5 failed');
    } finally {
      await rm(join(dir, 'refuse-boot'));
    }
  });

  it('a wrong password is AuthFailed, without the password in the message', async () => {
    const wrong = new IpmiBmc({
      address: '127.0.0.1',
      port: udpPort,
      login: { username: 'admin', password: 'wrong-one' },
      cipherSuite: 3,
    });
    const e = await wrong.powerState().catch((x: unknown) => x);
    expect(isUstartError(e) && (e.code === 'AuthFailed' || e.code === 'BmcFailed')).toBe(true);
    expect((e as Error).message).not.toContain('wrong-one');
  }, 30_000);
});

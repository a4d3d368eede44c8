/**
 * The machine behind the Redfish double: a real QEMU VM (TCG), driven through QMP.
 *
 * - Power: Off is "no QEMU process". On starts QEMU with `-S` (paused before the firmware
 *   runs), applies nothing more, then `cont`; ForceOff is QMP `quit`; GracefulShutdown is
 *   `system_powerdown` (ACPI power button: the guest decides); ForceRestart and PowerCycle
 *   quit and start again, so a one-time boot set meanwhile takes effect.
 * - One-time boot: the next start gets `-boot once=<d|n|c>` (QEMU's own one-shot order: it
 *   applies to the first boot only), then the override is spent, as Redfish's `Once` says.
 * - CD: an IDE CD-ROM `cddev`; insert is QMP `blockdev-change-medium`, eject is `eject`; a
 *   medium in the tray when QEMU is (re)started is passed on its command line.
 * - SeaBIOS writes what it boots ("Booting from DVD/CD...") to the debug console, a file the
 *   test reads.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

export type NextBoot = 'Cd' | 'Pxe' | 'Hdd' | undefined;

const ONCE: Record<Exclude<NextBoot, undefined>, string> = { Cd: 'd', Pxe: 'n', Hdd: 'c' };

/** The longest a VM lives, whatever happens to the test that started it. */
const VM_LIFETIME_S = 600;

export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private greeted!: Promise<void>;

  private constructor(private readonly socket: Socket) {}

  static async open(path: string): Promise<QmpClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const c = new QmpClient(socket);
    c.greeted = new Promise((resolve) => {
      let greeted = false;
      socket.on('data', (d: Buffer) => {
        c.buffer += d.toString('utf8');
        let nl: number;
        while ((nl = c.buffer.indexOf('\n')) >= 0) {
          const line = c.buffer.slice(0, nl).trim();
          c.buffer = c.buffer.slice(nl + 1);
          if (!line) continue;
          const msg = JSON.parse(line) as {
            QMP?: unknown;
            id?: number;
            return?: unknown;
            error?: { desc: string };
          };
          if (msg.QMP && !greeted) {
            greeted = true;
            resolve();
          } else if (typeof msg.id === 'number') {
            const w = c.waiting.get(msg.id);
            c.waiting.delete(msg.id);
            if (msg.error) w?.reject(new Error(`QMP: ${msg.error.desc}`));
            else w?.resolve(msg.return);
          }
        }
      });
    });
    socket.on('close', () => {
      for (const [, w] of c.waiting) w.reject(new Error('QMP connection closed'));
      c.waiting.clear();
    });
    await c.greeted;
    await c.execute('qmp_capabilities');
    return c;
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.write(
        JSON.stringify({ execute: command, id, ...(args ? { arguments: args } : {}) }) + '\n',
      );
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export class QemuMachine {
  private proc: ChildProcess | undefined;
  private qmp: QmpClient | undefined;
  private exited: Promise<void> | undefined;
  /** The medium in the CD tray (a local file), kept across QEMU restarts. */
  private medium: string | undefined;
  nextBoot: NextBoot;
  /** Every QEMU start, with its `-boot` argument, for the test to read. */
  readonly starts: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly memoryMiB = 64,
  ) {}

  get debugLog(): string {
    return join(this.dir, 'seabios.log');
  }

  get on(): boolean {
    return this.proc !== undefined;
  }

  get cdMedium(): string | undefined {
    return this.medium;
  }

  async powerOn(): Promise<void> {
    if (this.proc) return;
    const boot = this.nextBoot ? `order=c,once=${ONCE[this.nextBoot]}` : 'order=c';
    this.nextBoot = undefined;
    const sock = join(this.dir, 'qmp.sock');
    const args = [
      '-machine',
      'pc,accel=tcg',
      '-m',
      String(this.memoryMiB),
      '-nodefaults',
      '-display',
      'none',
      '-serial',
      'none',
      '-monitor',
      'none',
      '-nic',
      'none',
      '-S',
      '-qmp',
      `unix:${sock},server=on,wait=off`,
      '-debugcon',
      `file:${this.debugLog}`,
      '-global',
      'isa-debugcon.iobase=0x402',
      '-drive',
      `if=none,id=cd0,media=cdrom,readonly=on${this.medium ? `,format=raw,file=${this.medium}` : ''}`,
      '-device',
      'ide-cd,drive=cd0,id=cddev,bus=ide.1',
      '-boot',
      boot,
    ];
    this.starts.push(boot);
    // `timeout` bounds the VM's life even if the test process dies without cleaning up.
    const proc = spawn(
      'timeout',
      ['-s', 'KILL', String(VM_LIFETIME_S), 'qemu-system-x86_64', ...args],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    this.proc = proc;
    this.exited = new Promise((resolve) => {
      proc.once('exit', () => {
        if (this.proc === proc) {
          this.proc = undefined;
          this.qmp?.close();
          this.qmp = undefined;
        }
        resolve();
      });
    });
    // QEMU creates the socket before it listens for QMP; wait for it by connecting.
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`QEMU did not start: ${stderr}`);
      try {
        this.qmp = await QmpClient.open(sock);
        break;
      } catch {
        await new Promise((r) => setImmediate(r));
      }
    }
    await this.qmp.execute('cont');
  }

  async forceOff(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    await this.qmp?.execute('quit').catch(() => undefined);
    await this.exited;
  }

  async gracefulShutdown(): Promise<void> {
    await this.qmp?.execute('system_powerdown');
  }

  async restart(): Promise<void> {
    await this.forceOff();
    await this.powerOn();
  }

  async insert(file: string): Promise<void> {
    this.medium = file;
    await this.qmp?.execute('blockdev-change-medium', {
      id: 'cddev',
      filename: file,
      format: 'raw',
    });
  }

  async eject(): Promise<void> {
    this.medium = undefined;
    await this.qmp?.execute('eject', { id: 'cddev', force: true });
  }

  /** QMP `query-block`'s view of the CD drive: the file in it, if any (undefined when off). */
  async cdInQemu(): Promise<string | null | undefined> {
    if (!this.qmp) return undefined;
    const blocks = (await this.qmp.execute('query-block')) as {
      qdev?: string;
      inserted?: { file: string };
    }[];
    const cd = blocks.find((b) => b.qdev === 'cddev' || b.qdev?.endsWith('/cddev'));
    return cd?.inserted?.file ?? null;
  }

  async status(): Promise<string | undefined> {
    if (!this.qmp) return undefined;
    return ((await this.qmp.execute('query-status')) as { status: string }).status;
  }

  async bootLog(): Promise<string> {
    return readFile(this.debugLog, 'utf8').catch(() => '');
  }

  /** Kills QEMU, always. */
  async dispose(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.qmp?.close();
    // SIGTERM to `timeout`, which passes it on to QEMU (a SIGKILL would orphan QEMU).
    proc.kill('SIGTERM');
    await this.exited;
  }
}

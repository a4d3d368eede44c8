/**
 * IPMI fallback through Debian's `ipmitool` (`-I lanplus`, IPMI 2.0): power and the boot
 * device. IPMI has no virtual media, so `insertMedia` throws `BmcUnsupported`.
 *
 * The password never reaches a command line: ipmitool's `-E` reads it from the environment
 * of the child (`IPMI_PASSWORD`; `IPMITOOL_PASSWORD` is removed there because ipmitool
 * prefers it; docs/upstream-facts.md#ipmitool.password-env).
 */
import { execFile } from 'node:child_process';
import { UstartError, unreachable } from '../errors.js';
import type { BmcLogin } from './credentials.js';
import type { Bmc, BootDevice, PowerAction, PowerState } from './types.js';

export interface IpmiOptions {
  address: string;
  /** UDP port; 623 when absent. */
  port?: number;
  login: BmcLogin;
  /** RMCP+ cipher suite (`-C`); ipmitool's default when absent. 3 and 17 are common. */
  cipherSuite?: number;
  /** Boot in UEFI mode (`options=efiboot`); legacy BIOS when false. */
  efiBoot?: boolean;
  /** Per ipmitool call; 30 s when absent. */
  timeoutMs?: number;
  /** The ipmitool binary; `ipmitool` from PATH when absent. */
  ipmitool?: string;
}

export class IpmiBmc implements Bmc {
  readonly address: string;
  private lastStderr = '';

  constructor(private readonly o: IpmiOptions) {
    this.address = o.address;
  }

  async powerState(): Promise<PowerState> {
    const out = await this.run(['chassis', 'power', 'status']);
    // "Chassis Power is on" / "… off" (docs/upstream-facts.md#ipmitool.power-status).
    if (/Power is on/i.test(out)) return 'On';
    if (/Power is off/i.test(out)) return 'Off';
    throw this.failed(`ipmitool chassis power status said: ${out.trim()}`);
  }

  async power(action: PowerAction): Promise<void> {
    switch (action) {
      case 'On':
        await this.run(['chassis', 'power', 'on']);
        return;
      case 'ForceOff':
        await this.run(['chassis', 'power', 'off']);
        return;
      case 'GracefulShutdown':
        await this.run(['chassis', 'power', 'soft']);
        return;
      case 'ForceRestart':
        await this.run(['chassis', 'power', 'reset']);
        return;
      case 'PowerCycle':
        // IPMI's power cycle is refused (or ignored) by a server that is off; power it on then.
        if ((await this.powerState()) === 'Off') await this.run(['chassis', 'power', 'on']);
        else await this.run(['chassis', 'power', 'cycle']);
        return;
      default:
        throw unreachable(action);
    }
  }

  async setOneTimeBoot(device: BootDevice): Promise<void> {
    const dev = device === 'Cd' ? 'cdrom' : device === 'Pxe' ? 'pxe' : 'disk';
    // Without `persistent` ipmitool sets the boot flags valid for the next boot only.
    const command = ['chassis', 'bootdev', dev, ...(this.o.efiBoot ? ['options=efiboot'] : [])];
    const out = await this.run(command);
    // ipmitool 1.8.19 exits 0 even when the BMC refuses the boot flags; it prints this line
    // only when they were set (lib/ipmi_chassis.c; docs/upstream-facts.md#ipmitool.bootdev).
    if (!/Set Boot Device to/.test(out)) {
      throw this.failed(
        `ipmitool ${command.join(' ')}: the BMC did not take the boot device (${this.lastStderr.trim() || 'no confirmation'}).`,
      );
    }
  }

  insertMedia(_imageUrl: string): Promise<void> {
    return Promise.reject(
      new UstartError(
        'BmcUnsupported',
        `the BMC ${this.address} is reached over IPMI, which has no virtual media. Set its protocol to redfish in the plan (servers[].bmc.protocol) if it speaks Redfish, or boot it from PXE.`,
        { detail: { address: this.address } },
      ),
    );
  }

  ejectMedia(): Promise<void> {
    return this.insertMedia('');
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private run(command: string[]): Promise<string> {
    const args = [
      '-I',
      'lanplus',
      '-H',
      this.o.address,
      '-p',
      String(this.o.port ?? 623),
      '-U',
      this.o.login.username,
      '-E',
      ...(this.o.cipherSuite !== undefined ? ['-C', String(this.o.cipherSuite)] : []),
      // One try per second for 3 s (ipmitool's defaults are 2 tries, 2 s): a dead BMC is told soon.
      '-R',
      '3',
      '-N',
      '1',
      ...command,
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, IPMI_PASSWORD: this.o.login.password };
    delete env.IPMITOOL_PASSWORD;
    return new Promise((resolve, reject) => {
      execFile(
        this.o.ipmitool ?? 'ipmitool',
        args,
        { env, timeout: this.o.timeoutMs ?? 30_000, encoding: 'utf8' },
        (err, stdout, stderr) => {
          this.lastStderr = stderr;
          if (!err) return resolve(stdout);
          const why = (stderr || stdout || err.message).trim().split('\n').slice(-2).join(' ');
          const e = err as NodeJS.ErrnoException;
          if (e.code === 'ENOENT') {
            return reject(
              new UstartError(
                'BmcUnsupported',
                `ipmitool is not installed, so the BMC ${this.address} cannot be reached over IPMI: install it (Debian/Ubuntu: apt-get install ipmitool).`,
                { cause: err },
              ),
            );
          }
          const unreachable =
            /Unable to establish|Get Auth Capabilities error|Error: Unable to establish IPMI/i.test(
              why,
            );
          const auth = /RAKP|password|Unauthorized name|Invalid user/i.test(why);
          reject(
            auth
              ? new UstartError(
                  'AuthFailed',
                  `the BMC ${this.address} refused the IPMI login of ${this.o.login.username} (${why}). Check the BMC user and password.`,
                  { cause: err, detail: { address: this.address } },
                )
              : new UstartError(
                  'BmcFailed',
                  `the BMC ${this.address} (IPMI): ipmitool ${command.join(' ')} failed: ${why}`,
                  {
                    cause: err,
                    detail: {
                      address: this.address,
                      ...(unreachable ? { unreachable: true } : {}),
                    },
                  },
                ),
          );
        },
      );
    });
  }

  private failed(what: string): UstartError {
    return new UstartError('BmcFailed', `the BMC ${this.address} (IPMI): ${what}`, {
      detail: { address: this.address },
    });
  }
}

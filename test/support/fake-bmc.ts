/**
 * A BMC double for OS-install tests (src/osinstall): it records every call, and on power-on
 * plays the installer over the real InstallServer: it fetches the inserted ISO by its URL
 * (a byte range, as BMCs read CD images) and reports the host key to the URL the rendered
 * late command holds, as the installed system's late command does.
 */
import type { Bmc, BootDevice, PowerAction } from '../../src/bmc/types.js';

export class FakeBmc implements Bmc {
  calls: string[] = [];
  media?: string;
  /**
   * @param late the rendered late command of this server (from the ISO build)
   * @param hostKey the base64 ed25519 key blob the "installer" reports
   * @param onPower what else power-on does (the installed system coming up)
   */
  constructor(
    readonly address: string,
    private readonly late: () => string,
    private readonly hostKey: string,
    private readonly onPower: () => Promise<void> = () => Promise.resolve(),
  ) {}
  powerState() {
    this.calls.push('powerState');
    return Promise.resolve('On' as const);
  }
  async power(a: PowerAction) {
    this.calls.push(`power ${a}`);
    const iso = await fetch(this.media!, { headers: { range: 'bytes=0-3' } });
    this.calls.push(`iso ${iso.status} ${await iso.text()}`);
    await this.onPower();
    const url = /wget -q -O \/dev\/null "([^"?]+)\?/.exec(this.late())![1]!;
    const r = await fetch(`${url}?type=ssh-ed25519&key=${encodeURIComponent(this.hostKey)}`);
    this.calls.push(`report ${r.status}`);
  }
  setOneTimeBoot(d: BootDevice) {
    this.calls.push(`boot ${d}`);
    return Promise.resolve();
  }
  insertMedia(url: string) {
    this.media = url;
    this.calls.push('insert');
    return Promise.resolve();
  }
  ejectMedia() {
    this.calls.push('eject');
    return Promise.resolve();
  }
  close() {
    this.calls.push('close');
    return Promise.resolve();
  }
}

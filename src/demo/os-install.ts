/**
 * The runbook's `os-install` phase in the demo: the demo's hosts are simulated machines that
 * already run an OS, so each answers on SSH and the phase is skipped on it, as a real run
 * skips an installed server. The check is the real SSH probe (src/osinstall/ssh-probe.ts)
 * against the demo lab's listener of that host; only a refused connection would mean "no
 * OS", and the demo installs none: its `run` fails saying so. An unreachable demo host
 * (`--unreachable`) neither answers nor refuses, so its check fails with the reason, as the
 * real action refuses such a server.
 */
import type { HostlessAction } from '../engine/types.js';
import { UstartError } from '../errors.js';
import { sshProbe, type SshProbe } from '../osinstall/ssh-probe.js';
import type { DemoLab } from './lab.js';

export function demoOsInstall(
  lab: Pick<DemoLab, 'targets'>,
  probe: (address: string, port: number) => Promise<SshProbe> = sshProbe,
): HostlessAction {
  return {
    async check({ host, log }) {
      const target = lab.targets.get(host);
      if (!target) throw new UstartError('InvalidArgument', `${host} is not a demo host`);
      const seen = await probe(target.address, target.port);
      log(`# os-install (demo): SSH at ${target.address}:${target.port}: ${seen}`);
      if (seen === 'answers') return true;
      if (seen === 'unknown') {
        throw new UstartError(
          'Unsupported',
          `SSH at ${target.address}:${target.port} neither answered nor refused the connection, so an OS may be installed; the OS install refuses such a server`,
        );
      }
      return false;
    },
    run({ host }) {
      return Promise.reject(
        new UstartError(
          'Unsupported',
          `${host}: the demo installs no OS; its hosts are simulated and have one`,
        ),
      );
    },
  };
}

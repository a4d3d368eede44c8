/**
 * The runbook's `os-install` phase (docs/bare-metal.md, "As the runbook's first phase") when
 * the app runs it. Against the demo lab its hosts answer on SSH and the phase is skipped
 * (src/demo/os-install.ts). For a real site it takes the inputs the Install page gives
 * (`RunOptions.osInstall`: mirror, this machine's address, the consultant's public keys, BMC
 * user and port, servers confirmed for a reinstall, whether the installers' reported host keys
 * are accepted), the same as `ustart run --phase os-install`, and the BMC logins from the
 * same places as discovery: the credentials file or environment of the core, else the secret
 * dialog (`secret:needed` for host `bmc:<address>`). BMC certificates are the pins of
 * `bmc_certificates` (the CLI's file; Hardware → Discover from BMCs trusts a new one); an
 * unknown one fails that server naming its fingerprint. A reported host key is recorded in
 * uStart's known_hosts only once SSH at the server presents exactly it.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { RunOptions } from '../api/run-contract.js';
import { BmcCertificates, bmcCertificatesFile } from '../bmc/certificates.js';
import { loadBmcCredentials } from '../bmc/credentials.js';
import { bmcOpener } from '../bmc/index.js';
import { demoOsInstall } from '../demo/os-install.js';
import { bindLocalActions, type StepSpec } from '../engine/index.js';
import { UstartError } from '../errors.js';
import { authorizedKeyLines, osInstallDeps, type OsInstallHooks } from '../osinstall/deps.js';
import { osInstallStep, type OsInstallStepOptions } from '../osinstall/os-install-step.js';
import type { Plan } from '../plan/index.js';
import type { HostTarget } from '../ssh/transport.js';
import type { Access } from './access.js';

/** The local action's name in the runbook (src/runbook/local-actions.ts). */
const ACTION = 'os-install';

export interface BoundOsInstall {
  steps: StepSpec[];
  /** Stops what the phase left running (its HTTP server); call at the run's end. */
  close(): Promise<void>;
}

const nothing = () => Promise.resolve();

/**
 * `steps` with the os-install action bound (unchanged when the graph has none). Throws before
 * anything starts when a real site's run lacks the inputs, naming them.
 */
export async function bindOsInstallInApp(
  steps: StepSpec[],
  o: {
    plan: Plan;
    planFile: string;
    demo: boolean;
    hosts: ReadonlyMap<string, HostTarget>;
    inputs: RunOptions['osInstall'];
    access: Access;
    hooks?: OsInstallHooks;
  },
): Promise<BoundOsInstall> {
  if (!steps.some((s) => s.localAction === ACTION)) return { steps, close: nothing };
  if (o.demo) {
    return {
      steps: bindLocalActions(steps, { [ACTION]: demoOsInstall({ targets: o.hosts }) }),
      close: nothing,
    };
  }
  const inputs = o.inputs;
  if (!inputs) {
    throw new UstartError(
      'InvalidArgument',
      "the OS install (phase os-install) installs the servers through their BMCs and needs what the plan does not hold: give the Debian mirror, this machine's address as the BMCs reach it and the consultant's public key under Install → OS install, then start the run again (or resume it: a resume after uStart restarted needs them given again).",
    );
  }
  const keys = authorizedKeyLines(inputs.authorizedKeys, 'the public key field');
  if (keys.length === 0) {
    throw new UstartError(
      'InvalidArgument',
      "the public key field holds no key: paste the consultant's .pub line (ssh-ed25519 AAAA…)",
    );
  }
  const stateDir = o.access.stateDir;
  const opener =
    o.hooks?.openBmc ??
    bmcOpener({
      credentials: await loadBmcCredentials({
        ...(inputs.bmcUser ? { user: inputs.bmcUser } : {}),
        ask: o.access.secrets,
      }),
      certificates: new BmcCertificates(bmcCertificatesFile(stateDir)),
      redfishPort: inputs.bmcPort ?? 443,
    });
  const options: OsInstallStepOptions = {
    mirrorUrl: inputs.mirrorUrl,
    authorizedKeys: keys,
    advertise: inputs.advertise,
    // One folder per plan in the state folder: ISOs are rebuilt per run, never shared.
    workDir: join(
      stateDir,
      'os-install',
      createHash('sha256').update(o.planFile).digest('hex').slice(0, 16),
    ),
    sshConfig: await o.access.sshConfig(),
    ...(inputs.port !== undefined ? { port: inputs.port } : {}),
    ...(inputs.confirmReinstall?.length ? { confirmReinstall: inputs.confirmReinstall } : {}),
  };
  const action = osInstallStep(
    o.plan,
    options,
    osInstallDeps({
      openBmc: opener,
      known: o.access.knownHosts,
      ...(o.hooks?.sshProbe ? { sshProbe: o.hooks.sshProbe } : {}),
      ...(o.hooks?.buildIso ? { buildIso: o.hooks.buildIso } : {}),
      // The fingerprint is in the server's log before this is asked; the page's checkbox is
      // the consultant's answer for this run.
      acceptHostKey: () => Promise.resolve(inputs.acceptReportedHostKeys === true),
    }),
  );
  return {
    steps: bindLocalActions(steps, { [ACTION]: action }),
    close: () => action.close(),
  };
}

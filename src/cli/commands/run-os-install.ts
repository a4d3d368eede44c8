/**
 * The inputs of the runbook's `os-install` phase for `ustart run --phase os-install`: what
 * the plan does not hold (the mirror, this machine's address, the consultant's public keys,
 * the BMC logins, the servers confirmed for a reinstall), under the same option names as
 * `ustart os-install`. A run whose steps include the local action `os-install` is refused
 * before anything starts when one is missing; a run of other phases needs none of them.
 *
 * The host key an installer reports is accepted the way the run accepts an unknown SSH host
 * key: with `--accept-new-host-keys` (then it is printed and accepted), else the consultant
 * is asked on the terminal (y/N); without a terminal it is not accepted and the host-step
 * fails saying so. BMC passwords come from the BMC credentials file, the environment or a
 * terminal prompt (src/bmc/credentials.ts): never from the command line, never logged.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { bindLocalActions, type StepSpec } from '../../engine/index.js';
import { UstartError } from '../../errors.js';
import { osInstallStep, type OsInstallStep } from '../../osinstall/os-install-step.js';
import type { Plan } from '../../plan/index.js';
import { SshConfig } from '../../ssh/targets.js';
import { wholeNumber } from '../options.js';
import type { Output } from '../output.js';
import type { RunDisplay } from '../run-display.js';
import { bmcOpener, type BmcOpts, withBmcOptions } from './bmc-options.js';
import { osInstallDeps, type OsInstallHooks } from '../../osinstall/deps.js';
import { PromptQueue, readAuthorizedKeys, ustartKnownHosts } from './os-install.js';

export interface OsInstallRunOpts extends BmcOpts {
  mirror?: string;
  authorizedKey?: string[];
  advertise?: string;
  port?: string;
  batch?: string;
  confirmReinstall?: string[];
  workDir?: string;
  acceptNewHostKeys?: boolean;
}

export type { OsInstallHooks };

/** The local action's name in the runbook (src/runbook/local-actions.ts). */
const ACTION = 'os-install';

/** Adds the os-install phase's options to `ustart run` (all optional there). */
export function withOsInstallRunOptions(command: Command): Command {
  command
    .option(
      '--mirror <url>',
      'with --phase os-install: Debian mirror with bookworm and the installer udebs',
    )
    .option(
      '--authorized-key <file...>',
      'with --phase os-install: OpenSSH public key file(s) (.pub) for the SSH user',
    )
    .option(
      '--advertise <address>',
      "with --phase os-install: this machine's address as the BMCs and servers reach it",
    )
    .option('--port <n>', 'with --phase os-install: HTTP port for the ISOs (default: any free)')
    .option('--batch <n>', 'with --phase os-install: servers installed at once (default 4)')
    .option(
      '--confirm-reinstall <host...>',
      'with --phase os-install: reinstall these servers though they answer on SSH (erases their OS disks)',
    )
    .option(
      '--work-dir <dir>',
      'with --phase os-install: where the ISOs are built (default ./ustart-os-install)',
    );
  return withBmcOptions(command);
}

/** Whether a run of `steps` installs the OS (its graph has the local action). */
export function installsOs(steps: readonly StepSpec[]): boolean {
  return steps.some((s) => s.localAction === ACTION);
}

/**
 * Checks the inputs and binds the `os-install` steps of `steps` to the action; returns the
 * graph and the action (to `close` at the run's end). Throws InvalidArgument naming every
 * missing option before anything starts. `steps` without the action come back unchanged.
 */
export async function bindOsInstall(
  steps: readonly StepSpec[],
  plan: Plan,
  opts: OsInstallRunOpts,
  out: Output,
  view: Pick<RunDisplay, 'suspend'>,
  hooks: OsInstallHooks = {},
): Promise<{ steps: StepSpec[]; action?: OsInstallStep; prompts?: PromptQueue }> {
  if (!installsOs(steps)) return { steps: [...steps] };
  const missing = [
    opts.mirror === undefined && '--mirror URL',
    !opts.authorizedKey?.length && '--authorized-key FILE.pub',
    opts.advertise === undefined && '--advertise ADDRESS',
  ].filter((m): m is string => typeof m === 'string');
  const env = process.env;
  if (
    !hooks.openBmc &&
    !opts.bmcAuthFile &&
    !opts.bmcUser &&
    !env.USTART_BMC_AUTH_FILE &&
    !env.USTART_BMC_USERNAME
  ) {
    missing.push('--bmc-auth-file FILE or --bmc-user USER (the BMC logins)');
  }
  if (missing.length) {
    throw new UstartError(
      'InvalidArgument',
      `the os-install phase installs the servers through their BMCs and needs what the plan does not hold: ${missing.join(', ')}. Example: ustart run PLAN --phase os-install --mirror http://deb.debian.org/debian --authorized-key ~/.ssh/id_ed25519.pub --advertise 10.10.0.250 --bmc-auth-file bmc-logins (docs/bare-metal.md).`,
    );
  }
  const batch = wholeNumber('--batch', opts.batch ?? '4', 1);
  const port = opts.port === undefined ? undefined : wholeNumber('--port', opts.port, 1, 65535);
  const keys = await readAuthorizedKeys(opts.authorizedKey!);
  const prompts = new PromptQueue(process.stdin, process.stderr);
  const action = osInstallStep(
    plan,
    {
      mirrorUrl: opts.mirror!,
      authorizedKeys: keys,
      advertise: opts.advertise!,
      workDir: resolve(opts.workDir ?? join(process.cwd(), 'ustart-os-install')),
      sshConfig: await SshConfig.load(),
      ...(port !== undefined ? { port } : {}),
      ...(opts.confirmReinstall ? { confirmReinstall: opts.confirmReinstall } : {}),
    },
    osInstallDeps({
      openBmc: hooks.openBmc ?? (await bmcOpener(opts, out, view)),
      ...(hooks.sshProbe ? { sshProbe: hooks.sshProbe } : {}),
      ...(hooks.buildIso ? { buildIso: hooks.buildIso } : {}),
      known: await ustartKnownHosts(out),
      acceptHostKey: async (host, key, fp) => {
        if (opts.acceptNewHostKeys) return true;
        if (!process.stdin.isTTY) {
          out.stderr(
            `ustart: ${host}: the installer reports the SSH host key ${key.type} ${fp}; not accepted: there is no terminal to ask on. Check it on the server's console, then run again with --accept-new-host-keys.\n`,
          );
          return false;
        }
        const resume = view.suspend();
        try {
          const answer = await prompts
            .ask(
              `${host}: the installer reports the SSH host key ${key.type} ${fp}; accept it? [y/N] `,
            )
            .catch(() => '');
          return /^y(es)?$/i.test(answer.trim());
        } finally {
          resume();
        }
      },
    }),
  );
  const bound = bindLocalActions(steps, { [ACTION]: action }).map((s) =>
    s.localAction === ACTION ? { ...s, parallelism: batch } : s,
  );
  return { steps: bound, action, prompts };
}

/**
 * `umetal.os-install` as the runbook's first phase: the local action `os-install`
 * (src/runbook/local-actions.ts) bound to its functions for the engine (StepSpec.hostless).
 * One host-step per server, no SSH connection opened by the engine:
 *
 * - `check` decides for that one server as `ustart os-install` does (decideServer): a server
 *   that answers on SSH is done (skipped); only one whose SSH port refuses has no OS; one
 *   whose probe is uncertain, or that ~/.ssh/config reaches another way, or that the plan
 *   cannot install, fails with the reason and is never installed. `--confirm-reinstall HOST`
 *   turns an answering server into a reinstall.
 * - `run` decides again and installs that server (installServer), with its stages as lines
 *   of the host-step's log. The parallel host-steps share one InstallServer (HTTP), started
 *   by the first install and stopped when the last in flight ends; `close` stops it at the
 *   run's end.
 */
import type { HostlessAction, HostlessContext } from '../engine/types.js';
import { UstartError } from '../errors.js';
import type { Plan } from '../plan/index.js';
import {
  SharedInstallServer,
  checkOsInstallPlan,
  decideServer,
  installServer,
  type OsInstallDecision,
  type OsInstallDeps,
  type OsInstallOptions,
} from './os-install.js';

/** What the action needs besides the plan: the run inputs (servers come from the step). */
export type OsInstallStepOptions = Omit<
  OsInstallOptions,
  'servers' | 'dryRun' | 'batchSize' | 'onEvent' | 'signal'
>;

export interface OsInstallStep extends HostlessAction {
  /** Stops the shared InstallServer if an install left it running; call at the run's end. */
  close(): Promise<void>;
  /** The shared HTTP server (tests look whether it runs). */
  readonly http: SharedInstallServer;
}

/**
 * The action for a run of `plan`. Throws before anything starts when a `confirmReinstall`
 * name is no server of the plan, or the plan reaches its servers through a jump host.
 */
export function osInstallStep(
  plan: Plan,
  opts: OsInstallStepOptions,
  deps: OsInstallDeps,
): OsInstallStep {
  checkOsInstallPlan(plan, opts);
  const http = new SharedInstallServer(opts);
  /**
   * Servers whose installer reported its host key in this run: installed, or rebooting into
   * the new system. A retry or resume in the same run must never install them again because
   * their SSH port refuses while they reboot.
   */
  const reported = new Set<string>();
  const decide = async ({ host, log }: HostlessContext): Promise<OsInstallDecision> => {
    const server = plan.servers.find((s) => s.hostname === host);
    if (!server) throw new UstartError('InvalidArgument', `${host} is no server of the plan`);
    const d = await decideServer(plan, server, opts, deps);
    log(`# os-install: ${d.action}: ${d.reason}`);
    if (reported.has(host) && (d.action === 'install' || d.action === 'reinstall')) {
      throw new UstartError(
        'Unsupported',
        `${host}: its installer already ran in this run and reported its host key; it is installed or still rebooting. Nothing was done to it: once it answers on SSH this step skips it (or Connect offers its key).`,
      );
    }
    return d;
  };
  return {
    http,
    async check(context) {
      const d = await decide(context);
      if (d.action === 'refuse') throw new UstartError('Unsupported', d.reason);
      return d.action === 'skip';
    },
    async run(context) {
      const d = await decide(context);
      if (d.action === 'refuse') throw new UstartError('Unsupported', d.reason);
      if (d.action === 'skip') {
        throw new UstartError(
          'Unsupported',
          `${d.reason}; it refused SSH when the step began, so an OS may have been installed since. Nothing was done to it.`,
        );
      }
      await installServer(plan, d, { ...opts, signal: context.signal }, deps, http, (e) => {
        if (e.stage === 'host-key') reported.add(context.host);
        context.log(`${e.stage}: ${e.message}`);
      });
    },
    close: () => http.close(),
  };
}

/**
 * The handlers of Connect, Install, live logs and Terminals (src/api/run-contract.ts),
 * built from the run, connect and shell services; createCore spreads them into its table.
 */
import type { FrontEvents, Handlers } from '../api/index.js';
import { collectLogBundle } from '../logbundle/index.js';
import type { HostRoute } from '../engine/plan-targets.js';
import { Access, type SecretVault } from './access.js';
import { ConnectService } from './connect.js';
import { RunService, type RunServiceOptions, type RunStepSource } from './runs.js';
import { ShellService, type LocalTerminals } from './shells.js';
import type { runRequests } from '../api/run-contract.js';

export interface HostPagesOptions {
  events: FrontEvents;
  stateDir: string;
  resolvePath(file: string): string;
  /** The OS keychain (Electron safeStorage); absent: secrets for this session only. */
  vault?: SecretVault;
  /** Terminals on this computer (Electron, node-pty). */
  localTerminals?: LocalTerminals;
  /** Where runs get their steps (default: the runbook). */
  stepSource?: RunStepSource;
  /** Read-only known_hosts files besides uStart's own (default ~/.ssh/known_hosts). */
  readOnlyKnownHosts?: string[];
  /** ~/.ssh/config or another; null reads none. */
  sshConfigFile?: string | null;
  /** Cluster lock on the first controller (default true). */
  clusterLock?: boolean;
  retryDelayMs?: (attempt: number) => number;
  /** Drop a run attachment unacknowledged this long (default 20 s). */
  leaseMs?: number;
  /** Back-pressure window of runs (RunServiceOptions.flow). */
  flow?: RunServiceOptions['flow'];
  /** The transport of runs (tests: a local one); default Ssh2Transport per access settings. */
  runTransport?: RunServiceOptions['transport'];
  /** Plans whose hosts are reached another way (the demo lab, src/demo). */
  route?: HostRoute;
  /** Tests: a fake BMC, SSH probe and ISO build for the os-install phase. */
  osInstallHooks?: RunServiceOptions['osInstallHooks'];
}

export type HostPagesHandlers = Pick<Handlers, keyof typeof runRequests>;

export interface HostPages {
  readonly handlers: HostPagesHandlers;
  readonly runs: RunService;
  /** How the laptop reaches the plan's hosts (also the install summary's, ./handover.ts). */
  readonly access: Access;
  dispose(): Promise<void>;
}

export function createHostPages(o: HostPagesOptions): HostPages {
  const access = new Access({
    stateDir: o.stateDir,
    events: o.events,
    ...(o.vault ? { vault: o.vault } : {}),
    ...(o.readOnlyKnownHosts ? { readOnlyKnownHosts: o.readOnlyKnownHosts } : {}),
    ...(o.sshConfigFile !== undefined ? { sshConfigFile: o.sshConfigFile } : {}),
    ...(o.route ? { route: o.route } : {}),
  });
  const runs = new RunService({
    events: o.events,
    access,
    resolvePath: o.resolvePath,
    ...(o.stepSource ? { stepSource: o.stepSource } : {}),
    ...(o.clusterLock !== undefined ? { clusterLock: o.clusterLock } : {}),
    ...(o.retryDelayMs ? { retryDelayMs: o.retryDelayMs } : {}),
    ...(o.leaseMs ? { leaseMs: o.leaseMs } : {}),
    ...(o.flow ? { flow: o.flow } : {}),
    ...(o.runTransport ? { transport: o.runTransport } : {}),
    ...(o.osInstallHooks ? { osInstallHooks: o.osInstallHooks } : {}),
  });
  const connect = new ConnectService(access, runs, o.resolvePath);
  const shells = new ShellService(o.events, access, runs, o.resolvePath, o.localTerminals);
  const planOf = async (planFile: string) => {
    const abs = o.resolvePath(planFile);
    return { abs, plan: (await runs.loadPlan(abs)).plan };
  };

  const handlers: HostPagesHandlers = {
    'access:get': async ({ planFile }) => {
      const { abs, plan } = await planOf(planFile);
      return { settings: await access.settings(abs, plan), secrets: access.secrets.info() };
    },
    'access:set': async ({ planFile, settings }) => {
      await access.save(o.resolvePath(planFile), settings);
      return {};
    },
    'secret:provide': async ({ ref, value, remember, requestId }) => ({
      stored: await access.secrets.provide(ref, value, remember, requestId),
    }),
    'secret:forget': async () => {
      await access.secrets.forget();
      return {};
    },
    'connect:check': async ({ planFile, hosts }) => ({
      hosts: await connect.check(planFile, hosts),
    }),
    'connect:host-key': ({ planFile, host, fingerprint, decision }) => {
      connect.hostKey(planFile, host, fingerprint, decision);
      return {};
    },
    'connect:gather': ({ planFile, hosts }) => connect.gather(planFile, hosts),
    'run:steps': async ({ planFile, phases }) => ({ steps: await runs.steps(planFile, phases) }),
    'run:start': (input) => runs.start(input),
    'run:resume': (input) => runs.resume(input),
    'run:cancel': ({ runId }) => {
      runs.cancel(runId);
      return {};
    },
    'run:decide': ({ runId, stepId, decision }) => {
      runs.decide(runId, stepId, decision);
      return {};
    },
    'run:retry': ({ planFile, runId, stepId, host }) => runs.retry(planFile, runId, stepId, host),
    'run:skip': ({ planFile, runId, stepId, reason }) => runs.skip(planFile, runId, stepId, reason),
    'run:list': async ({ planFile }) => ({ runs: await runs.list(planFile) }),
    'run:get': ({ planFile, runId }) => runs.get(planFile, runId),
    'run:step-preview': ({ runId, stepId }) => runs.preview(runId, stepId),
    'run:attach': ({ runId, sinceSeq, epoch }) => runs.attach(runId, sinceSeq, epoch),
    'run:ack': ({ attachId, chars }) => {
      runs.ack(attachId, chars);
      return {};
    },
    'run:detach': ({ attachId }) => {
      runs.detach(attachId);
      return {};
    },
    'run:log': (input) => runs.log(input),
    'logs:collect': async ({ planFile, runId, out, hostLogs }) => {
      const { abs, plan } = await planOf(planFile);
      // The targets and the transport come from the same place (the access settings, or
      // the demo lab for the demo plan): the key the consultant chose is in the targets.
      const targets = hostLogs ? await access.targets(abs, plan) : undefined;
      const transport = hostLogs ? await access.transport(abs, plan) : undefined;
      try {
        const result = await collectLogBundle(runId, o.resolvePath(out), {
          planFile: abs,
          ...(transport && targets ? { transport, targets } : {}),
          secrets: { values: async () => access.secrets.values() },
        });
        return { out: result.out, bytes: result.bytes };
      } finally {
        await transport?.dispose();
      }
    },
    'shell:open': async ({ planFile, host, cols, rows }) => ({
      shellId: await shells.open(planFile, host, cols, rows),
    }),
    'shell:open-local': async ({ cols, rows }) => ({ shellId: await shells.openLocal(cols, rows) }),
    'shell:write': ({ shellId, data }) => {
      shells.write(shellId, data);
      return {};
    },
    'shell:resize': ({ shellId, cols, rows }) => {
      shells.resize(shellId, cols, rows);
      return {};
    },
    'shell:ack': ({ shellId, chars }) => {
      shells.ack(shellId, chars);
      return {};
    },
    'shell:close': async ({ shellId }) => {
      await shells.close(shellId);
      return {};
    },
  };

  return {
    handlers,
    runs,
    access,
    async dispose() {
      await shells.dispose();
      await runs.dispose();
      access.dispose();
    },
  };
}

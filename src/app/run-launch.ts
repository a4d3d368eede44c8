/**
 * The one run launcher (issue 19): the desktop app and browser mode (RunService), the CLI
 * (`ustart run`, `ustart logs collect`) and the demo (`ustart demo`) start runs and open
 * the consultant's SSH transport here, the way every k0sctl command goes through its one
 * Manager. A front decides what to ask and how to show it; how a plan becomes a running
 * engine (its targets, the cluster lock on the first controller, the plan kept with the
 * run) is written once.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  RunEngine,
  defaultRunsDir,
  type EngineOptions,
  type RunStreamOptions,
} from '../engine/index.js';
import { firstController, resolverFromPlan, targetFromPlan } from '../engine/plan-targets.js';
import type { Plan } from '../plan/schema.js';
import type { CredentialStore } from '../ssh/credentials.js';
import { KnownHosts } from '../ssh/known-hosts.js';
import { Ssh2Transport } from '../ssh/ssh2-transport.js';
import { SshConfig } from '../ssh/ssh-config.js';
import type { HostTarget, Transport } from '../ssh/transport.js';
import { openStateDir } from './state-dir.js';

/** What a front says of a run; the engine's own options where they are the same. */
export interface LaunchOptions extends Pick<
  EngineOptions,
  | 'transport'
  | 'steps'
  | 'hosts'
  | 'signal'
  | 'stepByStep'
  | 'pauseOnFailure'
  | 'onlySteps'
  | 'onlyHosts'
  | 'resume'
  | 'rerun'
  | 'skip'
  | 'secrets'
  | 'retryDelayMs'
  | 'demo'
> {
  plan: Plan;
  /** The plan's file; kept with the run (`plan.yaml`) as `planText`. */
  planFile: string;
  planText: string;
  /** Where runs are kept (default `.ustart/runs` beside the plan). */
  runsDir?: string;
  /** The cluster lock on the first controller (default taken); `takeOver` a stale one. */
  clusterLock?: boolean | { takeOver?: boolean };
  events?: RunStreamOptions;
}

/** An engine for this plan's run; `run()` starts it. */
export function launchRun(o: LaunchOptions): RunEngine {
  const first = firstController(o.plan);
  const lock = o.clusterLock ?? true;
  return new RunEngine({
    transport: o.transport,
    runsDir: o.runsDir ?? defaultRunsDir(o.planFile),
    steps: o.steps,
    hosts: o.hosts,
    resolveTargets: resolverFromPlan(o.plan),
    planFile: resolve(o.planFile),
    planText: o.planText,
    ...(o.demo ? { demo: true } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.stepByStep !== undefined ? { stepByStep: o.stepByStep } : {}),
    ...(o.pauseOnFailure !== undefined ? { pauseOnFailure: o.pauseOnFailure } : {}),
    ...(o.onlySteps ? { onlySteps: o.onlySteps } : {}),
    ...(o.onlyHosts ? { onlyHosts: o.onlyHosts } : {}),
    ...(o.resume ? { resume: o.resume } : {}),
    ...(o.rerun ? { rerun: o.rerun } : {}),
    ...(o.skip ? { skip: o.skip } : {}),
    clusterLock:
      lock && first
        ? { host: first, ...(typeof lock === 'object' && lock.takeOver ? { takeOver: true } : {}) }
        : false,
    ...(o.secrets ? { secrets: o.secrets } : {}),
    ...(o.retryDelayMs ? { retryDelayMs: o.retryDelayMs } : {}),
    ...(o.events ? { events: o.events } : {}),
  });
}

/** Every planned host's SSH target, with the consultant's ~/.ssh/config applied. */
export async function planTargets(plan: Plan): Promise<Map<string, HostTarget>> {
  const config = await SshConfig.load();
  return new Map(plan.servers.map((s) => [s.hostname, targetFromPlan(plan, s, config)]));
}

export interface TerminalTransportOptions {
  /** Where a warning about the state folder goes. */
  warn(message: string): void;
  /** Record host keys seen for the first time (a changed key is always refused). */
  acceptNewHostKeys?: boolean;
  /** Asks passphrases and passwords; none asked when absent. */
  credentials?: CredentialStore;
  /** Private key files to log in with. */
  identityFiles?: readonly string[];
  /** Extra known_hosts files to trust, read only. */
  knownHosts?: readonly string[];
}

/**
 * The SSH transport of a command run from a terminal: uStart's own known_hosts (in its
 * state folder) plus ~/.ssh/known_hosts and the files given, read only. The caller disposes
 * of it.
 */
export async function terminalTransport(o: TerminalTransportOptions): Promise<Transport> {
  const stateDir = await openStateDir({ warn: o.warn });
  return new Ssh2Transport({
    knownHosts: new KnownHosts(join(stateDir, 'known_hosts'), [
      join(homedir(), '.ssh', 'known_hosts'),
      ...(o.knownHosts ?? []).map((f) => resolve(f)),
    ]),
    ...(o.acceptNewHostKeys !== undefined ? { acceptNewHostKeys: o.acceptNewHostKeys } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
    ...(o.identityFiles ? { identityFiles: o.identityFiles.map((f) => resolve(f)) } : {}),
  });
}

/**
 * The run engine's public types: the step graph it takes, the states it reports and the
 * events it emits. The runbook (src/runbook) produces `StepSpec`s; the fronts consume
 * `RunEvent`s. Both are plain data, so they cross IPC and WebSocket unchanged.
 */

import { HostStateName, type EngineRunEvent, type RunStateName } from '../api/run-events.js';
import type { HostConnection, HostTarget, Transport } from '../ssh/transport.js';

/** Which hosts a step runs on. Host names are the plan's `servers[].hostname`. */
export type StepTargets =
  readonly string[] | { readonly roles: readonly string[] } | 'first-controller' | 'all';

/** A file the engine puts on the step's target hosts (or some of them) before `run`. */
export interface StepUpload {
  /**
   * The hosts that get this file; every target host when absent. A host's own configuration
   * (its env file, its rendered files) goes to that host only.
   */
  hosts?: readonly string[];
  /** The file's bytes or text; exactly one of `content` and `source` is given. */
  content?: string | Uint8Array;
  /** A local file to upload. */
  source?: string;
  /** Absolute destination path on the host. */
  path: string;
  /** File mode, such as 0o755. */
  mode?: number;
  /** `user:group` at the destination. */
  owner?: string;
}

export type TimeoutMode = 'soft' | 'hard';

/** A file a step produces for later steps; `name` is what consumers list in `inputs`. */
export interface StepOutputSpec {
  /** Lower-case letters, digits and `-`. */
  name: string;
  /** Absolute path on the producing host. */
  path: string;
}

/** The shell variable an input arrives in: `join-token` → `USTART_IN_JOIN_TOKEN`. */
export function inputVariable(name: string): string {
  return `USTART_IN_${name.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * What a step done from this machine (`StepSpec.local`) gets for one host: the engine's
 * connection to it (already open), and the transport and target to open more of its own.
 */
export interface LocalStepContext {
  host: string;
  target: HostTarget;
  transport: Transport;
  connection: HostConnection;
  /** Aborted when the run is cancelled or the consultant kills this host-step. */
  signal: AbortSignal;
  /** A line for the host-step's log, shown and kept like a command's output. */
  log(line: string): void;
}

/**
 * What a step done from this machine without any connection to the host
 * (`StepSpec.hostless`) gets for one host: the host has no SSH server yet (an OS install
 * through its BMC), so the engine opens none.
 */
export interface HostlessContext {
  host: string;
  /** Aborted when the run is cancelled, the consultant kills this host-step or a hard timeout ends. */
  signal: AbortSignal;
  /** A line for the host-step's log, shown and kept like a command's output. */
  log(line: string): void;
}

/** The functions of a host-less step; rebuilt by the step source for a resume. */
export interface HostlessAction {
  /** True: already done on this host, the host-step is skipped. Throws to fail (retried). */
  check?: (context: HostlessContext) => Promise<boolean>;
  /** Does the work; throws to fail the host-step (retried like a failed command). */
  run: (context: HostlessContext) => Promise<void>;
}

/** One step of a run: a command run on a set of hosts, after other steps. */
export interface StepSpec {
  /** Unique in the graph; used in file names (`logs/<id>/`), so letters, digits, `.`, `_`, `-`. */
  id: string;
  title: string;
  /** The phase the step belongs to, such as `umetal`; shown and used for grouping. */
  phase: string;
  description?: string;
  targets: StepTargets;
  /** Ids of steps that must have succeeded (or been skipped) before this one starts. */
  after?: readonly string[];
  /** At most this many hosts at once; all of them when absent. */
  parallelism?: number;
  /**
   * `soft`: warn (a `timeout-warning` event) and keep waiting, the consultant may kill it;
   * `hard`: kill the remote command and fail. Absent: no timeout.
   */
  timeout?: { ms: number; mode: TimeoutMode };
  /** Extra attempts after a failure (a non-zero exit, a hard timeout). Default 0. */
  retries?: number;
  /** A command whose exit 0 means "already done": the host-step is skipped. */
  check?: string;
  /** The command, run by the login shell of the host's user. */
  run: string;
  /**
   * Done from this machine instead of `run` (which then only describes it, for previews):
   * for work that streams local files to the host, such as the offline bundle's push. It runs
   * after `check` and `uploads`, like `run`; it throws to fail the host-step (retried like a
   * failed command). The function is not saved with the run: the step source builds it again
   * for a resume.
   */
  local?: (context: LocalStepContext) => Promise<void>;
  /**
   * The name of a built-in local action (a runbook step's `local:`, such as `os-install`):
   * saved with the run, so a resume knows which action to bind again. A front binds its
   * functions as `hostless` (`bindLocalActions`); a graph with a named action left unbound
   * does not start.
   */
  localAction?: string;
  /**
   * Done from this machine with no connection to the host at all (the host has no OS yet):
   * the engine never opens one for this step, so `check`, `run` (which only describes it),
   * `uploads`, `secrets`, `inputs`, `outputs` and `sudo` are not used. Its `check` and `run`
   * get a `HostlessContext`; retries, timeouts, kill, cancel and resume are those of any step.
   */
  hostless?: HostlessAction;
  uploads?: readonly StepUpload[];
  /** Non-secret variables set for `check` and `run`. */
  env?: Readonly<Record<string, string>>;
  /** Names of secrets (from the SecretSource) set as shell variables; fed on stdin, never argv. */
  secrets?: readonly string[];
  /**
   * Files the step leaves on its first host for later steps (docs/engine.md, "Outputs and
   * inputs"). After the step succeeds there, the engine reads each back (`base64 -w0`) and
   * keeps the value in memory only, as a secret: redacted everywhere, never written to disk.
   */
  outputs?: readonly StepOutputSpec[];
  /**
   * Names of outputs of earlier steps this step needs. Each arrives on stdin, like a secret,
   * as the shell variable `inputVariable(name)` (`USTART_IN_<NAME>`), holding the file in base64.
   */
  inputs?: readonly string[];
  /** Run through sudo (the transport feeds the password). */
  sudo?: boolean;
  /**
   * True when running the step twice does no harm. On resume, an interrupted host-step
   * without a `check` is run again only when idempotent; otherwise it ends `unknown` and
   * the consultant decides (`--rerun` or `--skip`).
   */
  idempotent?: boolean;
}

/** Host-step and step states, in the order the fronts list them. See docs/engine.md. */
export const STATES: readonly State[] = HostStateName.options;
export type State = HostStateName;

/** States in which a host-step's work is done and is never run again. */
export const DONE_STATES: ReadonlySet<State> = new Set(['succeeded', 'skipped']);
/** States that say the command may or may not have run: resume runs `check` first. */
export const INTERRUPTED_STATES: ReadonlySet<State> = new Set([
  'running',
  'unknown',
  'connection-lost',
]);

/** A run's state; `interrupted` is read from disk: no `run-finished` and no live owner. */
export type RunState = RunStateName;

export type Counts = Record<State, number>;

export function emptyCounts(): Counts {
  return Object.fromEntries(STATES.map((s) => [s, 0])) as Counts;
}

/*
 * The events, their steps and decisions are declared once, as zod schemas in
 * src/api/run-events.ts (Node-free), which the contract the fronts parse uses too.
 */
export type { PlannedStep, PauseReason, Decision } from '../api/run-events.js';

/**
 * What the engine emits (docs/engine.md, "Events"). `seq` increases by one with every event
 * of an engine instance; `time` is epoch milliseconds; a `log` event's `offset` is set when
 * the run's stream counts offsets (src/engine/run-stream.ts).
 */
export type RunEvent = EngineRunEvent;

export type RunEventType = RunEvent['type'];

/** Distributes Omit over a union, so each event keeps its own fields. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type NewEvent = DistributiveOmit<RunEvent, 'runId' | 'seq' | 'time'>;

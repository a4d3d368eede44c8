/** What a RunEngine is given and what it returns (re-exported by engine.ts). */
import type { HostTarget, Transport } from '../ssh/transport.js';
import type { Clock } from './clock.js';
import type { RunStreamOptions } from './run-stream.js';
import type { TargetResolver } from './graph.js';
import type { Counts, RunState, StepSpec } from './types.js';

/** Secrets the engine needs (named ones for steps) and must hide (all of them). */
export interface SecretSource {
  /** The value of a named secret a step asks for (`StepSpec.secrets`). */
  get(name: string): Promise<string | undefined>;
  /** Every secret value that must never reach a log, event or journal (a sudo password). */
  values(): Promise<readonly string[]>;
}

export interface EngineOptions {
  transport: Transport;
  /** The runs folder; a run lives in `<runsDir>/<runId>/`. */
  runsDir: string;
  steps: readonly StepSpec[];
  /** Every host a step may target, by plan host name. */
  hosts: ReadonlyMap<string, HostTarget>;
  resolveTargets: TargetResolver;
  planFile?: string;
  /** The plan as used, saved as `plan.yaml` in the run folder. */
  planText?: string;
  clock?: Clock;
  secrets?: SecretSource;
  signal?: AbortSignal;
  /** Pause before every step for a decision (`decide`). */
  stepByStep?: boolean;
  /** Pause after a step that did not succeed (retry, skip or stop); default: with stepByStep. */
  pauseOnFailure?: boolean;
  /** Run only these steps; their `after` on steps left out counts as met. */
  onlySteps?: readonly string[];
  /** Run only on these hosts. */
  onlyHosts?: readonly string[];
  /** Continue this run (its id): done host-steps are not run again. */
  resume?: string;
  /** `step` or `step@host`: run again even when interrupted without a check (resume). */
  rerun?: readonly string[];
  /** Steps to skip, each with the reason that goes into the journal. */
  skip?: readonly { step: string; reason: string }[];
  /** The cluster lock on `host` (the first controller); false to go without. */
  clusterLock?: false | { host: string; path?: string; takeOver?: boolean; sudo?: boolean };
  /** Back-off before retry `attempt` (2, 3, …); default 2 s doubling up to 60 s. */
  retryDelayMs?: (attempt: number) => number;
  events?: RunStreamOptions;
  /** A run against the demo lab (src/demo): recorded in the journal and shown wherever the run is. */
  demo?: boolean;
  /** Log batching window in ms (default 5). */
  logBatchMs?: number;
}

export interface RunResult {
  runId: string;
  runDir: string;
  state: RunState;
  counts: Counts;
}

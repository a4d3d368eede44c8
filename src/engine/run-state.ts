/**
 * The engine's in-memory state of a run (steps and their host-steps) and what every part
 * of the engine shares (`RunContext`): the facade (engine.ts) builds it, the scheduler,
 * host-step runner and decisions read and change it.
 */
import type { Clock } from './clock.js';
import type { ConnectionPool } from './connection-pool.js';
import type { EngineOptions } from './engine-options.js';
import type { RunStream } from './run-stream.js';
import type { JournalRecord } from './journal.js';
import type { Redactor } from './redact.js';
import {
  DONE_STATES,
  emptyCounts,
  type Counts,
  type NewEvent,
  type PlannedStep,
  type RunState,
  type State,
  type StepSpec,
} from './types.js';

export interface HostRun {
  state: State;
  attempt: number;
  /** Interrupted in an earlier process: its command may or may not have run. */
  interrupted: boolean;
  kill?: AbortController;
}

export interface StepRun {
  spec: StepSpec;
  hosts: string[];
  after: string[];
  state: State;
  host: Map<string, HostRun>;
}

export interface RunContext {
  readonly opts: EngineOptions;
  readonly clock: Clock;
  readonly runDir: string;
  /** Aborted by a cancel or a `stop` decision: nothing new starts. */
  readonly abort: AbortController;
  readonly steps: Map<string, StepRun>;
  readonly connections: ConnectionPool;
  /** Every secret and output value; grows as outputs are read. */
  readonly redactor: Redactor;
  /** Named secret values for `StepSpec.secrets`. */
  readonly secretValues: Map<string, string>;
  readonly flow: RunStream['flow'];
  /** Appends a journal record (redacting host-step messages); a no-op before the journal opens. */
  write(record: JournalRecord): Promise<void>;
  emit(e: NewEvent): void;
  /**
   * Set when the run has host-less steps: takes the cluster lock (once) before the first step
   * that connects to hosts; throws when the lock cannot be had.
   */
  beforeSsh?: () => Promise<void>;
}

export function isDone(state: State | undefined): boolean {
  return state === undefined || DONE_STATES.has(state);
}

/** A step's state from its hosts': the worst wins; a lost connection is never a failure. */
export function aggregate(states: readonly State[]): State {
  for (const s of [
    'failed',
    'connection-lost',
    'unknown',
    'cancelled',
    'running',
    'pending',
  ] as const) {
    if (states.includes(s)) return s;
  }
  return states.length && states.every((s) => s === 'skipped') ? 'skipped' : 'succeeded';
}

export function runStateOf(states: readonly State[]): RunState {
  for (const s of ['failed', 'connection-lost', 'unknown', 'cancelled'] as const) {
    if (states.includes(s)) return s;
  }
  // A step left pending was blocked by one of the above, or the run stopped before it.
  return states.includes('pending') ? 'failed' : 'succeeded';
}

export function countHosts(step: StepRun): Counts {
  const counts = emptyCounts();
  for (const h of step.host.values()) counts[h.state]++;
  return counts;
}

export function plannedOf(s: StepRun): PlannedStep {
  return {
    id: s.spec.id,
    title: s.spec.title,
    phase: s.spec.phase,
    hosts: s.hosts,
    after: [...(s.spec.after ?? [])],
  };
}

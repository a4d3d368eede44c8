/** The run engine: step graphs run on hosts, with a journal, logs, events, resume and locks. */
export * from './types.js';
export {
  RunEngine,
  newRunId,
  aggregate,
  type EngineOptions,
  type RunResult,
  type SecretSource,
} from './engine.js';
export {
  RunStream,
  type Subscription,
  type RunStreamOptions,
  type Viewer,
  type ViewerOptions,
} from './run-stream.js';
export { bindLocalActions, checkGraph, type TargetResolver } from './graph.js';
export {
  readJournal,
  summarize,
  type JournalRecord,
  type RunSummary,
  type StepSummary,
} from './journal.js';
export {
  LocalRunLock,
  ClusterLock,
  CLUSTER_LOCK_PATH,
  HEARTBEAT_MS,
  STALE_MS,
  type LockOwner,
} from './lock.js';
export { Redactor, REDACTED } from './redact.js';
export { systemClock, sleep, type Clock } from './clock.js';
export { defaultRunsDir, listRuns, runDirOf, journalPath, logPath } from './run-folder.js';
export { FACTS_STEPS, FACTS_SCRIPT, factsStepSource, type StepSource } from './facts-step.js';
export { resolverFromPlan, firstController } from './plan-targets.js';

/**
 * The one declaration of a run's events (issue 19, step 6): the engine's `RunEvent`
 * (src/engine/types.ts) and the contract's `RunEventSchema` (./run-contract.ts, which the
 * fronts parse) are both read from here. Node-free and zod only, like the rest of src/api.
 */
import { z } from 'zod';

export const stepId = z.string().min(1);
export const host = z.string().min(1);
export const reason = z
  .string()
  .trim()
  .min(1, { error: 'give a reason; it goes into the journal' });

export const HostStateName = z.enum([
  'pending',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
  'connection-lost',
  'unknown',
]);
export type HostStateName = z.infer<typeof HostStateName>;

export const RunStateName = z.enum([
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'connection-lost',
  'unknown',
  'interrupted',
]);
export type RunStateName = z.infer<typeof RunStateName>;

export const Counts = z.record(HostStateName, z.number());

/** Why the engine waits for a decision. */
export const PauseReason = z.enum(['before-step', 'step-failed']);
export type PauseReason = z.infer<typeof PauseReason>;

export const Decision = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('run') }),
  z.object({ kind: z.literal('run-all') }),
  z.object({ kind: z.literal('skip'), reason }),
  /** After a failure: run the step again on the failed hosts, or only on `hosts`. */
  z.object({ kind: z.literal('retry'), hosts: z.array(host).optional() }),
  z.object({ kind: z.literal('stop') }),
]);
export type Decision = z.infer<typeof Decision>;

/** A step as announced in `run-started`: its hosts resolved. */
export const PlannedStep = z.object({
  id: z.string(),
  title: z.string(),
  phase: z.string(),
  hosts: z.array(z.string()),
  after: z.array(z.string()),
});
export type PlannedStep = z.infer<typeof PlannedStep>;

const base = { runId: z.string(), seq: z.number().int(), time: z.number() };

const LogEvent = z.object({
  ...base,
  type: z.literal('log'),
  stepId,
  host,
  stream: z.enum(['stdout', 'stderr', 'engine']),
  data: z.string(),
  offset: z.number().int().nonnegative().optional(),
});
const LogEventView = LogEvent.extend({ offset: z.number().int().nonnegative() });

/**
 * One event of a run as the fronts get it (docs/engine.md). `log` events carry `offset`: the
 * byte offset in the step's log file on that host where `data` begins, so a view can load
 * what came before from the file (`run:log`) without a gap or an overlap.
 */
export const RunEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('run-started'),
    planFile: z.string().optional(),
    /** Run against the demo lab (src/demo), not real servers. */
    demo: z.literal(true).optional(),
    runDir: z.string(),
    steps: z.array(PlannedStep),
    resumed: z.boolean(),
  }),
  z.object({ ...base, type: z.literal('step-started'), stepId, hosts: z.array(z.string()) }),
  z.object({
    ...base,
    type: z.literal('host-step-started'),
    stepId,
    host,
    attempt: z.number(),
  }),
  LogEventView,
  z.object({
    ...base,
    type: z.literal('host-step-finished'),
    stepId,
    host,
    state: HostStateName,
    attempt: z.number(),
    exitCode: z.number().optional(),
    message: z.string().optional(),
  }),
  z.object({
    ...base,
    type: z.literal('host-step-retrying'),
    stepId,
    host,
    attempt: z.number(),
    delayMs: z.number(),
  }),
  z.object({
    ...base,
    type: z.literal('timeout-warning'),
    stepId,
    host,
    elapsedMs: z.number(),
  }),
  z.object({
    ...base,
    type: z.literal('step-finished'),
    stepId,
    state: HostStateName,
    counts: Counts,
  }),
  z.object({ ...base, type: z.literal('step-skipped'), stepId, reason: z.string() }),
  z.object({
    ...base,
    type: z.literal('run-paused'),
    stepId,
    reason: PauseReason,
  }),
  z.object({ ...base, type: z.literal('decision-taken'), stepId, decision: Decision }),
  z.object({
    ...base,
    type: z.literal('warning'),
    message: z.string(),
    host: z.string().optional(),
  }),
  z.object({ ...base, type: z.literal('run-finished'), state: RunStateName, counts: Counts }),
]);
export type RunEventView = z.infer<typeof RunEventSchema>;

/**
 * The engine's events (src/engine/types.ts `RunEvent`): the same, but `offset` is there only
 * when the run's stream counts offsets (src/engine/run-stream.ts, `logOffsets`).
 */
export type EngineRunEvent = Exclude<RunEventView, { type: 'log' }> | z.infer<typeof LogEvent>;

/**
 * Decisions: what the consultant answers at a pause (run, run-all, skip with a reason,
 * retry, stop), a skip given up front, a cancel, and what an earlier run's journal decides
 * on resume (which host-steps are done, which were interrupted, which producers to check
 * again, which steps `--rerun` lets run again). See docs/engine.md, "Step by step" and "Resume".
 */
import { UstartError } from '../errors.js';
import type { HostStepSummary } from './journal.js';
import { countHosts, type HostRun, type RunContext, type StepRun } from './run-state.js';
import { DONE_STATES, INTERRUPTED_STATES, type Decision, type PauseReason } from './types.js';

export class Decisions {
  private pending:
    { stepId: string; reason: PauseReason; resolve: (d: Decision) => void } | undefined;

  constructor(private readonly ctx: RunContext) {}

  /** The step the engine waits on, if it is paused. */
  get paused(): { stepId: string; reason: PauseReason } | undefined {
    return this.pending && { stepId: this.pending.stepId, reason: this.pending.reason };
  }

  /** Answers a `run-paused` event. */
  decide(decision: Decision): void {
    const p = this.pending;
    if (!p) throw new UstartError('InvalidArgument', 'the run is not waiting for a decision.');
    if (decision.kind === 'skip' && !decision.reason.trim()) {
      throw new UstartError(
        'InvalidArgument',
        `skipping step ${p.stepId} needs a reason; it goes into the journal.`,
      );
    }
    this.pending = undefined;
    p.resolve(decision);
  }

  /** A cancel answers a waiting pause with `stop`. */
  cancelled(): void {
    const p = this.pending;
    this.pending = undefined;
    p?.resolve({ kind: 'stop' });
  }

  /** Pauses before or after `stepId` and waits for `decide`; the answer is journaled first. */
  ask(stepId: string, reason: PauseReason): Promise<Decision> {
    const { ctx } = this;
    return new Promise<Decision>((resolve) => {
      this.pending = { stepId, reason, resolve };
      ctx.emit({ type: 'run-paused', stepId, reason });
    }).then(async (decision) => {
      await ctx.write({ type: 'decision', at: ctx.clock.now(), stepId, decision });
      ctx.emit({ type: 'decision-taken', stepId, decision });
      if (decision.kind === 'stop') ctx.abort.abort();
      return decision;
    });
  }

  /** Skips a step (a decision or `--skip`): the reason goes into the journal. */
  async skip(step: StepRun, reason: string): Promise<void> {
    const { ctx } = this;
    step.state = 'skipped';
    await ctx.write({
      type: 'step',
      at: ctx.clock.now(),
      stepId: step.spec.id,
      state: 'skipped',
      reason,
    });
    ctx.emit({ type: 'step-skipped', stepId: step.spec.id, reason });
    ctx.emit({
      type: 'step-finished',
      stepId: step.spec.id,
      state: 'skipped',
      counts: countHosts(step),
    });
  }
}

/** A host-step as an earlier run of this id left it: done ones stay done, the rest run. */
export function resumedHostRun(prev: HostStepSummary | undefined): HostRun {
  const prevState = prev?.state ?? 'pending';
  return {
    state: DONE_STATES.has(prevState) ? prevState : 'pending',
    attempt: prev?.attempt ?? 0,
    interrupted: INTERRUPTED_STATES.has(prevState),
  };
}

/**
 * On resume, a finished step whose outputs a step still to run consumes is checked again,
 * and runs again if its check fails: what it made may have expired since (kubeadm's
 * uploaded certificates live 2 hours, docs/upstream-facts.md#kubeadm.cert-key-ttl), and the
 * consumer would fail with it. Only steps with a check: without one uStart cannot tell
 * whether running it again is safe. Steps skipped by a decision (--skip) stay skipped.
 */
export function recheckProducers(steps: ReadonlyMap<string, StepRun>): void {
  // A step skipped by a decision keeps its hosts pending but will not run.
  const pending = (r: StepRun) =>
    r.state !== 'skipped' && [...r.host.values()].some((h) => !DONE_STATES.has(h.state));
  const consumed = new Set([...steps.values()].filter(pending).flatMap((r) => r.spec.inputs ?? []));
  for (const run of steps.values()) {
    const feeds = (run.spec.outputs ?? []).some((o) => consumed.has(o.name));
    const done = run.host.size > 0 && [...run.host.values()].every((h) => DONE_STATES.has(h.state));
    if (!feeds || !run.spec.check || !done) continue;
    run.state = 'pending';
    for (const h of run.host.values()) h.state = 'pending';
  }
}

/** `--rerun STEP` or `--rerun STEP@HOST` lets an interrupted step without a check run again. */
export function mayRerun(
  rerun: readonly string[] | undefined,
  stepId: string,
  host: string,
): boolean {
  return (rerun ?? []).some((r) => r === stepId || r === `${stepId}@${host}`);
}

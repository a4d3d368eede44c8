/**
 * The scheduler: which step runs next and on which hosts. It resolves each step's hosts and
 * applies the filters and an earlier run's journal (`planSteps`), starts every step whose
 * `after` steps are done (succeeded or skipped), one at a time in step-by-step mode, runs a
 * step on at most `parallelism` hosts at once, and pauses for a decision where asked.
 */
import { UstartError } from '../errors.js';
import type { Decisions } from './decisions.js';
import { recheckProducers, resumedHostRun } from './decisions.js';
import type { EngineOptions } from './engine-options.js';
import type { HostStepRunner } from './host-step.js';
import type { RunSummary } from './journal.js';
import {
  aggregate,
  countHosts,
  isDone,
  type HostRun,
  type RunContext,
  type StepRun,
} from './run-state.js';
import { DONE_STATES } from './types.js';

/**
 * Fills `steps`: resolves hosts, applies `--steps`/`--hosts`, and what an earlier run of
 * this id already did. Throws UstartError naming a step or host that is not there.
 */
export function planSteps(
  opts: EngineOptions,
  steps: Map<string, StepRun>,
  previous: RunSummary | undefined,
): void {
  const only = opts.onlySteps && new Set(opts.onlySteps);
  for (const id of opts.onlySteps ?? []) {
    if (!opts.steps.some((s) => s.id === id)) {
      throw new UstartError(
        'InvalidArgument',
        `--steps names "${id}", which is not a step; the steps are ${opts.steps.map((s) => s.id).join(', ')}.`,
      );
    }
  }
  for (const h of opts.onlyHosts ?? []) {
    if (!opts.hosts.has(h)) {
      throw new UstartError(
        'InvalidArgument',
        `--hosts names "${h}", which is not a server of the plan.`,
      );
    }
  }
  const onlyHosts = opts.onlyHosts && new Set(opts.onlyHosts);
  const selected = opts.steps.filter((s) => !only || only.has(s.id));
  const selectedIds = new Set(selected.map((s) => s.id));
  for (const spec of selected) {
    const hosts = opts
      .resolveTargets(spec.targets, spec)
      .filter((h) => !onlyHosts || onlyHosts.has(h));
    for (const h of hosts) {
      if (!opts.hosts.has(h)) {
        throw new UstartError(
          'RunbookInvalid',
          `step "${spec.id}" targets "${h}", which is not a server of the plan.`,
        );
      }
    }
    const before = previous?.steps.get(spec.id);
    const host = new Map<string, HostRun>();
    for (const h of hosts) host.set(h, resumedHostRun(before?.hosts.get(h)));
    const run: StepRun = {
      spec,
      hosts,
      after: (spec.after ?? []).filter((a) => selectedIds.has(a)),
      state: 'pending',
      host,
    };
    if (
      before?.state === 'skipped' ||
      (hosts.length > 0 && [...host.values()].every((h) => DONE_STATES.has(h.state)))
    ) {
      run.state =
        before?.state === 'skipped' ? 'skipped' : aggregate([...host.values()].map((h) => h.state));
    }
    steps.set(spec.id, run);
  }
  if (previous) recheckProducers(steps);
}

export class Scheduler {
  private stepByStep: boolean;
  /** What stopped the run from going on (the cluster lock refused), thrown by `run`. */
  private failure: unknown;

  constructor(
    private readonly ctx: RunContext,
    private readonly decisions: Decisions,
    private readonly hostSteps: HostStepRunner,
  ) {
    this.stepByStep = ctx.opts.stepByStep ?? false;
  }

  /** Runs every planned step that can run, until all are done, blocked, stopped or cancelled. */
  async run(): Promise<void> {
    const { ctx } = this;
    const running = new Map<string, Promise<void>>();
    const startedIds = new Set<string>();
    for (const s of ctx.steps.values()) if (s.state !== 'pending') startedIds.add(s.spec.id);
    for (const skip of ctx.opts.skip ?? []) {
      const s = ctx.steps.get(skip.step);
      if (s && s.state === 'pending') {
        await this.decisions.skip(s, skip.reason);
        startedIds.add(s.spec.id);
      }
    }
    for (;;) {
      if (ctx.abort.signal.aborted) break;
      const ready = [...ctx.steps.values()].filter(
        (s) => !startedIds.has(s.spec.id) && s.after.every((a) => isDone(ctx.steps.get(a)?.state)),
      );
      if (this.stepByStep && ready.length) {
        // One step at a time, so the consultant reads each before it runs.
        if (running.size) {
          await Promise.race(running.values());
          continue;
        }
        const step = ready[0]!;
        startedIds.add(step.spec.id);
        const d = await this.decisions.ask(step.spec.id, 'before-step');
        if (d.kind === 'stop') break;
        if (d.kind === 'skip') {
          await this.decisions.skip(step, d.reason);
          continue;
        }
        if (d.kind === 'run-all') this.stepByStep = false;
        if (!(await this.sshReady(step))) break;
        running.set(step.spec.id, this.runStepTracked(step, running));
        continue;
      }
      for (const step of ready) {
        startedIds.add(step.spec.id);
        if (!(await this.sshReady(step))) break;
        running.set(step.spec.id, this.runStepTracked(step, running));
      }
      if (this.failure) break;
      if (!running.size) break;
      await Promise.race(running.values());
    }
    await Promise.all(running.values());
    if (this.failure) throw this.failure;
  }

  /**
   * Before a step that connects (not host-less), in a run with host-less steps: the cluster
   * lock (RunContext.beforeSsh). When it cannot be had, the run stops as a cancel does and
   * `run` throws what stopped it.
   */
  private async sshReady(step: StepRun): Promise<boolean> {
    const { ctx } = this;
    if (step.spec.hostless || !ctx.beforeSsh || step.hosts.length === 0) return true;
    try {
      await ctx.beforeSsh();
      return true;
    } catch (e) {
      this.failure = e;
      ctx.abort.abort();
      for (const s of ctx.steps.values()) for (const h of s.host.values()) h.kill?.abort();
      return false;
    }
  }

  private runStepTracked(step: StepRun, running: Map<string, Promise<void>>): Promise<void> {
    return this.runStep(step).finally(() => running.delete(step.spec.id));
  }

  private async runStep(step: StepRun): Promise<void> {
    const { ctx } = this;
    const id = step.spec.id;
    await ctx.write({ type: 'step', at: ctx.clock.now(), stepId: id, state: 'running' });
    step.state = 'running';
    let todo = step.hosts.filter((h) => !DONE_STATES.has(step.host.get(h)!.state));
    ctx.emit({ type: 'step-started', stepId: id, hosts: todo });
    for (;;) {
      await this.runHosts(step, todo);
      step.state = aggregate([...step.host.values()].map((h) => h.state));
      const pause = ctx.opts.pauseOnFailure ?? ctx.opts.stepByStep ?? false;
      if (!pause || isDone(step.state) || ctx.abort.signal.aborted) break;
      await ctx.write({ type: 'step', at: ctx.clock.now(), stepId: id, state: step.state });
      const d = await this.decisions.ask(id, 'step-failed');
      if (d.kind === 'skip') {
        await this.decisions.skip(step, d.reason);
        return;
      }
      if (d.kind !== 'retry') break;
      const failed = step.hosts.filter((h) => !DONE_STATES.has(step.host.get(h)!.state));
      todo = d.hosts ? failed.filter((h) => d.hosts!.includes(h)) : failed;
    }
    await ctx.write({ type: 'step', at: ctx.clock.now(), stepId: id, state: step.state });
    ctx.emit({ type: 'step-finished', stepId: id, state: step.state, counts: countHosts(step) });
  }

  /** Runs the step on `hosts`, at most `parallelism` at once. */
  private async runHosts(step: StepRun, hosts: string[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < hosts.length && !this.ctx.abort.signal.aborted) {
        const host = hosts[next++]!;
        await this.hostSteps.run(step, host);
      }
    };
    const n = Math.min(step.spec.parallelism ?? hosts.length, hosts.length);
    await Promise.all(Array.from({ length: n }, worker));
  }
}

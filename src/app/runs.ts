/**
 * The run service behind the Install page: binds the engine, the SSH transport and the
 * runbook for a plan, one engine per run (started by the one launcher, ./run-launch.ts),
 * and streams each run's events to the fronts (./run-live.ts, the streaming protocol).
 *
 * Each attachment is a flow-controlled viewer of the run's stream (docs/engine.md, "Back
 * pressure"): when a front stops acknowledging, the SSH channels stop being read.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FrontEvents, RunBundle, RunInfo, RunOptions, StepPreview } from '../api/index.js';
import {
  defaultRunsDir,
  journalPath,
  listRuns,
  readJournal,
  summarize,
  type Decision,
  type RunEngine,
  type RunSummary,
  type StepSpec,
} from '../engine/index.js';
import { resolverFromPlan } from '../engine/plan-targets.js';
import { UstartError, messageOf } from '../errors.js';
import { checkPlanFile } from '../plan/index.js';
import type { Plan } from '../plan/schema.js';
import type { VerifyReport } from '../bundle/verify.js';
import { withBundleDelivery } from '../bundle/delivery-step.js';
import { readOnlyPhases, sitePhases, stepSpecsFor } from '../render/step-specs.js';
import { checkPhaseNames, installPhases } from '../runbook/phases.js';
import type { Phase } from '../runbook/schema.js';
import type { Transport } from '../ssh/transport.js';
import type { Access } from './access.js';
import { VerifiedBundleCache } from './run-bundle.js';
import { checkRunId, logSizes, readLogRange, runInfo, stepPreview } from './run-files.js';
import { launchRun } from './run-launch.js';
import { LiveRun, RunAttachments } from './run-live.js';
import type { OsInstallHooks } from '../osinstall/deps.js';
import { bindOsInstallInApp } from './os-install-run.js';
import { readRegularFile } from '../util/user-file.js';

/** Where a run's steps come from: the runbook by default; tests and benchmarks pass their own. */
export type RunStepSource = (context: {
  plan: Plan;
  planFile: string;
  phases: readonly string[];
}) => Promise<StepSpec[]>;

const runbookSteps: RunStepSource = ({ plan, phases }) =>
  stepSpecsFor(plan, { phases: phases as Phase[] });

export interface RunServiceOptions {
  events: FrontEvents;
  access: Access;
  /** Turns a path a front sent into an absolute one (browser mode confines it). */
  resolvePath(file: string): string;
  stepSource?: RunStepSource;
  /** Take the cluster lock on the first controller (default true, as `ustart run`). */
  clusterLock?: boolean;
  /** Back-off before a retry attempt (engine default when absent). */
  retryDelayMs?: (attempt: number) => number;
  /** Replay buffer of each run (default 10,000 events, 4 M log characters). */
  replay?: { events?: number; chars?: number };
  /** Drop an attachment whose data stays unacknowledged this long (default 20 s). */
  leaseMs?: number;
  /**
   * Unacknowledged log characters at which the hosts' output stops being read, and where it
   * resumes (default 1,000,000 and 200,000; see below).
   */
  flow?: { high: number; low: number };
  /** The transport of a run; default Ssh2Transport with the plan's access settings. */
  transport?: (planFile: string, plan: Plan) => Promise<Transport>;
  /** Tests: a fake BMC, probe and ISO build for the os-install phase. */
  osInstallHooks?: OsInstallHooks;
}

interface LoadedPlan {
  plan: Plan;
  text: string;
  valid: boolean;
  errors: number;
}

export class RunService {
  /** The run of each plan this core runs, or ran last (for re-attaching after its end). */
  private readonly byPlan = new Map<string, LiveRun>();
  /** The bundle each plan's last install was given: a retry or resume installs from it too. */
  private readonly bundles = new Map<string, RunBundle>();
  /**
   * The os-install inputs each run was started with, for a retry or resume of that run only,
   * without the two decisions a consultant makes per start: the servers confirmed for a
   * reinstall and accepting the reported host keys (a resume never wipes a server that
   * answers unless its name is given again).
   */
  private readonly osInputs = new Map<string, NonNullable<RunOptions['osInstall']>>();
  /** Retries and resumes reuse a verification while the bundle's files are unchanged. */
  private readonly verified = new VerifiedBundleCache();
  private readonly byId = new Map<string, LiveRun>();
  private readonly attachments: RunAttachments;
  private readonly stepSource: RunStepSource;

  constructor(private readonly opts: RunServiceOptions) {
    this.stepSource = opts.stepSource ?? runbookSteps;
    this.attachments = new RunAttachments(opts.events, opts.leaseMs ?? 20_000);
  }

  async loadPlan(planFile: string): Promise<LoadedPlan> {
    const checked = await checkPlanFile(planFile);
    if (!checked.plan) {
      throw new UstartError(
        'PlanInvalid',
        `${planFile} has schema errors (${checked.findings[0]?.message ?? 'unreadable'}); fix them in the wizard first.`,
      );
    }
    const errors = checked.findings.filter((f) => f.severity === 'error' && !f.acknowledged);
    return {
      plan: checked.plan,
      text: await readRegularFile(planFile, { what: 'plan', encoding: 'utf8' }),
      valid: checked.valid,
      errors: errors.length,
    };
  }

  runsDir(planFile: string): string {
    return defaultRunsDir(planFile);
  }

  async steps(planFile: string, phases: readonly string[] | undefined) {
    const abs = this.opts.resolvePath(planFile);
    const { plan } = await this.loadPlan(abs);
    const specs = await this.stepSource({ plan, planFile: abs, phases: checkPhases(phases) });
    const resolve = resolverFromPlan(plan);
    return specs.map((s) => ({
      id: s.id,
      title: s.title,
      phase: s.phase,
      description: s.description,
      hosts: resolve(s.targets, s),
      after: [...(s.after ?? [])],
    }));
  }

  /** Starts a run (or resumes one) and resolves once it started, or with why it could not. */
  async start(
    options: RunOptions & {
      resume?: string;
      rerun?: readonly string[];
      skip?: readonly { step: string; reason: string }[];
    },
  ): Promise<{ runId: string }> {
    const planFile = this.opts.resolvePath(options.planFile);
    const current = this.byPlan.get(planFile);
    // A run that announced its end is only releasing its locks: wait for that.
    if (current?.ended) await current.done.catch(() => undefined);
    if (current && !current.finished) {
      throw new UstartError(
        'RunLocked',
        `run ${current.runId} of ${planFile} is still running; cancel it or wait for it to end.`,
      );
    }
    const phases = checkPhases(options.phases);
    const readOnly = readOnlyPhases(phases);
    const loaded = await this.loadPlan(planFile);
    if (!readOnly && !loaded.valid) {
      throw new UstartError(
        'PlanInvalid',
        `the plan has ${loaded.errors} error${loaded.errors === 1 ? '' : 's'}; fix them in Review before installing (connecting works on an unfinished plan).`,
      );
    }
    let report: VerifyReport | undefined;
    if (!readOnly) {
      const bundle = options.bundle ?? this.bundles.get(planFile);
      report = await this.verified
        .verify(
          loaded.plan,
          bundle && this.opts.resolvePath(bundle.path),
          bundle && this.opts.resolvePath(bundle.publicKey),
        )
        .catch((e: unknown) => {
          if (!(e instanceof UstartError) || e.code !== 'BundleRequired') throw e;
          throw new UstartError(
            'BundleRequired',
            `site ${loaded.plan.site.name} is air-gapped (site.airGapped: true): give the verified offline bundle and its public key (Install → Offline bundle) before installing; build one on a connected machine with "ustart bundle create".`,
          );
        });
      if (bundle) this.bundles.set(planFile, bundle);
    }
    // A verified bundle reaches the hosts as the run's umetal.bundle step.
    let steps = withBundleDelivery(
      await this.stepSource({ plan: loaded.plan, planFile, phases }),
      report,
    );
    const demo = await this.opts.access.routed(planFile);
    const hosts = await this.opts.access.targets(planFile, loaded.plan);
    const osInstall =
      options.osInstall ?? (options.resume ? this.osInputs.get(options.resume) : undefined);
    const bound = await bindOsInstallInApp(steps, {
      plan: loaded.plan,
      planFile,
      demo,
      hosts,
      inputs: osInstall,
      access: this.opts.access,
      ...(this.opts.osInstallHooks ? { hooks: this.opts.osInstallHooks } : {}),
    });
    steps = bound.steps;
    const transport = await (this.opts.transport ?? ((f, p) => this.opts.access.transport(f, p)))(
      planFile,
      loaded.plan,
    );
    const runsDir = this.runsDir(planFile);
    const offsets = options.resume
      ? await logSizes(join(runsDir, options.resume, 'logs'))
      : new Map<string, number>();
    const secrets = this.opts.access.secrets;
    let engine: RunEngine;
    try {
      engine = launchRun({
        plan: loaded.plan,
        planFile,
        planText: loaded.text,
        steps,
        transport,
        hosts,
        runsDir,
        demo,
        stepByStep: options.stepByStep ?? false,
        pauseOnFailure: options.pauseOnFailure ?? true,
        ...(options.steps ? { onlySteps: options.steps } : {}),
        ...(options.hosts ? { onlyHosts: options.hosts } : {}),
        ...(options.resume ? { resume: options.resume } : {}),
        ...(options.rerun ? { rerun: options.rerun } : {}),
        ...(options.skip ? { skip: options.skip } : {}),
        clusterLock: this.opts.clusterLock !== false,
        secrets: { get: async () => undefined, values: async () => secrets.values() },
        ...(this.opts.retryDelayMs ? { retryDelayMs: this.opts.retryDelayMs } : {}),
        events: {
          // A view acknowledges over a socket with batching on both ends (about two frames a
          // round trip), so the window is what bounds throughput: VS Code's 100 k / 5 k, made
          // for local IPC, held 100,000 lines to 2–4 MB/s (bench/ui-logs.ts). A million
          // characters keeps the memory bound (2 MB of UTF-16 in flight) and the pipe full.
          ...(this.opts.flow ?? { high: 1_000_000, low: 200_000 }),
          replayEvents: this.opts.replay?.events ?? 10_000,
          replayChars: this.opts.replay?.chars ?? 4_000_000,
          logOffsets: offsets,
        },
      });
    } catch (e) {
      await transport.dispose();
      await bound.close();
      throw e;
    }
    const live = new LiveRun(engine, planFile, steps, transport, (run) => {
      // Sends what the viewers still queue and lets go of them: nothing follows a run's end.
      this.attachments.detachAll(run);
      void this.changed(run);
    });
    // The os-install phase's HTTP server never outlives its run.
    void live.done
      .catch(() => undefined)
      .then(() => bound.close())
      .catch(() => undefined);
    const previous = this.byPlan.get(planFile);
    if (previous) this.forget(previous);
    this.byPlan.set(planFile, live);
    this.byId.set(live.runId, live);
    if (osInstall) {
      const { confirmReinstall: _perStart, acceptReportedHostKeys: _perRun, ...kept } = osInstall;
      this.osInputs.set(live.runId, kept);
    }
    // Resolves at `run-started`, or rejects with what stopped the run from starting.
    await new Promise<void>((resolve, reject) => {
      const sub = engine.subscribe((e) => {
        if (e.type === 'run-started') {
          sub.dispose();
          resolve();
        }
      });
      live.done.then(
        () => {
          sub.dispose();
          resolve();
        },
        (e: unknown) => {
          sub.dispose();
          this.forget(live);
          reject(e instanceof Error ? e : new Error(messageOf(e)));
        },
      );
    });
    live.done.catch(() => undefined);
    this.opts.events.emit('run:changed', { planFile, runId: live.runId, state: 'running' });
    return { runId: live.runId };
  }

  private forget(run: LiveRun): void {
    this.attachments.detachAll(run);
    if (this.byId.get(run.runId) === run) this.byId.delete(run.runId);
    if (this.byPlan.get(run.planFile) === run) this.byPlan.delete(run.planFile);
  }

  private async changed(run: LiveRun): Promise<void> {
    const result = await run.done.catch(() => undefined);
    this.opts.events.emit('run:changed', {
      planFile: run.planFile,
      runId: run.runId,
      state: result?.state ?? 'failed',
    });
  }

  /** The live run with this id, if this core runs it now. */
  private active(runId: string): LiveRun | undefined {
    const run = this.byId.get(runId);
    return run && !run.finished && !run.ended ? run : undefined;
  }

  cancel(runId: string): void {
    const run = this.active(runId);
    if (!run) throw notRunning(runId);
    run.engine.cancel();
  }

  decide(runId: string, stepId: string, decision: Decision): void {
    const run = this.active(runId);
    if (!run) throw notRunning(runId);
    const paused = run.engine.paused;
    if (paused?.stepId !== stepId) {
      throw new UstartError(
        'InvalidArgument',
        paused
          ? `run ${runId} waits on step ${paused.stepId}, not ${stepId}; reload the run.`
          : `run ${runId} is not waiting for a decision.`,
      );
    }
    run.engine.decide(decision);
  }

  /** Retry one host-step: a decision while paused on its failure, else a focused resume. */
  async retry(planFile: string, runId: string, stepId: string, host: string) {
    const run = this.active(runId);
    if (run) {
      const paused = run.engine.paused;
      if (paused?.stepId === stepId && paused.reason === 'step-failed') {
        run.engine.decide({ kind: 'retry', hosts: [host] });
        return { runId };
      }
      throw new UstartError(
        'InvalidArgument',
        `run ${runId} is running and not paused on a failure of ${stepId}; wait for it to pause or end.`,
      );
    }
    return this.start({
      planFile,
      resume: runId,
      steps: [stepId],
      hosts: [host],
      rerun: [`${stepId}@${host}`],
      phases: await this.phasesOf(planFile, runId),
    });
  }

  async skip(planFile: string, runId: string, stepId: string, reason: string) {
    const run = this.active(runId);
    if (run) {
      this.decide(runId, stepId, { kind: 'skip', reason });
      return { runId };
    }
    return this.start({
      planFile,
      resume: runId,
      skip: [{ step: stepId, reason }],
      phases: await this.phasesOf(planFile, runId),
    });
  }

  async resume(o: {
    planFile: string;
    runId: string;
    stepByStep?: boolean;
    pauseOnFailure?: boolean;
    skip?: readonly { step: string; reason: string }[];
    rerun?: readonly string[];
    bundle?: RunBundle;
    osInstall?: RunOptions['osInstall'];
  }) {
    return this.start({
      planFile: o.planFile,
      resume: o.runId,
      ...(o.bundle ? { bundle: o.bundle } : {}),
      ...(o.osInstall ? { osInstall: o.osInstall } : {}),
      stepByStep: o.stepByStep,
      pauseOnFailure: o.pauseOnFailure,
      ...(o.skip ? { skip: o.skip } : {}),
      ...(o.rerun ? { rerun: o.rerun } : {}),
      phases: await this.phasesOf(o.planFile, o.runId),
    });
  }

  /** The phases a run had, so a resume builds the same graph. */
  private async phasesOf(planFile: string, runId: string): Promise<string[]> {
    const summary = await this.summary(this.opts.resolvePath(planFile), runId);
    return [...new Set([...summary.steps.values()].map((s) => s.phase))];
  }

  private async summary(planFile: string, runId: string): Promise<RunSummary> {
    const file = journalPath(join(this.runsDir(planFile), checkRunId(runId)));
    try {
      await stat(file);
    } catch {
      throw new UstartError(
        'RunNotFound',
        `there is no run ${runId} of ${planFile}; the Install page lists the runs of this plan.`,
      );
    }
    const { records, torn } = await readJournal(file);
    return summarize(records, torn);
  }

  async list(planFile: string): Promise<RunInfo[]> {
    const abs = this.opts.resolvePath(planFile);
    const runs = await listRuns(this.runsDir(abs));
    const infos = await Promise.all(runs.map((r) => this.info(abs, r)));
    return infos.reverse();
  }

  async get(planFile: string, runId: string): Promise<RunInfo> {
    const abs = this.opts.resolvePath(planFile);
    return this.info(abs, await this.summary(abs, runId));
  }

  private async info(planFile: string, summary: RunSummary): Promise<RunInfo> {
    const live = this.active(summary.runId);
    const { records } = await readJournal(journalPath(join(this.runsDir(planFile), summary.runId)));
    return runInfo(summary, records, live !== undefined, live?.engine.paused);
  }

  preview(runId: string, stepId: string): StepPreview {
    const run = this.byId.get(runId);
    const spec = run?.steps.find((s) => s.id === stepId);
    if (!run || !spec) {
      throw new UstartError(
        'InvalidArgument',
        `step ${stepId} of run ${runId} is not known here; it can be previewed while its run is open in this uStart.`,
      );
    }
    return stepPreview(spec, run.started?.steps.find((st) => st.id === stepId)?.hosts ?? []);
  }

  attach(runId: string, sinceSeq: number, epoch: string | undefined) {
    const run = this.byId.get(runId);
    if (!run) throw notRunning(runId);
    return this.attachments.attach(run, sinceSeq, epoch);
  }

  ack(attachId: string, chars: number): void {
    this.attachments.ack(attachId, chars);
  }

  detach(attachId: string): void {
    this.attachments.detach(attachId);
  }

  /** A byte range of a log file, cut to whole lines (a partial first line is dropped). */
  async log(o: {
    planFile: string;
    runId: string;
    stepId: string;
    host: string;
    start?: number;
    end?: number;
    maxBytes: number;
  }): Promise<{ data: string; start: number; end: number; size: number }> {
    const abs = this.opts.resolvePath(o.planFile);
    return readLogRange(join(this.runsDir(abs), checkRunId(o.runId)), o);
  }

  /** The run of a plan that is running now, if any (for Connect's facts after a gather). */
  liveRun(runId: string): LiveRun | undefined {
    return this.byId.get(runId);
  }

  async dispose(): Promise<void> {
    this.attachments.detachAll();
    const running = [...this.byId.values()].filter((r) => !r.finished);
    for (const r of running) r.engine.cancel();
    await Promise.all(running.map((r) => r.done.catch(() => undefined)));
  }
}

function notRunning(runId: string): UstartError {
  return new UstartError(
    'RunNotFound',
    `run ${runId} is not running in this uStart; open it from the run history, or resume it.`,
  );
}

/** The phases a run asked for, as given; the runbook's install phases when none. */
function checkPhases(phases: readonly string[] | undefined): Phase[] {
  const declared = sitePhases();
  if (!phases?.length) return installPhases(declared);
  checkPhaseNames(declared, phases, (p, ids) => `"${p}" is not a phase; the phases are ${ids}.`);
  return [...phases];
}

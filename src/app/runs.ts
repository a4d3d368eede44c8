/**
 * The run service behind the Install page: binds the engine, the SSH transport and the
 * runbook for a plan, one engine per run, and streams each run's events to the fronts.
 *
 * Streaming: a front `attach`es with the last sequence number it saw; it gets the events
 * after it from a bounded replay buffer, then `run:events` batches (16 ms) as they happen.
 * Each attachment is a flow-controlled subscriber of the engine (docs/engine.md, "Back
 * pressure"): when a front stops acknowledging, the SSH channels stop being read. A front
 * that vanished without detaching (a closed tab) would hold the run paused for ever, so an
 * attachment whose data stays unacknowledged for 20 s is dropped, and `run:detached` says
 * so: a view that was only busy (a loaded machine, a hidden tab) attaches again from the
 * last sequence number it saw instead of freezing.
 *
 * Log events get `offset`, the byte offset in the log file where their data begins, so a
 * view can read what came before from the file without a gap or an overlap.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  FrontEvents as EventHub, // issue 19 step 8: say FrontEvents below once runs.ts is split
  RunBundle,
  RunEventView,
  RunInfo,
  RunOptions,
  StepPreview,
} from '../api/index.js';
import {
  RunEngine,
  defaultRunsDir,
  journalPath,
  listRuns,
  logPath,
  readJournal,
  summarize,
  type Decision,
  type RunEvent,
  type RunResult,
  type RunSummary,
  type StepSpec,
  type Subscription,
} from '../engine/index.js';
import { firstController, resolverFromPlan } from '../engine/plan-targets.js';
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
  events: EventHub;
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
}

/** A run this core is running (or ran last for its plan): its engine and what it emitted. */
class LiveRun {
  readonly epoch = randomBytes(4).toString('hex');
  readonly attachments = new Set<Attachment>();
  private replay: RunEventView[] = [];
  private replayStart = 0;
  private replayChars = 0;
  /** The `run-started` event: the steps with their resolved hosts. */
  started: Extract<RunEventView, { type: 'run-started' }> | undefined;
  /** The annotated form of the event the engine is emitting right now. */
  current: RunEventView | undefined;
  finished = false;
  /** `run-finished` was emitted; the engine may still be closing connections and locks. */
  ended = false;
  readonly done: Promise<RunResult>;
  private readonly bookkeeping: Subscription;

  constructor(
    readonly engine: RunEngine,
    readonly planFile: string,
    readonly steps: readonly StepSpec[],
    private readonly transport: Transport,
    private readonly offsets: Map<string, number>,
    private readonly limits: { events: number; chars: number },
    onFinished: (run: LiveRun) => void,
  ) {
    // Subscribed before anyone else, so `current` is set before attachments see an event.
    this.bookkeeping = engine.subscribe((e) => this.record(e));
    this.done = engine.run().finally(async () => {
      this.finished = true;
      this.bookkeeping.dispose();
      await this.transport.dispose();
      onFinished(this);
    });
  }

  get runId(): string {
    return this.engine.runId;
  }

  since(seq: number): { events: RunEventView[]; complete: boolean } {
    const kept = this.replay.slice(this.replayStart);
    const first = kept[0]?.seq ?? this.engine.hub.lastSeq + 1;
    return { events: kept.filter((e) => e.seq > seq), complete: seq + 1 >= first };
  }

  private record(e: RunEvent): void {
    let view: RunEventView;
    if (e.type === 'log') {
      const key = `${e.stepId}\u0000${e.host}`;
      const offset = this.offsets.get(key) ?? 0;
      this.offsets.set(key, offset + Buffer.byteLength(e.data, 'utf8'));
      view = { ...e, offset };
    } else view = e as RunEventView;
    this.current = view;
    if (view.type === 'run-finished') this.ended = true;
    if (view.type === 'run-started') this.started = view;
    this.replay.push(view);
    if (view.type === 'log') this.replayChars += view.data.length;
    while (
      this.replay.length - this.replayStart > this.limits.events ||
      this.replayChars > this.limits.chars
    ) {
      const old = this.replay[this.replayStart++];
      if (old?.type === 'log') this.replayChars -= old.data.length;
    }
    if (this.replayStart > 1024 && this.replayStart * 2 > this.replay.length) {
      this.replay = this.replay.slice(this.replayStart);
      this.replayStart = 0;
    }
  }
}

/** One front's view of one run: batched pushes, acknowledgements, a lease. */
class Attachment {
  readonly id = randomBytes(8).toString('hex');
  private queue: RunEventView[] = [];
  private queuedChars = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly lease: NodeJS.Timeout;
  private sentChars = 0;
  private ackedChars = 0;
  /** Replayed log characters not acknowledged yet: the engine never counted them. */
  private replayOwed = 0;
  /** The last acknowledgement, or when data began to be owed after all was acknowledged. */
  private lastAck = Date.now();
  private readonly sub: Subscription;
  disposed = false;

  constructor(
    readonly run: LiveRun,
    private readonly events: EventHub,
    leaseMs: number,
    private readonly onDispose: (a: Attachment) => void,
  ) {
    this.sub = run.engine.subscribe(() => this.push(run.current!), { flowControlled: true });
    this.lease = setInterval(
      () => {
        if (this.sentChars > this.ackedChars && Date.now() - this.lastAck > leaseMs) {
          this.dispose();
          this.events.emit('run:detached', { attachId: this.id, runId: this.run.runId });
        }
      },
      Math.max(100, leaseMs / 4),
    );
    this.lease.unref();
  }

  /** Replayed events count as sent, but only live ones are acknowledged to the engine. */
  replayed(events: readonly RunEventView[]): void {
    for (const e of events) {
      if (e.type !== 'log') continue;
      this.owe(e.data.length);
      this.replayOwed += e.data.length;
    }
  }

  ack(chars: number): void {
    this.lastAck = Date.now();
    this.ackedChars += chars;
    // A front acknowledges in the order it received: the replay first.
    const replay = Math.min(chars, this.replayOwed);
    this.replayOwed -= replay;
    if (chars > replay) this.sub.ack(chars - replay);
  }

  private owe(chars: number): void {
    if (this.sentChars <= this.ackedChars) this.lastAck = Date.now();
    this.sentChars += chars;
  }

  private push(e: RunEventView): void {
    this.queue.push(e);
    if (e.type === 'log') {
      this.queuedChars += e.data.length;
      this.owe(e.data.length);
    }
    if (this.queuedChars >= 131_072 || e.type === 'run-finished') this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 16);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.queue.length || this.disposed) return;
    const events = this.queue;
    this.queue = [];
    this.queuedChars = 0;
    this.events.emit('run:events', { attachId: this.id, runId: this.run.runId, events });
  }

  dispose(): void {
    if (this.disposed) return;
    this.flush();
    this.disposed = true;
    clearInterval(this.lease);
    this.sub.dispose();
    this.run.attachments.delete(this);
    this.onDispose(this);
  }
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
  /** Retries and resumes reuse a verification while the bundle's files are unchanged. */
  private readonly verified = new VerifiedBundleCache();
  private readonly byId = new Map<string, LiveRun>();
  private readonly attachments = new Map<string, Attachment>();
  private readonly stepSource: RunStepSource;

  constructor(private readonly opts: RunServiceOptions) {
    this.stepSource = opts.stepSource ?? runbookSteps;
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
    const steps = withBundleDelivery(
      await this.stepSource({ plan: loaded.plan, planFile, phases }),
      report,
    );
    const transport = await (this.opts.transport ?? ((f, p) => this.opts.access.transport(f, p)))(
      planFile,
      loaded.plan,
    );
    const runsDir = this.runsDir(planFile);
    const offsets = options.resume
      ? await logSizes(join(runsDir, options.resume, 'logs'))
      : new Map<string, number>();
    const first = firstController(loaded.plan);
    const secrets = this.opts.access.secrets;
    let engine: RunEngine;
    try {
      engine = new RunEngine({
        transport,
        runsDir,
        steps,
        hosts: await this.opts.access.targets(planFile, loaded.plan),
        resolveTargets: resolverFromPlan(loaded.plan),
        planFile,
        planText: loaded.text,
        ...((await this.opts.access.routed(planFile)) ? { demo: true as const } : {}),
        stepByStep: options.stepByStep ?? false,
        pauseOnFailure: options.pauseOnFailure ?? true,
        ...(options.steps ? { onlySteps: options.steps } : {}),
        ...(options.hosts ? { onlyHosts: options.hosts } : {}),
        ...(options.resume ? { resume: options.resume } : {}),
        ...(options.rerun ? { rerun: options.rerun } : {}),
        ...(options.skip ? { skip: options.skip } : {}),
        clusterLock: this.opts.clusterLock !== false && first ? { host: first } : false,
        secrets: { get: async () => undefined, values: async () => secrets.values() },
        ...(this.opts.retryDelayMs ? { retryDelayMs: this.opts.retryDelayMs } : {}),
        // A view acknowledges over a socket with batching on both ends (about two frames a
        // round trip), so the window is what bounds throughput: VS Code's 100 k / 5 k, made
        // for local IPC, held 100,000 lines to 2–4 MB/s (bench/ui-logs.ts). A million
        // characters keeps the memory bound (2 MB of UTF-16 in flight) and the pipe full.
        // The replay is kept here, with log offsets (LiveRun): the hub need not keep its own.
        events: { ...(this.opts.flow ?? { high: 1_000_000, low: 200_000 }), replayEvents: 0 },
      });
    } catch (e) {
      await transport.dispose();
      throw e;
    }
    const live = new LiveRun(
      engine,
      planFile,
      steps,
      transport,
      offsets,
      {
        events: this.opts.replay?.events ?? 10_000,
        chars: this.opts.replay?.chars ?? 4_000_000,
      },
      (run) => {
        for (const a of [...run.attachments]) a.flush();
        void this.changed(run);
      },
    );
    const previous = this.byPlan.get(planFile);
    if (previous) this.forget(previous);
    this.byPlan.set(planFile, live);
    this.byId.set(live.runId, live);
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
    for (const a of [...run.attachments]) a.dispose();
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
  }) {
    return this.start({
      planFile: o.planFile,
      resume: o.runId,
      ...(o.bundle ? { bundle: o.bundle } : {}),
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
    const created = records[0]?.type === 'run-created' ? records[0] : undefined;
    const after = new Map(created?.steps.map((s) => [s.id, s.after]) ?? []);
    const planned = new Map(created?.steps.map((s) => [s.id, s.hosts]) ?? []);
    const state = live ? 'running' : (summary.finalState ?? 'interrupted');
    return {
      runId: summary.runId,
      state,
      startedAt: summary.startedAt,
      ...(summary.finalState && !live ? { finishedAt: summary.updatedAt } : {}),
      demo: summary.demo,
      counts: summary.counts,
      steps: [...summary.steps.values()].map((s) => ({
        id: s.id,
        title: s.title,
        phase: s.phase,
        hosts: planned.get(s.id) ?? [...s.hosts.keys()],
        after: after.get(s.id) ?? [],
        state: s.state,
        ...(s.reason ? { reason: s.reason } : {}),
        hostStates: Object.fromEntries(
          [...s.hosts].map(([h, v]) => [
            h,
            {
              state: v.state,
              attempt: v.attempt,
              ...(v.exitCode !== undefined ? { exitCode: v.exitCode } : {}),
              ...(v.message ? { message: v.message } : {}),
              ...(v.startedAt !== undefined ? { startedAt: v.startedAt } : {}),
              ...(v.finishedAt !== undefined ? { finishedAt: v.finishedAt } : {}),
            },
          ]),
        ),
      })),
      active: live !== undefined,
      ...(live?.engine.paused ? { paused: live.engine.paused } : {}),
    };
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
    const hosts = run.started?.steps.find((st) => st.id === stepId)?.hosts ?? [];
    return {
      id: spec.id,
      title: spec.title,
      phase: spec.phase,
      ...(spec.description ? { description: spec.description } : {}),
      hosts,
      ...(spec.check ? { check: spec.check } : {}),
      run: spec.run,
      sudo: spec.sudo ?? false,
      ...(spec.timeout ? { timeout: spec.timeout } : {}),
      retries: spec.retries ?? 0,
      files: (spec.uploads ?? []).map((u) => {
        const bytes =
          u.content === undefined
            ? 0
            : typeof u.content === 'string'
              ? Buffer.byteLength(u.content)
              : u.content.byteLength;
        const text = u.content === undefined ? undefined : textOf(u.content);
        return {
          path: u.path,
          ...(u.hosts ? { hosts: [...u.hosts] } : {}),
          ...(u.mode !== undefined ? { mode: u.mode } : {}),
          bytes,
          ...(text !== undefined ? { text } : {}),
        };
      }),
    };
  }

  attach(runId: string, sinceSeq: number, epoch: string | undefined) {
    const run = this.byId.get(runId);
    if (!run) throw notRunning(runId);
    // Sequence numbers restart with every engine (a resume): an old epoch replays all.
    const from = epoch === run.epoch ? sinceSeq : 0;
    const replay = run.since(from);
    const leaseMs = this.opts.leaseMs ?? 20_000;
    const attachment = new Attachment(run, this.opts.events, leaseMs, (a) =>
      this.attachments.delete(a.id),
    );
    attachment.replayed(replay.events);
    if (run.finished) attachment.dispose();
    else {
      run.attachments.add(attachment);
      this.attachments.set(attachment.id, attachment);
    }
    return {
      attachId: attachment.id,
      epoch: run.epoch,
      complete: replay.complete,
      events: replay.events,
    };
  }

  ack(attachId: string, chars: number): void {
    this.attachments.get(attachId)?.ack(chars);
  }

  detach(attachId: string): void {
    this.attachments.get(attachId)?.dispose();
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
    for (const [what, v] of [
      ['step', o.stepId],
      ['host', o.host],
    ] as const) {
      if (!/^[A-Za-z0-9._-]+$/.test(v) || v.startsWith('.'))
        throw new UstartError('InvalidArgument', `"${v}" is not a ${what} name.`);
    }
    const file = logPath(join(this.runsDir(abs), checkRunId(o.runId)), o.stepId, o.host);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch {
      return { data: '', start: 0, end: 0, size: 0 };
    }
    try {
      const { size } = await handle.stat();
      let start: number;
      let end: number;
      if (o.start !== undefined) {
        start = Math.min(o.start, size);
        end = Math.min(size, start + o.maxBytes);
      } else {
        end = Math.min(o.end ?? size, size);
        start = Math.max(0, end - o.maxBytes);
      }
      const buf = Buffer.alloc(end - start);
      await handle.read(buf, 0, buf.length, start);
      let from = 0;
      let to = buf.length;
      // Whole lines only: a cut line would break a UTF-8 character or an escape sequence.
      if (start > 0 && o.start === undefined) {
        const nl = buf.indexOf(0x0a);
        from = nl < 0 ? buf.length : nl + 1;
      }
      if (end < size && o.start !== undefined) {
        const nl = buf.lastIndexOf(0x0a);
        to = nl < 0 ? 0 : nl + 1;
      }
      return {
        data: buf.subarray(from, to).toString('utf8'),
        start: start + from,
        end: start + to,
        size,
      };
    } finally {
      await handle.close();
    }
  }

  /** The run of a plan that is running now, if any (for Connect's facts after a gather). */
  liveRun(runId: string): LiveRun | undefined {
    return this.byId.get(runId);
  }

  async dispose(): Promise<void> {
    for (const a of [...this.attachments.values()]) a.dispose();
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

function checkRunId(runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId.startsWith('.'))
    throw new UstartError('InvalidArgument', `"${runId}" is not a run id.`);
  return runId;
}

/** The phases a run asked for, as given; the runbook's install phases when none. */
function checkPhases(phases: readonly string[] | undefined): Phase[] {
  const declared = sitePhases();
  if (!phases?.length) return installPhases(declared);
  checkPhaseNames(declared, phases, (p, ids) => `"${p}" is not a phase; the phases are ${ids}.`);
  return [...phases];
}

function textOf(content: string | Uint8Array): string | undefined {
  const MAX = 262_144;
  if (typeof content === 'string') return content.length <= MAX ? content : undefined;
  if (content.byteLength > MAX || content.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    return undefined;
  }
}

/** Sizes of the log files of a run folder, keyed `step\0host` (a resume appends to them). */
async function logSizes(logsDir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  let steps: string[];
  try {
    steps = await readdir(logsDir);
  } catch {
    return sizes;
  }
  for (const step of steps) {
    let files: string[];
    try {
      files = await readdir(join(logsDir, step));
    } catch {
      continue;
    }
    for (const f of files) {
      if (!f.endsWith('.log')) continue;
      const { size } = await stat(join(logsDir, step, f));
      sizes.set(`${step}\u0000${f.slice(0, -4)}`, size);
    }
  }
  return sizes;
}

/**
 * The run engine: runs a graph of steps on hosts through a Transport, writes the run
 * folder (journal, logs, plan) and emits RunEvents. See docs/engine.md for the states,
 * the run folder and the resume rules.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UstartError, isUstartError, messageOf, unreachable } from '../errors.js';
import type { ExecOutcome, HostConnection, HostTarget, Transport } from '../ssh/transport.js';
import { writeAtomically } from '../util/fs.js';
import { type Clock, sleep, systemClock } from './clock.js';
// The one run stream (issue 19, step 5); named EventHub here until engine.ts is split.
import {
  RunStream as EventHub,
  type RunStreamOptions as EventHubOptions,
  type Subscription,
} from './run-stream.js';
import { checkGraph, type TargetResolver } from './graph.js';
import { HostLog } from './host-log.js';
import {
  JOURNAL_VERSION,
  JournalWriter,
  readJournal,
  summarize,
  type JournalRecord,
  type RunSummary,
} from './journal.js';
import { shQuote } from '../util/shell.js';
import { ClusterLock, LocalRunLock, currentOwner } from './lock.js';
import { Redactor } from './redact.js';
import { journalPath, logPath, runDirOf, runLockPath } from './run-folder.js';
import {
  DONE_STATES,
  INTERRUPTED_STATES,
  emptyCounts,
  inputVariable,
  type Counts,
  type Decision,
  type NewEvent,
  type PauseReason,
  type PlannedStep,
  type RunEvent,
  type RunState,
  type State,
  type StepOutputSpec,
  type StepSpec,
  type StepUpload,
} from './types.js';

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
  events?: EventHubOptions;
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

interface HostRun {
  state: State;
  attempt: number;
  /** Interrupted in an earlier process: its command may or may not have run. */
  interrupted: boolean;
  kill?: AbortController;
}

interface StepRun {
  spec: StepSpec;
  hosts: string[];
  after: string[];
  state: State;
  host: Map<string, HostRun>;
}

const defaultRetryDelay = (attempt: number) => Math.min(2000 * 2 ** (attempt - 2), 60_000);

export function newRunId(now: number): string {
  const iso = new Date(now).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${randomBytes(3).toString('hex')}`;
}

export class RunEngine {
  readonly runId: string;
  readonly runDir: string;
  readonly hub: EventHub;
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private readonly steps = new Map<string, StepRun>();
  private readonly connections = new Map<string, Promise<HostConnection>>();
  private journal: JournalWriter | undefined;
  private redactor = new Redactor([]);
  private secretValues = new Map<string, string>();
  /** Step outputs by name (base64), in memory only; a read in flight is shared. */
  private readonly outputValues = new Map<string, Promise<string>>();
  private stepByStep: boolean;
  private pending:
    { stepId: string; reason: PauseReason; resolve: (d: Decision) => void } | undefined;
  private started = false;

  constructor(private readonly opts: EngineOptions) {
    this.clock = opts.clock ?? systemClock;
    this.runId = opts.resume ?? newRunId(this.clock.now());
    this.runDir = runDirOf(opts.runsDir, this.runId);
    // One run signal fans out to every host's connect: that many listeners are expected.
    setMaxListeners(0, this.abort.signal);
    this.hub = new EventHub(this.runId, { now: () => this.clock.now(), ...opts.events });
    this.stepByStep = opts.stepByStep ?? false;
    if (opts.signal) {
      const onAbort = () => this.cancel();
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  subscribe(listener: (e: RunEvent) => void, options?: { flowControlled?: boolean }): Subscription {
    return this.hub.subscribe(listener, options);
  }

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

  /** Kills one running host-step (after a soft timeout warning); it ends `cancelled`. */
  kill(stepId: string, host: string): void {
    const h = this.steps.get(stepId)?.host.get(host);
    if (h?.state !== 'running' || !h.kill) {
      throw new UstartError(
        'InvalidArgument',
        `step ${stepId} is not running on ${host}; nothing to kill.`,
      );
    }
    h.kill.abort();
  }

  /** Cancels the run: running commands are killed, nothing new starts. */
  cancel(): void {
    this.abort.abort();
    // Each running host-step has its own controller, so a cancel adds no listener per host.
    for (const step of this.steps.values()) for (const h of step.host.values()) h.kill?.abort();
    const p = this.pending;
    this.pending = undefined;
    p?.resolve({ kind: 'stop' });
  }

  /** Runs to the end (or the cancel). Throws UstartError for locks and bad input only. */
  async run(): Promise<RunResult> {
    if (this.started)
      throw new UstartError('InvalidArgument', 'a RunEngine runs once; make a new one.');
    this.started = true;
    const { opts } = this;
    checkGraph(opts.steps);
    await mkdir(opts.runsDir, { recursive: true });
    const owner = currentOwner(this.runId, this.clock);
    const localLock = await LocalRunLock.acquire(runLockPath(opts.runsDir), owner);
    let clusterLock: ClusterLock | undefined;
    try {
      const previous = opts.resume ? await this.loadPrevious(opts.resume) : undefined;
      await this.prepareSecrets();
      this.plan(previous);
      // Before the run folder: a run the cluster refuses leaves no trace in the runs list.
      if (opts.clusterLock && opts.hosts.has(opts.clusterLock.host)) {
        const cl = opts.clusterLock;
        clusterLock = await ClusterLock.acquire(await this.connection(cl.host), owner, {
          path: cl.path,
          takeOver: cl.takeOver,
          sudo: cl.sudo,
          clock: this.clock,
          onHeartbeatFailed: (message) => this.emit({ type: 'warning', message, host: cl.host }),
        });
      }
      await mkdir(join(this.runDir, 'logs'), { recursive: true });
      await this.saveRunFiles(previous !== undefined);
      this.journal = await JournalWriter.open(journalPath(this.runDir));
      const planned = [...this.steps.values()].map(plannedOf);
      await this.write(
        previous
          ? {
              type: 'run-resumed',
              at: this.clock.now(),
              machine: owner.machine,
              user: owner.user,
              pid: owner.pid,
            }
          : {
              type: 'run-created',
              v: JOURNAL_VERSION,
              at: this.clock.now(),
              runId: this.runId,
              planFile: opts.planFile,
              ...(opts.demo ? { demo: true } : {}),
              machine: owner.machine,
              user: owner.user,
              pid: owner.pid,
              steps: planned,
            },
      );
      this.emit({
        type: 'run-started',
        planFile: opts.planFile,
        ...(opts.demo ? { demo: true } : {}),
        runDir: this.runDir,
        steps: planned,
        resumed: !!previous,
      });
      await this.schedule();
      return await this.finish();
    } catch (e) {
      if (this.journal && !isUstartError(e, 'WriteFailed')) {
        // The run started but could not go on: record that it ended.
        await this.finish().catch(() => undefined);
      }
      throw e;
    } finally {
      await clusterLock?.release();
      await this.closeConnections();
      await this.journal?.close();
      await localLock.release();
    }
  }

  private async loadPrevious(runId: string): Promise<RunSummary> {
    const file = journalPath(this.runDir);
    try {
      await stat(file);
    } catch {
      throw new UstartError(
        'RunNotFound',
        `there is no run ${runId} in ${this.opts.runsDir}. "ustart runs PLAN" lists the runs of a plan.`,
        { detail: { runId } },
      );
    }
    const { records, torn } = await readJournal(file);
    return summarize(records, torn);
  }

  private async prepareSecrets(): Promise<void> {
    const src = this.opts.secrets;
    if (!src) return;
    const names = new Set(this.opts.steps.flatMap((s) => s.secrets ?? []));
    for (const name of names) {
      const value = await src.get(name);
      if (value === undefined) {
        throw new UstartError(
          'InvalidArgument',
          `a step needs the secret "${name}", and none was given. Store it first, then run again.`,
        );
      }
      if (/[\r\n]/.test(value)) {
        throw new UstartError(
          'InvalidArgument',
          `the secret "${name}" holds a line break; secrets are fed one per line, so it cannot.`,
        );
      }
      this.secretValues.set(name, value);
    }
    this.redactor = new Redactor([...(await src.values()), ...this.secretValues.values()]);
  }

  /** Resolves hosts, applies the filters and what an earlier run of this id already did. */
  private plan(previous: RunSummary | undefined): void {
    const { opts } = this;
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
      for (const h of hosts) {
        const prev = before?.hosts.get(h);
        const prevState = prev?.state ?? 'pending';
        host.set(h, {
          state: DONE_STATES.has(prevState) ? prevState : 'pending',
          attempt: prev?.attempt ?? 0,
          interrupted: INTERRUPTED_STATES.has(prevState),
        });
      }
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
          before?.state === 'skipped'
            ? 'skipped'
            : aggregate([...host.values()].map((h) => h.state));
      }
      this.steps.set(spec.id, run);
    }
    if (previous) this.recheckProducers();
  }

  /**
   * On resume, a finished step whose outputs a step still to run consumes is checked again,
   * and runs again if its check fails: what it made may have expired since (kubeadm's
   * uploaded certificates live 2 hours, docs/upstream-facts.md#kubeadm.cert-key-ttl), and the
   * consumer would fail with it. Only steps with a check: without one uStart cannot tell
   * whether running it again is safe. Steps skipped by a decision (--skip) stay skipped.
   */
  private recheckProducers(): void {
    // A step skipped by a decision keeps its hosts pending but will not run.
    const pending = (r: StepRun) =>
      r.state !== 'skipped' && [...r.host.values()].some((h) => !DONE_STATES.has(h.state));
    const consumed = new Set(
      [...this.steps.values()].filter(pending).flatMap((r) => r.spec.inputs ?? []),
    );
    for (const run of this.steps.values()) {
      const feeds = (run.spec.outputs ?? []).some((o) => consumed.has(o.name));
      const done =
        run.host.size > 0 && [...run.host.values()].every((h) => DONE_STATES.has(h.state));
      if (!feeds || !run.spec.check || !done) continue;
      run.state = 'pending';
      for (const h of run.host.values()) h.state = 'pending';
    }
  }

  private async saveRunFiles(resumed: boolean): Promise<void> {
    const text = this.opts.planText;
    const graph = JSON.stringify(this.opts.steps.map(stepForDisk), null, 2) + '\n';
    if (!resumed) {
      if (text !== undefined) await writeAtomically(join(this.runDir, 'plan.yaml'), text);
      await writeAtomically(join(this.runDir, 'steps.json'), graph);
      return;
    }
    // Keep the plan each part of the run used: a changed plan is saved beside the first.
    const stamp = new Date(this.clock.now()).toISOString().replace(/[:.]/g, '-');
    const old = await readFile(join(this.runDir, 'plan.yaml'), 'utf8').catch(() => undefined);
    if (text !== undefined && text !== old)
      await writeAtomically(join(this.runDir, `plan.resumed-${stamp}.yaml`), text);
    const oldGraph = await readFile(join(this.runDir, 'steps.json'), 'utf8').catch(() => undefined);
    if (graph !== oldGraph)
      await writeAtomically(join(this.runDir, `steps.resumed-${stamp}.json`), graph);
  }

  private async schedule(): Promise<void> {
    const running = new Map<string, Promise<void>>();
    const startedIds = new Set<string>();
    for (const s of this.steps.values()) if (s.state !== 'pending') startedIds.add(s.spec.id);
    for (const skip of this.opts.skip ?? []) {
      const s = this.steps.get(skip.step);
      if (s && s.state === 'pending') {
        await this.skipStep(s, skip.reason);
        startedIds.add(s.spec.id);
      }
    }
    for (;;) {
      if (this.abort.signal.aborted) break;
      const ready = [...this.steps.values()].filter(
        (s) => !startedIds.has(s.spec.id) && s.after.every((a) => isDone(this.steps.get(a)?.state)),
      );
      if (this.stepByStep && ready.length) {
        // One step at a time, so the consultant reads each before it runs.
        if (running.size) {
          await Promise.race(running.values());
          continue;
        }
        const step = ready[0]!;
        startedIds.add(step.spec.id);
        const d = await this.ask(step.spec.id, 'before-step');
        if (d.kind === 'stop') break;
        if (d.kind === 'skip') {
          await this.skipStep(step, d.reason);
          continue;
        }
        if (d.kind === 'run-all') this.stepByStep = false;
        running.set(step.spec.id, this.runStepTracked(step, running));
        continue;
      }
      for (const step of ready) {
        startedIds.add(step.spec.id);
        running.set(step.spec.id, this.runStepTracked(step, running));
      }
      if (!running.size) break;
      await Promise.race(running.values());
    }
    await Promise.all(running.values());
  }

  private runStepTracked(step: StepRun, running: Map<string, Promise<void>>): Promise<void> {
    return this.runStep(step).finally(() => running.delete(step.spec.id));
  }

  private ask(stepId: string, reason: PauseReason): Promise<Decision> {
    return new Promise<Decision>((resolve) => {
      this.pending = { stepId, reason, resolve };
      this.emit({ type: 'run-paused', stepId, reason });
    }).then(async (decision) => {
      await this.write({ type: 'decision', at: this.clock.now(), stepId, decision });
      this.emit({ type: 'decision-taken', stepId, decision });
      if (decision.kind === 'stop') this.abort.abort();
      return decision;
    });
  }

  private async skipStep(step: StepRun, reason: string): Promise<void> {
    step.state = 'skipped';
    await this.write({
      type: 'step',
      at: this.clock.now(),
      stepId: step.spec.id,
      state: 'skipped',
      reason,
    });
    this.emit({ type: 'step-skipped', stepId: step.spec.id, reason });
    this.emit({
      type: 'step-finished',
      stepId: step.spec.id,
      state: 'skipped',
      counts: countHosts(step),
    });
  }

  private async runStep(step: StepRun): Promise<void> {
    const id = step.spec.id;
    await this.write({ type: 'step', at: this.clock.now(), stepId: id, state: 'running' });
    step.state = 'running';
    let todo = step.hosts.filter((h) => !DONE_STATES.has(step.host.get(h)!.state));
    this.emit({ type: 'step-started', stepId: id, hosts: todo });
    for (;;) {
      await this.runHosts(step, todo);
      step.state = aggregate([...step.host.values()].map((h) => h.state));
      const pause = this.opts.pauseOnFailure ?? this.opts.stepByStep ?? false;
      if (!pause || isDone(step.state) || this.abort.signal.aborted) break;
      await this.write({ type: 'step', at: this.clock.now(), stepId: id, state: step.state });
      const d = await this.ask(id, 'step-failed');
      if (d.kind === 'skip') {
        await this.skipStep(step, d.reason);
        return;
      }
      if (d.kind !== 'retry') break;
      const failed = step.hosts.filter((h) => !DONE_STATES.has(step.host.get(h)!.state));
      todo = d.hosts ? failed.filter((h) => d.hosts!.includes(h)) : failed;
    }
    await this.write({ type: 'step', at: this.clock.now(), stepId: id, state: step.state });
    this.emit({ type: 'step-finished', stepId: id, state: step.state, counts: countHosts(step) });
  }

  /** Runs the step on `hosts`, at most `parallelism` at once. */
  private async runHosts(step: StepRun, hosts: string[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < hosts.length && !this.abort.signal.aborted) {
        const host = hosts[next++]!;
        await this.runHostStep(step, host);
      }
    };
    const n = Math.min(step.spec.parallelism ?? hosts.length, hosts.length);
    await Promise.all(Array.from({ length: n }, worker));
  }

  private async runHostStep(step: StepRun, host: string): Promise<void> {
    const spec = step.spec;
    const h = step.host.get(host)!;
    const retries = spec.retries ?? 0;
    await mkdir(join(this.runDir, 'logs', spec.id), { recursive: true });
    const log = new HostLog({
      file: logPath(this.runDir, spec.id, host),
      redactor: this.redactor,
      batchMs: this.opts.logBatchMs,
      emit: (stream, data) => this.emit({ type: 'log', stepId: spec.id, host, stream, data }),
    });
    try {
      for (let tries = 0; ; tries++) {
        h.attempt++;
        h.state = 'running';
        h.kill = new AbortController();
        if (this.abort.signal.aborted) h.kill.abort();
        await this.write({
          type: 'host-step',
          at: this.clock.now(),
          stepId: spec.id,
          host,
          state: 'running',
          attempt: h.attempt,
        });
        this.emit({ type: 'host-step-started', stepId: spec.id, host, attempt: h.attempt });
        log.note(
          `# uStart: step ${spec.id} on ${host}, attempt ${h.attempt}, ${new Date(this.clock.now()).toISOString()}`,
        );
        const result = await this.attempt(step, host, h, log);
        h.state = result.state;
        h.kill = undefined;
        if (result.message) log.note(`# uStart: ${result.message}`);
        log.flush();
        await this.write({
          type: 'host-step',
          at: this.clock.now(),
          stepId: spec.id,
          host,
          attempt: h.attempt,
          ...result,
        });
        this.emit({
          type: 'host-step-finished',
          stepId: spec.id,
          host,
          attempt: h.attempt,
          ...result,
        });
        if (
          result.state !== 'failed' ||
          !result.retryable ||
          tries >= retries ||
          this.abort.signal.aborted
        )
          return;
        const delayMs = (this.opts.retryDelayMs ?? defaultRetryDelay)(h.attempt + 1);
        this.emit({
          type: 'host-step-retrying',
          stepId: spec.id,
          host,
          attempt: h.attempt + 1,
          delayMs,
        });
        try {
          await sleep(this.clock, delayMs, this.abort.signal);
        } catch {
          return;
        }
      }
    } finally {
      await log.close();
    }
  }

  /** One attempt: connect, check, uploads, run. Never throws. */
  private async attempt(
    step: StepRun,
    host: string,
    h: HostRun,
    log: HostLog,
  ): Promise<{
    state: State;
    exitCode?: number;
    signal?: string;
    message?: string;
    retryable?: boolean;
  }> {
    const spec = step.spec;
    const signal = h.kill!.signal;
    let conn: HostConnection;
    try {
      conn = await this.connection(host);
    } catch (e) {
      if (this.abort.signal.aborted)
        return { state: 'cancelled', message: 'cancelled while connecting' };
      return {
        state: 'failed',
        message: `could not connect: ${messageOf(e)}`,
        retryable: isUstartError(e, 'ConnectionFailed'),
      };
    }
    for (const name of spec.inputs ?? []) {
      try {
        await this.input(name, signal);
      } catch (e) {
        if (signal.aborted) return { state: 'cancelled', message: 'cancelled reading inputs' };
        if (isUstartError(e, 'ConnectionLost'))
          return { state: 'connection-lost', message: messageOf(e) };
        return { state: 'failed', message: messageOf(e), retryable: true };
      }
    }
    const stdin = await this.stdinFor(spec);
    // The transport reports a lost connection as an outcome; a command that could not even
    // start (a channel refused) is an ordinary, retryable failure. Neither throws out of here.
    const exec = (command: string, stream: boolean, timeoutMs?: number) =>
      conn
        .exec(this.wrap(spec, command), {
          stdin,
          sudo: spec.sudo,
          signal,
          timeoutMs,
          flow: this.hub.flow,
          onStdout: stream ? (c) => log.write('stdout', c) : undefined,
          onStderr: stream ? (c) => log.write('stderr', c) : undefined,
        })
        .catch((e: unknown): ExecOutcome | { kind: 'error'; message: string } =>
          isUstartError(e, 'ConnectionLost')
            ? { kind: 'connection-lost', message: messageOf(e) }
            : { kind: 'error', message: messageOf(e) },
        );
    if (spec.check) {
      log.note(`# uStart: check: ${spec.check}`);
      const checked = await exec(spec.check, true, spec.timeout?.ms);
      if (checked.kind === 'exited' && checked.code === 0) {
        return { state: 'skipped', message: 'check passed: already done' };
      }
      if (checked.kind === 'error')
        return { state: 'failed', message: `check: ${checked.message}`, retryable: true };
      if (checked.kind !== 'exited') return this.outcomeState(checked, spec, 'check', host);
      log.note(`# uStart: check exited ${checked.code}: running the step`);
    } else if (h.interrupted && !spec.idempotent && !this.mayRerun(spec.id, host)) {
      return {
        state: 'unknown',
        message: `step ${spec.id} was interrupted on ${host} in an earlier run; it has no check and is not idempotent, so uStart cannot tell whether it ran. Look at the host, then resume with --rerun ${spec.id}@${host} to run it again, or --skip ${spec.id}=<reason> if it is done.`,
      };
    }
    h.interrupted = false;
    for (const u of spec.uploads ?? []) {
      if (u.hosts && !u.hosts.includes(host)) continue;
      try {
        log.note(`# uStart: upload ${u.path}`);
        await conn.upload(uploadSource(u), u.path, { mode: u.mode, owner: u.owner, signal });
      } catch (e) {
        if (signal.aborted)
          return { state: 'cancelled', message: `cancelled during the upload of ${u.path}` };
        if (isUstartError(e, 'ConnectionLost'))
          return { state: 'connection-lost', message: messageOf(e) };
        return {
          state: 'failed',
          message: `upload of ${u.path} failed: ${messageOf(e)}`,
          retryable: true,
        };
      }
    }
    if (spec.local) return this.runLocal(spec, host, conn, signal, log);
    const soft = spec.timeout?.mode === 'soft' ? spec.timeout.ms : undefined;
    const startedAt = this.clock.now();
    const stopWarning = soft
      ? this.clock.setTimeout(() => {
          const elapsedMs = this.clock.now() - startedAt;
          void this.write({
            type: 'timeout-warning',
            at: this.clock.now(),
            stepId: spec.id,
            host,
            elapsedMs,
          }).catch(() => undefined);
          this.emit({ type: 'timeout-warning', stepId: spec.id, host, elapsedMs });
        }, soft)
      : undefined;
    try {
      const outcome = await exec(
        spec.run,
        true,
        spec.timeout?.mode === 'hard' ? spec.timeout.ms : undefined,
      );
      if (outcome.kind === 'error')
        return { state: 'failed', message: outcome.message, retryable: true };
      const result = this.outcomeState(
        outcome,
        spec,
        'run',
        host,
        h.kill!.signal.aborted && !this.abort.signal.aborted,
      );
      if (result.state !== 'succeeded' || host !== step.hosts[0]) return result;
      for (const o of spec.outputs ?? []) {
        // A fresh read: a re-run replaces what an earlier attempt produced.
        this.outputValues.delete(o.name);
        log.note(`# uStart: read output ${o.name} from ${o.path}`);
        try {
          await this.output(spec, host, o, signal);
        } catch (e) {
          if (signal.aborted) return { state: 'cancelled', message: 'cancelled reading outputs' };
          if (isUstartError(e, 'ConnectionLost'))
            return { state: 'connection-lost', message: messageOf(e) };
          return { state: 'failed', message: messageOf(e), retryable: true };
        }
      }
      return result;
    } finally {
      stopWarning?.();
    }
  }

  /** A step done from this machine (StepSpec.local) on one host. Never throws. */
  private async runLocal(
    spec: StepSpec,
    host: string,
    connection: HostConnection,
    signal: AbortSignal,
    log: HostLog,
  ): Promise<{ state: State; message?: string; retryable?: boolean }> {
    try {
      await spec.local!({
        host,
        target: this.opts.hosts.get(host)!,
        transport: this.opts.transport,
        connection,
        signal,
        log: (line) => log.note(line),
      });
      return { state: 'succeeded' };
    } catch (e) {
      if (signal.aborted) {
        return {
          state: 'cancelled',
          message: this.abort.signal.aborted ? 'cancelled' : 'killed by the consultant',
        };
      }
      if (isUstartError(e, 'ConnectionLost'))
        return { state: 'connection-lost', message: messageOf(e) };
      log.note(`# uStart: ${messageOf(e)}`);
      return { state: 'failed', message: messageOf(e), retryable: true };
    }
  }

  /**
   * An input's value: in memory when its producer ran in this engine; otherwise (resume, a
   * producer skipped by its check or left out by --steps) read again from the producer's
   * first host, where the file still is.
   */
  private async input(name: string, signal: AbortSignal): Promise<string> {
    const spec = this.opts.steps.find((s) => s.outputs?.some((o) => o.name === name))!;
    const output = spec.outputs!.find((o) => o.name === name)!;
    const host =
      this.steps.get(spec.id)?.hosts[0] ?? this.opts.resolveTargets(spec.targets, spec)[0];
    if (host === undefined) {
      throw new UstartError(
        'RunbookInvalid',
        `input "${name}" comes from step "${spec.id}", which has no host in this plan.`,
      );
    }
    return this.output(spec, host, output, signal);
  }

  /** Reads an output file back (base64, one line) and hides its value from then on. */
  private output(
    spec: StepSpec,
    host: string,
    output: StepOutputSpec,
    signal: AbortSignal,
  ): Promise<string> {
    const known = this.outputValues.get(output.name);
    if (known) return known;
    const read = (async () => {
      const conn = await this.connection(host);
      const chunks: Uint8Array[] = [];
      const outcome = await conn.exec(`base64 -w0 -- ${shQuote(output.path)}`, {
        sudo: spec.sudo,
        signal,
        onStdout: (c) => chunks.push(c),
      });
      const value = Buffer.concat(chunks).toString('utf8').trim();
      if (outcome.kind === 'connection-lost') {
        throw new UstartError(
          'ConnectionLost',
          `the connection to ${host} was lost while reading output "${output.name}" of step ${spec.id}: ${outcome.message}`,
        );
      }
      if (outcome.kind !== 'exited' || outcome.code !== 0 || !value) {
        throw new UstartError(
          'StepFailed',
          `could not read output "${output.name}" of step ${spec.id} from ${output.path} on ${host} (${describeOutcome(outcome)}); run step ${spec.id} again (--rerun ${spec.id}) so it writes the file.`,
        );
      }
      const text = Buffer.from(value, 'base64').toString('utf8');
      // Hide the value in both forms, and each line of the file, should a script print it.
      this.redactor.add([
        value,
        text.trim(),
        ...text.split('\n').filter((l) => l.trim().length >= 8),
      ]);
      return value;
    })();
    this.outputValues.set(output.name, read);
    read.catch(() => {
      if (this.outputValues.get(output.name) === read) this.outputValues.delete(output.name);
    });
    return read;
  }

  private outcomeState(
    o: ExecOutcome,
    spec: StepSpec,
    what: 'check' | 'run',
    host: string,
    killed = false,
  ): { state: State; exitCode?: number; signal?: string; message?: string; retryable?: boolean } {
    switch (o.kind) {
      case 'exited':
        return o.code === 0
          ? { state: 'succeeded', exitCode: 0 }
          : {
              state: 'failed',
              exitCode: o.code,
              message: `${what} exited with code ${o.code}`,
              retryable: true,
            };
      case 'signalled':
        return {
          state: 'failed',
          signal: o.signal,
          message: `${what} was killed by signal ${o.signal}`,
          retryable: true,
        };
      case 'timeout': {
        const limit = `its hard timeout of ${Math.round((spec.timeout?.ms ?? 0) / 1000)} s`;
        if (o.remoteKilled) {
          return {
            state: 'failed',
            message: `${what} ran longer than ${limit} and was killed`,
            retryable: true,
          };
        }
        // Ended on this side only: the command may still run there, so neither a retry nor
        // a plain failure would be honest. `unknown` makes resume ask (check, --rerun, --skip).
        return {
          state: 'unknown',
          message: `${what} ran longer than ${limit}; remote kill not confirmed: uStart stopped waiting, but the command may still run on ${host}. Look at the host, then resume with --rerun ${spec.id}@${host} or --skip ${spec.id}=<reason>.`,
        };
      }
      case 'cancelled': {
        const why = killed ? 'killed by the consultant' : 'cancelled';
        return {
          state: 'cancelled',
          message:
            o.remoteKilled === false
              ? `${why}; remote kill not confirmed: the command may still run on ${host}`
              : why,
        };
      }
      case 'connection-lost':
        return {
          state: 'connection-lost',
          message: `the connection was lost during the ${what}: ${o.message}`,
        };
      case 'unknown':
        return { state: 'unknown', message: `the ${what} ended without an exit status` };
      default:
        throw unreachable(o);
    }
  }

  private mayRerun(stepId: string, host: string): boolean {
    return (this.opts.rerun ?? []).some((r) => r === stepId || r === `${stepId}@${host}`);
  }

  /** Env exports (non-secret, visible in argv) and secret reads (from stdin, never argv). */
  private wrap(spec: StepSpec, command: string): string {
    const parts: string[] = [];
    for (const name of spec.secrets ?? []) parts.push(`IFS= read -r ${name}`);
    for (const name of spec.inputs ?? []) parts.push(`IFS= read -r ${inputVariable(name)}`);
    for (const [k, v] of Object.entries(spec.env ?? {})) parts.push(`export ${k}=${shQuote(v)}`);
    return parts.length ? `${parts.join('; ')}\n${command}` : command;
  }

  /** Secrets, then inputs (already read by `attempt`), one per line, in `wrap`'s order. */
  private async stdinFor(spec: StepSpec): Promise<string | undefined> {
    const values = [
      ...(spec.secrets ?? []).map((n) => this.secretValues.get(n)!),
      ...(await Promise.all((spec.inputs ?? []).map((n) => this.outputValues.get(n)!))),
    ];
    return values.length ? values.map((v) => `${v}\n`).join('') : undefined;
  }

  /** One connection per host, opened on first use and dropped when it closes. */
  private connection(host: string): Promise<HostConnection> {
    let c = this.connections.get(host);
    if (!c) {
      const target = this.opts.hosts.get(host);
      if (!target)
        return Promise.reject(new UstartError('InvalidArgument', `no SSH target for host ${host}`));
      c = this.opts.transport.connect(target, { signal: this.abort.signal });
      this.connections.set(host, c);
      c.then(
        (conn) =>
          void conn.closed.then(
            () => this.connections.get(host) === c && this.connections.delete(host),
          ),
        () => this.connections.get(host) === c && this.connections.delete(host),
      );
    }
    return c;
  }

  private async closeConnections(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => c.then((conn) => conn.close()).catch(() => undefined)));
  }

  private async finish(): Promise<RunResult> {
    const counts = emptyCounts();
    for (const s of this.steps.values()) for (const h of s.host.values()) counts[h.state]++;
    const stepStates = [...this.steps.values()].map((s) => s.state);
    const state: RunState = this.abort.signal.aborted ? 'cancelled' : runStateOf(stepStates);
    await this.write({ type: 'run-finished', at: this.clock.now(), state, counts });
    this.emit({ type: 'run-finished', state, counts });
    return { runId: this.runId, runDir: this.runDir, state, counts };
  }

  private async write(record: JournalRecord): Promise<void> {
    if (record.type === 'host-step' && record.message)
      record = { ...record, message: this.redactor.redact(record.message) };
    await this.journal?.append(record);
  }

  private emit(e: NewEvent): void {
    this.hub.emit(e);
  }
}

/** The port takes a string as a local path, so text content goes as bytes. */
function uploadSource(u: StepUpload): string | Uint8Array {
  if (u.content === undefined) return u.source!;
  return typeof u.content === 'string' ? Buffer.from(u.content, 'utf8') : u.content;
}

function describeOutcome(o: ExecOutcome): string {
  return o.kind === 'exited' ? `exit code ${o.code}` : o.kind;
}

function isDone(state: State | undefined): boolean {
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

function runStateOf(states: readonly State[]): RunState {
  for (const s of ['failed', 'connection-lost', 'unknown', 'cancelled'] as const) {
    if (states.includes(s)) return s;
  }
  // A step left pending was blocked by one of the above, or the run stopped before it.
  return states.includes('pending') ? 'failed' : 'succeeded';
}

function countHosts(step: StepRun): Counts {
  const counts = emptyCounts();
  for (const h of step.host.values()) counts[h.state]++;
  return counts;
}

function plannedOf(s: StepRun): PlannedStep {
  return {
    id: s.spec.id,
    title: s.spec.title,
    phase: s.spec.phase,
    hosts: s.hosts,
    after: [...(s.spec.after ?? [])],
  };
}

/** The graph as saved in `steps.json`: upload contents are left out (they may be large). */
function stepForDisk(s: StepSpec): unknown {
  return {
    ...s,
    uploads: s.uploads?.map((u) => ({
      ...u,
      content: u.content === undefined ? undefined : `<${u.content.length} bytes>`,
    })),
  };
}

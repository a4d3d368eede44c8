/**
 * The run engine's facade: runs a graph of steps on hosts through a Transport, writes the run
 * folder (journal, logs, plan) and emits RunEvents. See docs/engine.md for the states, the
 * run folder and the resume rules, and its "Code map" for the modules this facade joins:
 * scheduler.ts (which step runs next, where), host-step.ts (one step on one host),
 * connection-pool.ts (a connection per host) and decisions.ts (pauses, skips, resume).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UstartError, isUstartError } from '../errors.js';
import { writeAtomically } from '../util/fs.js';
import { type Clock, systemClock } from './clock.js';
import { ConnectionPool } from './connection-pool.js';
import { Decisions } from './decisions.js';
import type { EngineOptions, RunResult } from './engine-options.js';
import { RunStream, type Subscription } from './run-stream.js';
import { checkGraph } from './graph.js';
import { HostStepRunner } from './host-step.js';
import {
  JOURNAL_VERSION,
  JournalWriter,
  readJournal,
  summarize,
  type JournalRecord,
  type RunSummary,
} from './journal.js';
import { ClusterLock, LocalRunLock, currentOwner } from './lock.js';
import { Redactor } from './redact.js';
import { journalPath, runDirOf, runLockPath } from './run-folder.js';
import { plannedOf, runStateOf, type RunContext, type StepRun } from './run-state.js';
import { Scheduler, planSteps } from './scheduler.js';
import {
  emptyCounts,
  type Decision,
  type NewEvent,
  type PauseReason,
  type RunEvent,
  type RunState,
  type StepSpec,
} from './types.js';

export type { EngineOptions, RunResult, SecretSource } from './engine-options.js';
export { aggregate } from './run-state.js';

export function newRunId(now: number): string {
  const iso = new Date(now).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${randomBytes(3).toString('hex')}`;
}

export class RunEngine {
  readonly runId: string;
  readonly runDir: string;
  readonly hub: RunStream;
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private readonly steps = new Map<string, StepRun>();
  private readonly connections: ConnectionPool;
  private readonly decisions: Decisions;
  private readonly ctx: RunContext;
  private journal: JournalWriter | undefined;
  private readonly redactor = new Redactor([]);
  private readonly secretValues = new Map<string, string>();
  private started = false;

  constructor(private readonly opts: EngineOptions) {
    this.clock = opts.clock ?? systemClock;
    this.runId = opts.resume ?? newRunId(this.clock.now());
    this.runDir = runDirOf(opts.runsDir, this.runId);
    this.connections = new ConnectionPool(opts.transport, opts.hosts, this.abort.signal);
    this.hub = new RunStream(this.runId, { now: () => this.clock.now(), ...opts.events });
    this.ctx = {
      opts,
      clock: this.clock,
      runDir: this.runDir,
      abort: this.abort,
      steps: this.steps,
      connections: this.connections,
      redactor: this.redactor,
      secretValues: this.secretValues,
      flow: this.hub.flow,
      write: (record) => this.write(record),
      emit: (e) => this.emit(e),
    };
    this.decisions = new Decisions(this.ctx);
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
    return this.decisions.paused;
  }

  /** Answers a `run-paused` event. */
  decide(decision: Decision): void {
    this.decisions.decide(decision);
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
    this.decisions.cancelled();
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
      planSteps(opts, this.steps, previous);
      const cl = opts.clusterLock && opts.hosts.has(opts.clusterLock.host) && opts.clusterLock;
      const takeLock = async () => {
        if (!cl) return;
        clusterLock = await ClusterLock.acquire(await this.connections.get(cl.host), owner, {
          path: cl.path,
          takeOver: cl.takeOver,
          sudo: cl.sudo,
          clock: this.clock,
          onHeartbeatFailed: (message) => this.emit({ type: 'warning', message, host: cl.host }),
        });
      };
      // A host-less step (an OS install) runs before the first controller has an SSH server:
      // then the lock is taken just before the first step that connects (Scheduler).
      const hostless = [...this.steps.values()].some((s) => s.spec.hostless && s.hosts.length);
      let locking: Promise<void> | undefined;
      if (hostless) this.ctx.beforeSsh = () => (locking ??= takeLock());
      // Before the run folder: a run the cluster refuses leaves no trace in the runs list.
      else await takeLock();
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
      await new Scheduler(this.ctx, this.decisions, new HostStepRunner(this.ctx)).run();
      return await this.finish();
    } catch (e) {
      if (this.journal && !isUstartError(e, 'WriteFailed')) {
        // The run started but could not go on: record that it ended.
        await this.finish().catch(() => undefined);
      }
      throw e;
    } finally {
      await clusterLock?.release();
      await this.connections.closeAll();
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
    this.redactor.add([...(await src.values()), ...this.secretValues.values()]);
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

/**
 * The graph as saved in `steps.json`: upload contents are left out (they may be large), and
 * so are a host-less step's functions (its `localAction` names them).
 */
function stepForDisk(s: StepSpec): unknown {
  return {
    ...s,
    hostless: undefined,
    uploads: s.uploads?.map((u) => ({
      ...u,
      content: u.content === undefined ? undefined : `<${u.content.length} bytes>`,
    })),
  };
}

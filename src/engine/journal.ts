/**
 * The run journal, `journal.jsonl`: one JSON object per line, append-only. Every state
 * change is on disk (fdatasync) before the engine acts on it, so after a crash the journal
 * says what had started and what had finished. Writes that arrive while one is being
 * synced are committed together (group commit): thirty hosts finishing at once cost one
 * fsync, not thirty. Record types are documented in docs/engine.md.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { UstartError } from '../errors.js';
import {
  DONE_STATES,
  emptyCounts,
  type Counts,
  type Decision,
  type PlannedStep,
  type RunState,
  type State,
} from './types.js';

export const JOURNAL_VERSION = 1;

export type JournalRecord =
  | {
      type: 'run-created';
      v: number;
      at: number;
      runId: string;
      planFile?: string;
      /** Run against the demo lab, not real servers. */
      demo?: true;
      machine: string;
      user: string;
      pid: number;
      steps: PlannedStep[];
    }
  | { type: 'run-resumed'; at: number; machine: string; user: string; pid: number }
  | { type: 'step'; at: number; stepId: string; state: State; reason?: string }
  | {
      type: 'host-step';
      at: number;
      stepId: string;
      host: string;
      state: State;
      attempt: number;
      exitCode?: number;
      signal?: string;
      message?: string;
    }
  | { type: 'decision'; at: number; stepId: string; decision: Decision }
  | { type: 'timeout-warning'; at: number; stepId: string; host: string; elapsedMs: number }
  | { type: 'run-finished'; at: number; state: RunState; counts: Counts };

export class JournalWriter {
  private queue: { line: string; done: () => void; fail: (e: unknown) => void }[] = [];
  private writing: Promise<void> | undefined;

  private constructor(
    private readonly handle: FileHandle,
    readonly file: string,
  ) {}

  /** Opens for appending; a torn last line (a crash mid-write) is cut off first. */
  static async open(file: string): Promise<JournalWriter> {
    const handle = await open(file, 'a+');
    try {
      const { size } = await handle.stat();
      if (size > 0) {
        const text = (await readFile(file)).toString('utf8');
        if (!text.endsWith('\n'))
          await handle.truncate(Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
      }
    } catch (e) {
      await handle.close();
      throw e;
    }
    return new JournalWriter(handle, file);
  }

  /** Resolves when the record is durable on disk. */
  append(record: JournalRecord): Promise<void> {
    return new Promise((done, fail) => {
      this.queue.push({ line: JSON.stringify(record) + '\n', done, fail });
      this.writing ??= this.drain();
    });
  }

  async close(): Promise<void> {
    await this.writing;
    await this.handle.close();
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.handle.write(batch.map((b) => b.line).join(''));
        await this.handle.datasync();
        for (const b of batch) b.done();
      } catch (e) {
        const err = new UstartError(
          'WriteFailed',
          `could not write the run journal ${this.file}: ${(e as Error).message}. Is the disk full?`,
          { cause: e, detail: { file: this.file } },
        );
        for (const b of batch) b.fail(err);
      }
    }
    this.writing = undefined;
  }
}

/** Reads a journal; a torn last line is dropped, a broken line elsewhere is an error. */
export async function readJournal(
  file: string,
): Promise<{ records: JournalRecord[]; torn: boolean }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UstartError(
      'RunNotFound',
      `${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}). Is the run id right? "ustart runs PLAN" lists them.`,
      { cause: e, detail: { file } },
    );
  }
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  const records: JournalRecord[] = [];
  lines.forEach((line, i) => {
    if (!line) return;
    try {
      records.push(JSON.parse(line) as JournalRecord);
    } catch (e) {
      throw new UstartError(
        'JournalCorrupt',
        `${file}:${i + 1} is not a JSON record. The journal was changed by something other than uStart; restore it from a backup or start a new run.`,
        { cause: e, detail: { file, line: i + 1 } },
      );
    }
  });
  return { records, torn: last.length > 0 };
}

export interface HostStepSummary {
  state: State;
  attempt: number;
  exitCode?: number;
  message?: string;
  /** When its last attempt started and, once done, ended (journal time, ms): the step history. */
  startedAt?: number;
  finishedAt?: number;
}

export interface StepSummary {
  id: string;
  title: string;
  phase: string;
  state: State;
  reason?: string;
  hosts: Map<string, HostStepSummary>;
}

export interface RunSummary {
  runId: string;
  planFile?: string;
  /** A run against the demo lab. */
  demo: boolean;
  startedAt: number;
  /** Last record's time. */
  updatedAt: number;
  /** From the `run-finished` record; undefined while running or after a crash. */
  finalState?: RunState;
  /** The process that wrote last: the lock check tells running from interrupted. */
  owner: { machine: string; pid: number };
  steps: Map<string, StepSummary>;
  /** Host-step states counted over all steps. */
  counts: Counts;
  torn: boolean;
}

/** Folds a journal into the latest state of every step and host-step. */
export function summarize(records: readonly JournalRecord[], torn = false): RunSummary {
  const first = records[0];
  if (first?.type !== 'run-created') {
    throw new UstartError(
      'JournalCorrupt',
      'the journal does not start with a run-created record; it is not a uStart run journal.',
    );
  }
  const summary: RunSummary = {
    runId: first.runId,
    demo: first.demo === true,
    planFile: first.planFile,
    startedAt: first.at,
    updatedAt: first.at,
    owner: { machine: first.machine, pid: first.pid },
    steps: new Map(),
    counts: emptyCounts(),
    torn,
  };
  for (const s of first.steps) {
    summary.steps.set(s.id, {
      id: s.id,
      title: s.title,
      phase: s.phase,
      state: 'pending',
      hosts: new Map(s.hosts.map((h) => [h, { state: 'pending', attempt: 0 }])),
    });
  }
  for (const r of records) {
    summary.updatedAt = r.at;
    switch (r.type) {
      case 'run-created':
      case 'decision':
      case 'timeout-warning':
        break;
      case 'run-resumed':
        summary.owner = { machine: r.machine, pid: r.pid };
        summary.finalState = undefined;
        break;
      case 'step': {
        const step = stepOf(summary, r.stepId);
        step.state = r.state;
        step.reason = r.reason;
        break;
      }
      case 'host-step': {
        const hosts = stepOf(summary, r.stepId).hosts;
        const startedAt = r.state === 'running' ? r.at : hosts.get(r.host)?.startedAt;
        hosts.set(r.host, {
          state: r.state,
          attempt: r.attempt,
          exitCode: r.exitCode,
          message: r.message,
          ...(startedAt !== undefined ? { startedAt } : {}),
          ...(r.state !== 'running' && r.state !== 'pending' ? { finishedAt: r.at } : {}),
        });
        break;
      }
      case 'run-finished':
        summary.finalState = r.state;
        break;
      default:
        throw unknownRecord(r);
    }
  }
  for (const step of summary.steps.values()) {
    for (const h of step.hosts.values()) summary.counts[h.state]++;
  }
  return summary;
}

function stepOf(summary: RunSummary, id: string): StepSummary {
  let step = summary.steps.get(id);
  if (!step) {
    // A step added to the graph on resume.
    step = { id, title: id, phase: '', state: 'pending', hosts: new Map() };
    summary.steps.set(id, step);
  }
  return step;
}

function unknownRecord(r: never): Error {
  return new UstartError(
    'JournalCorrupt',
    `unknown journal record ${JSON.stringify(r)}; written by a newer uStart?`,
  );
}

/** True when every host-step of the step is done (succeeded or skipped). */
export function stepDone(step: StepSummary): boolean {
  return (
    step.state === 'skipped' ||
    (step.hosts.size > 0 && [...step.hosts.values()].every((h) => DONE_STATES.has(h.state)))
  );
}

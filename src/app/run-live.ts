/**
 * The streaming protocol of the run service: a front `attach`es to a run with the last
 * sequence number it saw, gets the events after it from the run's replay, then `run:events`
 * batches as they happen, and acknowledges what it showed (`ack`). The run's RunStream
 * (src/engine/run-stream.ts) owns the numbers, the replay, the batching, the
 * acknowledgements and the lease: a front that stays silent for the lease (a closed tab) is
 * dropped and told so with `run:detached`, and attaches again from the last number it saw.
 *
 * Log events carry `offset`, the byte offset in the log file where their data begins, so a
 * view can read what came before from the file without a gap or an overlap.
 */
import { randomBytes } from 'node:crypto';
import type { FrontEvents, RunEventView } from '../api/index.js';
import type {
  RunEngine,
  RunEvent,
  RunResult,
  StepSpec,
  Subscription,
  Viewer,
} from '../engine/index.js';
import type { Transport } from '../ssh/transport.js';

/** A run this core is running (or ran last for its plan): its engine and what it announced. */
export class LiveRun {
  /** Sequence numbers restart with every engine (a resume): a view from another epoch replays all. */
  readonly epoch = randomBytes(4).toString('hex');
  /** The `run-started` event: the steps with their resolved hosts. */
  started: Extract<RunEvent, { type: 'run-started' }> | undefined;
  finished = false;
  /** `run-finished` was emitted; the engine may still be closing connections and locks. */
  ended = false;
  readonly done: Promise<RunResult>;
  private readonly bookkeeping: Subscription;

  constructor(
    readonly engine: RunEngine,
    readonly planFile: string,
    readonly steps: readonly StepSpec[],
    transport: Transport,
    onFinished: (run: LiveRun) => void,
  ) {
    this.bookkeeping = engine.subscribe((e) => {
      if (e.type === 'run-finished') this.ended = true;
      if (e.type === 'run-started') this.started = e;
    });
    this.done = engine.run().finally(async () => {
      this.finished = true;
      this.bookkeeping.dispose();
      // The fronts hear of the end even when closing the connections fails.
      try {
        await transport.dispose();
      } finally {
        onFinished(this);
      }
    });
  }

  get runId(): string {
    return this.engine.runId;
  }
}

/** The fronts' attachments to runs, by attachment id. */
export class RunAttachments {
  private readonly byId = new Map<string, { run: LiveRun; viewer: Viewer }>();

  constructor(
    private readonly events: FrontEvents,
    private readonly leaseMs: number,
  ) {}

  attach(run: LiveRun, sinceSeq: number, epoch: string | undefined) {
    const attachId = randomBytes(8).toString('hex');
    const { runId } = run;
    const viewer = run.engine.hub.attach(epoch === run.epoch ? sinceSeq : 0, {
      leaseMs: this.leaseMs,
      onBatch: (events) =>
        this.events.emit('run:events', { attachId, runId, events: events.map(asView) }),
      onExpired: () => {
        this.byId.delete(attachId);
        this.events.emit('run:detached', { attachId, runId });
      },
    });
    if (run.finished) viewer.dispose();
    else this.byId.set(attachId, { run, viewer });
    return {
      attachId,
      epoch: run.epoch,
      complete: viewer.complete,
      events: viewer.replay.map(asView),
    };
  }

  ack(attachId: string, chars: number): void {
    this.byId.get(attachId)?.viewer.ack(chars);
  }

  detach(attachId: string): void {
    this.byId.get(attachId)?.viewer.dispose();
    this.byId.delete(attachId);
  }

  /** Detaches every viewer of `run`, or of every run. */
  detachAll(run?: LiveRun): void {
    for (const [id, a] of [...this.byId]) if (!run || a.run === run) this.detach(id);
  }
}

/**
 * The run's stream gives log events their offset (RunService passes `logOffsets`), so an
 * engine event is the contract's view of it: both are read from src/api/run-events.ts, where
 * only the log event's `offset` differs (optional for the engine, given for a view).
 */
function asView(e: RunEvent): RunEventView {
  return e as RunEventView;
}

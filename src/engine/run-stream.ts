/**
 * A run's event stream (STYLE.md, "Streams of output"), the one place that owns sequence
 * numbers, the bounded replay buffer, flow control, log offsets and each viewer's batching,
 * acknowledgements and lease, as VS Code's terminal data bufferer owns its streams.
 *
 * Flow control is VS Code's: the source is paused when a consumer has more than `high`
 * unacknowledged log characters and resumed when every consumer is back under `low`.
 *
 * A viewer (`attach`) is a flow-controlled consumer that gets the replay after the last
 * sequence number it saw, then batches (16 ms, or at once past 128 K characters or at the
 * run's end). A viewer that vanished without detaching (a closed tab) would hold the run
 * paused for ever, so one whose data stays unacknowledged for `leaseMs` is dropped and told
 * (`onExpired`): a view that was only busy attaches again from the last number it saw.
 */
import type { FlowControl } from '../ssh/transport.js';
import type { NewEvent, RunEvent } from './types.js';

export interface RunStreamOptions {
  /** Events kept for re-attaching views (default 10,000). */
  replayEvents?: number;
  /** Log characters kept for re-attaching views (default 4 M). */
  replayChars?: number;
  /** Pause the sources above this many unacknowledged characters (default 100,000). */
  high?: number;
  /** Resume them below this many (default 5,000). */
  low?: number;
  /**
   * Give `log` events `offset`, the byte offset in the log file where their data begins,
   * starting from these sizes (keyed `step\0host`; a resume appends to its files). Absent:
   * events carry no offset.
   */
  logOffsets?: ReadonlyMap<string, number>;
  now?: () => number;
}

export interface Subscription {
  /** Acknowledges `chars` characters of `log` data as consumed (flow-controlled subscribers). */
  ack(chars: number): void;
  dispose(): void;
}

export interface ViewerOptions {
  /** A batch of events for this viewer, in order. */
  onBatch(events: RunEvent[]): void;
  /** The viewer was dropped: its data stayed unacknowledged for `leaseMs`. */
  onExpired(): void;
  /** Default 20 s. */
  leaseMs?: number;
}

/** One viewer of a run: the replay it was given, then batches; it acknowledges what it showed. */
export interface Viewer {
  /** The events after the number it attached with that the buffer still held. */
  readonly replay: RunEvent[];
  /** False when some events after that number have left the buffer (read the log files). */
  readonly complete: boolean;
  ack(chars: number): void;
  /** Sends what is queued now. */
  flush(): void;
  dispose(): void;
}

interface Subscriber {
  listener: (e: RunEvent) => void;
  flowControlled: boolean;
  unacked: number;
}

export class RunStream {
  private seq = 0;
  private readonly subscribers = new Set<Subscriber>();
  private replay: RunEvent[] = [];
  private replayStart = 0;
  private replayChars = 0;
  private paused = false;
  private readonly flowListeners = new Set<(paused: boolean) => void>();
  private readonly opts: Required<Omit<RunStreamOptions, 'logOffsets'>>;
  private readonly offsets: Map<string, number> | undefined;

  /** The switch handed to the transport with every exec. */
  readonly flow: FlowControl;

  constructor(
    readonly runId: string,
    options: RunStreamOptions = {},
  ) {
    const { logOffsets, ...rest } = options;
    this.opts = {
      replayEvents: 10_000,
      replayChars: 4_000_000,
      high: 100_000,
      low: 5_000,
      now: Date.now,
      ...rest,
    };
    this.offsets = logOffsets ? new Map(logOffsets) : undefined;
    const isPaused = () => this.paused;
    const listeners = this.flowListeners;
    this.flow = {
      get paused() {
        return isPaused();
      },
      onChange(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
  }

  get lastSeq(): number {
    return this.seq;
  }

  emit(event: NewEvent): RunEvent {
    const e = { ...event, runId: this.runId, seq: ++this.seq, time: this.opts.now() } as RunEvent;
    if (e.type === 'log' && this.offsets) {
      const key = `${e.stepId}\u0000${e.host}`;
      e.offset = this.offsets.get(key) ?? 0;
      this.offsets.set(key, e.offset + Buffer.byteLength(e.data, 'utf8'));
    }
    this.remember(e);
    const chars = e.type === 'log' ? e.data.length : 0;
    // The subscribers when the event was made: one that attaches from a listener has this
    // event in its replay already and must not get it twice.
    for (const s of [...this.subscribers]) {
      if (s.flowControlled) s.unacked += chars;
      s.listener(e);
    }
    if (chars) this.updateFlow();
    return e;
  }

  subscribe(
    listener: (e: RunEvent) => void,
    options: { flowControlled?: boolean } = {},
  ): Subscription {
    const s: Subscriber = { listener, flowControlled: options.flowControlled ?? false, unacked: 0 };
    this.subscribers.add(s);
    return {
      ack: (chars) => {
        s.unacked = Math.max(0, s.unacked - chars);
        this.updateFlow();
      },
      dispose: () => {
        this.subscribers.delete(s);
        this.updateFlow();
      },
    };
  }

  /**
   * Events after `seq`, for a view that re-attaches. `complete` is false when some of them
   * have left the replay buffer (the view then reads the log files).
   */
  since(seq: number): { events: RunEvent[]; complete: boolean } {
    const kept = this.replay.slice(this.replayStart);
    const first = kept[0]?.seq ?? this.seq + 1;
    return { events: kept.filter((e) => e.seq > seq), complete: seq + 1 >= first };
  }

  /** A viewer from after `seq`: the replay, then batches as events come. */
  attach(seq: number, options: ViewerOptions): Viewer {
    const { events, complete } = this.since(seq);
    const viewer = new BatchingViewer(this, events, complete, options);
    return viewer;
  }

  private remember(e: RunEvent): void {
    this.replay.push(e);
    if (e.type === 'log') this.replayChars += e.data.length;
    while (
      this.replay.length - this.replayStart > this.opts.replayEvents ||
      this.replayChars > this.opts.replayChars
    ) {
      const old = this.replay[this.replayStart++];
      if (old?.type === 'log') this.replayChars -= old.data.length;
    }
    // Compacts now and then, so dropping from the front stays O(1) amortised.
    if (this.replayStart > 1024 && this.replayStart * 2 > this.replay.length) {
      this.replay = this.replay.slice(this.replayStart);
      this.replayStart = 0;
    }
  }

  private updateFlow(): void {
    let max = 0;
    for (const s of this.subscribers) if (s.flowControlled) max = Math.max(max, s.unacked);
    const paused = this.paused ? max > this.opts.low : max > this.opts.high;
    if (paused === this.paused) return;
    this.paused = paused;
    for (const l of [...this.flowListeners]) l(paused);
  }
}

const BATCH_MS = 16;
const BATCH_CHARS = 131_072;

class BatchingViewer implements Viewer {
  private queue: RunEvent[] = [];
  private queuedChars = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly lease: NodeJS.Timeout;
  private sentChars = 0;
  private ackedChars = 0;
  /** Replayed log characters not acknowledged yet: the stream never counted them. */
  private replayOwed = 0;
  /** The last acknowledgement, or when data began to be owed after all was acknowledged. */
  private lastAck = Date.now();
  private readonly sub: Subscription;
  private disposed = false;

  constructor(
    stream: RunStream,
    readonly replay: RunEvent[],
    readonly complete: boolean,
    private readonly options: ViewerOptions,
  ) {
    // Replayed events count as sent, but only live ones are acknowledged to the stream.
    for (const e of replay) {
      if (e.type !== 'log') continue;
      this.owe(e.data.length);
      this.replayOwed += e.data.length;
    }
    this.sub = stream.subscribe((e) => this.push(e), { flowControlled: true });
    const leaseMs = options.leaseMs ?? 20_000;
    this.lease = setInterval(
      () => {
        if (this.sentChars > this.ackedChars && Date.now() - this.lastAck > leaseMs) {
          this.dispose();
          this.options.onExpired();
        }
      },
      Math.max(100, leaseMs / 4),
    );
    this.lease.unref();
    // Nothing comes after a run's end: a viewer of an ended run holds no lease or subscription.
    if (replay.some((e) => e.type === 'run-finished')) this.dispose();
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

  private push(e: RunEvent): void {
    this.queue.push(e);
    if (e.type === 'log') {
      this.queuedChars += e.data.length;
      this.owe(e.data.length);
    }
    if (e.type === 'run-finished') this.dispose();
    else if (this.queuedChars >= BATCH_CHARS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.queue.length || this.disposed) return;
    const events = this.queue;
    this.queue = [];
    this.queuedChars = 0;
    this.options.onBatch(events);
  }

  dispose(): void {
    if (this.disposed) return;
    this.flush();
    this.disposed = true;
    clearInterval(this.lease);
    this.sub.dispose();
  }
}

/**
 * Sequence numbers, subscribers, a bounded replay buffer and flow control for a run's
 * events (STYLE.md, "Streams of output"): like VS Code's terminal flow control, the source
 * is paused when a consumer has more than `high` unacknowledged log characters and resumed
 * when every consumer is back under `low`.
 */
import type { FlowControl } from '../ssh/transport.js';
import type { NewEvent, RunEvent } from './types.js';

export interface EventHubOptions {
  /** Events kept for re-attaching views (default 10,000). */
  replayEvents?: number;
  /** Log characters kept for re-attaching views (default 4 M). */
  replayChars?: number;
  /** Pause the sources above this many unacknowledged characters (default 100,000). */
  high?: number;
  /** Resume them below this many (default 5,000). */
  low?: number;
  now?: () => number;
}

export interface Subscription {
  /** Acknowledges `chars` characters of `log` data as consumed (flow-controlled subscribers). */
  ack(chars: number): void;
  dispose(): void;
}

interface Subscriber {
  listener: (e: RunEvent) => void;
  flowControlled: boolean;
  unacked: number;
}

export class EventHub {
  private seq = 0;
  private readonly subscribers = new Set<Subscriber>();
  private replay: RunEvent[] = [];
  private replayStart = 0;
  private replayChars = 0;
  private paused = false;
  private readonly flowListeners = new Set<(paused: boolean) => void>();
  private readonly opts: Required<EventHubOptions>;

  /** The switch handed to the transport with every exec. */
  readonly flow: FlowControl;

  constructor(
    readonly runId: string,
    options: EventHubOptions = {},
  ) {
    this.opts = {
      replayEvents: 10_000,
      replayChars: 4_000_000,
      high: 100_000,
      low: 5_000,
      now: Date.now,
      ...options,
    };
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
    this.remember(e);
    const chars = e.type === 'log' ? e.data.length : 0;
    for (const s of this.subscribers) {
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

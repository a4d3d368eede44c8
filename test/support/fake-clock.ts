/** A Clock tests move by hand: timers fire in `advance`, nothing sleeps. */
import type { Clock } from '../../src/engine/clock.js';

interface Timer {
  at: number;
  fn: () => void;
  every?: number;
}

export class FakeClock implements Clock {
  private timers = new Set<Timer>();

  constructor(private time = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const t: Timer = { at: this.time + ms, fn };
    this.timers.add(t);
    return () => this.timers.delete(t);
  }

  setInterval(fn: () => void, ms: number): () => void {
    const t: Timer = { at: this.time + ms, fn, every: ms };
    this.timers.add(t);
    return () => this.timers.delete(t);
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = [...this.timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.time = next.at;
      if (next.every) next.at += next.every;
      else this.timers.delete(next);
      next.fn();
    }
    this.time = end;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }
}

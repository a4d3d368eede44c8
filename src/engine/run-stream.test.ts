/** The run stream on its own: log offsets, replay and one viewer's batches, acks and lease. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RunStream, type Viewer } from './run-stream.js';
import { emptyCounts, type RunEvent } from './types.js';

const viewers: Viewer[] = [];
afterEach(() => {
  for (const v of viewers.splice(0)) v.dispose();
});

const log = (host: string, data: string) =>
  ({ type: 'log', stepId: 's', host, stream: 'stdout', data }) as const;

/** A viewer whose batches arrive in `batches`; `next()` resolves with the next one. */
function view(stream: RunStream, seq: number, leaseMs = 60_000) {
  const batches: RunEvent[][] = [];
  let wake: (() => void) | undefined;
  let expired!: () => void;
  const expiry = new Promise<void>((r) => (expired = r));
  const viewer = stream.attach(seq, {
    leaseMs,
    onBatch: (events) => {
      batches.push(events);
      wake?.();
    },
    onExpired: () => expired(),
  });
  viewers.push(viewer);
  const next = async () => {
    while (!batches.length) await new Promise<void>((r) => (wake = r));
    return batches.shift()!;
  };
  return { viewer, next, expiry };
}

describe('RunStream', () => {
  it('gives log events their byte offset per step and host, continuing from the sizes given', () => {
    const stream = new RunStream('r', { logOffsets: new Map([['s\u0000h1', 10]]) });
    const a = stream.emit(log('h1', 'ä\n'));
    const b = stream.emit(log('h2', 'x'));
    const c = stream.emit(log('h1', 'y'));
    expect([a, b, c].map((e) => (e.type === 'log' ? e.offset : -1))).toEqual([10, 0, 13]);
    const plain = new RunStream('r').emit(log('h1', 'z'));
    expect(plain).not.toHaveProperty('offset');
  });

  it('replays what came after the number a viewer saw, then batches live events', async () => {
    const stream = new RunStream('r');
    stream.emit(log('h1', 'one'));
    stream.emit(log('h1', 'two'));
    const { viewer, next } = view(stream, 1);
    expect(viewer.complete).toBe(true);
    expect(viewer.replay.map((e) => e.seq)).toEqual([2]);
    stream.emit(log('h1', 'three'));
    stream.emit(log('h1', 'four'));
    expect((await next()).map((e) => e.seq)).toEqual([3, 4]);
    stream.emit({ type: 'run-finished', state: 'succeeded', counts: emptyCounts() });
    // The end is sent at once, not after the batching window.
    expect((await next()).map((e) => e.type)).toEqual(['run-finished']);
  });

  it('gives a viewer that attaches while an event is sent that event once (in its replay)', async () => {
    const stream = new RunStream('r');
    stream.emit(log('h1', 'one'));
    let late: ReturnType<typeof view> | undefined;
    stream.subscribe((e) => {
      if (e.seq === 2 && !late) late = view(stream, 1);
    });
    stream.emit(log('h1', 'two'));
    expect(late!.viewer.replay.map((e) => e.seq)).toEqual([2]);
    stream.emit({ type: 'run-finished', state: 'succeeded', counts: emptyCounts() });
    // Its first live batch starts after the replay: event 2 is not sent again.
    expect((await late!.next()).map((e) => e.seq)).toEqual([3]);
  });

  it('counts a viewer acknowledging the replay first, so only live data pauses the source', async () => {
    const stream = new RunStream('r', { high: 10, low: 2 });
    stream.emit(log('h1', 'x'.repeat(50)));
    const { viewer, next } = view(stream, 0);
    expect(viewer.replay).toHaveLength(1);
    expect(stream.flow.paused).toBe(false);
    stream.emit(log('h1', 'y'.repeat(20)));
    await next();
    expect(stream.flow.paused).toBe(true);
    viewer.ack(50); // the replay: the source stays paused
    expect(stream.flow.paused).toBe(true);
    viewer.ack(20);
    expect(stream.flow.paused).toBe(false);
  });

  it('drops a viewer that leaves its data unacknowledged past the lease, and lets the source go', async () => {
    const stream = new RunStream('r', { high: 10, low: 2 });
    const { next, expiry } = view(stream, 0, 200);
    stream.emit(log('h1', 'z'.repeat(20)));
    await next();
    expect(stream.flow.paused).toBe(true);
    await expiry;
    expect(stream.flow.paused).toBe(false);
  });

  it('lets go of its viewers when the run ends: no lease timer, no subscription left', () => {
    vi.useFakeTimers();
    try {
      const stream = new RunStream('r', { high: 10, low: 2 });
      const batches: RunEvent[][] = [];
      const options = { leaseMs: 200, onBatch: (e: RunEvent[]) => batches.push(e), onExpired() {} };
      viewers.push(stream.attach(0, options));
      expect(vi.getTimerCount()).toBe(1); // the live viewer's lease
      stream.emit(log('h1', 'z'.repeat(20))); // unacknowledged: the source pauses
      expect(stream.flow.paused).toBe(true);
      stream.emit({ type: 'run-finished', state: 'succeeded', counts: emptyCounts() });
      // The end went out at once with what was queued, and nothing holds the viewer any more.
      expect(batches.flat().map((e) => e.type)).toEqual(['log', 'run-finished']);
      expect(vi.getTimerCount()).toBe(0);
      expect(stream.flow.paused).toBe(false);
      // A viewer attaching after the end gets the replay and holds nothing either.
      const late = stream.attach(0, options);
      viewers.push(late);
      expect(late.replay.map((e) => e.type)).toEqual(['log', 'run-finished']);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

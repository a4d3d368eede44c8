import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogRing, TailFeeder, utf8Length } from './ring-buffer';

const encoder = new TextEncoder();

/** Feeds `text` in pieces with their byte offsets, as the run events carry them. */
function feed(ring: LogRing, pieces: string[], from = 0): number {
  let offset = from;
  for (const data of pieces) {
    ring.push({ offset, data });
    offset += encoder.encode(data).length;
  }
  return offset;
}

describe('LogRing', () => {
  it('counts UTF-8 bytes as the log file does', () => {
    for (const s of ['', 'abc', 'äöü', '€', '😀x', 'line\n✓ done\n'])
      expect(utf8Length(s)).toBe(encoder.encode(s).length);
  });

  it('keeps everything while under capacity, with its place in the file', () => {
    const ring = new LogRing(1000);
    const end = feed(ring, ['one\n', 'zwei ✓\n', 'three\n']);
    expect(ring.text()).toBe('one\nzwei ✓\nthree\n');
    expect(ring.start).toBe(0);
    expect(ring.end).toBe(end);
  });

  it('drops the oldest whole lines past capacity; start is where the kept text begins in the file', () => {
    const ring = new LogRing(20);
    const lines = Array.from({ length: 10 }, (_, i) => `line ${i} ü\n`);
    const all = lines.join('');
    feed(ring, lines);
    expect(ring.size).toBeLessThanOrEqual(20);
    const kept = ring.text();
    expect(all.endsWith(kept)).toBe(true);
    expect(kept.startsWith('line')).toBe(true);
    // The file's bytes from `start` are exactly what the ring holds.
    const bytes = encoder.encode(all);
    expect(new TextDecoder().decode(bytes.subarray(ring.start))).toBe(kept);
  });

  it('ignores a replay of what it holds and keeps only the new part of an overlap', () => {
    const ring = new LogRing(100);
    feed(ring, ['abc\n', 'def\n']);
    ring.push({ offset: 0, data: 'abc\n' });
    ring.push({ offset: 4, data: 'def\nghi\n' });
    expect(ring.text()).toBe('abc\ndef\nghi\n');
    expect(ring.end).toBe(12);
  });

  it('starts afresh after a gap, so it never joins text that was not contiguous', () => {
    const ring = new LogRing(100);
    feed(ring, ['abc\n']);
    ring.push({ offset: 50, data: 'later\n' });
    expect(ring.text()).toBe('later\n');
    expect(ring.start).toBe(50);
  });

  it('keeps the tail of a chunk larger than the ring', () => {
    const ring = new LogRing(8);
    ring.push({ offset: 10, data: '0123456789abcdef' });
    expect(ring.text()).toBe('89abcdef');
    expect(ring.start).toBe(18);
  });

  it('stays bounded and consistent with the file for any input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 64 }),
        (pieces, capacity) => {
          const ring = new LogRing(capacity);
          const end = feed(ring, pieces);
          const bytes = encoder.encode(pieces.join(''));
          expect(ring.size).toBeLessThanOrEqual(capacity);
          expect(ring.text().length).toBe(ring.size);
          if (ring.size > 0) {
            expect(ring.end).toBe(end);
            expect(new TextDecoder().decode(bytes.subarray(ring.start, ring.end))).toBe(
              ring.text(),
            );
          }
        },
      ),
    );
  });
});

// eslint-disable-next-line no-control-regex -- colours (the marker is dim) are what it matches
const COLOUR = /\x1b\[[0-9]*m/g;

/**
 * A terminal that takes writes in only when the test says so (a slow xterm), an animation
 * frame the test runs by hand, and acknowledgements counted per chunk.
 */
function slowViewer(keepLines: number, keepChars = 1 << 20) {
  // (test/support/fake-terminal.ts is typed against the CLI's Node output: not for here.)
  const screen = {
    raw: '',
    writes: [] as string[],
    stdout(data: string) {
      this.raw += data;
      this.writes.push(data);
    },
    /** The lines as shown, without colours (the marker is dim). */
    screen(): string[] {
      const lines = this.raw.replace(COLOUR, '').replace(/\r\n/g, '\n').split('\n');
      if (lines.at(-1) === '') lines.pop();
      return lines;
    },
  };
  const confirms: (() => void)[] = [];
  const ticks: (() => void)[] = [];
  let acked = 0;
  let received = 0;
  /** A clock the test moves by hand, and the delays the feeder asked for. */
  let clock = 0;
  const delays: number[] = [];
  const feeder = new TailFeeder(
    {
      write: (data, done) => {
        screen.stdout(data);
        confirms.push(done);
      },
    },
    keepLines,
    keepChars,
    (n) => `\x1b[2mSKIP ${n}\x1b[0m`,
    (tick, delay) => {
      delays.push(delay);
      ticks.push(tick);
    },
    () => clock,
  );
  return {
    screen,
    feeder,
    /** Pushes a chunk; throws if its acknowledgement is not called exactly once, at once. */
    push(data: string) {
      let calls = 0;
      received += data.length;
      feeder.push(data, () => {
        calls++;
        acked += data.length;
      });
      if (calls !== 1) throw new Error(`chunk acknowledged ${calls} times`);
    },
    /** The terminal takes in what it was given. */
    confirm: () => confirms.splice(0).forEach((c) => c()),
    frame: () => ticks.splice(0).forEach((t) => t()),
    delays,
    advance: (ms: number) => (clock += ms),
    get acked() {
      return acked;
    },
    get received() {
      return received;
    },
    /** Confirms and runs frames until nothing is left to write. */
    drain() {
      while (confirms.length || ticks.length) {
        this.confirm();
        this.frame();
      }
    },
  };
}

const lines = (from: number, to: number) => {
  let s = '';
  for (let i = from; i <= to; i++) s += `line ${i}\n`;
  return s;
};

/**
 * Checks what the terminal got against lines 1..n: each line in order, or a marker whose
 * count is exactly the lines missing at that place (a line begun before a skip counts as
 * skipped). Returns the markers' counts.
 */
function checkScreen(raw: string, n: number): number[] {
  const parts = raw.replace(COLOUR, '').split('\n');
  expect(parts.pop()).toBe('');
  const markers: number[] = [];
  let next = 1;
  for (const p of parts) {
    const skip = /^SKIP (\d+)\r$/.exec(p);
    if (skip) {
      markers.push(Number(skip[1]));
      next += Number(skip[1]);
    } else if (p.endsWith('\r')) {
      // Only a line cut short by a skip ends in CR LF (the marker's own line break).
      expect(`line ${next}`.startsWith(p.slice(0, -1))).toBe(true);
    } else {
      expect(p).toBe(`line ${next}`);
      next++;
    }
  }
  expect(next).toBe(n + 1);
  return markers;
}

describe('TailFeeder', () => {
  it('writes everything as it came while the terminal keeps up', () => {
    const v = slowViewer(100);
    const text = lines(1, 1000);
    for (let i = 0; i < text.length; i += 37) {
      v.push(text.slice(i, i + 37));
      v.drain();
    }
    expect(v.screen.raw).toBe(text);
    expect(v.feeder.skipped).toBe(0);
    expect(v.acked).toBe(text.length);
  });

  it('writes at most once per frame and one write at a time', () => {
    const v = slowViewer(100);
    v.push('a\n');
    v.push('b\n');
    expect(v.screen.writes).toEqual([]);
    v.frame();
    expect(v.screen.writes).toEqual(['a\nb\n']);
    v.push('c\n');
    v.frame();
    expect(v.screen.writes).toHaveLength(1);
    v.confirm();
    v.frame();
    expect(v.screen.writes).toEqual(['a\nb\n', 'c\n']);
  });

  it('behind a stalled terminal: acknowledges all at once, keeps a bounded tail, ends on the last line with the count of what it skipped', () => {
    const v = slowViewer(1000);
    v.push(lines(1, 10));
    v.frame(); // written, never confirmed: the terminal is stuck
    let maxWaiting = 0;
    for (let i = 11; i <= 100_000; i += 250) {
      v.push(lines(i, i + 249));
      maxWaiting = Math.max(maxWaiting, v.feeder.waiting);
      v.frame();
    }
    // The host's output never waited: every character was acknowledged on receipt.
    expect(v.acked).toBe(v.received);
    // What waits is the terminal's keep plus one chunk, not the log.
    expect(maxWaiting).toBeLessThanOrEqual((1000 + 250) * 'line 100010\n'.length);
    expect(v.screen.writes).toHaveLength(1);
    v.drain();
    // Lines 1-10 written, 11-99,010 skipped, the last 1,000 after the marker.
    const markers = checkScreen(v.screen.raw, 100_010);
    expect(markers).toEqual([99_000]);
    expect(v.feeder.skipped).toBe(99_000);
    expect(v.screen.screen().at(-1)).toBe('line 100010');
    expect(v.screen.screen().at(-1001)).toBe('SKIP 99000');
  });

  it('gives the terminal at most its share of the time: a write that took 10 ms, then 30 ms without', () => {
    const v = slowViewer(100);
    v.push('a\n');
    v.frame();
    v.advance(10); // xterm took 10 ms to take it in
    v.push('b\n');
    v.confirm();
    expect(v.delays).toEqual([0, 30]);
    v.advance(30);
    v.frame();
    v.confirm(); // at once: the next may follow in the next frame
    v.push('c\n');
    expect(v.delays).toEqual([0, 30, 0]);
    v.frame();
    expect(v.screen.writes).toEqual(['a\n', 'b\n', 'c\n']);
  });

  it('starts its marker on a new line when the terminal stopped mid-line', () => {
    const v = slowViewer(2);
    v.push('line 1\nli');
    v.frame();
    v.push('ne 2\nline 3\nline 4\nline 5\n');
    v.confirm();
    v.frame();
    expect(v.screen.raw).toContain('li\r\n\x1b[2mSKIP 2\x1b[0m\r\nline 4\nline 5\n');
    expect(checkScreen(v.screen.raw, 5)).toEqual([2]);
  });

  it('keeps at most keepChars of a log with very long lines', () => {
    const v = slowViewer(1000, 500);
    const long = (i: number) => `line ${i} ${'x'.repeat(300)}\n`;
    v.push(long(1));
    v.frame();
    for (let i = 2; i <= 50; i++) v.push(long(i));
    expect(v.feeder.waiting).toBeLessThanOrEqual(2 * long(50).length);
    v.confirm();
    v.frame();
    // One line of 311 characters fits in 500: the last one, after the marker.
    expect(v.screen.writes[1]).toBe(`\x1b[2mSKIP 48\x1b[0m\r\n${long(50)}`);
  });

  it('sends nothing after close, and acknowledges what comes after it', () => {
    const v = slowViewer(10);
    v.push('a\n');
    v.feeder.close();
    v.push('b\n');
    v.drain();
    expect(v.screen.writes).toEqual([]);
    expect(v.acked).toBe(4);
  });

  it('for any chunking and any terminal speed: every line or a marker counting it exactly, the last line always, acks exactly once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 200 }), fc.boolean(), fc.boolean()), {
          minLength: 1,
          maxLength: 80,
        }),
        (n, keep, steps) => {
          const v = slowViewer(keep);
          const text = lines(1, n);
          let at = 0;
          for (const [size, confirm, frame] of steps) {
            if (at >= text.length) break;
            v.push(text.slice(at, at + size));
            at += size;
            if (confirm) v.confirm();
            if (frame) v.frame();
          }
          if (at < text.length) v.push(text.slice(at));
          v.drain();
          expect(v.acked).toBe(text.length);
          const markers = checkScreen(v.screen.raw, n);
          expect(markers.reduce((a, b) => a + b, 0)).toBe(v.feeder.skipped);
          expect(v.screen.screen().at(-1)).toBe(`line ${n}`);
        },
      ),
    );
  });
});

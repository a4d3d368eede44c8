import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogRing, utf8Length } from './ring-buffer';

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

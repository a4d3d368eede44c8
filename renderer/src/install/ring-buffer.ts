/**
 * The renderer's bounded log buffer for one step on one host: the newest characters of the
 * log, each chunk with its byte offset in the log file on disk. What falls out of the ring
 * is still in the file; `start` says where the ring begins there, so older lines are read
 * with `run:log` up to exactly that byte (no gap, no overlap).
 */
import { utf8Length } from '../../../src/api';

export interface LogChunk {
  /** Byte offset of `data` in the log file. */
  offset: number;
  data: string;
}

export { utf8Length };

// eslint-disable-next-line no-control-regex -- any character outside ASCII
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * UTF-8 bytes of `text`; ASCII (most logs) found by a native regex scan, 2.5–4× faster than
 * counting character by character, which was 3.6 % of the page's CPU at a million lines.
 */
function bytesOf(text: string): number {
  return NON_ASCII.test(text) ? utf8Length(text) : text.length;
}

export class LogRing {
  private chunks: LogChunk[] = [];
  private head = 0;
  private chars = 0;
  /** Characters dropped from the front since the ring was made. */
  dropped = 0;

  /** @param capacity the most characters kept (the oldest chunks go first). */
  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new Error('a log ring needs a positive capacity');
  }

  get size(): number {
    return this.chars;
  }

  /** Byte offset in the file of the oldest character kept; the end when the ring is empty. */
  get start(): number {
    return this.chunks[this.head]?.offset ?? this.end;
  }

  /** Byte offset just past the newest character kept. */
  end = 0;

  /**
   * Adds a chunk. A chunk that starts before the end (a replay of what the ring holds) is
   * cut to its new part; one larger than the whole ring keeps only its tail.
   */
  push(chunk: LogChunk): void {
    let { offset, data } = chunk;
    let bytes = bytesOf(data);
    if (this.size > 0 && offset + bytes <= this.end) return;
    if (this.size > 0 && offset < this.end) {
      data = sliceBytes(data, this.end - offset);
      bytes = bytesOf(data);
      offset = this.end;
    }
    if (data.length > this.capacity) {
      const cut = wholeChars(data, data.length - this.capacity);
      const head = bytesOf(data.slice(0, cut));
      offset += head;
      bytes -= head;
      this.dropped += cut;
      data = data.slice(cut);
    }
    if (this.size === 0 || offset !== this.end) {
      // A gap (the ring joined a stream midway): what is before it can come from the file.
      this.clear();
    }
    this.chunks.push({ offset, data });
    this.chars += data.length;
    this.end = offset + bytes;
    while (this.chars > this.capacity) {
      const old = this.chunks[this.head]!;
      const over = this.chars - this.capacity;
      if (old.data.length <= over) {
        this.head++;
        this.chars -= old.data.length;
        this.dropped += old.data.length;
      } else {
        // Cut at a line break where possible, so the view never starts mid-line.
        const nl = old.data.indexOf('\n', over - 1);
        const cut = nl >= 0 ? nl + 1 : wholeChars(old.data, over);
        const rest = old.data.slice(cut);
        this.chunks[this.head] = {
          offset: old.offset + bytesOf(old.data.slice(0, cut)),
          data: rest,
        };
        this.chars -= cut;
        this.dropped += cut;
      }
    }
    if (this.head > 256 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** The text kept, oldest first. */
  text(): string {
    let out = '';
    for (let i = this.head; i < this.chunks.length; i++) out += this.chunks[i]!.data;
    return out;
  }

  clear(): void {
    this.dropped += this.chars;
    this.chunks = [];
    this.head = 0;
    this.chars = 0;
  }
}

/** `cut`, moved past a low surrogate so a character outside the BMP is never split. */
function wholeChars(text: string, cut: number): number {
  const c = text.charCodeAt(cut - 1);
  return cut < text.length && c >= 0xd800 && c <= 0xdbff ? cut + 1 : cut;
}

/** The part of `text` after its first `bytes` UTF-8 bytes. */
function sliceBytes(text: string, bytes: number): string {
  let n = 0;
  let i = 0;
  while (i < text.length && n < bytes) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
    i++;
  }
  return text.slice(i);
}

/**
 * Where a {@link TailFeeder} writes: xterm's `write(data, callback)`, whose callback comes once
 * the parser has taken the data in (docs/upstream-facts.md#xterm-write-callback).
 */
export interface TermSink {
  write(data: string, done: () => void): void;
}

/**
 * Feeds a live log to a terminal that keeps only its last `keepLines` lines. Text waits
 * here while the terminal is behind (a write not yet taken in); of what waits, only what
 * the terminal would keep is written: the last `keepLines` lines and at most `keepChars`
 * characters, cut at a line start, after a one-line marker that says how many lines were
 * skipped. Text is acknowledged on receipt: it is in the ring and on disk, and what waits
 * here is bounded, so the host's output never waits on drawing. At most one write per
 * `schedule` tick (an animation frame), and at most one in the terminal at a time.
 *
 * The terminal gets at most `share` of the time: after a write that took `d` ms to be taken
 * in, the next waits `d × (1 / share − 1)` ms. A log of a few lines a second is drawn every
 * frame; a flood makes the writes larger and rarer, and then only their tails are drawn
 * (xterm's parsing was half the page's CPU at a million lines, bench/ui-logs.ts).
 */
export class TailFeeder {
  private queue: string[] = [];
  private queueBreaks: number[] = [];
  private head = 0;
  /** Line breaks and characters waiting. */
  private breaks = 0;
  private chars = 0;
  private writing = false;
  private scheduled = false;
  /** When the terminal may be written to next (the `share` rule). */
  private notBefore = 0;
  private closed = false;
  /** Whether the terminal's text ends at a line start (the marker must start on one). */
  private atLineStart = true;
  /** Line breaks and characters skipped since the last marker. */
  private skippedBreaks = 0;
  private skippedChars = 0;
  /** Lines skipped in all (each skipped line break counts one). */
  skipped = 0;

  constructor(
    private readonly sink: TermSink,
    readonly keepLines: number,
    readonly keepChars: number,
    private readonly marker: (lines: number) => string,
    private readonly schedule: (tick: () => void, delayMs: number) => void,
    private readonly now: () => number,
    readonly share = 0.25,
  ) {
    if (!(keepLines > 0 && keepChars > 0)) throw new Error('a tail feeder must keep something');
  }

  /** Characters waiting (neither written nor skipped). */
  get waiting(): number {
    return this.chars;
  }

  /** Takes `data` and acknowledges it at once (`done`, exactly once). */
  push(data: string, done: () => void): void {
    done();
    if (this.closed || !data) return;
    const breaks = countBreaks(data);
    this.queue.push(data);
    this.queueBreaks.push(breaks);
    this.breaks += breaks;
    this.chars += data.length;
    // Whole chunks in front that the terminal would not keep go at once. More than
    // `keepLines` breaks stay, so the text written starts just after a skipped break.
    while (this.head < this.queue.length - 1) {
      const len = this.queue[this.head]!.length;
      const b = this.queueBreaks[this.head]!;
      if (this.breaks - b <= this.keepLines && this.chars - len < this.keepChars) break;
      this.head++;
      this.breaks -= b;
      this.chars -= len;
      this.skippedBreaks += b;
      this.skippedChars += len;
    }
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.queueBreaks = this.queueBreaks.slice(this.head);
      this.head = 0;
    }
    this.kick();
  }

  /** Stops writing and lets go of what waits (it is in the ring and on disk). */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.queueBreaks = [];
    this.head = 0;
    this.breaks = this.chars = 0;
  }

  private kick(): void {
    if (this.writing || this.scheduled || this.closed || this.head === this.queue.length) return;
    this.scheduled = true;
    this.schedule(
      () => {
        this.scheduled = false;
        this.flush();
      },
      Math.max(0, this.notBefore - this.now()),
    );
  }

  private flush(): void {
    if (this.writing || this.closed || this.head === this.queue.length) return;
    let text = this.queue.slice(this.head).join('');
    const over = this.breaks - this.keepLines;
    this.queue = [];
    this.queueBreaks = [];
    this.head = 0;
    this.breaks = this.chars = 0;
    let cut = 0;
    if (over > 0) {
      cut = nthBreak(text, over) + 1;
      this.skippedBreaks += over;
    }
    if (text.length - cut > this.keepChars) {
      // Lines too long for the terminal's keep: the last `keepChars`, from a line start
      // where there is one.
      const from = wholeChars(text, text.length - this.keepChars);
      const nl = text.indexOf('\n', from - 1);
      const to = nl >= 0 && nl + 1 < text.length ? nl + 1 : from;
      this.skippedBreaks += countBreaks(text.slice(cut, to));
      cut = to;
    }
    this.skippedChars += cut;
    if (cut > 0) text = text.slice(cut);
    if (this.skippedChars > 0) {
      this.skipped += this.skippedBreaks;
      const lead = this.atLineStart ? '' : '\r\n';
      text = lead + this.marker(this.skippedBreaks) + '\r\n' + text;
      this.skippedBreaks = this.skippedChars = 0;
    }
    if (!text) return;
    this.atLineStart = text.endsWith('\n');
    this.writing = true;
    const t0 = this.now();
    this.sink.write(text, () => {
      const t1 = this.now();
      this.notBefore = t1 + (t1 - t0) * (1 / this.share - 1);
      this.writing = false;
      this.kick();
    });
  }
}

function countBreaks(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Index of the `n`th (1-based) line break in `text`. */
function nthBreak(text: string, n: number): number {
  let i = -1;
  while (n-- > 0) i = text.indexOf('\n', i + 1);
  return i;
}

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
    const bytes = utf8Length(data);
    if (this.size > 0 && offset + bytes <= this.end) return;
    if (this.size > 0 && offset < this.end) {
      data = sliceBytes(data, this.end - offset);
      offset = this.end;
    }
    if (data.length > this.capacity) {
      const cut = wholeChars(data, data.length - this.capacity);
      offset += utf8Length(data.slice(0, cut));
      this.dropped += cut;
      data = data.slice(cut);
    }
    if (this.size === 0 || offset !== this.end) {
      // A gap (the ring joined a stream midway): what is before it can come from the file.
      this.clear();
    }
    this.chunks.push({ offset, data });
    this.chars += data.length;
    this.end = offset + utf8Length(data);
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
          offset: old.offset + utf8Length(old.data.slice(0, cut)),
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

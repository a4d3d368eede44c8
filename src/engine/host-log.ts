/**
 * The output of one host-step on its way to disk and to the events: decoded without ever
 * splitting a multi-byte character (a streaming TextDecoder keeps a partial character for
 * the next chunk), redacted, then batched for a few milliseconds like VS Code's
 * TerminalDataBufferer, so thirty chatty hosts cost a handful of events and writes, not one
 * per SSH packet. The log file is written through a buffered stream and never fsynced.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { TextDecoder } from 'node:util';
import type { Redactor, StreamRedactor } from './redact.js';

export type LogStreamName = 'stdout' | 'stderr' | 'engine';

export interface HostLogOptions {
  file: string;
  redactor: Redactor;
  /** Receives each batch, already redacted. */
  emit: (stream: LogStreamName, data: string) => void;
  /** Batching window (default 5 ms). */
  batchMs?: number;
  /** A batch is sent at once when it reaches this many characters (default 64 k). */
  maxBatch?: number;
}

interface Source {
  decoder: TextDecoder;
  redactor: StreamRedactor;
}

export class HostLog {
  private readonly out: WriteStream;
  private readonly sources: Record<'stdout' | 'stderr', Source>;
  private batch: { stream: LogStreamName; text: string }[] = [];
  private batchSize = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly batchMs: number;
  private readonly maxBatch: number;
  private closed = false;

  constructor(private readonly opts: HostLogOptions) {
    this.out = createWriteStream(opts.file, { flags: 'a' });
    // An unwritable log must not crash the run; the error surfaces on close().
    this.out.on('error', () => undefined);
    const source = (): Source => ({
      decoder: new TextDecoder('utf-8', { fatal: false }),
      redactor: opts.redactor.stream(),
    });
    this.sources = { stdout: source(), stderr: source() };
    this.batchMs = opts.batchMs ?? 5;
    this.maxBatch = opts.maxBatch ?? 65_536;
  }

  /** Raw bytes from the host. */
  write(stream: 'stdout' | 'stderr', bytes: Uint8Array): void {
    if (this.closed) return;
    const s = this.sources[stream];
    this.add(stream, s.redactor.push(s.decoder.decode(bytes, { stream: true })));
  }

  /** A line from the engine itself (a command being checked, an exit status). */
  note(text: string): void {
    if (this.closed) return;
    this.add('engine', this.opts.redactor.redact(text.endsWith('\n') ? text : `${text}\n`));
  }

  /** Sends what is batched now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.batch;
    this.batch = [];
    this.batchSize = 0;
    // Neighbouring pieces of the same stream go out as one event.
    let current: { stream: LogStreamName; text: string } | undefined;
    const send = () => {
      if (!current?.text) return;
      this.out.write(current.text);
      this.opts.emit(current.stream, current.text);
    };
    for (const piece of batch) {
      if (current && current.stream === piece.stream) current.text += piece.text;
      else {
        send();
        current = { ...piece };
      }
    }
    send();
  }

  /** Flushes the decoders and redactors, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const name of ['stdout', 'stderr'] as const) {
      const s = this.sources[name];
      this.add(name, s.redactor.push(s.decoder.decode()) + s.redactor.end());
    }
    this.flush();
    this.closed = true;
    await new Promise<void>((resolve) => this.out.end(resolve));
  }

  private add(stream: LogStreamName, text: string): void {
    if (!text) return;
    this.batch.push({ stream, text });
    this.batchSize += text.length;
    if (this.batchSize >= this.maxBatch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.batchMs);
  }
}

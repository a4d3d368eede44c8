/**
 * A zip file written as a stream into a temp file beside its destination, then moved into
 * place: a reader of `out` sees no file or the whole bundle, never a partial one.
 *
 * fflate's `Zip` lays out the archive and hands it over as callbacks of bytes; they go
 * straight to a file stream, and entries are fed chunk by chunk with the file stream's back
 * pressure, so a bundle of gigabytes of logs needs only a few buffers of memory. The
 * deflating itself is Node's zlib (`NativeDeflateEntry`): native, and on the thread pool, so
 * it runs beside the redactor instead of after it.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { link, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { createDeflateRaw, crc32, type DeflateRaw } from 'node:zlib';
import { Zip, type AsyncFlateStreamHandler, type ZipInputFile } from 'fflate';
import { UstartError } from '../errors.js';
import { pathExists, syncDir } from '../util/fs.js';

/** Without Zip64 (fflate has none), one entry and the whole archive stay below 4 GiB. */
export const MAX_ZIP_BYTES = 0xffff_fffe;

const encoder = new TextEncoder();

export class ZipFileWriter {
  private readonly zip: Zip;
  private readonly stream: WriteStream;
  private failure: Error | undefined;
  private finished: Promise<void> | undefined;
  private written = 0;
  private closed = false;

  private constructor(
    readonly out: string,
    private readonly tmp: string,
    private readonly force: boolean,
  ) {
    this.stream = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
    this.stream.on('error', (e) => (this.failure ??= e));
    this.zip = new Zip((err, data, final) => {
      if (err) {
        this.failure ??= err;
        return;
      }
      this.written += data.length;
      this.stream.write(data);
      if (final) this.finished = new Promise((r) => this.stream.end(r));
    });
  }

  /**
   * Opens a temp file next to `out`. Refuses when `out` exists and `force` is not set, so
   * an earlier bundle is not lost by a typo.
   */
  static async create(out: string, options: { force?: boolean } = {}): Promise<ZipFileWriter> {
    if (!options.force && (await pathExists(out))) {
      throw new UstartError(
        'InvalidArgument',
        `${out} already exists. Choose another file, or pass --force to replace it.`,
        { detail: { file: out } },
      );
    }
    const tmp = join(
      dirname(out),
      `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`,
    );
    const writer = new ZipFileWriter(out, tmp, options.force ?? false);
    await once(writer.stream, 'open').catch((e: Error) => {
      throw new UstartError('WriteFailed', `cannot write ${out}: ${e.message}`, {
        cause: e,
        detail: { file: out },
      });
    });
    return writer;
  }

  /** Bytes of the archive so far. */
  get size(): number {
    return this.written;
  }

  /**
   * Adds one entry from a stream of text or bytes, deflated. Resolves when the entry's
   * bytes are handed to the file, with the entry's uncompressed size.
   */
  async add(
    name: string,
    chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
    mtime = new Date(),
  ): Promise<number> {
    this.check();
    const entry = new NativeDeflateEntry(name, mtime);
    this.zip.add(entry);
    try {
      for await (const chunk of chunks) {
        const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
        if (bytes.length === 0) continue;
        if (entry.size + bytes.length > MAX_ZIP_BYTES || this.written > MAX_ZIP_BYTES) {
          throw new UstartError(
            'WriteFailed',
            `${name} makes the bundle larger than 4 GiB, which a zip without Zip64 cannot hold. Collect a shorter time span (--since).`,
          );
        }
        await entry.push(bytes);
        await this.drained();
      }
      await entry.end();
    } catch (e) {
      entry.terminate();
      throw e;
    }
    await this.drained();
    return entry.size;
  }

  /** Finishes the archive, fsyncs it and moves it to `out`. Returns its size in bytes. */
  async commit(): Promise<number> {
    this.check();
    this.zip.end();
    await this.finished;
    this.check();
    const { size } = await stat(this.tmp);
    await this.place();
    this.closed = true;
    return size;
  }

  /** Drops the temp file; `out` is left as it was. Safe to call twice or after commit. */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.zip.terminate();
    if (!this.stream.closed) {
      const gone = once(this.stream, 'close').catch(() => undefined);
      this.stream.destroy();
      await gone;
    }
    await rm(this.tmp, { force: true });
  }

  private async place(): Promise<void> {
    const handle = await open(this.tmp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (this.force) {
      await rename(this.tmp, this.out);
    } else {
      // link() fails when `out` appeared meanwhile: never overwrite a file without --force.
      try {
        await link(this.tmp, this.out);
        await unlink(this.tmp);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          throw new UstartError(
            'InvalidArgument',
            `${this.out} appeared while the bundle was written; it is kept. Choose another file, or pass --force.`,
            { cause: e, detail: { file: this.out } },
          );
        }
        // File systems without hard links (FAT on a USB stick): check, then rename.
        if (await pathExists(this.out)) throw e;
        await rename(this.tmp, this.out);
      }
    }
    await syncDir(dirname(this.out));
  }

  private check(): void {
    if (this.failure) {
      throw new UstartError(
        'WriteFailed',
        `cannot write ${this.out}: ${this.failure.message}. Check the free space and the folder's permissions.`,
        { cause: this.failure, detail: { file: this.out } },
      );
    }
    if (this.closed) throw new Error(`zip ${this.out} is already closed`);
  }

  private async drained(): Promise<void> {
    if (this.stream.writableNeedDrain && !this.stream.closed) {
      const stream = this.stream;
      await new Promise<void>((resolve) => {
        // A failed stream closes instead of draining; both end the wait.
        const done = () => {
          stream.off('drain', done);
          stream.off('close', done);
          resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
      });
    }
    this.check();
  }
}

/**
 * A zip entry deflated by Node's zlib. fflate reads `crc` and `size` when the entry's last
 * chunk arrives (its data descriptor), so they are counted as the bytes go in.
 */
class NativeDeflateEntry implements ZipInputFile {
  readonly compression = 8;
  size = 0;
  crc = 0;
  ondata?: AsyncFlateStreamHandler;
  private readonly deflate: DeflateRaw = createDeflateRaw({ level: 6 });
  private readonly ended: Promise<void>;

  constructor(
    readonly filename: string,
    readonly mtime: Date,
  ) {
    this.deflate.on('data', (c: Buffer) =>
      this.ondata?.(null, new Uint8Array(c.buffer as ArrayBuffer, c.byteOffset, c.length), false),
    );
    this.ended = new Promise((resolve, reject) => {
      this.deflate.once('end', () => {
        this.ondata?.(null, new Uint8Array(0), true);
        resolve();
      });
      this.deflate.once('error', reject);
    });
    this.ended.catch(() => undefined);
  }

  async push(bytes: Uint8Array): Promise<void> {
    this.size += bytes.length;
    this.crc = crc32(bytes, this.crc);
    if (!this.deflate.write(bytes)) await once(this.deflate, 'drain');
  }

  end(): Promise<void> {
    this.deflate.end();
    return this.ended;
  }

  terminate(): void {
    this.deflate.destroy();
  }
}

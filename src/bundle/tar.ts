/**
 * The tar container of a bundle, written with tar-stream so every header byte is ours to
 * fix: POSIX ustar members in the order given, one mtime for all, uid/gid 0, empty owner
 * names, mode 0644 (0755 for executables), no directory members. Two builds from the same
 * inputs are therefore byte-identical.
 */
import { createReadStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

export interface TarMember {
  /** Member name: a valid entry path (entry-paths.ts). */
  name: string;
  size: number;
  /** Executable members get 0755, everything else 0644. */
  executable?: boolean;
  /** A file to stream from, or bytes held in memory (the manifest, the signature, indexes). */
  source: { file: string } | { bytes: Uint8Array };
}

/** Chunk size for reading member data while packing. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Streams the members into `out` as one tar archive. `onBytes` reports the data bytes
 * written so far (headers and padding not counted).
 */
export async function writeTar(
  members: readonly TarMember[],
  mtime: Date,
  out: Writable,
  onBytes?: (done: number, member: string) => void,
): Promise<void> {
  const pack = tar.pack();
  const packed = pipeline(pack as unknown as Readable, out);
  let done = 0;
  try {
    for (const member of members) {
      const header = {
        name: member.name,
        size: member.size,
        mode: member.executable ? 0o755 : 0o644,
        mtime,
        type: 'file' as const,
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
      };
      if ('bytes' in member.source) {
        const bytes = member.source.bytes;
        await new Promise<void>((resolve, reject) =>
          pack.entry(header, Buffer.from(bytes), (err) => (err ? reject(err) : resolve())),
        );
        done += bytes.byteLength;
      } else {
        let entryDone: () => void = () => undefined;
        let entryFailed: (e: Error) => void = () => undefined;
        const finished = new Promise<void>((resolve, reject) => {
          entryDone = resolve;
          entryFailed = reject;
        });
        const sink = pack.entry(header, (err) => (err ? entryFailed(err) : entryDone()));
        await pipeline(
          createReadStream(member.source.file, { highWaterMark: READ_CHUNK_BYTES }),
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              done += chunk.length;
              onBytes?.(done, member.name);
              yield chunk;
            }
          },
          sink as unknown as Writable,
        );
        await finished;
      }
      onBytes?.(done, member.name);
    }
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
    await packed.catch(() => undefined);
    throw e;
  }
  await packed;
}

/** One member as read back: its raw name (not sanitised), type, size and data. */
export interface TarReadMember {
  name: string;
  type: string;
  size: number;
  data: AsyncIterable<Buffer>;
}

/**
 * Reads a tar archive from a stream of chunks, member by member. The caller must consume
 * each member's data before asking for the next. Throws `TarTruncated` when the data ends
 * inside a member or without the end-of-archive marker.
 */
export async function* readTar(chunks: AsyncIterable<Buffer>): AsyncGenerator<TarReadMember> {
  const extract = tar.extract();
  const tail = new TailKeeper(1024);
  const source = Readable.from(
    (async function* () {
      for await (const chunk of chunks) {
        tail.push(chunk);
        yield chunk;
      }
    })(),
  );
  source.on('error', (e) => extract.destroy(e));
  source.pipe(extract as unknown as Writable);
  let current: string | undefined;
  try {
    for await (const entry of extract) {
      current = entry.header.name;
      yield {
        name: entry.header.name,
        type: entry.header.type,
        size: entry.header.size,
        data: translated(entry as unknown as AsyncIterable<Buffer>, entry.header.name),
      };
      // Whatever the caller left unread is drained, so the next header can be parsed.
      for await (const _ of entry as unknown as AsyncIterable<Buffer>) void _;
      current = undefined;
    }
  } catch (e) {
    throw asTruncated(e, current);
  } finally {
    source.destroy();
  }
  if (!tail.allZero()) {
    throw new TarTruncated(undefined, 'the archive ends without its end-of-archive marker');
  }
}

async function* translated(data: AsyncIterable<Buffer>, member: string): AsyncGenerator<Buffer> {
  try {
    yield* data;
  } catch (e) {
    throw asTruncated(e, member);
  }
}

function asTruncated(e: unknown, member: string | undefined): TarTruncated {
  if (e instanceof TarTruncated) return e;
  const message = (e as Error).message;
  return /unexpected end of data/i.test(message)
    ? new TarTruncated(member, `the archive ends inside ${member ?? 'a member header'}`)
    : new TarTruncated(member, `the archive is damaged (${message})`);
}

/** The archive ended early or is damaged; `member` is the one being read, if any. */
export class TarTruncated extends Error {
  constructor(
    readonly member: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Keeps the last `size` bytes seen, to check the end-of-archive marker (two zero blocks). */
class TailKeeper {
  private buf = Buffer.alloc(0);
  constructor(private readonly size: number) {}
  push(chunk: Buffer): void {
    this.buf =
      chunk.length >= this.size
        ? Buffer.from(chunk.subarray(chunk.length - this.size))
        : Buffer.concat([this.buf, chunk]).subarray(-this.size);
  }
  allZero(): boolean {
    return this.buf.length === this.size && this.buf.every((b) => b === 0);
  }
}

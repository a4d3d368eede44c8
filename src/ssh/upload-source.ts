/**
 * The local side of an upload: the file (or bytes) read once, in large blocks from a small
 * pool of reused buffers, each block hashed as it is read. One read feeds both the hash
 * and the network, and reused buffers keep ssh2's already heavy allocation rate (two new
 * 32 KiB buffers per SSH packet) from growing: V8 runs a garbage collection for every few
 * MiB of fresh external memory (node --trace-gc on bench/sftp.ts: "external memory
 * pressure"). A large file's blocks live in shared memory and are hashed on a worker
 * thread, off the thread that encrypts (docs/ssh.md, "Upload").
 */
import { createHash } from 'node:crypto';
import { type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { Worker } from 'node:worker_threads';
import { openRegularFile } from '../util/user-file.js';

/** Bytes read from the source at once: large reads keep syscalls and hash calls few. */
export const READ_BLOCK = 1024 * 1024;
/** Blocks in the pool: one being read while the others wait in the SSH channel. */
const POOL = 4;
/** Below this a worker's start-up (tens of ms) costs more than hashing on this thread. */
const WORKER_MIN_BYTES = 16 * READ_BLOCK;

/** A pool buffer and how many users (channel, hasher) still hold it. */
interface Slot {
  buf: Buffer;
  holds: number;
}

export class UploadSource {
  private readonly free: Slot[] = [];
  private readonly slotOf = new Map<ArrayBufferLike, Slot>();
  private waiting: (() => void) | undefined;
  private pos = 0;

  private constructor(
    readonly label: string,
    readonly total: number,
    private readonly file: FileHandle | undefined,
    private readonly bytes: Uint8Array | undefined,
    private readonly hasher: Hasher,
  ) {
    const shared = hasher instanceof WorkerHasher;
    for (let i = 0; file && i < POOL; i++) {
      const buf = shared
        ? Buffer.from(new SharedArrayBuffer(READ_BLOCK))
        : Buffer.allocUnsafeSlow(READ_BLOCK);
      const slot = { buf, holds: 0 };
      this.slotOf.set(buf.buffer, slot);
      this.free.push(slot);
    }
  }

  static async open(source: string | Uint8Array): Promise<UploadSource> {
    if (typeof source !== 'string') {
      return new UploadSource('data', source.byteLength, undefined, source, new LocalHasher());
    }
    // Checked on the descriptor: a FIFO would block the upload forever (issue 16).
    const file = await openRegularFile(source, { what: 'file to upload', code: 'UploadFailed' });
    const { size } = await file.stat();
    const hasher = size >= WORKER_MIN_BYTES ? new WorkerHasher() : new LocalHasher();
    return new UploadSource(basename(source), size, file, undefined, hasher);
  }

  /** Bytes handed out so far (the next block starts here). */
  get position(): number {
    return this.pos;
  }

  /** Hashes the first `length` bytes without handing them out: the part a resume keeps. */
  async skip(length: number): Promise<void> {
    while (this.pos < length) {
      const block = await this.next(length);
      this.release(block);
    }
  }

  /**
   * The next block (being hashed), or undefined at `end`. A file block lives in the pool:
   * give it back with `release` once the channel no longer needs it.
   */
  async next(end = this.total): Promise<Buffer | undefined> {
    const want = Math.min(READ_BLOCK, end - this.pos);
    if (want <= 0) return undefined;
    if (this.bytes) {
      const block = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, want);
      this.hasher.update(block, () => undefined);
      this.pos += want;
      return block;
    }
    while (this.free.length === 0) await new Promise<void>((r) => (this.waiting = r));
    const slot = this.free.pop()!;
    slot.holds = 2;
    const { bytesRead } = await this.file!.read(slot.buf, 0, want, this.pos);
    if (bytesRead !== want) {
      throw new Error(`${this.label} changed size while it was read; upload it again`);
    }
    const block = slot.buf.subarray(0, want);
    this.hasher.update(block, () => this.drop(slot));
    this.pos += want;
    return block;
  }

  release(block: Buffer | undefined): void {
    const slot = block && this.slotOf.get(block.buffer);
    if (slot) this.drop(slot);
  }

  /** The sha256 of everything handed out, once hashing has caught up. */
  digest(): Promise<string> {
    return this.hasher.digest();
  }

  async close(): Promise<void> {
    await this.hasher.close();
    await this.file?.close();
  }

  private drop(slot: Slot): void {
    slot.holds -= 1;
    if (slot.holds > 0) return;
    this.free.push(slot);
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
}

interface Hasher {
  /** Hashes `block`; `done` once the hasher no longer reads it. */
  update(block: Buffer, done: () => void): void;
  digest(): Promise<string>;
  close(): Promise<void>;
}

class LocalHasher implements Hasher {
  private readonly hash = createHash('sha256');

  update(block: Buffer, done: () => void): void {
    this.hash.update(block);
    done();
  }

  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest('hex'));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Blocks arrive as views of SharedArrayBuffers: nothing is copied to the worker. */
const HASH_WORKER = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (m) => {
  if (m.sab) {
    hash.update(new Uint8Array(m.sab, 0, m.length));
    parentPort.postMessage({ id: m.id });
  } else parentPort.postMessage({ digest: hash.digest('hex') });
});
`;

class WorkerHasher implements Hasher {
  private readonly worker = new Worker(HASH_WORKER, { eval: true });
  private readonly pending = new Map<number, () => void>();
  private nextId = 0;
  private onDigest: ((hex: string) => void) | undefined;
  private failed: Error | undefined;

  constructor() {
    this.worker.on('message', (m: { id?: number; digest?: string }) => {
      if (m.digest !== undefined) return this.onDigest?.(m.digest);
      const done = this.pending.get(m.id!);
      this.pending.delete(m.id!);
      done?.();
    });
    // A dead worker acks nothing more: hand the pool back so the upload can end, and fail it.
    const die = (e: Error) => {
      this.failed ??= e;
      for (const done of this.pending.values()) done();
      this.pending.clear();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`the hashing thread exited (${code})`)));
  }

  update(block: Buffer, done: () => void): void {
    const id = this.nextId++;
    this.pending.set(id, done);
    this.worker.postMessage({ id, sab: block.buffer, length: block.byteLength });
  }

  digest(): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.onDigest = resolve;
      this.worker.once('error', reject);
      this.worker.once('exit', () => reject(this.failed));
      this.worker.postMessage({});
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

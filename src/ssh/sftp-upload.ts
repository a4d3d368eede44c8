/**
 * SFTP upload that never leaves a partial file at the destination: the bytes go to a temp
 * file beside it (same folder, so the final rename stays on one file system), the remote
 * side's `sha256sum` must match the local hash, then `posix-rename@openssh.com` (an atomic
 * rename(2)) puts it in place. The temp name is derived from the destination and the
 * source's size, so an interrupted upload of the same file resumes where it stopped.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { basename, posix } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SFTPWrapper } from 'ssh2';
import { UstartError } from '../errors.js';
import type { UploadOptions } from './transport.js';

/** Measured on the lab (bench/sftp.ts): 255 KiB writes, 16 in flight, saturate one core's AES-GCM. */
export const UPLOAD_CHUNK = 32 * 1024;
export const UPLOAD_IN_FLIGHT = 64;
const READ_BLOCK = 4 * 1024 * 1024;

export interface UploadHost {
  name: string;
  sftp(): Promise<SFTPWrapper>;
  /** Runs a command, returning stdout; rejects when it exits non-zero. */
  run(command: string, sudo?: boolean): Promise<string>;
}

export async function sftpUpload(
  host: UploadHost,
  source: string | Uint8Array,
  remotePath: string,
  options: UploadOptions = {},
): Promise<void> {
  const total = typeof source === 'string' ? (await stat(source)).size : source.byteLength;
  const dir = posix.dirname(remotePath);
  const tag = createHash('sha256')
    .update(`${remotePath}\0${total}\0${typeof source === 'string' ? source : 'memory'}`)
    .digest('hex')
    .slice(0, 12);
  const temp = posix.join(dir, `.${posix.basename(remotePath)}.ustart-${tag}.part`);
  const sftp = await host.sftp();
  const fail = (what: string, e?: unknown): UstartError =>
    new UstartError(
      'UploadFailed',
      `upload of ${typeof source === 'string' ? basename(source) : 'data'} to ${host.name}:${remotePath} failed: ${what}`,
      { cause: e, detail: { host: host.name, remotePath } },
    );

  // Resume: an existing temp file no longer than the source is kept up to its length; the
  // final checksum catches a temp file that held something else.
  const existing = await sftpCall<{ size?: number }>((cb) => sftp.stat(temp, cb)).catch(
    () => undefined,
  );
  let offset = existing?.size !== undefined && existing.size <= total ? existing.size : 0;
  const handle = await sftpCall<Buffer>((cb) =>
    sftp.open(temp, offset > 0 ? 'r+' : 'w', { mode: 0o600 }, cb),
  ).catch((e: unknown) => {
    throw fail(
      `cannot create ${temp} (${(e as Error).message}); check that ${dir} exists and is writable`,
      e,
    );
  });
  const hash = createHash('sha256');
  // A file is hashed on another thread while it uploads: on the main thread the hash would
  // compete with ssh2's encryption and halve the throughput (bench/sftp.ts).
  const fileHash = typeof source === 'string' ? hashFileOffThread(source) : undefined;
  fileHash?.catch(() => undefined);
  try {
    if (offset > 0 && !fileHash) await hashPrefix(source, offset, hash);
    await writeAll(sftp, handle, source, offset, total, fileHash ? undefined : hash, options);
    offset = total;
  } catch (e) {
    await sftpCall<void>((cb) => sftp.close(handle, cb)).catch(() => undefined);
    if (e instanceof UstartError) throw e;
    throw fail((e as Error).message, e);
  }
  await sftpCall<void>((cb) => sftp.close(handle, cb));

  const expected = fileHash ? await fileHash : hash.digest('hex');
  const sum = await host.run(`sha256sum -- ${shq(temp)}`).catch((e: unknown) => {
    throw fail(`sha256sum on the host failed: ${(e as Error).message}`, e);
  });
  const actual = sum.split(/\s/)[0];
  if (actual !== expected) {
    await sftpCall<void>((cb) => sftp.unlink(temp, cb)).catch(() => undefined);
    throw fail(
      `checksum mismatch (local ${expected}, remote ${actual}); the temp file was removed, try again`,
    );
  }
  if (options.mode !== undefined) await sftpCall<void>((cb) => sftp.chmod(temp, options.mode!, cb));
  if (options.owner !== undefined) {
    await host.run(
      `chown -- ${shq(options.owner)} ${shq(temp)} && mv -f -- ${shq(temp)} ${shq(remotePath)}`,
      true,
    );
    return;
  }
  await sftpCall<void>((cb) => sftp.ext_openssh_rename(temp, remotePath, cb)).catch(
    (e: unknown) => {
      throw fail(`rename of ${temp} to ${remotePath} failed: ${(e as Error).message}`, e);
    },
  );
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function sftpCall<T>(
  fn: (cb: (err: Error | null | undefined, value: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value)));
  });
}

async function hashPrefix(
  source: string | Uint8Array,
  length: number,
  hash: ReturnType<typeof createHash>,
) {
  if (typeof source !== 'string') {
    hash.update(source.subarray(0, length));
    return;
  }
  const fh = await open(source, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_BLOCK);
    for (let pos = 0; pos < length;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(READ_BLOCK, length - pos), pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/**
 * Streams [offset, total) as pipelined SFTP writes: up to UPLOAD_IN_FLIGHT requests of
 * UPLOAD_CHUNK bytes outstanding, reading the file in large blocks and hashing as it goes.
 */
async function writeAll(
  sftp: SFTPWrapper,
  handle: Buffer,
  source: string | Uint8Array,
  offset: number,
  total: number,
  hash: ReturnType<typeof createHash> | undefined,
  options: UploadOptions,
): Promise<void> {
  const fh = typeof source === 'string' ? await open(source, 'r') : undefined;
  let sent = offset;
  let inFlight = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const settle = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onAbort = () => {
    failure ??= new UstartError('Cancelled', 'upload cancelled');
    settle();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.signal?.aborted) onAbort();
    let pos = offset;
    while (pos < total && !failure) {
      const want = Math.min(READ_BLOCK, total - pos);
      let block: Buffer;
      if (fh) {
        block = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(block, 0, want, pos);
        if (bytesRead !== want) throw new Error(`the source file changed size while it was read`);
      } else {
        block = Buffer.from(
          (source as Uint8Array).buffer,
          (source as Uint8Array).byteOffset + pos,
          want,
        );
      }
      hash?.update(block);
      for (let at = 0; at < block.length && !failure; at += UPLOAD_CHUNK) {
        while (inFlight >= UPLOAD_IN_FLIGHT && !failure) await new Promise<void>((r) => (wake = r));
        if (failure) break;
        const len = Math.min(UPLOAD_CHUNK, block.length - at);
        inFlight += 1;
        sftp.write(handle, block, at, len, pos + at, (err) => {
          inFlight -= 1;
          if (err) failure ??= err;
          else {
            sent += len;
            options.onProgress?.(sent, total);
          }
          settle();
        });
      }
      pos += want;
    }
    while (inFlight > 0) await new Promise<void>((r) => (wake = r));
    if (failure) throw failure;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await fh?.close();
  }
}

const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const hash = createHash('sha256');
createReadStream(workerData, { highWaterMark: 4 * 1024 * 1024 })
  .on('data', (b) => hash.update(b))
  .on('error', (e) => parentPort.postMessage({ error: e.message }))
  .on('end', () => parentPort.postMessage({ digest: hash.digest('hex') }));
`;

function hashFileOffThread(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(HASH_WORKER, { eval: true, workerData: file });
    worker.once('message', (m: { digest?: string; error?: string }) => {
      void worker.terminate();
      if (m.digest) resolve(m.digest);
      else reject(new Error(`cannot hash ${file}: ${m.error}`));
    });
    worker.once('error', reject);
  });
}

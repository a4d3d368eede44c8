/**
 * The SFTP data path of an upload, for hosts that run no exec receiver (upload-exec.ts):
 * pipelined writes into the temp file, resuming from its length, then the remote hash as a
 * second pass over the file. Slower than the exec path (bench/sftp.ts), kept so an upload
 * works wherever SFTP does.
 */
import type { SFTPWrapper } from 'ssh2';
import { shQuote } from './remote-exec.js';
import { Aborted } from './upload-exec.js';
import type { UploadSource } from './upload-source.js';

/**
 * Measured on the lab (ssh2 1.17 without its native binding, docs/ssh.md): 64 KiB writes,
 * 32 in flight, beat 32 KiB × 64 and 255 KiB × 16 (OpenSSH's limits@openssh.com maximum,
 * which ssh2 asks for and honours).
 */
export const SFTP_CHUNK = 64 * 1024;
export const SFTP_IN_FLIGHT = 32;

export interface SftpOptions {
  signal?: AbortSignal;
  onProgress?: (sentBytes: number, totalBytes: number) => void;
}

/**
 * Writes `source` into `temp`, keeping an earlier temp file no longer than the source (a
 * resume; the final checksum catches one that held something else). Rejects with `Aborted`.
 */
export async function sftpToTemp(
  sftp: SFTPWrapper,
  source: UploadSource,
  temp: string,
  options: SftpOptions,
): Promise<void> {
  const total = source.total;
  const existing = await sftpCall<{ size?: number }>((cb) => sftp.stat(temp, cb)).catch(
    () => undefined,
  );
  const offset = existing?.size !== undefined && existing.size <= total ? existing.size : 0;
  const handle = await sftpCall<Buffer>((cb) =>
    sftp.open(temp, offset > 0 ? 'r+' : 'w', { mode: 0o600 }, cb),
  );
  try {
    await source.skip(offset);
    options.onProgress?.(offset, total);
    await writeAll(sftp, handle, source, options);
  } finally {
    await sftpCall<void>((cb) => sftp.close(handle, cb)).catch(() => undefined);
  }
}

/** The remote sha256 of `file`: OpenSSL's when the host has it (SHA-NI), else coreutils'. */
export function remoteHashCommand(file: string): string {
  const f = shQuote(file);
  return `if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r < ${f}; else sha256sum -- ${f}; fi`;
}

export function sftpCall<T>(
  fn: (cb: (err: Error | null | undefined, value: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value)));
  });
}

/** Up to SFTP_IN_FLIGHT writes of SFTP_CHUNK bytes outstanding; ssh2 copies each at once. */
async function writeAll(
  sftp: SFTPWrapper,
  handle: Buffer,
  source: UploadSource,
  options: SftpOptions,
): Promise<void> {
  let sent = source.position;
  let inFlight = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const settle = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onAbort = () => {
    failure ??= new Aborted();
    settle();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.signal?.aborted) onAbort();
    while (!failure) {
      const pos = source.position;
      const block = await source.next();
      if (!block) break;
      for (let at = 0; at < block.length && !failure; at += SFTP_CHUNK) {
        while (inFlight >= SFTP_IN_FLIGHT && !failure) await new Promise<void>((r) => (wake = r));
        if (failure) break;
        const len = Math.min(SFTP_CHUNK, block.length - at);
        inFlight += 1;
        sftp.write(handle, block, at, len, pos + at, (err) => {
          inFlight -= 1;
          if (err) failure ??= err;
          else {
            sent += len;
            options.onProgress?.(sent, source.total);
          }
          settle();
        });
      }
      source.release(block);
    }
    while (inFlight > 0) await new Promise<void>((r) => (wake = r));
    if (failure) throw failure;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

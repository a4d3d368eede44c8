/**
 * Streaming SHA-256 of files at disk speed. Reads are large (4 MiB) and double-buffered:
 * the next read is in flight on libuv's thread pool while the current chunk is hashed on
 * this thread, so the disk and the hash overlap (measured in bench/verify.ts).
 */
import { createHash } from 'node:crypto';
import { openRegularFile } from '../util/user-file.js';

export const HASH_CHUNK_BYTES = 4 * 1024 * 1024;

export interface FileDigest {
  sha256: string;
  size: number;
}

/** Hashes a whole file; `onBytes` is called after each chunk with the bytes hashed so far. */
export async function hashFile(
  file: string,
  onBytes?: (done: number) => void,
  signal?: AbortSignal,
): Promise<FileDigest> {
  const handle = await openRegularFile(file);
  try {
    const hash = createHash('sha256');
    const buffers = [Buffer.allocUnsafe(HASH_CHUNK_BYTES), Buffer.allocUnsafe(HASH_CHUNK_BYTES)];
    let which = 0;
    let position = 0;
    let pending = handle.read(buffers[which]!, 0, HASH_CHUNK_BYTES, position);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      signal?.throwIfAborted();
      const current = buffers[which]!;
      position += bytesRead;
      which ^= 1;
      pending = handle.read(buffers[which]!, 0, HASH_CHUNK_BYTES, position);
      hash.update(bytesRead === HASH_CHUNK_BYTES ? current : current.subarray(0, bytesRead));
      onBytes?.(position);
    }
    return { sha256: hash.digest('hex'), size: position };
  } finally {
    await handle.close();
  }
}

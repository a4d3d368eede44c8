/**
 * The content-addressed download cache: `blobs/sha256/<hex>` holds only content whose
 * sha256 was checked while it streamed in; `partial/sha256/<hex>` holds a download that
 * broke off, which the next attempt (or the next run) continues with an HTTP Range request
 * (docs/upstream-facts.md#oci-blob-range). A response that does not match its digest is
 * never renamed into `blobs/`; it is deleted and fetched again, a bounded number of times.
 *
 * One process at a time per cache folder: two builds sharing a cache would append to the
 * same partial file.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { isUstartError, UstartError } from '../../errors.js';
import {
  describeEndpoint,
  header,
  readBody,
  type Endpoint,
  type RegistryClient,
} from './registry.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface BlobSource {
  client: RegistryClient;
  endpoint: Endpoint;
  repository: string;
  /** The image reference, for messages. */
  image: string;
}

export interface FetchPolicy {
  /** Attempts after the first, for a broken connection or a digest that does not match. */
  retries: number;
  signal?: AbortSignal;
  /** A broken-off or refused attempt that will be tried again. */
  onRetry?: (attempt: number, message: string) => void;
}

export class ContentCache {
  constructor(readonly dir: string) {}

  blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', hexOf(digest));
  }

  private partialPath(digest: string): string {
    return join(this.dir, 'partial', 'sha256', hexOf(digest));
  }

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await mkdir(join(this.dir, 'partial', 'sha256'), { recursive: true });
  }

  /** Whether the cache holds the blob whole (its digest was checked when it was stored). */
  async has(digest: string, size?: number): Promise<boolean> {
    const info = await stat(this.blobPath(digest)).catch(() => undefined);
    return info !== undefined && info.isFile() && (size === undefined || info.size === size);
  }

  /** Stores small content (a manifest we built or fetched) after checking its digest. */
  async put(digest: string, bytes: Buffer): Promise<void> {
    if (sha256Of(bytes) !== digest) throw new Error(`content does not match ${digest}`);
    if (await this.has(digest, bytes.length)) return;
    const partial = `${this.partialPath(digest)}.put`;
    await writeFile(partial, bytes);
    await rename(partial, this.blobPath(digest));
  }

  async read(digest: string): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  /**
   * Downloads a blob into the cache unless it is there. `onBytes` gets every new byte count
   * (negative when a refused attempt's bytes are taken back). Returns the bytes transferred.
   */
  async fetchBlob(
    source: BlobSource,
    descriptor: Descriptor,
    policy: FetchPolicy,
    onBytes: (delta: number) => void = () => undefined,
  ): Promise<number> {
    const { digest, size } = descriptor;
    if (await this.has(digest, size)) return 0;
    const partial = this.partialPath(digest);
    let transferred = 0;
    let lastProblem = '';
    /** Whether the last attempt failed on content (digest or size), not on the connection. */
    let corrupt = false;
    for (let attempt = 0; attempt <= policy.retries; attempt++) {
      policy.signal?.throwIfAborted();
      if (attempt > 0) policy.onRetry?.(attempt, lastProblem);
      corrupt = false;
      let offset = (await stat(partial).catch(() => undefined))?.size ?? 0;
      if (offset >= size) {
        // Whole but never checked (a crash between the last byte and the rename), or too
        // long: check it, or start again.
        if (
          offset === size &&
          (await hashFileInto(partial, createHash('sha256'))).digest('hex') === hexOf(digest)
        ) {
          await rename(partial, this.blobPath(digest));
          return transferred;
        }
        await rm(partial, { force: true });
        offset = 0;
      }
      let response;
      try {
        response = await source.client.get({
          endpoint: source.endpoint,
          repository: source.repository,
          path: `blobs/${digest}`,
          image: source.image,
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
          ...(policy.signal ? { signal: policy.signal } : {}),
        });
      } catch (e) {
        // A dropped or refused connection is worth another attempt; cancelling is not.
        if (!isUstartError(e, 'ConnectionFailed')) throw e;
        lastProblem = e.message;
        continue;
      }
      const status = response.statusCode ?? 0;
      if (status === 416) {
        // The server does not take our range (the partial file is not a prefix it knows).
        response.resume();
        await rm(partial, { force: true });
        lastProblem = 'the server refused to resume (HTTP 416); downloading it whole';
        continue;
      }
      if (status !== 200 && status !== 206) {
        const body = (await readBody(response, 64 * 1024).catch(() => Buffer.alloc(0)))
          .toString('utf8')
          .slice(0, 300);
        const what = `${source.image}: blob ${digest} (${descriptor.mediaType}) from ${describeEndpoint(source.endpoint)}`;
        if (status === 404) {
          throw new UstartError(
            'BundleBuildFailed',
            `${what} does not exist there (HTTP 404). The registry lists it in the manifest but does not serve it; ` +
              (source.endpoint.mirror
                ? 'the mirror may not have fetched it yet, or it proxies another registry.'
                : 'report it to the image publisher.'),
            { detail: { image: source.image, digest, status } },
          );
        }
        lastProblem = `HTTP ${status}${body ? `: ${body}` : ''}`;
        if (status >= 500 || status === 429) continue;
        throw new UstartError('BundleBuildFailed', `${what} failed: ${lastProblem}.`, {
          detail: { image: source.image, digest, status },
        });
      }
      const hash = createHash('sha256');
      let start = 0;
      if (status === 206 && offset > 0) {
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(response, 'content-range') ?? '');
        if (range && Number(range[1]) === offset) {
          start = offset;
          await hashFileInto(partial, hash);
        } else {
          response.resume();
          await rm(partial, { force: true });
          lastProblem = `the server answered the range request with ${header(response, 'content-range') ?? 'no Content-Range'}`;
          continue;
        }
      }
      // A 200 to a range request means the server ignored Range: the body is the whole
      // blob, so the partial file starts over.
      let received = start;
      const file = createWriteStream(partial, { flags: start > 0 ? 'a' : 'w' });
      const fileDone = new Promise<void>((resolve, reject) => {
        file.once('close', resolve);
        file.once('error', reject);
      });
      let broken: Error | undefined;
      let overflow = false;
      try {
        for await (const chunk of response as AsyncIterable<Buffer>) {
          received += chunk.length;
          if (received > size) {
            overflow = true;
            throw new Error(`more than the ${size} bytes the manifest declares`);
          }
          hash.update(chunk);
          transferred += chunk.length;
          onBytes(chunk.length);
          if (!file.write(chunk)) await once(file, 'drain');
        }
        if (!response.complete) throw new Error('the connection closed before the end of the blob');
      } catch (e) {
        broken = e as Error;
        response.destroy();
      }
      file.end();
      await fileDone;
      policy.signal?.throwIfAborted();
      if (broken) {
        if (overflow) await rm(partial, { force: true });
        lastProblem = `download broke off at ${received} of ${size} bytes: ${broken.message}`;
        continue;
      }
      const actual = hash.digest('hex');
      if (received !== size || actual !== hexOf(digest)) {
        await rm(partial, { force: true });
        onBytes(-(received - start));
        corrupt = true;
        lastProblem =
          received !== size
            ? `got ${received} bytes, the manifest declares ${size}; refused`
            : `its content has sha256:${actual}, not ${digest}; refused`;
        continue;
      }
      await rename(partial, this.blobPath(digest));
      return transferred;
    }
    throw new UstartError(
      corrupt ? 'BundleCorrupt' : 'BundleBuildFailed',
      `${source.image}: blob ${digest} from ${describeEndpoint(source.endpoint)} failed ${policy.retries + 1} times; last: ${lastProblem}. ` +
        'Nothing was stored. Run again to continue (a broken-off download resumes); if the digest keeps differing, the registry or a proxy in between serves damaged content.',
      { detail: { image: source.image, digest } },
    );
  }
}

export function hexOf(digest: string): string {
  return digest.slice('sha256:'.length);
}

export function sha256Of(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function hashFileInto(file: string, hash: Hash): Promise<Hash> {
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }))
    hash.update(chunk as Buffer);
  return hash;
}

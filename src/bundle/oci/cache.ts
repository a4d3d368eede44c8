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
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dirname, join } from 'node:path';
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

  /**
   * Stores streamed content under the sha256 computed while it is written: content derived
   * from checked content (a file extracted from a downloaded archive), so the bundle can take
   * it from the cache like any other blob.
   */
  async store(chunks: AsyncIterable<Buffer>): Promise<{ digest: string; size: number }> {
    const temp = join(this.dir, 'partial', `store-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        Readable.from(
          (async function* () {
            for await (const chunk of chunks) {
              hash.update(chunk);
              size += chunk.length;
              yield chunk;
            }
          })(),
        ),
        createWriteStream(temp),
      );
      const digest = `sha256:${hash.digest('hex')}`;
      await rename(temp, this.blobPath(digest));
      return { digest, size };
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
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
    const what = `${source.image}: blob ${digest} (${descriptor.mediaType}) from ${describeEndpoint(source.endpoint)}`;
    const result = await this.download(
      {
        digest,
        size,
        what,
        failed: `${source.image}: blob ${digest} from ${describeEndpoint(source.endpoint)}`,
        detail: { image: source.image, digest },
        open: (headers) =>
          source.client.get({
            endpoint: source.endpoint,
            repository: source.repository,
            path: `blobs/${digest}`,
            image: source.image,
            headers,
            ...(policy.signal ? { signal: policy.signal } : {}),
          }),
        notFound: () =>
          new UstartError(
            'BundleBuildFailed',
            `${what} does not exist there (HTTP 404). The registry lists it in the manifest but does not serve it; ` +
              (source.endpoint.mirror
                ? 'the mirror may not have fetched it yet, or it proxies another registry.'
                : 'report it to the image publisher.'),
            { detail: { image: source.image, digest, status: 404 } },
          ),
      },
      policy,
      onBytes,
    );
    return result.transferred;
  }

  /**
   * Downloads content into the cache, checking it while it streams: against `digest` when
   * it is pinned, else only hashing it (the caller reports it as not pinned). Content
   * already in the cache (pinned digests only) is not fetched again. A broken-off download
   * continues from its partial file with `Range` (docs/upstream-facts.md#oci-blob-range);
   * an unpinned one only with `If-Range` and the validator of the response it started
   * from, so two versions of a file are never spliced together.
   */
  async download(
    target: DownloadTarget,
    policy: FetchPolicy,
    onBytes: (delta: number) => void = () => undefined,
  ): Promise<Downloaded> {
    const { digest, size } = target;
    if (digest !== undefined && (await this.has(digest, size)))
      return { digest, size: (await stat(this.blobPath(digest))).size, transferred: 0 };
    const partial =
      digest !== undefined
        ? this.partialPath(digest)
        : join(
            this.dir,
            'partial',
            'url',
            createHash('sha256')
              .update(target.key ?? target.what)
              .digest('hex'),
          );
    const validatorFile = `${partial}.validator`;
    /** Unpinned content fetched before: its digest and the validator it came with. */
    const recordFile = `${partial}.record`;
    if (digest === undefined) await mkdir(dirname(partial), { recursive: true });
    const record =
      digest === undefined
        ? await readFile(recordFile, 'utf8')
            .then((t) => JSON.parse(t) as { digest: string; validator: string })
            .catch(() => undefined)
        : undefined;
    const cached = record && (await this.has(record.digest)) ? record : undefined;
    let transferred = 0;
    let lastProblem = '';
    /** Whether the last attempt failed on content (digest or size), not on the connection. */
    let corrupt = false;
    const store = async (hex: string, length: number): Promise<Downloaded> => {
      const stored = `sha256:${hex}`;
      await rename(partial, this.blobPath(stored));
      if (digest === undefined) {
        const validator = await readFile(validatorFile, 'utf8').catch(() => undefined);
        if (validator) await writeFile(recordFile, JSON.stringify({ digest: stored, validator }));
        else await rm(recordFile, { force: true });
      }
      await rm(validatorFile, { force: true });
      return { digest: stored, size: length, transferred };
    };
    for (let attempt = 0; attempt <= policy.retries; attempt++) {
      policy.signal?.throwIfAborted();
      if (attempt > 0) policy.onRetry?.(attempt, lastProblem);
      corrupt = false;
      let offset = (await stat(partial).catch(() => undefined))?.size ?? 0;
      const validator =
        digest === undefined && offset > 0
          ? await readFile(validatorFile, 'utf8').catch(() => undefined)
          : undefined;
      if (digest === undefined && offset > 0 && !validator) {
        // Nothing tells whether the server still has the same file: start over.
        await rm(partial, { force: true });
        offset = 0;
      }
      if (digest !== undefined && size !== undefined && offset >= size) {
        // Whole but never checked (a crash between the last byte and the rename), or too
        // long: check it, or start again.
        if (
          offset === size &&
          (await hashFileInto(partial, createHash('sha256'))).digest('hex') === hexOf(digest)
        )
          return store(hexOf(digest), size);
        await rm(partial, { force: true });
        offset = 0;
      }
      let response: IncomingMessage;
      try {
        // Unpinned content the cache holds is asked for only if it changed (RFC 9110 §13.1).
        const conditional: Record<string, string> = cached
          ? /^(W\/)?"/.test(cached.validator)
            ? { 'if-none-match': cached.validator }
            : { 'if-modified-since': cached.validator }
          : {};
        response = await target.open(
          offset > 0
            ? { range: `bytes=${offset}-`, ...(validator ? { 'if-range': validator } : {}) }
            : conditional,
        );
      } catch (e) {
        // A dropped or refused connection is worth another attempt; cancelling is not.
        if (!isUstartError(e, 'ConnectionFailed') || e.detail.retryable === false) throw e;
        lastProblem = e.message;
        continue;
      }
      const status = response.statusCode ?? 0;
      if (status === 304 && cached && offset === 0) {
        response.resume();
        const info = await stat(this.blobPath(cached.digest));
        return { digest: cached.digest, size: info.size, transferred };
      }
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
        if (status === 404) throw target.notFound();
        lastProblem = `HTTP ${status}${body ? `: ${body}` : ''}`;
        if (status >= 500 || status === 429) continue;
        throw new UstartError('BundleBuildFailed', `${target.what} failed: ${lastProblem}.`, {
          detail: { ...target.detail, status },
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
      // A 200 to a range request means the server ignored Range (or, with If-Range, that
      // the file changed): the body is the whole content, so the partial file starts over.
      if (digest === undefined && start === 0) {
        const etag = header(response, 'etag');
        const lastModified = header(response, 'last-modified');
        // Only a strong validator may guard a resumed range (RFC 9110 §13.1.5).
        const guard = etag && !etag.startsWith('W/') ? etag : lastModified;
        if (guard) await writeFile(validatorFile, guard);
        else await rm(validatorFile, { force: true });
      }
      const expected =
        size ?? (status === 200 ? Number(header(response, 'content-length') ?? NaN) : undefined);
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
          if (size !== undefined && received > size) {
            overflow = true;
            throw new Error(`more than the ${size} bytes the manifest declares`);
          }
          hash.update(chunk);
          transferred += chunk.length;
          onBytes(chunk.length);
          if (!file.write(chunk)) await once(file, 'drain');
        }
        if (!response.complete)
          throw new Error('the connection closed before the end of the content');
      } catch (e) {
        broken = e as Error;
        response.destroy();
      }
      file.end();
      await fileDone;
      policy.signal?.throwIfAborted();
      if (broken) {
        if (overflow) await rm(partial, { force: true });
        lastProblem = `download broke off at ${received}${expected !== undefined && !Number.isNaN(expected) ? ` of ${expected}` : ''} bytes: ${broken.message}`;
        continue;
      }
      const actual = hash.digest('hex');
      if (
        (size !== undefined && received !== size) ||
        (digest !== undefined && actual !== hexOf(digest))
      ) {
        await rm(partial, { force: true });
        onBytes(-(received - start));
        corrupt = true;
        lastProblem =
          size !== undefined && received !== size
            ? `got ${received} bytes, the manifest declares ${size}; refused`
            : `its content has sha256:${actual}, not ${digest}; refused`;
        continue;
      }
      return store(actual, received);
    }
    throw new UstartError(
      corrupt ? 'BundleCorrupt' : 'BundleBuildFailed',
      `${target.failed ?? target.what} failed ${policy.retries + 1} times; last: ${lastProblem}. ` +
        'Nothing was stored. Run again to continue (a broken-off download resumes); if the digest keeps differing, the server or a proxy in between serves damaged content.',
      { detail: { ...target.detail, ...(digest ? { digest } : {}) } },
    );
  }
}

/** What `ContentCache.download` fetches, and how it names it in messages. */
export interface DownloadTarget {
  /** `sha256:<hex>` the content must have; absent: not pinned, only hashed. */
  digest?: string;
  /** Exact size when known (a descriptor's); more or fewer bytes are refused. */
  size?: number;
  /** Names the partial file of unpinned content (its URL); default `what`. */
  key?: string;
  /** What is fetched from where, for messages (`chart cilium 1.16.5 from https://…`). */
  what: string;
  /** The subject of the message after the last attempt; default `what`. */
  failed?: string;
  detail: Record<string, unknown>;
  /** Sends the GET with these extra headers (Range, If-Range). */
  open(headers: Record<string, string>): Promise<IncomingMessage>;
  /** The error for HTTP 404: names the item and what to do. */
  notFound(): UstartError;
}

export interface Downloaded {
  /** `sha256:<hex>` of the content, now at `blobPath(digest)`. */
  digest: string;
  size: number;
  /** Bytes received in this call (0 when the cache held it). */
  transferred: number;
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

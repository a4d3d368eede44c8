/**
 * Verifying a bundle before anything in it is used: the signature over `bundle.json`
 * first, then the manifest itself (aggregate digest, entry paths, duplicates), then the
 * size and SHA-256 of every entry, streaming. Every problem is collected, each naming its
 * entry, so one run tells the user everything that is wrong. Works on a folder, a tar
 * archive, and split tar parts.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { messageOf, UstartError } from '../errors.js';
import { throttleProgress, type BundleEventListener, type BundleProblem } from './events.js';
import { hashFile, HASH_CHUNK_BYTES } from './hash.js';
import {
  aggregateDigest,
  MANIFEST_NAME,
  MAX_MANIFEST_BYTES,
  parseManifest,
  SIGNATURE_NAME,
  type Manifest,
  type ManifestEntry,
} from './manifest.js';
import { entryPathProblem } from './entry-paths.js';
import { verifyManifestSignature } from './signature.js';
import { parsePartsManifest, partsManifestName } from './split.js';
import { readTar, TarTruncated } from './tar.js';
import { notRegularFile, readRegularFile } from '../util/user-file.js';

export type BundleContainer = 'folder' | 'tar' | 'parts';

export interface VerifyReport {
  /** The path given. */
  bundle: string;
  container: BundleContainer;
  /** True when no problem was found. */
  ok: boolean;
  signatureValid: boolean;
  /** The manifest as read (trust it only when `ok`). */
  manifest?: Manifest;
  /** The exact bytes of bundle.json, when read. */
  manifestBytes?: Buffer;
  problems: BundleProblem[];
  /** Content bytes hashed. */
  verifiedBytes: number;
}

export interface VerifyOptions {
  onEvent?: BundleEventListener;
  signal?: AbortSignal;
}

/** Where a bundle is and in which container. */
export async function locateBundle(
  path: string,
): Promise<{ container: BundleContainer; path: string }> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) return { container: 'folder', path };
  // A FIFO or device read as a tar would block or never end (issue 16).
  if (info && !info.isFile()) throw notRegularFile(path, info, { what: 'bundle' });
  if (path.endsWith('.parts.json')) return { container: 'parts', path };
  const part = /^(.*)\.part\d{3}$/.exec(path);
  if (part) return { container: 'parts', path: partsManifestName(part[1]!) };
  if (!info && (await stat(partsManifestName(path)).catch(() => undefined))) {
    return { container: 'parts', path: partsManifestName(path) };
  }
  if (!info) {
    throw new UstartError(
      'InvalidArgument',
      `${path} does not exist; give a bundle folder, a .tar file or a .tar.parts.json file.`,
    );
  }
  return { container: 'tar', path };
}

export async function verifyBundle(
  path: string,
  publicKey: KeyObject,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const located = await locateBundle(path);
  const check = new Checker(path, located.container, publicKey, options);
  switch (located.container) {
    case 'folder':
      await check.folder(located.path);
      break;
    case 'tar':
      await check.archive(fileChunks(located.path), basename(located.path));
      break;
    case 'parts':
      await check.archive(await check.partChunks(located.path), basename(located.path));
      break;
  }
  return check.report();
}

class Checker {
  private readonly problems: BundleProblem[] = [];
  private readonly emit: BundleEventListener;
  private signatureValid = false;
  private manifest: Manifest | undefined;
  private manifestBytes: Buffer | undefined;
  /** Manifest entries with a valid, unique path, by path. */
  private readonly expected = new Map<string, ManifestEntry>();
  private readonly seen = new Set<string>();
  private verifiedBytes = 0;
  private totalBytes = 0;

  constructor(
    private readonly bundle: string,
    private readonly container: BundleContainer,
    private readonly key: KeyObject,
    private readonly options: VerifyOptions,
  ) {
    this.emit = throttleProgress(options.onEvent);
  }

  report(): VerifyReport {
    return {
      bundle: this.bundle,
      container: this.container,
      ok: this.problems.length === 0,
      signatureValid: this.signatureValid,
      ...(this.manifest ? { manifest: this.manifest } : {}),
      ...(this.manifestBytes ? { manifestBytes: this.manifestBytes } : {}),
      problems: this.problems,
      verifiedBytes: this.verifiedBytes,
    };
  }

  private problem(kind: BundleProblem['kind'], entry: string, message: string): void {
    const problem = { kind, entry, message: `${entry}: ${message}` };
    this.problems.push(problem);
    this.emit({ type: 'problem-found', problem });
  }

  /** Signature first, then the manifest's own consistency. */
  private head(manifestBytes: Buffer | undefined, signature: Buffer | undefined): void {
    this.emit({ type: 'phase-started', phase: 'verify-signature' });
    if (!manifestBytes) {
      this.problem(
        'missing',
        MANIFEST_NAME,
        'the manifest is missing; this is not a bundle, or it is incomplete.',
      );
      this.emit({ type: 'phase-finished', phase: 'verify-signature' });
      return;
    }
    this.manifestBytes = manifestBytes;
    if (!signature) {
      this.problem(
        'unsigned',
        SIGNATURE_NAME,
        'the bundle is not signed; build it with --key PREFIX.key.',
      );
    } else if (!verifyManifestSignature(manifestBytes, signature, this.key)) {
      this.problem(
        'bad-signature',
        SIGNATURE_NAME,
        'not a valid signature of bundle.json by the given public key: the manifest was altered or signed with another key. Do not use this bundle.',
      );
    } else {
      this.signatureValid = true;
    }
    this.emit({ type: 'phase-finished', phase: 'verify-signature' });
    try {
      this.manifest = parseManifest(manifestBytes, this.bundle);
    } catch (e) {
      this.problem('bad-manifest', MANIFEST_NAME, messageOf(e));
      return;
    }
    const digest = aggregateDigest(this.manifest.entries);
    if (digest !== this.manifest.digest) {
      this.problem(
        'bad-manifest',
        MANIFEST_NAME,
        `the aggregate digest is ${digest}, but the manifest says ${this.manifest.digest}.`,
      );
    }
    for (const entry of this.manifest.entries) {
      const why = entryPathProblem(entry.path);
      if (why) {
        this.problem('path-escape', entry.path, `${why}; the entry is refused.`);
      } else if (entry.path === MANIFEST_NAME || entry.path === SIGNATURE_NAME) {
        this.problem(
          'duplicate',
          entry.path,
          'an entry may not replace the manifest or signature.',
        );
      } else if (this.expected.has(entry.path)) {
        this.problem('duplicate', entry.path, 'the manifest lists this entry more than once.');
      } else {
        this.expected.set(entry.path, entry);
        this.totalBytes += entry.size;
      }
    }
  }

  private startEntries(): void {
    this.emit({
      type: 'phase-started',
      phase: 'verify-entries',
      totalBytes: this.totalBytes,
      totalItems: this.expected.size,
    });
  }

  private finishEntries(skip?: string): void {
    for (const path of this.expected.keys()) {
      if (!this.seen.has(path) && path !== skip) {
        this.problem('missing', path, 'listed in the manifest but not in the bundle.');
      }
    }
    this.emit({ type: 'phase-finished', phase: 'verify-entries' });
  }

  private compare(entry: ManifestEntry, size: number, sha256: string): void {
    if (size !== entry.size) {
      this.problem('wrong-size', entry.path, `${size} bytes, the manifest says ${entry.size}.`);
    } else if (sha256 !== entry.sha256) {
      this.problem(
        'wrong-digest',
        entry.path,
        `sha256 is ${sha256}, the manifest says ${entry.sha256}: the file was altered or damaged in transit.`,
      );
    }
    this.emit({ type: 'item-finished', phase: 'verify-entries', item: entry.path });
  }

  private progressed(item: string): void {
    this.emit({
      type: 'progressed',
      phase: 'verify-entries',
      doneBytes: this.verifiedBytes,
      totalBytes: this.totalBytes,
      item,
    });
  }

  async folder(dir: string): Promise<void> {
    const manifestBytes = await readSmall(join(dir, MANIFEST_NAME));
    const signature = await readSmall(join(dir, SIGNATURE_NAME));
    this.head(manifestBytes, signature);
    if (!this.manifest) return;
    const files = new Map<string, number>();
    await this.walk(dir, '', files);
    this.startEntries();
    for (const [path, entry] of this.expected) {
      const size = files.get(path);
      if (size === undefined) continue;
      this.seen.add(path);
      if (size !== entry.size) {
        this.compare(entry, size, '');
        continue;
      }
      const before = this.verifiedBytes;
      const digest = await hashFile(
        join(dir, ...path.split('/')),
        (done) => {
          this.verifiedBytes = before + done;
          this.progressed(path);
        },
        this.options.signal,
      );
      this.compare(entry, digest.size, digest.sha256);
    }
    for (const path of files.keys()) {
      if (!this.expected.has(path))
        this.problem('extra', path, 'in the bundle but not in the manifest.');
    }
    this.finishEntries();
  }

  /** Lists regular files by entry path; anything else (links, devices) is a problem. */
  private async walk(root: string, prefix: string, files: Map<string, number>): Promise<void> {
    const here = prefix ? join(root, ...prefix.split('/')) : root;
    for (const name of (await readdir(here)).sort()) {
      const path = prefix ? `${prefix}/${name}` : name;
      if (!prefix && (name === MANIFEST_NAME || name === SIGNATURE_NAME)) continue;
      const info = await lstat(join(here, name));
      if (info.isDirectory()) await this.walk(root, path, files);
      else if (info.isFile()) files.set(path, info.size);
      else {
        this.seen.add(path);
        this.problem(
          'not-a-file',
          path,
          'not a regular file (a link or device); it is not followed.',
        );
      }
    }
  }

  async archive(chunks: AsyncIterable<Buffer>, archiveName: string): Promise<void> {
    let index = 0;
    let manifestBytes: Buffer | undefined;
    let headDone = false;
    let truncatedMember: string | undefined;
    const finishHead = (signature: Buffer | undefined) => {
      headDone = true;
      this.head(manifestBytes, signature);
      this.startEntries();
    };
    try {
      for await (const member of readTar(chunks)) {
        index++;
        if (index === 1) {
          if (member.name !== MANIFEST_NAME) {
            this.problem(
              'bad-manifest',
              member.name,
              `the first member of ${archiveName} must be ${MANIFEST_NAME}; this is not a uStart bundle archive.`,
            );
            return;
          }
          manifestBytes = await collect(member.data, member.size, MANIFEST_NAME);
          continue;
        }
        if (!headDone) {
          if (member.name === SIGNATURE_NAME) {
            finishHead(await collect(member.data, member.size, SIGNATURE_NAME));
            continue;
          }
          finishHead(undefined);
        }
        await this.member(member);
      }
    } catch (e) {
      if (!(e instanceof TarTruncated)) throw e;
      truncatedMember = e.member;
      if (!headDone && manifestBytes && e.member !== SIGNATURE_NAME) finishHead(undefined);
      this.problem('truncated', e.member ?? archiveName, `${e.message}; copy the bundle again.`);
    }
    if (index === 0 && truncatedMember === undefined) {
      this.problem('missing', MANIFEST_NAME, `${archiveName} is empty.`);
    }
    if (!headDone && manifestBytes) finishHead(undefined);
    if (this.manifest) this.finishEntries(truncatedMember);
  }

  private async member(member: {
    name: string;
    type: string;
    size: number;
    data: AsyncIterable<Buffer>;
  }): Promise<void> {
    const name = member.name;
    const why = entryPathProblem(name);
    if (why) return this.problem('path-escape', name, `archive member ${why}; it is refused.`);
    if (member.type !== 'file') {
      return this.problem(
        'not-a-file',
        name,
        `archive member of type ${member.type}; bundles hold regular files only.`,
      );
    }
    if (this.seen.has(name))
      return this.problem('duplicate', name, 'the archive holds this member more than once.');
    this.seen.add(name);
    const entry = this.expected.get(name);
    if (!entry) return this.problem('extra', name, 'in the archive but not in the manifest.');
    if (member.size !== entry.size) return this.compare(entry, member.size, '');
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of member.data) {
      hash.update(chunk);
      size += chunk.length;
      this.verifiedBytes += chunk.length;
      this.progressed(name);
      this.options.signal?.throwIfAborted();
    }
    this.compare(entry, size, hash.digest('hex'));
  }

  /** Checks the parts listed in a parts manifest, then streams them as one archive. */
  async partChunks(partsFile: string): Promise<AsyncIterable<Buffer>> {
    const parts = parsePartsManifest(
      await readRegularFile(partsFile, {
        what: 'parts manifest',
        code: 'BundleCorrupt',
        encoding: 'utf8',
      }),
      partsFile,
    );
    const dir = dirname(partsFile);
    const present: string[] = [];
    for (const part of parts.parts) {
      if (part.name.includes('/') || part.name.includes('\\') || part.name.startsWith('.')) {
        this.problem(
          'path-escape',
          part.name,
          'a part name must be a plain file name beside the parts manifest.',
        );
        continue;
      }
      const info = await stat(join(dir, part.name)).catch(() => undefined);
      if (!info) {
        this.problem('bad-part', part.name, 'this part is missing; copy it beside the others.');
      } else if (!info.isFile()) {
        this.problem(
          'bad-part',
          part.name,
          'this part is not a regular file; copy the part itself here.',
        );
      } else if (info.size !== part.size) {
        this.problem(
          'bad-part',
          part.name,
          `${info.size} bytes, the parts manifest says ${part.size}; copy it again.`,
        );
      }
      if (info) present.push(join(dir, part.name));
    }
    return (async function* () {
      for (const file of present) yield* fileChunks(file);
    })();
  }
}

function fileChunks(file: string): AsyncIterable<Buffer> {
  return createReadStream(file, { highWaterMark: HASH_CHUNK_BYTES });
}

async function collect(data: AsyncIterable<Buffer>, size: number, name: string): Promise<Buffer> {
  if (size > MAX_MANIFEST_BYTES) {
    throw new UstartError(
      'BundleCorrupt',
      `${name} is ${size} bytes; that is not a bundle manifest.`,
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of data) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function readSmall(file: string): Promise<Buffer | undefined> {
  const info = await lstat(file).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isFile() || info.size > MAX_MANIFEST_BYTES) {
    throw new UstartError(
      'BundleCorrupt',
      `${file} is not a regular file of sensible size; the bundle is damaged.`,
    );
  }
  return readFile(file);
}

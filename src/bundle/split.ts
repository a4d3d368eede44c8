/**
 * Split archives for media with a file size limit (FAT32: 4 GiB − 1 byte). A tar archive
 * `NAME.tar` is written as `NAME.tar.part001`, `NAME.tar.part002`, … — plain byte slices,
 * concatenated they are the archive — and `NAME.tar.parts.json` lists them with sizes and
 * digests. Authenticity still comes from the signed `bundle.json` inside the archive.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { UstartError } from '../errors.js';

export const PARTS_FORMAT_VERSION = 1;

export const PartsManifest = z.strictObject({
  formatVersion: z.literal(PARTS_FORMAT_VERSION),
  /** Name of the whole archive the parts make up, such as `bundle.tar`. */
  archive: z.string(),
  size: z.int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  parts: z.array(
    z.strictObject({
      name: z.string(),
      size: z.int().min(0),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});
export type PartsManifest = z.infer<typeof PartsManifest>;

export function partName(archive: string, index: number): string {
  return `${archive}.part${String(index + 1).padStart(3, '0')}`;
}

export function partsManifestName(archive: string): string {
  return `${archive}.parts.json`;
}

/**
 * Parses a size such as `4G`, `700M` or `1048576` (binary units: K = KiB, G = GiB).
 * Parts are kept strictly below it and a multiple of 512 bytes, so `4G` fits FAT32.
 */
export function parseSplitSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) {
    throw new UstartError(
      'InvalidArgument',
      `--split "${text}" is not a size; write it like 4G, 700M or 1048576.`,
    );
  }
  const unit = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[m[2]!.toUpperCase()]!;
  const limit = Math.floor(Number(m[1]) * unit);
  const part = Math.floor((limit - 1) / 512) * 512;
  if (part < 1024 * 1024) {
    throw new UstartError(
      'InvalidArgument',
      `--split ${text} is too small; parts must be at least 1M.`,
    );
  }
  return part;
}

/**
 * A Writable that writes `archivePath`'s parts of at most `partSize` bytes each and, on
 * finish, the parts manifest. Files are written as `*.partial` and renamed on success.
 */
export class PartsWriter extends Writable {
  private readonly dir: string;
  private readonly archive: string;
  private handle: FileHandle | undefined;
  private partHash: Hash | undefined;
  private partBytes = 0;
  private readonly whole = createHash('sha256');
  private total = 0;
  readonly parts: { name: string; size: number; sha256: string }[] = [];
  /** Final paths of every file written, parts then the parts manifest. */
  readonly written: string[] = [];

  constructor(
    archivePath: string,
    private readonly partSize: number,
  ) {
    super({ highWaterMark: 4 * 1024 * 1024 });
    this.dir = dirname(archivePath);
    this.archive = basename(archivePath);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.writeChunk(chunk).then(() => cb(), cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.finish().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    const h = this.handle;
    this.handle = undefined;
    (h ? h.close() : Promise.resolve()).then(
      () => cb(err),
      () => cb(err),
    );
  }

  /** Removes the parts of a write that failed, so no half-written set is left behind. */
  async discard(): Promise<void> {
    for (const part of this.parts) {
      await rm(join(this.dir, `${part.name}.partial`), { force: true });
      await rm(join(this.dir, part.name), { force: true });
    }
  }

  private async writeChunk(chunk: Buffer): Promise<void> {
    this.whole.update(chunk);
    this.total += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.handle || this.partBytes === this.partSize) await this.nextPart();
      const n = Math.min(chunk.length - offset, this.partSize - this.partBytes);
      const slice = chunk.subarray(offset, offset + n);
      await this.handle!.write(slice);
      this.partHash!.update(slice);
      this.partBytes += n;
      offset += n;
    }
  }

  private async nextPart(): Promise<void> {
    await this.closePart();
    const name = partName(this.archive, this.parts.length);
    this.handle = await open(join(this.dir, `${name}.partial`), 'w');
    this.partHash = createHash('sha256');
    this.partBytes = 0;
    this.parts.push({ name, size: 0, sha256: '' });
  }

  private async closePart(): Promise<void> {
    if (!this.handle) return;
    const part = this.parts[this.parts.length - 1]!;
    part.size = this.partBytes;
    part.sha256 = this.partHash!.digest('hex');
    await this.handle.sync();
    await this.handle.close();
    this.handle = undefined;
  }

  private async finish(): Promise<void> {
    await this.closePart();
    for (const part of this.parts) {
      await rename(join(this.dir, `${part.name}.partial`), join(this.dir, part.name));
      this.written.push(join(this.dir, part.name));
    }
    const manifest: PartsManifest = {
      formatVersion: PARTS_FORMAT_VERSION,
      archive: this.archive,
      size: this.total,
      sha256: this.whole.digest('hex'),
      parts: this.parts,
    };
    const file = join(this.dir, partsManifestName(this.archive));
    await writeFile(file, JSON.stringify(manifest, null, 2) + '\n');
    this.written.push(file);
  }
}

/** Reads and checks a parts manifest; throws BundleCorrupt naming the field. */
export function parsePartsManifest(text: string, file: string): PartsManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UstartError('BundleCorrupt', `${file} is not valid JSON; copy it again.`, {
      cause: e,
    });
  }
  const parsed = PartsManifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UstartError(
      'BundleCorrupt',
      `${file}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}; copy it again.`,
    );
  }
  return parsed.data;
}

/**
 * A tiny OCI image archive written from scratch, so the image tests need no registry and no
 * docker: an OCI image layout (oci-layout, index.json, blobs/sha256/…) in a tar, with one
 * gzip'd layer holding the given files, a config and a manifest, addressed by sha256.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';

export interface OciImageOptions {
  /** Full reference, e.g. `docker.io/ustart/hello:1.0`; its tag becomes the OCI ref name. */
  name: string;
  /** Files of the single layer: path inside the image → content. */
  files: Record<string, string>;
  /** Writes a layer blob whose bytes do not match the digest it is filed under. */
  corruptLayer?: boolean;
}

export interface OciImage {
  name: string;
  /** `sha256:…` of the manifest, the image's identity in containerd. */
  manifestDigest: string;
}

const MTIME = new Date('2026-01-01T00:00:00Z');

/** Writes the archive to `out` and returns the reference and manifest digest it holds. */
export async function writeOciImage(out: string, options: OciImageOptions): Promise<OciImage> {
  const layerTar = await tarBytes(
    Object.entries(options.files).map(([path, text]) => ({
      name: path.replace(/^\//, ''),
      data: Buffer.from(text),
    })),
  );
  const layer = gzipSync(layerTar);
  const config = json({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/hello.txt'] },
    rootfs: { type: 'layers', diff_ids: [digest(layerTar)] },
    history: [{ created: MTIME.toISOString(), created_by: 'ustart test' }],
  });
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptor('application/vnd.oci.image.config.v1+json', config),
    layers: [descriptor('application/vnd.oci.image.layer.v1.tar+gzip', layer)],
  });
  const tag = options.name.slice(options.name.lastIndexOf(':') + 1);
  const index = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        ...descriptor('application/vnd.oci.image.manifest.v1+json', manifest),
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: {
          'io.containerd.image.name': options.name,
          'org.opencontainers.image.ref.name': tag,
        },
      },
    ],
  });
  const storedLayer = options.corruptLayer ? flipLastByte(layer) : layer;
  const blob = (filed: Buffer, bytes = filed) => ({
    name: `blobs/sha256/${digest(filed).slice('sha256:'.length)}`,
    data: bytes,
  });
  const archive = await tarBytes([
    { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', data: index },
    blob(config),
    blob(manifest),
    blob(layer, storedLayer),
  ]);
  await pipeline(Readable.from([archive]), createWriteStream(out));
  return { name: options.name, manifestDigest: digest(manifest) };
}

function descriptor(
  mediaType: string,
  bytes: Buffer,
): { mediaType: string; digest: string; size: number } {
  return { mediaType, digest: digest(bytes), size: bytes.length };
}

function digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function flipLastByte(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff;
  return copy;
}

async function tarBytes(members: readonly { name: string; data: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const m of members) {
    pack.entry({ name: m.name, size: m.data.length, mtime: MTIME, mode: 0o644 }, m.data);
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

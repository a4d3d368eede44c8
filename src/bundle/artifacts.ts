/**
 * Pinned artifacts (binaries, images, charts) named by URL and SHA-256 in a YAML list:
 *
 * ```yaml
 * artifacts:
 *   - kind: binary
 *     name: kubeadm
 *     url: https://example.org/kubeadm
 *     sha256: 0123…
 * ```
 *
 * Each is downloaded while hashed; a digest that differs from the pin is an error naming
 * the artifact, and the download is discarded.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parse } from 'yaml';
import { z } from 'zod';
import { UstartError } from '../errors.js';
import { ENTRY_KINDS } from './manifest.js';
import { entryPathProblem } from './entry-paths.js';
import { readRegularFile } from '../util/user-file.js';

export const Artifact = z.strictObject({
  kind: z.enum(ENTRY_KINDS).exclude(['deb']),
  /** File name inside the kind's folder of the bundle, such as `kubeadm` or `cilium-1.16.tgz`. */
  name: z.string().refine((n) => entryPathProblem(n) === undefined, {
    error: 'must be a relative name without "..", "\\" or a leading "/"',
  }),
  url: z.url({ protocol: /^https?$/ }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lower-case hex digits' }),
});
export type Artifact = z.infer<typeof Artifact>;

export const ArtifactList = z.strictObject({ artifacts: z.array(Artifact) });

export async function loadArtifactList(file: string): Promise<Artifact[]> {
  let text: string;
  try {
    text = await readRegularFile(file, { what: 'artifact list', encoding: 'utf8' });
  } catch (e) {
    if (e instanceof UstartError) throw e;
    throw new UstartError('InvalidArgument', `cannot read the artifact list ${file}.`, {
      cause: e,
    });
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (e) {
    throw new UstartError('InvalidArgument', `${file} is not valid YAML: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const parsed = ArtifactList.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UstartError(
      'InvalidArgument',
      `${file}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data.artifacts;
}

/** Downloads one artifact into `dir`, checking its pinned sha256. Returns the file's path. */
export async function downloadArtifact(
  artifact: Artifact,
  dir: string,
  onBytes?: (done: number) => void,
  signal?: AbortSignal,
): Promise<string> {
  const target = join(dir, `${artifact.kind}-${artifact.name.replaceAll('/', '_')}`);
  const partial = `${target}.partial`;
  const what = `artifact ${artifact.kind} "${artifact.name}" (${artifact.url})`;
  let response: Response;
  try {
    response = await fetch(artifact.url, signal ? { signal } : {});
  } catch (e) {
    throw new UstartError(
      'BundleBuildFailed',
      `could not download ${what}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  if (!response.ok || !response.body) {
    throw new UstartError(
      'BundleBuildFailed',
      `could not download ${what}: HTTP ${response.status}; check the URL in the artifact list.`,
    );
  }
  const hash = createHash('sha256');
  let done = 0;
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          done += chunk.length;
          onBytes?.(done);
          yield chunk;
        }
      },
      createWriteStream(partial),
    );
  } catch (e) {
    await rm(partial, { force: true });
    throw new UstartError(
      'BundleBuildFailed',
      `download of ${what} broke off: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  const actual = hash.digest('hex');
  if (actual !== artifact.sha256) {
    await rm(partial, { force: true });
    throw new UstartError(
      'BundleCorrupt',
      `${what} has sha256 ${actual}, but the artifact list pins ${artifact.sha256}; nothing was added. ` +
        'Check the pin, or whether the server now serves another file.',
      { detail: { artifact: artifact.name } },
    );
  }
  await rename(partial, target);
  return target;
}

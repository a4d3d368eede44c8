/**
 * One file out of a downloaded `.tar.gz` (Helm's release archive holds `linux-<arch>/helm`,
 * docs/upstream-facts.md#helm.release-archive), read in Node with zlib and the bundle's tar
 * reader: the consultant's machine need not have GNU tar.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { UstartError } from '../../errors.js';
import type { ContentCache } from '../oci/cache.js';
import { readTar } from '../tar.js';

/** A member's name as `tar` writes it, without a leading `./`. */
const memberName = (name: string) => name.replace(/^(\.\/)+/, '');

/**
 * Extracts the regular file `member` of the gzip'd tar `archive` into the cache; returns its
 * digest and size. `what` names the archive for messages (the item and its URL).
 */
export async function extractFromTarGz(
  cache: ContentCache,
  archive: string,
  member: string,
  what: string,
): Promise<{ digest: string; size: number }> {
  const gunzip = createGunzip();
  const source = createReadStream(archive);
  source.once('error', (e) => gunzip.destroy(e));
  source.pipe(gunzip);
  const seen: string[] = [];
  try {
    for await (const entry of readTar(gunzip as AsyncIterable<Buffer>)) {
      const name = memberName(entry.name);
      if (name !== memberName(member)) {
        if (seen.length < 10) seen.push(name);
        continue;
      }
      if (entry.type !== 'file') {
        throw new UstartError(
          'BundleCorrupt',
          `${what}: ${member} in the archive is a ${entry.type}, not a regular file.`,
          { detail: { member, reason: 'not-a-file' } },
        );
      }
      return await cache.store(entry.data);
    }
  } catch (e) {
    if (e instanceof UstartError) throw e;
    throw new UstartError(
      'BundleCorrupt',
      `${what}: not a readable .tar.gz (${(e as Error).message}); check the URL and the archive it serves.`,
      { cause: e, detail: { member, reason: 'bad-archive' } },
    );
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  throw new UstartError(
    'BundleCorrupt',
    `${what}: the archive holds no ${member} (it has ${seen.join(', ') || 'no files'}); check "extract" in the bill of materials.`,
    { detail: { member, reason: 'member-missing' } },
  );
}

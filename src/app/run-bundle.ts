/**
 * The offline bundle a run delivers (src/bundle/delivery-step.ts): verified before anything
 * starts, and remembered per session so a retry or resume does not hash a multi-gigabyte
 * bundle again while its files are unchanged.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { requireVerifiedBundle } from '../bundle/require.js';
import { parsePartsManifest } from '../bundle/split.js';
import { locateBundle, type VerifyReport } from '../bundle/verify.js';
import { UstartError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import { readRegularFile } from '../util/user-file.js';

/**
 * The verified bundle for a run of `plan`, or undefined when none is needed and none given.
 * An air-gapped site needs one (requireVerifiedBundle's errors). Elsewhere a bundle is
 * optional, but one given is verified and delivered like on an air-gapped site; half of one
 * (a bundle without its key, or a key alone) is refused rather than silently dropped.
 */
export async function verifyRunBundle(
  plan: Plan,
  bundlePath: string | undefined,
  publicKeyFile: string | undefined,
): Promise<VerifyReport | undefined> {
  if (plan.site.airGapped || (!bundlePath && !publicKeyFile))
    return requireVerifiedBundle(plan, bundlePath, publicKeyFile);
  if (!bundlePath || !publicKeyFile) {
    throw new UstartError(
      'InvalidArgument',
      `give both the offline bundle and its public key, or neither (got only ${bundlePath ? `the bundle ${bundlePath}` : `the key ${publicKeyFile}`}).`,
    );
  }
  // The same checks as on an air-gapped site: signature, every entry, the OS release.
  return requireVerifiedBundle(
    { ...plan, site: { ...plan.site, airGapped: true } },
    bundlePath,
    publicKeyFile,
  );
}

/**
 * verifyRunBundle with its successes remembered by what the files look like: path, size and
 * modification time of every file of the bundle and of the key. A changed, added or removed
 * file, or another OS release in the plan, verifies again.
 */
export class VerifiedBundleCache {
  private readonly verified = new Map<string, { fingerprint: string; report: VerifyReport }>();

  async verify(
    plan: Plan,
    bundlePath: string | undefined,
    publicKeyFile: string | undefined,
  ): Promise<VerifyReport | undefined> {
    if (!bundlePath || !publicKeyFile) return verifyRunBundle(plan, bundlePath, publicKeyFile);
    const key = JSON.stringify([bundlePath, publicKeyFile, plan.site.osRelease ?? null]);
    const known = this.verified.get(key);
    if (known && (await fingerprint(bundlePath, publicKeyFile)) === known.fingerprint) {
      return known.report;
    }
    this.verified.delete(key);
    // Taken before verifying: a file changed meanwhile makes the next run verify again.
    const before = await fingerprint(bundlePath, publicKeyFile);
    const report = await verifyRunBundle(plan, bundlePath, publicKeyFile);
    if (report) this.verified.set(key, { fingerprint: before, report });
    return report;
  }
}

/** Path, size and mtime of the bundle's files (every file of a folder) and of the key. */
async function fingerprint(bundlePath: string, publicKeyFile: string): Promise<string> {
  const located = await locateBundle(bundlePath);
  let files: string[];
  switch (located.container) {
    case 'folder':
      files = (await readdir(located.path, { recursive: true })).map((f) => join(located.path, f));
      break;
    case 'tar':
      files = [located.path];
      break;
    case 'parts': {
      const parts = parsePartsManifest(
        await readRegularFile(located.path, { what: 'parts manifest', encoding: 'utf8' }),
        located.path,
      );
      files = [located.path, ...parts.parts.map((p) => join(dirname(located.path), p.name))];
      break;
    }
  }
  const seen = await Promise.all(
    [...files, publicKeyFile].sort().map(async (f) => {
      const s = await stat(f).catch(() => undefined);
      return s ? [f, s.size, s.mtimeMs, s.isDirectory()] : [f, 'missing'];
    }),
  );
  return JSON.stringify(seen);
}

/**
 * The gate `ustart run` passes through on an air-gapped site: nothing starts unless the
 * bundle given is verified (signature, then every entry) and built for the plan's OS.
 */
import { UstartError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import type { BundleEventListener } from './events.js';
import { DEFAULT_OS_RELEASE } from './packages.js';
import { loadPublicKey } from './signature.js';
import { verifyBundle, type VerifyReport } from './verify.js';

/**
 * For a plan with `site.airGapped: true`, verifies the bundle and returns its report;
 * throws `BundleRequired` when no bundle or key is given, `BundleSignature` or
 * `BundleCorrupt` (listing every problem) when it does not verify, and `BundleCorrupt` when
 * it was built for another OS release. For other plans it returns undefined without
 * reading anything (a bundle is optional there).
 */
export async function requireVerifiedBundle(
  plan: Plan,
  bundlePath: string | undefined,
  publicKeyFile: string | undefined,
  onEvent?: BundleEventListener,
): Promise<VerifyReport | undefined> {
  if (!plan.site.airGapped) return undefined;
  if (!bundlePath || !publicKeyFile) {
    throw new UstartError(
      'BundleRequired',
      `site ${plan.site.name} is air-gapped (site.airGapped: true): give a verified offline bundle with --bundle PATH --bundle-key PUB ` +
        '(build one on a connected machine with "ustart bundle create").',
    );
  }
  const key = await loadPublicKey(publicKeyFile);
  const report = await verifyBundle(bundlePath, key, onEvent ? { onEvent } : {});
  if (!report.ok) {
    const signatureOnly = report.problems.every(
      (p) => p.kind === 'bad-signature' || p.kind === 'unsigned',
    );
    throw new UstartError(
      signatureOnly ? 'BundleSignature' : 'BundleCorrupt',
      `the offline bundle ${bundlePath} did not verify, so nothing was started:\n` +
        report.problems.map((p) => `  - ${p.message}`).join('\n') +
        '\nCopy the bundle again from its source, or build a new one.',
      { detail: { bundle: bundlePath, problems: report.problems } },
    );
  }
  const release = plan.site.osRelease ?? DEFAULT_OS_RELEASE;
  if (!report.manifest?.targetOs.includes(release)) {
    throw new UstartError(
      'BundleCorrupt',
      `the offline bundle ${bundlePath} was built for ${report.manifest?.targetOs.join(', ') || 'no OS release'}, ` +
        `but site.osRelease is ${release}; build a bundle for ${release}.`,
      { detail: { bundle: bundlePath } },
    );
  }
  return report;
}

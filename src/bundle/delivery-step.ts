/**
 * The offline bundle's delivery as a step of the run, `umetal.bundle`, just before
 * `umetal.package-source`: a verified bundle is pushed from this machine to every target host
 * in parallel (pushBundle: a folder bundle as one tar stream through one SSH channel, a tar
 * or split bundle over SFTP; resumable, every entry's sha256 checked on the host), so it shows, logs, fails, retries and resumes like any step. Its `check` makes a
 * host that already has this bundle skip it without reading a byte of the bundle.
 *
 * The step is not in the runbook's YAML: it exists only when a run is given a verified
 * bundle, and its work is done here rather than by a script on the host.
 */
import { createHash } from 'node:crypto';
import type { BundleEvent, BundleEventListener } from './events.js';
import { pushBundle, REMOTE_BUNDLE_DIR } from './push.js';
import type { VerifyReport } from './verify.js';
import type { LocalStepContext, StepSpec } from '../engine/types.js';
import { UstartError, unreachable } from '../errors.js';
import { shQuote } from '../util/sh-quote.js';

export const BUNDLE_STEP_ID = 'umetal.bundle';
/** The step that needs the bundle on the host first. */
export const PACKAGE_SOURCE_STEP_ID = 'umetal.package-source';
/**
 * Written into the host's bundle folder once every entry checked there against the signed
 * manifest; holds the sha256 of that folder's bundle.json. package-source.sh trusts a bundle
 * only with it, and the step's check compares it with the bundle being delivered.
 */
export const BUNDLE_VERIFIED_MARKER = '.ustart-verified';

/**
 * The steps with the bundle's delivery before `umetal.package-source` (which then waits for
 * it). Unchanged without a report, or when the graph has no package-source step (no uMetal).
 */
export function withBundleDelivery(
  steps: readonly StepSpec[],
  report: VerifyReport | undefined,
): StepSpec[] {
  const at = steps.findIndex((s) => s.id === PACKAGE_SOURCE_STEP_ID);
  if (!report || at < 0 || steps.some((s) => s.id === BUNDLE_STEP_ID)) return [...steps];
  const source = steps[at]!;
  const delivery = bundleDeliveryStep(report, source);
  return [
    ...steps.slice(0, at),
    delivery,
    { ...source, after: [...(source.after ?? []), BUNDLE_STEP_ID] },
    ...steps.slice(at + 1),
  ];
}

/** The delivery step for `report`, on the hosts and after the steps of `before`. */
export function bundleDeliveryStep(
  report: VerifyReport,
  before: Pick<StepSpec, 'phase' | 'targets' | 'after'>,
): StepSpec {
  if (!report.ok || !report.manifest || !report.manifestBytes) {
    throw new UstartError(
      'BundleCorrupt',
      `the bundle ${report.bundle} did not verify; it is never delivered to a host.`,
    );
  }
  const manifestSha = createHash('sha256').update(report.manifestBytes).digest('hex');
  const dir = REMOTE_BUNDLE_DIR;
  const marker = `${dir}/${BUNDLE_VERIFIED_MARKER}`;
  const entries = report.manifest.entries;
  const bytes = entries.reduce((n, e) => n + e.size, 0);
  return {
    id: BUNDLE_STEP_ID,
    title: 'Deliver the offline bundle',
    phase: before.phase,
    description:
      `Pushes the verified offline bundle (${report.manifest.digest}, ${entries.length} files, ${size(bytes)}) ` +
      `from this machine to ${dir} on every host over SSH, resuming a file after a dropped link, ` +
      `and checks every file's sha256 on the host. A host that already holds this bundle, checked, skips it.`,
    targets: before.targets,
    ...(before.after?.length ? { after: before.after } : {}),
    // Large bundles on slow links: warn, never kill what may be nearly done.
    timeout: { ms: 60 * 60_000, mode: 'soft' },
    retries: 2,
    check:
      `[ "$(cat ${shQuote(marker)} 2>/dev/null)" = ${manifestSha} ] && ` +
      `printf '%s  %s\\n' ${manifestSha} ${shQuote(`${dir}/bundle.json`)} | sha256sum --status -c -`,
    run: [
      '# Done by uStart from this machine; nothing of this step runs as a script on the host:',
      `#   push ${report.bundle} (${report.container}) to ${dir} over SSH`,
      `#   cd ${dir} && sha256sum --strict -c   (every entry of the signed manifest)`,
      `#   echo ${manifestSha} > ${marker}`,
    ].join('\n'),
    local: (context) => deliver(context, report, manifestSha),
    sudo: true,
    idempotent: true,
  };
}

async function deliver(
  context: LocalStepContext,
  report: VerifyReport,
  manifestSha: string,
): Promise<void> {
  const dir = REMOTE_BUNDLE_DIR;
  const marker = `${dir}/${BUNDLE_VERIFIED_MARKER}`;
  // A half-replaced bundle must never look verified to package-source.sh.
  await onHost(context, `rm -f ${shQuote(marker)}`, 'clear the bundle marker');
  context.log(`# uStart: pushing ${report.bundle} to ${context.host}:${dir}`);
  await pushBundle(context.transport, context.target, report, {
    sudo: true,
    signal: context.signal,
    onEvent: progressLog(context.log),
  });
  await onHost(
    context,
    `cd ${shQuote(dir)} && printf '%s  bundle.json\\n' ${manifestSha} | sha256sum --strict -c - && ` +
      `printf '%s\\n' ${manifestSha} > ${shQuote(`${marker}.tmp`)} && mv ${shQuote(`${marker}.tmp`)} ${shQuote(marker)}`,
    'mark the bundle as checked',
  );
  context.log(`# uStart: the bundle is on ${context.host}, every file checked there`);
}

async function onHost(context: LocalStepContext, command: string, what: string): Promise<void> {
  const chunks: Buffer[] = [];
  const collect = (c: Uint8Array) => chunks.push(Buffer.from(c));
  const outcome = await context.connection.exec(command, {
    sudo: true,
    signal: context.signal,
    onStdout: collect,
    onStderr: collect,
  });
  if (outcome.kind !== 'exited' || outcome.code !== 0) {
    throw new UstartError(
      'StepFailed',
      `could not ${what} on ${context.host} (${outcome.kind === 'exited' ? `exit ${outcome.code}` : outcome.kind}): ${Buffer.concat(chunks).toString('utf8').trim()}`,
      { detail: { host: context.host } },
    );
  }
}

/** The push's progress as log lines: each phase, every tenth of its bytes, each reconnect. */
function progressLog(log: (line: string) => void): BundleEventListener {
  let shown = -1;
  return (e: BundleEvent) => {
    switch (e.type) {
      case 'phase-started':
        shown = -1;
        log(
          `# uStart: ${e.phase}: ${e.totalItems ?? 'all'} file(s)${e.totalBytes !== undefined ? `, ${size(e.totalBytes)}` : ''}`,
        );
        return;
      case 'progressed': {
        if (!e.totalBytes) return;
        const tenth = Math.floor((e.doneBytes * 10) / e.totalBytes);
        if (tenth <= shown) return;
        shown = tenth;
        log(
          `# uStart: ${e.phase}: ${tenth * 10} % (${size(e.doneBytes)} of ${size(e.totalBytes)})`,
        );
        return;
      }
      case 'retried':
        log(
          `# uStart: ${e.phase}: ${e.item}: ${e.message}; reconnected, resuming (attempt ${e.attempt})`,
        );
        return;
      case 'problem-found':
        log(`# uStart: ${e.problem.message}`);
        return;
      case 'phase-finished':
        log(`# uStart: ${e.phase}: done`);
        return;
      case 'item-finished':
        return;
      default:
        throw unreachable(e);
    }
  };
}

function size(bytes: number): string {
  return bytes >= 1024 ** 3
    ? `${(bytes / 1024 ** 3).toFixed(1)} GiB`
    : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

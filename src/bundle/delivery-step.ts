/**
 * The offline bundle's delivery as a step of the run, `umetal.bundle`, just before
 * `umetal.package-source`, so it shows, logs, fails, retries and resumes like any step. Its
 * `check` makes a host that already has this bundle skip it without reading a byte of the
 * bundle.
 *
 * This machine's link carries a folder bundle once (docs/ssh.md, "Performance"): the engine
 * runs the step's `local` once per host, in parallel, and the step's FanOut (one per run)
 * makes the first host to start the source: it receives the bundle from here (pushBundle, one
 * tar stream, every file checked there). Every other host waits for it, then fetches from it
 * over the site network (serveBundleFolder: a web server on the source for as long as a host
 * of the step is still delivering; fetchBundle: curl, every file checked against the signed
 * manifest's digests). When the source failed, cannot serve (no python3), cannot be
 * reached (no curl, a firewall: curl's connect fails) or sends a file that does not match
 * the manifest, a host is pushed to from here instead, and its log says so. A tar or split bundle is pushed from here to every host.
 *
 * With DeliveryOptions.relay (off by default) the hosts that start within a window get the
 * bundle as a chain relay instead (push-relay.ts): each passes the stream on to the next.
 *
 * The step is not in the runbook's YAML: it exists only when a run is given a verified
 * bundle, and its work is done here rather than by a script on the host.
 */
import { createHash } from 'node:crypto';
import type { BundleEvent, BundleEventListener } from './events.js';
import {
  fetchBundle,
  pushBundle,
  REMOTE_BUNDLE_DIR,
  serveBundleFolder,
  type BundleServer,
  type PushOptions,
} from './push.js';
import { isFetchFailure } from './push-stream.js';
import { FROM_HERE, relayToEach, type RelayedBundle } from './push-relay.js';
import type { VerifyReport } from './verify.js';
import type { LocalStepContext, StepSpec } from '../engine/types.js';
import { isUstartError, messageOf, UstartError, unreachable } from '../errors.js';
import type { HostTarget, Transport } from '../ssh/transport.js';
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
  options: DeliveryOptions = {},
): StepSpec[] {
  const at = steps.findIndex((s) => s.id === PACKAGE_SOURCE_STEP_ID);
  if (!report || at < 0 || steps.some((s) => s.id === BUNDLE_STEP_ID)) return [...steps];
  const source = steps[at]!;
  const delivery = bundleDeliveryStep(report, source, options);
  return [
    ...steps.slice(0, at),
    delivery,
    { ...source, after: [...(source.after ?? []), BUNDLE_STEP_ID] },
    ...steps.slice(at + 1),
  ];
}

/** The delivery step for `report`, on the hosts and after the steps of `before`. */
/** How the step spreads the bundle. */
export interface DeliveryOptions {
  /**
   * The chain relay (push-relay.ts) instead of the star: the hosts that start the step
   * within `gatherMs` of the first one get the stream at once, each passing it on to the
   * next; a host that starts later, or is retried, takes the star's way from the first.
   * Off by default: see docs/bundle-format.md, "Delivery as a step of the run".
   */
  relay?: { gatherMs: number };
}

export function bundleDeliveryStep(
  report: VerifyReport,
  before: Pick<StepSpec, 'phase' | 'targets' | 'after'>,
  options: DeliveryOptions = {},
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
  // One per step, so one per run: a resume builds the step again, and with it a new one.
  const fanOut = new FanOut(report, manifestSha, options);
  return {
    id: BUNDLE_STEP_ID,
    title: 'Deliver the offline bundle',
    phase: before.phase,
    description:
      `Delivers the verified offline bundle (${report.manifest.digest}, ${entries.length} files, ${size(bytes)}) ` +
      `to ${dir} on every host: the first host to start receives it from this machine over SSH, the others ` +
      `fetch it from that host over the site network (or, when they cannot, from this machine). ` +
      `Every file's sha256 is checked on every host. A host that already holds this bundle, checked, skips it.`,
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
      `#   push ${report.bundle} (${report.container}) to ${dir} over SSH (the first host),`,
      `#   or fetch it from the first host: curl http://FIRST:PORT/... (python3 http.server there)`,
      `#   cd ${dir} && sha256sum --strict -c   (every entry of the signed manifest)`,
      `#   echo ${manifestSha} > ${marker}`,
    ].join('\n'),
    local: (context) => fanOut.deliver(context),
    sudo: true,
    idempotent: true,
  };
}

/**
 * The step's per-run coordination of the bundle's delivery (see the file comment). `deliver`
 * is the step's `local` for one host; the engine calls it for every host at once, and again
 * for a host it retries or resumes.
 */
class FanOut {
  /** The host that receives the bundle from here; settles true once it holds it, checked. */
  private source: { host: string; target: HostTarget; holds: Promise<boolean> } | undefined;
  /** The web server on the source, while a host of the step is delivering. */
  private server: Promise<BundleServer | undefined> | undefined;
  /** Hosts inside `deliver` now: the server stops when the last one leaves. */
  private active = 0;

  /** The chain relay's hosts (DeliveryOptions.relay), while they gather and after. */
  private batch: RelayBatch | undefined;

  constructor(
    private readonly report: VerifyReport,
    private readonly manifestSha: string,
    private readonly options: DeliveryOptions = {},
  ) {}

  async deliver(context: LocalStepContext): Promise<void> {
    this.active++;
    try {
      const dir = REMOTE_BUNDLE_DIR;
      // A half-replaced bundle must never look verified to package-source.sh.
      await onHost(
        context,
        `rm -f ${shQuote(`${dir}/${BUNDLE_VERIFIED_MARKER}`)}`,
        'clear the bundle marker',
      );
      const from = await this.receive(context);
      await onHost(
        context,
        `cd ${shQuote(dir)} && printf '%s  bundle.json\\n' ${this.manifestSha} | sha256sum --strict -c - && ` +
          `printf '%s\\n' ${this.manifestSha} > ${shQuote(`${dir}/${BUNDLE_VERIFIED_MARKER}.tmp`)} && ` +
          `mv ${shQuote(`${dir}/${BUNDLE_VERIFIED_MARKER}.tmp`)} ${shQuote(`${dir}/${BUNDLE_VERIFIED_MARKER}`)}`,
        'mark the bundle as checked',
      );
      context.log(
        `# uStart: the bundle is on ${context.host}, every file checked there (from ${from})`,
      );
    } finally {
      if (--this.active === 0) await this.stopServer();
    }
  }

  /** Puts the bundle on the host (not marked yet); says where it came from. */
  private async receive(context: LocalStepContext): Promise<string> {
    const relay = this.options.relay;
    if (relay && this.report.container === 'folder' && (!this.source || this.batch?.gathering)) {
      return this.relayed(context, relay.gatherMs);
    }
    const source = this.source;
    // The first host, or the source again (the engine retries it): from here.
    if (this.report.container !== 'folder' || !source || source.host === context.host) {
      return this.pushFromHere(context, undefined);
    }
    const holds = await untilAborted(source.holds, context.signal, context.host);
    if (!holds) {
      return this.pushFromHere(
        context,
        `the first host, ${source.host}, did not receive the bundle; pushing to ${context.host} from this machine instead`,
      );
    }
    const server = await this.serve(context.transport, source.target);
    if (!server) {
      return this.pushFromHere(
        context,
        `${source.host} cannot serve the bundle (no python3 there, or no free port); pushing to ${context.host} from this machine instead`,
      );
    }
    context.log(
      `# uStart: fetching the bundle from ${server.host} (${server.url}) over the site network; only the file list and the digests go from this machine`,
    );
    try {
      await fetchBundle(
        context.transport,
        context.target,
        this.report,
        server,
        this.pushOptions(context),
      );
      return `${server.host}, over the site network`;
    } catch (e) {
      // The source cannot be reached (curl failed), or a file from it does not match the
      // manifest (refused on this host, nothing put in place): from here instead.
      const fromHere = isFetchFailure(e) || isUstartError(e, 'BundleCorrupt');
      if (!fromHere || context.signal.aborted) throw e;
      return this.pushFromHere(
        context,
        `${messageOf(e)}\npushing to ${context.host} from this machine instead`,
      );
    }
  }

  /**
   * A push from this machine. Without `why` the host becomes the source (the first host);
   * with it, it is a fallback, logged.
   */
  private async pushFromHere(context: LocalStepContext, why: string | undefined): Promise<string> {
    let settle: (holds: boolean) => void = () => undefined;
    if (why === undefined && this.report.container === 'folder') {
      const holds = new Promise<boolean>((resolve) => (settle = resolve));
      this.source = { host: context.host, target: context.target, holds };
    }
    for (const line of (why ?? '').split('\n').filter(Boolean)) context.log(`# uStart: ${line}`);
    context.log(
      `# uStart: pushing ${this.report.bundle} to ${context.host}:${REMOTE_BUNDLE_DIR} from this machine`,
    );
    try {
      await pushBundle(context.transport, context.target, this.report, this.pushOptions(context));
      settle(true);
    } catch (e) {
      settle(false);
      throw e;
    }
    return 'this machine';
  }

  /**
   * The chain relay: the first host opens a batch, the hosts that start within `gatherMs`
   * join it, then relayToEach delivers to all of them; each host's log gets its own relay
   * lines. The batch's first host is then the source for any later host (the star's way).
   * The batch is cancelled only when every host of it is.
   */
  private async relayed(context: LocalStepContext, gatherMs: number): Promise<string> {
    let batch = this.batch;
    if (!batch) {
      const members: LocalStepContext[] = [];
      const abort = new AbortController();
      let settle: (holds: boolean) => void = () => undefined;
      const holds = new Promise<boolean>((r) => (settle = r));
      const progress = new Map<string, (e: BundleEvent) => void>();
      const results = new Promise<void>((r) => setTimeout(r, gatherMs)).then(async () => {
        batch!.gathering = false;
        const byHost = new Map(members.map((m) => [m.host, m]));
        const settled = await relayToEach(
          context.transport,
          members.map((m) => m.target),
          this.report,
          {
            sudo: true,
            signal: abort.signal,
            onEvent: (host, e) => {
              const m = byHost.get(host);
              if (m) (progress.get(host) ?? progress.set(host, progressLog(m.log)).get(host)!)(e);
            },
            onLog: (host, line) => byHost.get(host)?.log(line),
          },
        );
        settle(settled[0]?.status === 'fulfilled');
        return new Map(members.map((m, k) => [m.host, settled[k]!]));
      });
      results.catch(() => settle(false));
      batch = this.batch = { members, abort, results, gathering: true };
      this.source = { host: context.host, target: context.target, holds };
    }
    const { members, abort, results } = batch;
    members.push(context);
    const cancelled = () => {
      if (members.every((m) => m.signal.aborted)) abort.abort();
    };
    context.signal.addEventListener('abort', cancelled, { once: true });
    context.log(
      `# uStart: ${context.host} joins the chain relay (hosts that start within ${gatherMs} ms of the first get the stream at once, each passing it on to the next)`,
    );
    const mine = await untilAborted(results, context.signal, context.host);
    const outcome = mine.get(context.host)!;
    if (outcome.status === 'rejected') throw outcome.reason;
    return outcome.value.from === FROM_HERE
      ? 'this machine'
      : `${outcome.value.from}, relayed over the site network`;
  }

  private pushOptions(context: LocalStepContext): PushOptions {
    return { sudo: true, signal: context.signal, onEvent: progressLog(context.log) };
  }

  /** The source's web server, started once for the hosts delivering now. */
  private serve(transport: Transport, source: HostTarget): Promise<BundleServer | undefined> {
    // Its lifetime is the step's hosts', not one host's: no host's signal stops it. A source
    // that cannot be reached over SSH any more cannot serve either.
    this.server ??= serveBundleFolder(transport, source, REMOTE_BUNDLE_DIR, undefined).catch(
      () => undefined,
    );
    return this.server;
  }

  private async stopServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    // A server whose connection is gone has ended with it (its stdin closed): not this host's failure.
    await (await server)?.stop().catch(() => undefined);
  }
}

/** The hosts of the chain relay's one batch (FanOut.relayed). */
interface RelayBatch {
  /** True until the stream starts: a host that starts the step now joins. */
  gathering: boolean;
  members: LocalStepContext[];
  abort: AbortController;
  results: Promise<Map<string, PromiseSettledResult<RelayedBundle>>>;
}

/** `holds`, or a Cancelled error when the host's step is cancelled first. */
async function untilAborted<T>(holds: Promise<T>, signal: AbortSignal, host: string): Promise<T> {
  if (signal.aborted) throw new UstartError('Cancelled', `delivery to ${host} cancelled`);
  let off: () => void = () => undefined;
  const cancelled = new Promise<never>((_, reject) => {
    const abort = () => reject(new UstartError('Cancelled', `delivery to ${host} cancelled`));
    signal.addEventListener('abort', abort, { once: true });
    off = () => signal.removeEventListener('abort', abort);
  });
  try {
    return await Promise.race([holds, cancelled]);
  } finally {
    off();
  }
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

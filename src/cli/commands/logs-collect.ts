/**
 * `ustart logs collect RUN_ID --out FILE`: the log bundle of a run for the support team —
 * the run folder and the hosts' own logs, secrets redacted, in one zip (docs/log-bundle.md).
 */
import type { Command } from 'commander';
import { terminalTransport } from '../../app/run-launch.js';
import { UstartError } from '../../errors.js';
import {
  collectLogBundle,
  parseSince,
  type LogBundleProgress,
  type LogBundleResult,
} from '../../logbundle/index.js';
import { EXIT } from '../exit.js';
import { collect } from '../options.js';
import { type Output, paint } from '../output.js';

interface CollectOptions {
  out: string;
  plan?: string;
  runsDir?: string;
  hosts: boolean;
  since?: string;
  force?: boolean;
  unit?: string[];
  hostTimeout?: string;
  identity?: string[];
  knownHosts?: string[];
}

/** Adds `collect` under the `logs` command. */
export function registerLogsCollect(
  logs: Command,
  out: Output,
  setCode: (c: number) => void,
): void {
  logs
    .command('collect')
    .description(
      'Write one zip for the support team: the plan, journal, every log, facts and findings of a run, plus journald and kernel logs from its hosts; secrets redacted.',
    )
    .argument('<runId>', 'the run (see "ustart runs PLAN")')
    .requiredOption('--out <file>', 'the zip to write')
    .option('--plan <plan>', 'the site plan the run belongs to (default: runs in ./.ustart/runs)')
    .option('--runs-dir <dir>', 'where runs are kept')
    .option('--no-hosts', 'only the run folder: do not connect to the hosts')
    .option(
      '--since <when>',
      'host logs from this long ago (90m, 6h, 2d) or this time (2026-11-27T14:00Z); default: an hour before the run started',
    )
    .option('--force', 'replace --out if it exists')
    .option('--unit <name>', 'also collect this systemd unit (repeatable)', collect)
    .option('--host-timeout <seconds>', 'give up on a host after this long (default 120)')
    .option('-i, --identity <file>', 'a private key file to log in with (repeatable)', collect)
    .option(
      '--known-hosts <file>',
      'an extra known_hosts file to trust, read only (repeatable)',
      collect,
    )
    .action(async (runId: string, _local: CollectOptions, command: Command) => {
      // `logs` has --plan and --runs-dir too, and commander gives an option after the
      // subcommand to the parent that knows it: read both levels.
      setCode(await collectCommand(runId, command.optsWithGlobals<CollectOptions>(), out));
    });
}

async function collectCommand(runId: string, opts: CollectOptions, out: Output): Promise<number> {
  const timeoutMs = opts.hostTimeout === undefined ? undefined : Number(opts.hostTimeout) * 1000;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) {
    throw new UstartError(
      'InvalidArgument',
      `--host-timeout ${opts.hostTimeout}: give a number of seconds, such as 60.`,
    );
  }
  // Keys from the agent or files, and known host keys only: a bundle is often made when
  // something is wrong, and is no moment to accept a new host key or type passphrases
  // for every host at once.
  const transport = opts.hosts
    ? await terminalTransport({
        warn: (m) => out.stderr(`${m}\n`),
        ...(opts.identity ? { identityFiles: opts.identity } : {}),
        ...(opts.knownHosts ? { knownHosts: opts.knownHosts } : {}),
      })
    : undefined;
  const controller = new AbortController();
  const onSigint = () => {
    out.stderr('\nustart: cancelling the log bundle…\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await collectLogBundle(runId, opts.out, {
      ...(opts.runsDir ? { runsDir: opts.runsDir } : {}),
      ...(opts.plan ? { planFile: opts.plan } : {}),
      ...(transport ? { transport } : {}),
      ...(opts.since ? { since: parseSince(opts.since) } : {}),
      force: opts.force ?? false,
      signal: controller.signal,
      hostOptions: {
        ...(opts.unit ? { units: opts.unit } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
      },
      onProgress: (e) => printProgress(out, e),
    });
    printSummary(out, result);
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
    await transport?.dispose();
  }
}

function printProgress(out: Output, e: LogBundleProgress): void {
  switch (e.type) {
    case 'run-file-added':
      out.stderr(paint(out, 'dim', `  + ${e.path.split('/').slice(1).join('/')}\n`));
      return;
    case 'host-started':
      out.stderr(paint(out, 'dim', `  … ${e.host}: collecting\n`));
      return;
    case 'host-item':
      if (e.item.status === 'failed') {
        out.stderr(paint(out, 'yellow', `  ! ${e.host} ${e.item.path}: ${e.item.message}\n`));
      }
      return;
    case 'host-finished': {
      const r = e.result;
      const got = r.items.filter((i) => i.status === 'collected').length;
      const line =
        r.status === 'failed'
          ? paint(out, 'red', `  ✗ ${r.host}: ${r.error?.message ?? 'nothing collected'}\n`)
          : paint(
              out,
              r.status === 'partial' ? 'yellow' : 'green',
              `  ✓ ${r.host}: ${got} file${got === 1 ? '' : 's'}${r.status === 'partial' ? ', some failed' : ''}\n`,
            );
      out.stderr(line);
      return;
    }
    case 'bundle-written':
      return;
  }
}

function printSummary(out: Output, { out: file, bytes, manifest: m }: LogBundleResult): void {
  const runFiles = m.files.filter((f) => f.path.includes('/run/')).length;
  const hostFiles = m.files.length - runFiles;
  const reached = m.hosts.filter((h) => h.status !== 'failed').length;
  const lines = [
    paint(out, 'bold', `Wrote ${file} (${formatBytes(bytes)})`),
    `  run ${m.runId}: ${runFiles} file${runFiles === 1 ? '' : 's'} from the run folder`,
    m.since === null
      ? '  hosts: not asked for'
      : `  hosts: ${reached} of ${m.hosts.length} reached, ${hostFiles} file${hostFiles === 1 ? '' : 's'} (logs since ${m.since})`,
  ];
  const replaced = Object.entries(m.redaction.replaced);
  const total = replaced.reduce((n, [, c]) => n + c, 0);
  lines.push(
    `  redacted: ${total} value${total === 1 ? '' : 's'}${replaced.length ? ` (${replaced.map(([k, c]) => `${k} ${c}`).join(', ')})` : ''}`,
  );
  if (m.notCollected.length > 0) {
    lines.push(paint(out, 'yellow', `  not collected (${m.notCollected.length}):`));
    for (const n of m.notCollected) {
      lines.push(paint(out, 'yellow', `    ${n.host ? `${n.host}: ` : ''}${n.what}: ${n.reason}`));
    }
  }
  out.stdout(`${lines.join('\n')}\n`);
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

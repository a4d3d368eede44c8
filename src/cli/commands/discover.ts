/**
 * `ustart discover PLAN`: read every server's hardware from its BMC (Redfish) and show the
 * plan changes it takes, per server; `--accept HOST,…` or `--accept-all` writes them (comments
 * kept, previous file as FILE.bak). The plan with the changes is validated and the findings
 * printed. Exit 1 when a BMC could not be read or the result has errors; nothing is written
 * when the accepted changes add errors.
 */
import type { Command } from 'commander';
import { applyDiscoveries, discoverPlan, type ServerDiscovery } from '../../bmc/discover.js';
import { UstartError } from '../../errors.js';
import { countBySeverity, savePlanFile, validatePlan, type Finding } from '../../plan/index.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';
import { wholeNumber } from '../options.js';
import { loadPlanForCommand } from './plan-file.js';
import { bmcAccess, type BmcOpts, withBmcOptions } from './bmc-options.js';
import { formatFindings } from './validate.js';

interface Options extends BmcOpts {
  json?: boolean;
  accept?: string;
  acceptAll?: boolean;
  concurrency?: string;
}

export function registerDiscover(
  program: Command,
  out: Output,
  setCode: (c: number) => void,
): void {
  const command = program
    .command('discover')
    .description(
      "Read each server's CPU, memory, NICs (MACs) and disks from its BMC over Redfish and show the plan changes per server. --accept HOST,... or --accept-all writes them (comments kept, previous file as FILE.bak). BMC logins come from USTART_BMC_USERNAME/USTART_BMC_PASSWORD, --bmc-auth-file, or a prompt; never from the command line.",
    )
    .argument('<plan>', 'the site plan (YAML)')
    .option('--json', 'print the discoveries, the changes and the findings as JSON')
    .option('--accept <hosts>', "write these servers' changes (comma-separated host names)")
    .option('--accept-all', "write every server's changes")
    .option('--concurrency <n>', 'BMCs read at once', '8');
  withBmcOptions(command).action(async (file: string, opts: Options) => {
    const parsed = await loadPlanForCommand(file, out, setCode);
    if (!parsed) return;
    const plan = parsed.plan;
    const concurrency = wholeNumber('--concurrency', opts.concurrency ?? '8', 1);
    const accept = opts.acceptAll
      ? ('all' as const)
      : opts.accept
        ? new Set(
            opts.accept
              .split(',')
              .map((h) => h.trim())
              .filter(Boolean),
          )
        : undefined;
    if (accept instanceof Set) {
      const unknown = [...accept].filter((h) => !plan.servers.some((s) => s.hostname === h));
      if (unknown.length)
        throw new UstartError(
          'InvalidArgument',
          `--accept ${unknown.join(', ')}: no such server in ${file}.`,
        );
    }

    const { port, certificates, credentials } = await bmcAccess(opts, out);
    const discoveries = await discoverPlan(plan, {
      credentials,
      certificates,
      port,
      concurrency,
      ...(opts.json
        ? {}
        : {
            onServer: (d: ServerDiscovery) =>
              out.stderr(paint(out, 'dim', `  ${d.hostname}: ${d.status}\n`)),
          }),
    });

    const read = discoveries.filter((d) => d.status === 'read');
    if (accept instanceof Set) {
      const notRead = [...accept].filter((h) => !read.some((d) => d.hostname === h));
      if (notRead.length)
        out.stderr(
          paint(
            out,
            'yellow',
            `not written for ${notRead.join(', ')}: their BMC could not be read.\n`,
          ),
        );
    }
    // The result validated: with the accepted changes, or, for a preview, with all of them.
    const result = applyDiscoveries(plan, discoveries, accept ?? 'all');
    const findings = validatePlan(result);
    const before = validatePlan(plan);
    const known = new Set(before.map((f) => `${f.rule} ${f.path}`));
    const added = findings.filter(
      (f) => f.severity === 'error' && !f.acknowledged && !known.has(`${f.rule} ${f.path}`),
    );
    const changed = read.some(
      (d) =>
        d.changes.some((c) => c.kind !== 'kept') &&
        (accept === 'all' || (accept instanceof Set && accept.has(d.hostname))),
    );
    const write = accept !== undefined && changed && added.length === 0;
    if (write) await savePlanFile(file, result, { base: parsed.document });

    const failed = discoveries.filter(
      (d) => d.status !== 'read' && d.status !== 'no-bmc' && d.status !== 'ipmi',
    );
    if (opts.json) {
      out.stdout(
        JSON.stringify(
          {
            file,
            written: write,
            servers: discoveries.map(({ proposed: _p, ...d }) => d),
            findings,
            newErrors: added,
          },
          null,
          2,
        ) + '\n',
      );
    } else {
      out.stdout(report(out, file, discoveries, findings, added, accept, write));
    }
    setCode(failed.length > 0 || countBySeverity(findings).error > 0 ? EXIT.invalid : EXIT.ok);
  });
}

function report(
  out: Output,
  file: string,
  discoveries: readonly ServerDiscovery[],
  findings: readonly Finding[],
  added: readonly Finding[],
  accept: ReadonlySet<string> | 'all' | undefined,
  written: boolean,
): string {
  const lines: string[] = [];
  for (const d of discoveries) {
    const where = d.address ? ` (BMC ${d.address})` : '';
    if (d.status !== 'read') {
      const color = d.status === 'no-bmc' || d.status === 'ipmi' ? 'dim' : 'red';
      lines.push(paint(out, color, `${d.hostname}${where}: ${label(d)}`), `  ${d.message ?? ''}`);
      if (d.fingerprint) lines.push(`  sha256 ${d.fingerprint}`);
      continue;
    }
    const take = accept === 'all' || (accept instanceof Set && accept.has(d.hostname));
    const changes = d.changes.filter((c) => c.kind !== 'kept');
    lines.push(
      paint(
        out,
        'bold',
        `${d.hostname}${where}: ${changes.length ? `${changes.length} change${changes.length === 1 ? '' : 's'}${take ? ' (accepted)' : ''}` : 'as planned'}`,
      ),
    );
    for (const c of d.changes) {
      const sign =
        c.kind === 'added'
          ? paint(out, 'green', '+')
          : c.kind === 'kept'
            ? paint(out, 'dim', '=')
            : paint(out, 'yellow', '~');
      lines.push(`  ${sign} ${c.field}: ${c.text.replace(/^\+ /, '')}`);
    }
  }
  const unanswered = discoveries.filter((d) => d.status === 'unanswered');
  if (unanswered.length) {
    lines.push(
      '',
      paint(
        out,
        'red',
        `BMCs that did not answer: ${unanswered.map((d) => `${d.hostname} (${d.address})`).join(', ')}`,
      ),
    );
  }
  lines.push('');
  if (written) lines.push(paint(out, 'green', `saved ${file} (previous version in ${file}.bak)`));
  else if (accept !== undefined && added.length > 0)
    lines.push(
      paint(
        out,
        'red',
        `nothing was written: the accepted changes add ${added.length} error${added.length === 1 ? '' : 's'} (below).`,
      ),
    );
  else if (accept !== undefined)
    lines.push('nothing to write: the accepted servers are as planned.');
  else
    lines.push(
      `dry run: accept changes with --accept HOST,... or --accept-all to write them into ${file}.`,
    );
  lines.push(
    '',
    `validation of the plan with ${accept === undefined ? 'every proposed change' : 'the accepted changes'}:`,
  );
  let text = lines.join('\n') + '\n';
  text += findings.length ? formatFindings(out, file, findings) : 'no findings\n';
  return text;
}

function label(d: ServerDiscovery): string {
  switch (d.status) {
    case 'no-bmc':
      return 'skipped, no BMC in the plan';
    case 'ipmi':
      return 'skipped, IPMI only';
    case 'no-credentials':
      return 'no BMC login';
    case 'unanswered':
      return 'the BMC did not answer';
    case 'certificate':
      return 'BMC certificate not trusted';
    case 'failed':
      return 'the BMC could not be read';
    case 'read':
      return 'read';
  }
}

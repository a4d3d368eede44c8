/** `ustart plan ipam FILE [--write] [--json]`: fill missing server addresses from the pools. */
import type { Command } from 'commander';
import { allocateAddresses } from '../../plan/ipam.js';
import { countBySeverity, savePlanFile } from '../../plan/index.js';
import { locate } from '../../plan/load.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';
import { loadPlanForCommand } from './plan-file.js';
import { formatFindings } from './validate.js';

export function registerPlanIpam(plan: Command, out: Output, setCode: (c: number) => void): void {
  plan
    .command('ipam')
    .description(
      'Fill missing server addresses from the network pools. Prints what it would allocate; --write saves it (comments kept, previous file as FILE.bak). Exit 1 when a pool runs out (nothing is written).',
    )
    .argument('<file>', 'the site plan (YAML)')
    .option('--write', 'save the allocated addresses into the plan')
    .option('--json', 'print allocations, findings and the per-network summary as JSON')
    .action(async (file: string, opts: { write?: boolean; json?: boolean }) => {
      const parsed = await loadPlanForCommand(file, out, setCode);
      if (!parsed) return;
      const result = allocateAddresses(parsed.plan);
      for (const f of result.findings) {
        Object.assign(f, locate(parsed.document, parsed.lineCounter, f.path));
      }
      const failed = countBySeverity(result.findings).error > 0;
      const write = Boolean(opts.write) && !failed && result.allocations.length > 0;
      if (write) await savePlanFile(file, result.plan, { base: parsed.document });

      if (opts.json) {
        out.stdout(
          JSON.stringify(
            {
              file,
              written: write,
              allocations: result.allocations,
              findings: result.findings,
              summary: result.summary,
            },
            null,
            2,
          ) + '\n',
        );
      } else {
        out.stdout(report(out, file, result, Boolean(opts.write), write));
      }
      setCode(failed ? EXIT.invalid : EXIT.ok);
    });
}

function report(
  out: Output,
  file: string,
  result: ReturnType<typeof allocateAddresses>,
  asked: boolean,
  written: boolean,
): string {
  const lines: string[] = [];
  const width = Math.max(8, ...result.allocations.map((a) => a.hostname.length));
  const netWidth = Math.max(7, ...result.summary.map((s) => s.network.length));
  for (const a of result.allocations) {
    lines.push(`  ${a.hostname.padEnd(width)}  ${a.network.padEnd(netWidth)}  ${a.address}`);
  }
  const n = result.allocations.length;
  const count = `${n} address${n === 1 ? '' : 'es'}`;
  if (n === 0) lines.push(`${file}: every server already has its addresses; nothing to allocate.`);
  else if (written)
    lines.push(
      paint(out, 'green', `allocated ${count}; saved ${file} (previous version in ${file}.bak)`),
    );
  else if (asked)
    lines.push(
      paint(
        out,
        'red',
        `${count} could be allocated, but nothing was written because of the errors below.`,
      ),
    );
  else lines.push(`would allocate ${count} (dry run; run with --write to save them into ${file})`);

  lines.push(
    '',
    `  ${'network'.padEnd(netWidth)}  ${'cidr'.padEnd(18)}  ${'pool'.padEnd(31)}  size  used  free`,
  );
  for (const s of result.summary) {
    const pool = s.pool ? `${s.pool.start}–${s.pool.end}` : '(none)';
    const used = s.poolSize - s.free;
    lines.push(
      `  ${s.network.padEnd(netWidth)}  ${s.cidr.padEnd(18)}  ${pool.padEnd(31)}  ${String(s.poolSize).padStart(4)}  ${String(used).padStart(4)}  ${String(s.free).padStart(4)}`,
    );
  }
  let text = lines.join('\n') + '\n';
  if (result.findings.length > 0) text += '\n' + formatFindings(out, file, result.findings);
  return text;
}

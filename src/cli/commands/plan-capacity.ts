/** `ustart plan capacity FILE [--json]`: vCPUs, RAM and Ceph capacity, and the worst rack loss. */
import { type Command, InvalidArgumentError } from 'commander';
import {
  type CapacityFigures,
  type CapacityOptions,
  computeCapacity,
} from '../../plan/capacity.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';
import { loadPlanForCommand } from './plan-file.js';

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number above 0.');
  return n;
}

function whole(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number.');
  return n;
}

interface CapacityFlags {
  json?: boolean;
  cpuOvercommit?: number;
  ramOvercommit?: number;
  replicas?: number;
  reservedThreads?: number;
  reservedRam?: number;
}

export function registerPlanCapacity(
  plan: Command,
  out: Output,
  setCode: (c: number) => void,
): void {
  plan
    .command('capacity')
    .description(
      'Print the capacity of a plan: vCPUs, instance RAM, raw and usable Ceph storage, and what is left when the worst rack fails, with the assumptions behind each figure.',
    )
    .argument('<file>', 'the site plan (YAML)')
    .option('--json', 'print the figures and assumptions as JSON')
    .option('--cpu-overcommit <ratio>', 'vCPUs per hardware thread (default 4)', positive)
    .option('--ram-overcommit <ratio>', 'instance RAM per GiB of host RAM (default 1.0)', positive)
    .option('--replicas <n>', 'Ceph replica count (default 3)', whole)
    .option('--reserved-threads <n>', 'hardware threads kept per compute host (default 4)', whole)
    .option('--reserved-ram <GiB>', 'RAM kept per compute host in GiB (default 16)', whole)
    .action(async (file: string, opts: CapacityFlags) => {
      const parsed = await loadPlanForCommand(file, out, setCode);
      if (!parsed) return;
      const options: CapacityOptions = {
        cpuOvercommit: opts.cpuOvercommit,
        ramOvercommit: opts.ramOvercommit,
        cephReplicas: opts.replicas,
        reservedThreadsPerHost: opts.reservedThreads,
        reservedRamGiBPerHost: opts.reservedRam,
      };
      const report = computeCapacity(parsed.plan, options);
      if (opts.json) {
        out.stdout(JSON.stringify({ file, ...report }, null, 2) + '\n');
      } else {
        out.stdout(table(out, file, parsed.plan.site.name, report));
      }
      setCode(EXIT.ok);
    });
}

function table(
  out: Output,
  file: string,
  site: string,
  report: ReturnType<typeof computeCapacity>,
): string {
  const worst = report.worstRackLoss;
  const a = report.assumptions;
  const rows: Array<[string, (f: CapacityFigures) => string]> = [
    ['compute servers', (f) => String(f.compute.hosts)],
    ['hardware threads', (f) => String(f.compute.threads)],
    [`vCPUs (${a.cpuOvercommit}:1)`, (f) => String(f.compute.vcpus)],
    ['RAM, GiB', (f) => String(f.compute.ramGiB)],
    [`instance RAM, GiB (${a.ramOvercommit}:1)`, (f) => String(f.compute.instanceRamGiB)],
    ['storage servers (OSD hosts)', (f) => String(f.ceph.hosts)],
    ['Ceph OSDs', (f) => String(f.ceph.osds)],
    ['Ceph raw, TB', (f) => f.ceph.rawTB.toFixed(2)],
    [`Ceph usable, TB (replica ${a.cephReplicas})`, (f) => f.ceph.usableTB.toFixed(2)],
    [`Ceph sellable, TB (× ${a.nearfullRatio})`, (f) => f.ceph.usableAtNearfullTB.toFixed(2)],
    ['controllers', (f) => String(f.controllers)],
  ];
  const label = Math.max(...rows.map(([l]) => l.length));
  const head = worst ? `without ${worst.rack}` : '';
  const lines = [
    paint(out, 'bold', `Capacity of ${site} (${file})`),
    '',
    `  ${''.padEnd(label)}  ${'whole site'.padStart(12)}  ${head.padStart(14)}`,
  ];
  for (const [l, get] of rows) {
    const lost = worst ? get(worst.remaining) : '';
    lines.push(`  ${l.padEnd(label)}  ${get(report.total).padStart(12)}  ${lost.padStart(14)}`);
  }
  lines.push('');
  if (worst) {
    const lost = worst.controllersLost.length;
    const quorum = !worst.controlPlaneQuorum
      ? paint(
          out,
          'red',
          `the control plane loses its quorum (${lost} of ${report.total.controllers} controllers are in it)`,
        )
      : !worst.cephMonQuorum
        ? paint(
            out,
            'red',
            `the Ceph monitors can lose their quorum (it can hold ${worst.cephMonsLost} of ${worst.cephMons})`,
          )
        : 'the control plane and the Ceph monitors keep their quorum';
    lines.push(`Worst single rack failure: ${worst.rack} (${worst.servers} servers); ${quorum}.`);
  } else {
    lines.push('All servers are in one rack: losing it loses the site.');
  }
  if (report.total.ceph.limitedByHostBalance) {
    lines.push(
      paint(
        out,
        'yellow',
        'Ceph usable space is limited by one host holding more than its share of the disks.',
      ),
    );
  }
  lines.push('', 'Assumptions:', ...report.statements.map((s) => `  - ${s}`));
  return lines.join('\n') + '\n';
}

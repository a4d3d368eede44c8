/**
 * docs/preflight-checks.md is generated from PREFLIGHT_CHECKS so the list people read is the
 * list that runs; a test fails when the file is stale. Regenerate it with
 * `node bin/run-ts.mjs src/runbook/preflight-doc.ts`.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEVERITIES } from '../plan/finding.js';
import { PREFLIGHT_CHECKS, type PreflightCheck } from './preflight-checks.js';
import {
  MAX_CLOCK_SKEW_MS,
  MIN_ROOT_FREE_BYTES,
  MIN_VAR_FREE_BYTES,
  REQUIRED_MODULES,
  REQUIRED_PORTS,
  ROLE_MINIMUMS,
} from './preflight.js';

export const PREFLIGHT_DOC = fileURLToPath(
  new URL('../../docs/preflight-checks.md', import.meta.url),
);

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function preflightMarkdown(checks: readonly PreflightCheck[] = PREFLIGHT_CHECKS): string {
  const count = (severity: string) => checks.filter((c) => c.severity === severity).length;
  const out: string[] = [
    '# Preflight checks',
    '',
    '<!-- Generated from src/runbook/preflight-checks.ts by `node bin/run-ts.mjs src/runbook/preflight-doc.ts`; do not edit by hand. -->',
    '',
    `The connect phase makes ${checks.length} checks (${SEVERITIES.map((s) => `${count(s)} ${s}`).join(', ')}) before`,
    'anything is installed, so that a host that would break the install fails now, with what',
    'was found and what to do, not in the middle of a phase. `connect.facts`',
    '(scripts/connect/facts.sh) reads each host without changing it; `connect.netcheck` probes',
    'the networks between the hosts; uStart compares both with the plan. Each finding names its',
    'check, a severity, the JSON pointer of the planned value concerned, the host (at the start',
    'of the message), what was found and what to do:',
    '',
    '- **error**: the install would fail or the site would not hold; fix it before installing.',
    '- **warning**: a risk; the install can go on.',
    '- **info**: something could not be checked, or needs no action.',
    '',
    'A fact a host could not give (a tool missing on a minimal host, no DMI in a virtual',
    'machine) is reported as unknown: the check that needs it is skipped and',
    '`preflight-fact-unknown` says so. Facts from an older runbook without the newer fields',
    'skip those checks silently.',
    '',
    '## Reference values',
    '',
    '| role | minimum CPUs | minimum memory | minimum install disk | TCP ports that must be free |',
    '|---|---|---|---|---|',
    ...Object.entries(ROLE_MINIMUMS).map(
      ([role, m]) =>
        `| ${role} | ${m.cores} | ${m.memoryGiB} GiB | ${m.installDiskGB} GB | ${REQUIRED_PORTS[role as keyof typeof REQUIRED_PORTS].join(', ')} |`,
    ),
    '',
    `- Clock: at most ${MAX_CLOCK_SKEW_MS / 1000} s off this machine's clock.`,
    `- Free space: ${MIN_ROOT_FREE_BYTES / 1e9} GB on /, ${MIN_VAR_FREE_BYTES / 1e9} GB on a separate /var or /var/lib.`,
    `- Kernel modules: ${REQUIRED_MODULES.join(', ')} (required), rbd (Ceph block volumes).`,
    '',
  ];
  for (const scope of ['host', 'across hosts', 'between hosts'] as const) {
    const list = checks.filter((c) => c.scope === scope);
    if (list.length === 0) continue;
    out.push(
      `## ${scope === 'host' ? 'On each host' : scope === 'across hosts' ? 'Across hosts' : 'Between hosts (network matrix)'}`,
      '',
      '| check | severity | checks | what to do |',
      '|---|---|---|---|',
      ...list.map((c) => `| \`${c.id}\` | ${c.severity} | ${cell(c.checks)} | ${cell(c.fix)} |`),
      '',
    );
  }
  return out.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeFile(PREFLIGHT_DOC, preflightMarkdown());
  console.log(`wrote ${PREFLIGHT_DOC}`);
}

/**
 * docs/validation-rules.md is generated from RULES so the list users read never drifts
 * from the rules that run; a test fails when the file is stale. Regenerate it with
 * `node bin/run-ts.mjs src/plan/validate/rules-doc.ts`.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULE_FAMILIES, type Rule } from './rule.js';
import { RULES } from './rules/index.js';
import { KUBERNETES_MINORS } from './rules/kubernetes.js';
import { OPENSTACK_RELEASES } from './rules/openstack.js';
import { ESTIMATED_WATTS_PER_U } from './rules/racks.js';
import { CAPACITY_FLOORS } from './rules/roles.js';
import { OS_DISK_MIN_GB } from './rules/servers.js';

export const RULES_DOC = fileURLToPath(
  new URL('../../../docs/validation-rules.md', import.meta.url),
);

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function rulesMarkdown(rules: readonly Rule[] = RULES): string {
  const out: string[] = [
    '# Validation rules',
    '',
    '<!-- Generated from src/plan/validate/rules by `node bin/run-ts.mjs src/plan/validate/rules-doc.ts`; do not edit by hand. -->',
    '',
    `\`ustart validate FILE\` runs ${rules.length} rules on a site plan after the schema checks`,
    '(rule ids starting with `schema-`). Each finding names its rule, its family (the heading the',
    'rule is listed under below; schema findings have none), a severity, the JSON pointer of the',
    'offending field, what is wrong and what to do:',
    '',
    '- **error**: the install would fail or the site would be unsafe; the plan is not valid',
    '  (`ustart validate` exits 1). Errors cannot be acknowledged.',
    '- **warning**: a risk the consultant should resolve or accept. A warning is accepted by an',
    '  entry in `acknowledgements` (`rule`, optional `path`, `reason`, optional `by`); it is',
    '  still shown, marked accepted, and not counted.',
    '- **info**: good practice; never blocks anything.',
    '',
    '## Reference values',
    '',
    'Capacity floors per role (a server with several roles needs the sum; "per OSD" counts its',
    '`ceph-osd` disks):',
    '',
    '| role | memory | physical cores |',
    '|---|---|---|',
    ...Object.entries(CAPACITY_FLOORS).map(
      ([role, f]) =>
        `| ${role} | ${f.memoryGiB} GiB${f.memoryGiBPerOsd ? ` + ${f.memoryGiBPerOsd} GiB per OSD` : ''} | ${f.cores}${f.coresPerOsd ? ` + ${f.coresPerOsd} per OSD` : ''} |`,
    ),
    '',
    `- Rack power: a server without \`powerW\` is estimated at ${ESTIMATED_WATTS_PER_U} W per rack unit.`,
    `- OS disks: at least ${OS_DISK_MIN_GB} GB each.`,
    `- Kubernetes: 1.${KUBERNETES_MINORS.oldest} to 1.${KUBERNETES_MINORS.newest}; each node gets a /24 of the pod network.`,
    `- OpenStack releases: ${OPENSTACK_RELEASES.join(', ')}.`,
    '',
  ];
  for (const family of RULE_FAMILIES) {
    const list = rules.filter((r) => r.family === family);
    if (list.length === 0) continue;
    out.push(`## ${family}`, '', '| rule | severity | checks | fix |', '|---|---|---|---|');
    for (const r of list) {
      out.push(`| \`${r.id}\` | ${r.severity} | ${cell(r.description)} | ${cell(r.fix)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeFile(RULES_DOC, rulesMarkdown());
  console.log(`wrote ${RULES_DOC}`);
}

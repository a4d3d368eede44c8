/**
 * Validates a site plan: runs every rule and returns its findings, errors first. Warnings
 * listed in `acknowledgements` come back marked `acknowledged` (still shown, not counted);
 * errors cannot be acknowledged.
 */
import type { Finding, Severity } from '../finding.js';
import type { Acknowledgement, Plan } from '../schema.js';
import { indexPlan } from './plan-index.js';
import type { Rule } from './rule.js';
import { RULES } from './rules/index.js';

export { RULES };
export type { Rule };

const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export function validatePlan(plan: Plan, rules: readonly Rule[] = RULES): Finding[] {
  const index = indexPlan(plan, new Map(rules.map((r) => [r.id, r.severity])));
  const findings: Finding[] = [];
  for (const rule of rules) {
    rule.check(index, (path, message, hint, ui) => {
      findings.push({
        rule: rule.id,
        family: rule.family,
        severity: rule.severity,
        path,
        message,
        hint,
        ...(ui ? { ui } : {}),
      });
    });
  }
  applyAcknowledgements(plan, findings);
  return findings.sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}

function applyAcknowledgements(plan: Plan, findings: Finding[]): void {
  const acks = plan.acknowledgements ?? [];
  if (acks.length === 0) return;
  const byRule = new Map<string, Acknowledgement[]>();
  for (const a of acks) byRule.set(a.rule, [...(byRule.get(a.rule) ?? []), a]);
  for (const f of findings) {
    if (f.severity === 'error') continue;
    const ack = byRule.get(f.rule)?.find((a) => a.path === undefined || a.path === f.path);
    if (ack)
      f.acknowledged =
        ack.by === undefined ? { reason: ack.reason } : { reason: ack.reason, by: ack.by };
  }
}

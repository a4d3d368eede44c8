/** A validation finding: one problem (or piece of advice) about one place in a plan. */
export type Severity = 'error' | 'warning' | 'info';

export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

/**
 * Validation rule families in the order docs and reports group them. Every rule declares one
 * (src/plan/validate/rule.ts) and its findings carry it, so a front groups or places a finding
 * by its family instead of guessing from the rule's id.
 */
export const RULE_FAMILIES = [
  'site',
  'networks',
  'addresses',
  'racks',
  'servers',
  'host-network',
  'roles',
  'storage',
  'kubernetes',
  'openstack',
  'access',
  'air-gap',
  'acknowledgements',
] as const;
export type RuleFamily = (typeof RULE_FAMILIES)[number];

export interface Finding {
  /** Stable kebab-case id of the rule, such as `hostname-unique`. */
  rule: string;
  /**
   * The family its rule declares (`roles`, `storage`, ...). Every finding of a validation
   * rule has it; findings no rule reports (schema checks `schema-*`, IPAM, preflight) do not.
   */
  family?: RuleFamily;
  severity: Severity;
  /** JSON pointer (RFC 6901) of the offending field, such as `/servers/3/hostname`. */
  path: string;
  /** What is wrong, naming the thing concerned. */
  message: string;
  /** What to do about it. */
  hint: string;
  /**
   * The hint as the wizard says it, where `hint` names a CLI command the UI has a button
   * for; `action` names that button.
   */
  ui?: FindingUi;
  /** Where in the file, when the plan came from a file (1-based). */
  line?: number;
  column?: number;
  /** Present when a warning was accepted in `acknowledgements`. */
  acknowledged?: { reason: string; by?: string };
}

/** A finding's hint for the wizard: text without CLI commands, and the button that does it. */
export interface FindingUi {
  hint: string;
  /** `ipam`: fill missing addresses from the networks' pools (the Networks step's button). */
  action?: 'ipam';
}

/** JSON pointer from path segments, escaping `~` and `/` as RFC 6901 says. */
export function pointer(...segments: ReadonlyArray<string | number>): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** Path segments from a JSON pointer. */
export function segmentsOf(ptr: string): string[] {
  if (ptr === '') return [];
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts = { error: 0, warning: 0, info: 0 };
  for (const f of findings) if (!f.acknowledged) counts[f.severity]++;
  return counts;
}

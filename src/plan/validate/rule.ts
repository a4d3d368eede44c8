/**
 * The validation rule engine's types. A rule has a stable kebab-case id (users acknowledge
 * warnings by it, and docs/validation-rules.md lists it), a severity, and a check that reports
 * findings through the context. Rules read the plan through the precomputed indexes of
 * `PlanIndex` so a 1,000-server plan validates in milliseconds.
 */
import type { Finding, FindingUi, RuleFamily, Severity } from '../finding.js';
import type { PlanIndex } from './plan-index.js';

// The families live beside the Finding, which carries its rule's family.
export { RULE_FAMILIES, type RuleFamily } from '../finding.js';

export interface Rule {
  id: string;
  severity: Severity;
  family: RuleFamily;
  /** One line for docs and the UI: what the rule checks. */
  description: string;
  /** What to do when it fires, in general terms, for docs/validation-rules.md. */
  fix: string;
  check(index: PlanIndex, report: Reporter): void;
}

/**
 * Reports one finding of the rule being run, at a JSON pointer; `ui` when the hint names a
 * CLI command the wizard has a button for.
 */
export type Reporter = (path: string, message: string, hint: string, ui?: FindingUi) => void;

export type FindingOf = Omit<Finding, 'line' | 'column' | 'acknowledged'>;

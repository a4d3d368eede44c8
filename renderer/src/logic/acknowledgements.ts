/**
 * Acknowledging findings from the wizard: writing and withdrawing entries of the plan's
 * `acknowledgements` (src/plan/schema.ts, docs/plan-format.md "acknowledgements"). Like
 * `plan-edits.ts`, the edits change the plan they are given in place, so the UI calls them
 * inside `usePlanStore.edit` (undoable) and the tests through immer's `produce`.
 *
 * Which entry covers a finding follows the core's `applyAcknowledgements`
 * (src/plan/validate/index.ts): same rule, and no path (the whole rule) or the finding's path.
 * Errors cannot be acknowledged; warnings and info can (rule `acknowledgement-invalid`).
 */
import type { FindingView, Plan } from '../../../src/api';

type Acknowledgement = NonNullable<Plan['acknowledgements']>[number];

/** What the acknowledge dialog asks for. */
export interface AcknowledgeInput {
  /** Why the finding is accepted; required, shown in the handover report. */
  reason: string;
  /** Who accepts it; optional. */
  by?: string;
  /** Accept every finding of the rule, not just this one (the entry gets no `path`). */
  wholeRule?: boolean;
}

/** True when the finding may be acknowledged: not an error, not acknowledged yet. */
export function canAcknowledge(finding: Pick<FindingView, 'severity' | 'acknowledged'>): boolean {
  return finding.severity !== 'error' && !finding.acknowledged;
}

/** True when acknowledgement `a` covers a finding of `rule` at `path`. */
export function covers(a: Pick<Acknowledgement, 'rule' | 'path'>, rule: string, path: string) {
  return a.rule === rule && (a.path === undefined || a.path === path);
}

/** Indexes of the plan's acknowledgements that cover `finding`, in plan order. */
export function acknowledgementsOf(
  plan: Pick<Plan, 'acknowledgements'>,
  finding: Pick<FindingView, 'rule' | 'path'>,
): number[] {
  const out: number[] = [];
  plan.acknowledgements?.forEach((a, i) => {
    if (covers(a, finding.rule, finding.path)) out.push(i);
  });
  return out;
}

/**
 * Accepts `finding` with a reason: adds an entry to `acknowledgements` (created when the plan
 * has none), for the finding's path or, with `wholeRule`, for the rule everywhere. An entry
 * for the same rule and path is replaced, so there is never a second one. Throws on an error
 * finding or an empty reason: the dialog does not let either through.
 */
export function acknowledge(
  plan: Plan,
  finding: Pick<FindingView, 'rule' | 'path' | 'severity'>,
  input: AcknowledgeInput,
): void {
  if (finding.severity === 'error')
    throw new Error(`${finding.rule} is an error: errors cannot be acknowledged, fix the plan`);
  const reason = input.reason.trim();
  if (reason === '') throw new Error(`acknowledging ${finding.rule} needs a reason`);
  const by = input.by?.trim();
  const entry: Acknowledgement = {
    rule: finding.rule,
    ...(input.wholeRule ? {} : { path: finding.path }),
    reason,
    ...(by ? { by } : {}),
  };
  const list = (plan.acknowledgements ??= []);
  const same = list.findIndex((a) => a.rule === entry.rule && a.path === entry.path);
  if (same >= 0) list[same] = entry;
  else list.push(entry);
}

/**
 * Withdraws the acceptance of `finding`: removes every acknowledgement that covers it (an
 * entry for the whole rule too, which un-accepts the rule's other findings as well), and the
 * empty list with the last one. Returns how many entries went.
 */
export function withdrawAcknowledgement(
  plan: Plan,
  finding: Pick<FindingView, 'rule' | 'path'>,
): number {
  const drop = new Set(acknowledgementsOf(plan, finding));
  if (drop.size === 0 || !plan.acknowledgements) return 0;
  const kept = plan.acknowledgements.filter((_, i) => !drop.has(i));
  if (kept.length === 0) delete plan.acknowledgements;
  else plan.acknowledgements = kept;
  return drop.size;
}

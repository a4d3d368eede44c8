/** Rules about the plan's own acknowledgements of warnings. */
import { pointer } from '../../finding.js';
import type { Rule } from '../rule.js';
import { closest } from '../../suggest.js';

/** Rule ids that were replaced, so an old acknowledgement says what to write instead. */
const RETIRED_RULES: Record<string, string> = {
  // Only a majority in one rack of three or more; rack-loss-quorum also sees two racks,
  // a half of an even count and the Ceph monitors.
  'controller-rack-quorum': 'rack-loss-quorum',
};

export const acknowledgementRules: Rule[] = [
  {
    id: 'acknowledgement-invalid',
    severity: 'warning',
    family: 'acknowledgements',
    description:
      'Each acknowledgement names a known warning or info rule; errors cannot be acknowledged.',
    fix: 'Correct the rule id, or remove the acknowledgement and fix the error.',
    check({ plan, rules }, report) {
      (plan.acknowledgements ?? []).forEach((ack, i) => {
        const severity = rules.get(ack.rule);
        const successor = RETIRED_RULES[ack.rule];
        if (severity === undefined && successor !== undefined) {
          report(
            pointer('acknowledgements', i, 'rule'),
            `acknowledgement names rule "${ack.rule}", which was replaced by "${successor}"`,
            `Acknowledge "${successor}" instead if its warning still applies.`,
          );
        } else if (severity === undefined) {
          const guess = closest(ack.rule, [...rules.keys()]);
          report(
            pointer('acknowledgements', i, 'rule'),
            `acknowledgement names rule "${ack.rule}", which does not exist${guess ? `; did you mean "${guess}"?` : ''}`,
            'Use the rule id shown by `ustart validate` next to the warning; see docs/validation-rules.md.',
            { hint: 'Use the rule id shown beside the warning; see docs/validation-rules.md.' },
          );
        } else if (severity === 'error') {
          report(
            pointer('acknowledgements', i, 'rule'),
            `acknowledgement names rule "${ack.rule}", which reports errors; errors cannot be acknowledged`,
            'Fix the plan instead; only warnings and info findings can be accepted with a reason.',
          );
        }
      });
    },
  },
];

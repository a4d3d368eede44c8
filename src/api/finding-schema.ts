/** The validation finding as it crosses to a front (src/plan/finding.ts is its source). */
import { z } from 'zod';
import { RULE_FAMILIES } from '../plan/finding.js';

export const Severity = z.enum(['error', 'warning', 'info']);

/** The family a validation rule declares; a front places its findings by it. */
export const RuleFamily = z.enum(RULE_FAMILIES);
export type RuleFamily = z.infer<typeof RuleFamily>;

/** One validation finding (src/plan/finding.ts), as it crosses to a front. */
export const FindingSchema = z.object({
  rule: z.string(),
  /** The rule's family (src/plan/finding.ts); absent on schema, IPAM and preflight findings. */
  family: RuleFamily.optional(),
  severity: Severity,
  /** JSON pointer of the field, such as `/servers/3/hostname`; the UI jumps there. */
  path: z.string(),
  message: z.string(),
  hint: z.string(),
  /** The hint as the wizard says it (no CLI command), and the button that does it. */
  ui: z.object({ hint: z.string(), action: z.literal('ipam').optional() }).optional(),
  line: z.number().optional(),
  column: z.number().optional(),
  acknowledged: z.object({ reason: z.string(), by: z.string().optional() }).optional(),
});
export type FindingView = z.infer<typeof FindingSchema>;

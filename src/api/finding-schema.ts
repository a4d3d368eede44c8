/** The validation finding as it crosses to a front (src/plan/finding.ts is its source). */
import { z } from 'zod';

export const Severity = z.enum(['error', 'warning', 'info']);

/** One validation finding (src/plan/finding.ts), as it crosses to a front. */
export const FindingSchema = z.object({
  rule: z.string(),
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

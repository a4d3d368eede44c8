/**
 * The steps of a demo run: the runbook's connect, uMetal, uStack and uGarden phases exactly
 * as a real run gets them (src/render's `stepSpecsFor`: the same uploads, commands and phase
 * order), so the demo exercises SFTP and the engine as a real run does; the demo hosts
 * recognise the commands and play the step's transcript instead of running the script.
 */
import type { StepSpec } from '../engine/types.js';
import type { Plan } from '../plan/schema.js';
import { stepSpecsFor } from '../render/step-specs.js';
import type { Phase } from '../runbook/schema.js';

/** The phases a demo run goes through, in order. */
export const DEMO_PHASES: readonly Phase[] = ['connect', 'umetal', 'ustack', 'ugarden'];

export function demoSteps(plan: Plan, phases: readonly Phase[] = DEMO_PHASES): Promise<StepSpec[]> {
  return stepSpecsFor(plan, { phases });
}

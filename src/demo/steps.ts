/**
 * The steps of a demo run: the runbook's phases but the resets (connect, uMetal, uStack,
 * uGarden in the default runbook) exactly
 * as a real run gets them (src/render's `stepSpecsFor`: the same uploads, commands and phase
 * order), so the demo exercises SFTP and the engine as a real run does; the demo hosts
 * recognise the commands and play the step's transcript instead of running the script.
 */
import type { StepSpec } from '../engine/types.js';
import type { Plan } from '../plan/schema.js';
import { sitePhases, stepSpecsFor } from '../render/step-specs.js';
import type { Phase } from '../runbook/schema.js';

/** The phases a demo run goes through, in order: every phase of the runbook but the resets. */
export function demoPhases(): Phase[] {
  return sitePhases()
    .filter((p) => p.resetOf === undefined)
    .map((p) => p.id);
}

export function demoSteps(
  plan: Plan,
  phases: readonly Phase[] = demoPhases(),
): Promise<StepSpec[]> {
  return stepSpecsFor(plan, { phases });
}

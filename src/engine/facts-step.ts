/**
 * The built-in "facts" step graph: what `ustart run` runs until the runbook (src/runbook)
 * exists. One step on every host that prints what the host is, in a fixed form the Connect
 * view compares with the plan. A StepSource is how the CLI gets its graph; the runbook
 * loader will be another one.
 */
import type { Plan } from '../plan/index.js';
import type { StepSpec } from './types.js';

/** Produces the step graph of a run from the plan. */
export interface StepSource {
  (context: { plan: Plan; planFile: string }): Promise<StepSpec[]>;
  /**
   * True for a graph that only reads (facts): it runs on a plan that still has rule errors,
   * as in the Connect step, before the plan is finished. Install graphs need a valid plan.
   */
  readOnly?: boolean;
}

/** The fixed shell snippet that gathers a host's facts (also used by bench/fanout.ts). */
export const FACTS_SCRIPT = [
  'echo "== uname"; uname -a',
  'echo "== os-release"; cat /etc/os-release',
  'echo "== nproc"; nproc',
  'echo "== free"; free -b',
  'echo "== lsblk"; lsblk -J 2>/dev/null || echo "{}"',
  'echo "== ip"; ip -j addr 2>/dev/null || echo "[]"',
].join('\n');

export const FACTS_STEPS: StepSpec[] = [
  {
    id: 'facts',
    title: 'Gather facts (built-in graph until the runbook exists)',
    phase: 'connect',
    description:
      'Reads uname, /etc/os-release, nproc, free -b, lsblk -J and ip -j addr on every host.',
    targets: 'all',
    timeout: { ms: 60_000, mode: 'hard' },
    retries: 1,
    run: FACTS_SCRIPT,
    idempotent: true,
  },
];

export const factsStepSource: StepSource = Object.assign(async () => FACTS_STEPS, {
  readOnly: true,
});

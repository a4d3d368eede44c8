/**
 * The steps of a demo run: the default runbook's connect, uMetal, uStack and uGarden phases
 * as engine steps. Each step uploads its script and runs it, so the demo exercises SFTP
 * and the engine exactly as a real run does; the demo hosts recognise the commands and play
 * the step's transcript instead of running the script.
 *
 * Not yet src/render's `stepSpecsFor`: its steps upload shared files (/var/lib/ustart/lib.sh)
 * from steps that run at once, and two concurrent uploads of one path share
 * sftp-upload's temp name, so one rename takes the other's file away (seen in the demo:
 * "mv: cannot move …/.lib.sh.ustart-….part"). Once that is fixed, this becomes
 * `stepSpecsFor(plan, { phases })` plus the phase chaining below.
 */
import { join } from 'node:path';
import type { StepSpec, StepTargets } from '../engine/types.js';
import type { Plan } from '../plan/schema.js';
import { defaultRunbookDir, loadRunbook, type RunbookStep } from '../runbook/load.js';

/** Where a demo run puts each step's scripts on a host. */
export const DEMO_STEPS_DIR = '/var/lib/ustart/steps';

const INSTALL_PHASES = new Set(['connect', 'umetal', 'ustack', 'ugarden']);

export async function demoSteps(plan: Plan): Promise<StepSpec[]> {
  const dir = defaultRunbookDir();
  const runbook = await loadRunbook([dir]);
  const sudo = plan.access.user !== 'root';
  const chosen = runbook.steps.filter((s) => INSTALL_PHASES.has(s.phase));
  // Phases run one after the other: a phase's first steps wait for the whole phase before.
  const previousPhase = new Map<string, string[]>();
  let before: string[] = [];
  for (const phase of [...new Set(chosen.map((s) => s.phase))]) {
    previousPhase.set(phase, before);
    before = chosen.filter((s) => s.phase === phase).map((s) => s.id);
  }
  return chosen.map((s): StepSpec => {
    // Each step's scripts in its own folder: steps running at once never share a path.
    const stepDir = `${DEMO_STEPS_DIR}/${s.id}`;
    const uploads = [
      { source: s.runFile, path: `${stepDir}/run.sh`, mode: 0o755 },
      ...(s.checkFile ? [{ source: s.checkFile, path: `${stepDir}/check.sh`, mode: 0o755 }] : []),
    ];
    const check = s.check
      ? 'script' in s.check
        ? `/bin/bash ${stepDir}/check.sh`
        : `. ${stepDir}/lib.sh && ${s.check.command}`
      : undefined;
    if (s.check && !('script' in s.check))
      uploads.push({
        source: join(dir, 'scripts', 'lib.sh'),
        path: `${stepDir}/lib.sh`,
        mode: 0o644,
      });
    return {
      id: s.id,
      title: s.title,
      phase: s.phase,
      description: s.description,
      targets: targetsOf(s, plan),
      after: s.after.length ? s.after : previousPhase.get(s.phase)!,
      ...(s.parallelism === 'all' ? {} : { parallelism: s.parallelism }),
      timeout: s.timeout,
      retries: s.retries,
      ...(check ? { check } : {}),
      run: `/bin/bash ${stepDir}/run.sh`,
      uploads,
      sudo,
      idempotent: true,
    };
  });
}

function targetsOf(step: RunbookStep, plan: Plan): StepTargets {
  const t = step.target;
  if (t === 'all' || t === 'first-controller') return t;
  if (typeof t === 'object') return { roles: t.roles };
  const controllers = plan.servers.filter((s) => s.roles.includes('controller'));
  if (t === 'other-controllers') return controllers.slice(1).map((s) => s.hostname);
  return plan.servers
    .filter((s) => s.roles.length > 0 && !s.roles.includes('controller'))
    .map((s) => s.hostname);
}

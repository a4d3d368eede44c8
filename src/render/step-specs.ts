/**
 * The runbook as the run engine's step graph: one StepSpec per runbook step, with its hosts
 * resolved from the plan, every upload, and the same commands `ustart render` shows.
 */
import type { StepSource } from '../engine/facts-step.js';
import type { StepSpec, StepUpload } from '../engine/types.js';
import type { Plan } from '../plan/schema.js';
import { defaultRunbookDir, loadRunbook, type Runbook } from '../runbook/load.js';
import { loadPhases, type RunbookPhase } from '../runbook/phases.js';
import { RESET_PREFIX, type Phase } from '../runbook/schema.js';
import { GENERATOR_NAMES } from './generators/index.js';
import { localRun, type RemoteFile, type RenderedStep, Renderer } from './render.js';

/** Loads the default runbook (and a customer's over it) with every generator checked. */
export function loadSiteRunbook(customerDirs: readonly string[] = []): Promise<Runbook> {
  return loadRunbook([defaultRunbookDir(), ...customerDirs], { generators: GENERATOR_NAMES });
}

/**
 * A step's uploads for the engine. A file every target host gets alike (lib.sh, the step's
 * scripts) goes to all of them; a host's own files (its env, its rendered files, under its
 * own folder) go to that host only. The digest marker goes last: when it is on a host, every
 * file before it arrived.
 */
function uploadsOf(rendered: RenderedStep): StepUpload[] {
  const marker = rendered.perHost[0]?.uploads.at(-1);
  const byPath = new Map<string, { file: RemoteFile; hosts: string[] }[]>();
  for (const hs of rendered.perHost) {
    for (const u of hs.uploads) {
      if (u.path === marker?.path) continue;
      const variants = byPath.get(u.path) ?? [];
      byPath.set(u.path, variants);
      const same = variants.find(
        (v) => v.file.content === u.content && v.file.mode === u.mode && v.file.owner === u.owner,
      );
      if (same) same.hosts.push(hs.host);
      else variants.push({ file: u, hosts: [hs.host] });
    }
  }
  const everyHost = rendered.perHost.length;
  const uploads = [...byPath.values()].flat().map(({ file, hosts }): StepUpload => ({
    path: file.path,
    content: file.content,
    mode: file.mode,
    owner: file.owner,
    ...(hosts.length === everyHost ? {} : { hosts }),
  }));
  if (marker) {
    uploads.push({
      path: marker.path,
      content: marker.content,
      mode: marker.mode,
      owner: marker.owner,
    });
  }
  return uploads;
}

/**
 * The engine's steps for `phases` (all phases when absent). Each host gets the step's shared
 * files and its own (uploadsOf); lib.sh finds the host's folder by its env file.
 */
export function toStepSpecs(renderer: Renderer, phases?: readonly Phase[]): StepSpec[] {
  const specs: StepSpec[] = [];
  // Phases run one after the other: a phase's first steps wait for the whole phase before.
  let previousPhase: string[] = [];
  let phaseIds: string[] = [];
  for (const rendered of renderer.renderAll()) {
    const { step } = rendered;
    if (phases && !phases.includes(step.phase)) continue;
    const before = specs.at(-1)?.phase;
    if (before !== undefined && before !== step.phase) {
      // A reset never waits for the install: they are run on their own.
      const sameKind = before.startsWith(RESET_PREFIX) === step.phase.startsWith(RESET_PREFIX);
      previousPhase = sameKind ? phaseIds : [];
      phaseIds = [];
    }
    phaseIds.push(step.id);
    const first = rendered.perHost[0];
    const common = {
      id: step.id,
      title: step.title,
      phase: step.phase,
      description: step.description,
      targets: rendered.hosts,
      after: step.after.length ? step.after : previousPhase,
      ...(step.parallelism === 'all' ? {} : { parallelism: step.parallelism }),
      timeout: step.timeout,
      retries: step.retries,
    };
    if (step.local !== undefined) {
      // The front binds the action's functions (StepSpec.hostless) when it starts the run.
      specs.push({
        ...common,
        run: first?.run ?? localRun(step.local),
        localAction: step.local,
      });
      continue;
    }
    specs.push({
      ...common,
      ...(first?.check ? { check: first.check } : {}),
      run: first?.run ?? `bash /var/lib/ustart/steps/${step.id}/run.sh`,
      uploads: uploadsOf(rendered),
      ...(step.outputs.length
        ? { outputs: step.outputs.map((o) => ({ name: o.name, path: o.path })) }
        : {}),
      ...(step.inputs.length ? { inputs: step.inputs } : {}),
      sudo: true,
      // Every runbook script is written to be run again safely (docs/runbook-format.md).
      idempotent: true,
    });
  }
  return specs;
}

/** Renders and converts in one go, for the CLI and the fronts. */
export async function stepSpecsFor(
  plan: Plan,
  options: { phases?: readonly Phase[]; customerDirs?: readonly string[] } = {},
): Promise<StepSpec[]> {
  const renderer = await Renderer.create(plan, await loadSiteRunbook(options.customerDirs));
  return toStepSpecs(renderer, options.phases);
}

/**
 * The runbook as the CLI's step source (src/engine/facts-step.ts, StepSource): pass it to
 * `registerRun` in place of the built-in facts graph. A source of only the phases the
 * runbook marks `readOnly` (connect) changes nothing, so it is marked read-only.
 */
export function runbookStepSource(
  phases: readonly Phase[],
  customerDirs: readonly string[] = [],
): StepSource {
  const source = ({ plan }: { plan: Plan }) => stepSpecsFor(plan, { phases, customerDirs });
  return Object.assign(source, { readOnly: readOnlyPhases(phases, customerDirs) });
}

/** Whether every one of `phases` is one the runbook marks `readOnly` (it changes nothing). */
export function readOnlyPhases(
  phases: readonly Phase[],
  customerDirs: readonly string[] = [],
): boolean {
  const declared = sitePhases(customerDirs);
  return phases.every((p) => declared.find((d) => d.id === p)?.readOnly === true);
}

/** The phases of the site's runbook (the default one, and a customer's over it). */
export function sitePhases(customerDirs: readonly string[] = []): RunbookPhase[] {
  return loadPhases([defaultRunbookDir(), ...customerDirs]);
}

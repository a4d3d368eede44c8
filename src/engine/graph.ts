/** Checks a step graph before anything runs: ids, references, cycles, targets. */
import { UstartError } from '../errors.js';
import type { HostlessAction, StepSpec, StepTargets } from './types.js';

/** Turns a step's targets into host names; built from the plan (roles, first controller). */
export type TargetResolver = (targets: StepTargets, step: StepSpec) => string[];

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const OUTPUT_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Throws UstartError('RunbookInvalid') naming the step when the graph cannot run. */
export function checkGraph(steps: readonly StepSpec[]): void {
  const ids = new Set<string>();
  for (const s of steps) {
    if (!ID.test(s.id)) {
      throw invalid(
        `step id "${s.id}" may hold only letters, digits, ".", "_" and "-" (it names a log folder).`,
      );
    }
    if (ids.has(s.id)) throw invalid(`step id "${s.id}" is used twice; step ids must be unique.`);
    ids.add(s.id);
    if (s.parallelism !== undefined && !(Number.isInteger(s.parallelism) && s.parallelism >= 1)) {
      throw invalid(
        `step "${s.id}": parallelism must be a whole number of at least 1, not ${s.parallelism}.`,
      );
    }
    if (s.localAction !== undefined && !s.hostless) {
      throw invalid(
        `step "${s.id}" is the local action "${s.localAction}", which this front did not provide; run that phase from the command line (ustart run PLAN --phase ${s.phase} …).`,
      );
    }
    if (s.hostless && (s.uploads?.length || s.inputs?.length || s.outputs?.length)) {
      throw invalid(
        `step "${s.id}" runs on this machine without a connection to its hosts, so it can have no uploads, inputs or outputs.`,
      );
    }
    if (s.timeout && !(s.timeout.ms > 0))
      throw invalid(`step "${s.id}": timeout.ms must be positive.`);
    for (const u of s.uploads ?? []) {
      if (u.hosts?.length === 0) {
        throw invalid(
          `step "${s.id}": upload to ${u.path} names no host; leave "hosts" out to send it to every target host.`,
        );
      }
      // Roles and `all` are resolved from the plan later; an explicit list is known now.
      const strangers = Array.isArray(s.targets)
        ? (u.hosts ?? []).filter((h) => !(s.targets as readonly string[]).includes(h))
        : [];
      if (strangers.length) {
        throw invalid(
          `step "${s.id}": upload to ${u.path} names ${strangers.map((h) => `"${h}"`).join(', ')}, which ${strangers.length === 1 ? 'is' : 'are'} not among the step's target hosts (${(s.targets as readonly string[]).join(', ')}); a file can only go to a host the step runs on.`,
        );
      }
      if ((u.content === undefined) === (u.source === undefined)) {
        throw invalid(
          `step "${s.id}": upload to ${u.path} needs exactly one of content and source.`,
        );
      }
    }
  }
  const producers = new Map<string, string>();
  for (const s of steps) {
    for (const o of s.outputs ?? []) {
      if (!OUTPUT_NAME.test(o.name))
        throw invalid(
          `step "${s.id}": output name "${o.name}" may hold only a-z, 0-9 and "-" (it names a shell variable).`,
        );
      const other = producers.get(o.name);
      if (other)
        throw invalid(
          `steps "${other}" and "${s.id}" both produce output "${o.name}"; rename one.`,
        );
      producers.set(o.name, s.id);
    }
  }
  for (const s of steps) {
    for (const name of s.inputs ?? []) {
      if (!producers.has(name))
        throw invalid(
          `step "${s.id}" needs input "${name}", which no step of this graph lists in "outputs".`,
        );
    }
    for (const a of s.after ?? []) {
      if (!ids.has(a))
        throw invalid(`step "${s.id}" runs after "${a}", which is not a step of this graph.`);
    }
  }
  const byId = new Map(steps.map((s) => [s.id, s]));
  const mark = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]) => {
    if (mark.get(id) === 'done') return;
    if (mark.get(id) === 'visiting') {
      throw invalid(
        `steps depend on each other in a circle: ${[...path.slice(path.indexOf(id)), id].join(' → ')}.`,
      );
    }
    mark.set(id, 'visiting');
    for (const a of byId.get(id)?.after ?? []) visit(a, [...path, id]);
    mark.set(id, 'done');
  };
  for (const s of steps) visit(s.id, []);
}

/**
 * Binds each step that names a local action (`localAction`) to its functions from `actions`;
 * a name `actions` does not have is left unbound (checkGraph refuses the graph then).
 */
export function bindLocalActions(
  steps: readonly StepSpec[],
  actions: Readonly<Record<string, HostlessAction | undefined>>,
): StepSpec[] {
  return steps.map((s) => {
    const action = s.localAction === undefined ? undefined : actions[s.localAction];
    return action ? { ...s, hostless: action } : s;
  });
}

function invalid(message: string): UstartError {
  return new UstartError('RunbookInvalid', message);
}

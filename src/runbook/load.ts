/**
 * Loading a runbook: one or more directories of YAML step files, later directories layered
 * over earlier ones (the default runbook first, then a customer's). Every problem found —
 * YAML syntax, schema, duplicate ids, unknown or cross-phase `after`, cycles, missing
 * scripts, unknown generators or local actions, inputs nobody produces — is collected and thrown as one
 * RunbookInvalid error naming each file and line, so a runbook author fixes them in one go.
 */
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { UstartError } from '../errors.js';
import { closest } from '../plan/suggest.js';
import { assetPath } from '../util/assets.js';
import { pathExists } from '../util/fs.js';
import { PHASES_FILE, readPhases, type RunbookPhase } from './phases.js';
import { LOCAL_ACTION_NAMES, isLocalAction } from './local-actions.js';
import { type Phase, RunbookFile, type StepDecl } from './schema.js';
import { readRegularFile } from '../util/user-file.js';
import { parseYamlFile, type RunbookProblem, type SourceRef } from './yaml-file.js';

export type { RunbookProblem, SourceRef } from './yaml-file.js';

/** A step after loading: defaults applied, phase resolved, every file found on disk. */
export interface RunbookStep extends Omit<StepDecl, 'phase' | 'files'> {
  phase: Phase;
  /** Where the step was declared (the last directory that declared its id). */
  source: SourceRef;
  /** Absolute path of the run script; empty for a `local` step. */
  runFile: string;
  /** Absolute path of the check script, when `check.script` is given. */
  checkFile?: string;
  files: Array<StepDecl['files'][number] & { sourceFile?: string }>;
}

export interface Runbook {
  /** The directories, default first, in the order they were layered. */
  dirs: readonly string[];
  /** The phases (./phases.ts): declared ones in run order, then their resets. */
  phases: readonly RunbookPhase[];
  /** Every step, phases in install order, each phase in a dependency order (stable). */
  steps: readonly RunbookStep[];
  byId: ReadonlyMap<string, RunbookStep>;
}

export interface LoadOptions {
  /** Names of the generators that can render `files[].generate`; unchecked when absent. */
  generators?: ReadonlySet<string>;
}

/** The default runbook shipped with uStart. */
export function defaultRunbookDir(): string {
  return assetPath('runbook');
}

/** The steps of one phase, in dependency order. */
export function phaseSteps(runbook: Runbook, phase: Phase): RunbookStep[] {
  return runbook.steps.filter((s) => s.phase === phase);
}

interface Declared {
  decl: StepDecl;
  phase: Phase | undefined;
  layer: number;
  source: SourceRef;
  at: (path: ReadonlyArray<string | number>) => SourceRef;
}

export async function loadRunbook(
  dirs: readonly string[],
  options: LoadOptions = {},
): Promise<Runbook> {
  if (dirs.length === 0) throw new UstartError('InvalidArgument', 'no runbook directory given');
  const declaredPhases = readPhases(dirs);
  const problems: RunbookProblem[] = [];
  const phaseIds = declaredPhases.phases.map((p) => p.id);
  const merged = new Map<string, Declared>();
  for (const [layer, dir] of dirs.entries()) {
    const files = await yamlFilesOf(dir, problems);
    const seen = new Map<string, Declared>();
    const removals: Array<{ id: string; at: SourceRef }> = [];
    for (const file of files) {
      const parsed = await parseRunbookFile(file, problems);
      if (!parsed) continue;
      parsed.value.steps.forEach((decl, i) => {
        const at = (path: ReadonlyArray<string | number>) => parsed.at(['steps', i, ...path]);
        const declared: Declared = {
          decl,
          phase: decl.phase ?? parsed.value.phase,
          layer,
          source: at([]),
          at,
        };
        const twin = seen.get(decl.id);
        if (twin) {
          problems.push({
            ...at(['id']),
            message: `step id "${decl.id}" is declared twice in ${dir} (first at ${where(twin.source)}); give one of them another id`,
          });
          return;
        }
        if (!declared.phase) {
          problems.push({
            ...at(['id']),
            message: `step "${decl.id}" has no phase; add "phase:" to the step or to the top of the file`,
          });
          return;
        }
        if (declaredPhases.problems.length === 0 && !phaseIds.includes(declared.phase)) {
          problems.push({
            ...(decl.phase === undefined ? parsed.at(['phase']) : at(['phase'])),
            message: `step "${decl.id}": no phase "${declared.phase}" in ${declaredPhases.file ?? PHASES_FILE}${hint(declared.phase, phaseIds)}; the phases are ${phaseIds.join(', ')}`,
          });
          return;
        }
        seen.set(decl.id, declared);
      });
      parsed.value.remove.forEach((id, i) => removals.push({ id, at: parsed.at(['remove', i]) }));
    }
    for (const { id, at } of removals) {
      if (!merged.delete(id)) {
        problems.push({
          ...at,
          message: `"remove" names step "${id}", which no earlier runbook directory declares${hint(id, [...merged.keys()])}`,
        });
      }
    }
    // Same id replaces (keeping its place in the order), a new id is added at the end.
    for (const [id, declared] of seen) merged.set(id, declared);
  }
  // After the directories' own problems: a folder that cannot be read has no phases.yaml either.
  problems.push(...declaredPhases.problems);
  const steps = await resolveSteps(dirs, merged, options, problems);
  if (problems.length === 0) checkGraph(merged, steps, phaseIds, problems);
  if (problems.length > 0) throw invalid(problems);
  const ordered = order(steps, phaseIds);
  return {
    dirs,
    phases: declaredPhases.phases,
    steps: ordered,
    byId: new Map(ordered.map((s) => [s.id, s])),
  };
}

/** The runbook's bill of materials (src/render/bom.ts), a file of its own kind, not a phase. */
export const BOM_FILE = 'bom.yaml';

/** YAML files of a runbook directory that are not step files. */
const NOT_STEPS: ReadonlySet<string> = new Set([BOM_FILE, PHASES_FILE]);

async function yamlFilesOf(dir: string, problems: RunbookProblem[]): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return names
      .filter((n) => /\.ya?ml$/.test(n) && !NOT_STEPS.has(n))
      .sort()
      .map((n) => join(dir, n));
  } catch (e) {
    problems.push({
      file: dir,
      message: `the runbook directory cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}); check the path`,
    });
    return [];
  }
}

async function parseRunbookFile(file: string, problems: RunbookProblem[]) {
  const text = await readRegularFile(file, {
    what: 'runbook file',
    code: 'RunbookInvalid',
    encoding: 'utf8',
  });
  return parseYamlFile(text, file, RunbookFile, problems);
}

async function resolveSteps(
  dirs: readonly string[],
  merged: Map<string, Declared>,
  options: LoadOptions,
  problems: RunbookProblem[],
): Promise<RunbookStep[]> {
  const out: RunbookStep[] = [];
  for (const declared of merged.values()) {
    const { decl, layer, at } = declared;
    // A customer step may use the default runbook's scripts: look in its own directory
    // first, then in each earlier one.
    const find = async (rel: string, path: ReadonlyArray<string | number>) => {
      for (let l = layer; l >= 0; l--) {
        const candidate = join(dirs[l]!, rel);
        if (await pathExists(candidate)) return candidate;
      }
      problems.push({
        ...at(path),
        message: `step "${decl.id}": ${rel} does not exist in ${dirs
          .slice(0, layer + 1)
          .reverse()
          .join(' or ')}`,
      });
      return undefined;
    };
    checkLocal(decl, at, problems);
    const runFile = decl.run === undefined ? undefined : await find(decl.run, ['run']);
    const checkFile =
      decl.check && 'script' in decl.check
        ? await find(decl.check.script, ['check', 'script'])
        : undefined;
    const files: RunbookStep['files'] = [];
    for (const [i, f] of decl.files.entries()) {
      if (f.generate !== undefined && options.generators && !options.generators.has(f.generate)) {
        problems.push({
          ...at(['files', i, 'generate']),
          message: `step "${decl.id}": no generator "${f.generate}"${hint(f.generate, [...options.generators])}`,
        });
      }
      const sourceFile = f.source === undefined ? undefined : await find(f.source, ['files', i]);
      files.push(sourceFile === undefined ? { ...f } : { ...f, sourceFile });
    }
    out.push({
      ...decl,
      phase: declared.phase!,
      source: declared.source,
      runFile: runFile ?? '',
      ...(checkFile === undefined ? {} : { checkFile }),
      files,
    });
  }
  return out;
}

/** A step has a script (`run`) or a built-in action (`local`), and an action only what it can use. */
function checkLocal(decl: StepDecl, at: Declared['at'], problems: RunbookProblem[]): void {
  if (decl.local === undefined) {
    if (decl.run === undefined) {
      problems.push({
        ...at(['id']),
        message: `step "${decl.id}" has neither "run" (a script) nor "local" (a built-in action such as ${LOCAL_ACTION_NAMES.join(', ')}); give one`,
      });
    }
    return;
  }
  if (!isLocalAction(decl.local)) {
    problems.push({
      ...at(['local']),
      message: `step "${decl.id}": no local action "${decl.local}"${hint(decl.local, LOCAL_ACTION_NAMES)}; the local actions are ${LOCAL_ACTION_NAMES.join(', ')}`,
    });
  }
  const extra: string[] = (['run', 'check'] as const).filter((k) => decl[k] !== undefined);
  extra.push(...(['files', 'outputs', 'inputs'] as const).filter((k) => decl[k].length > 0));
  for (const key of extra) {
    problems.push({
      ...at([key]),
      message: `step "${decl.id}" is the local action "${decl.local}", done on this machine without a connection to its hosts; it cannot have "${key}"`,
    });
  }
}

function checkGraph(
  merged: Map<string, Declared>,
  steps: readonly RunbookStep[],
  phaseIds: readonly string[],
  problems: RunbookProblem[],
): void {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const ids = [...byId.keys()];
  for (const step of steps) {
    const at = merged.get(step.id)!.at;
    step.after.forEach((dep, i) => {
      const other = byId.get(dep);
      if (!other) {
        problems.push({
          ...at(['after', i]),
          message: `step "${step.id}" runs after "${dep}", which does not exist${hint(dep, ids)}`,
        });
      } else if (other.phase !== step.phase) {
        problems.push({
          ...at(['after', i]),
          message: `step "${step.id}" (phase ${step.phase}) runs after "${dep}" of phase ${other.phase}; phases already run in order, so list only steps of the same phase in "after"`,
        });
      }
    });
  }
  if (problems.length > 0) return;
  for (const cycle of findCycles(steps)) {
    const first = merged.get(cycle[0]!)!;
    problems.push({
      ...first.at(['after']),
      message: `steps depend on each other in a circle: ${cycle.join(' → ')} → ${cycle[0]}; remove one of these "after" entries`,
    });
  }
  if (problems.length > 0) return;
  const producers = new Map<string, RunbookStep>();
  for (const step of steps) for (const o of step.outputs) producers.set(o.name, step);
  const ancestors = ancestorsOf(steps);
  for (const step of steps) {
    step.inputs.forEach((name, i) => {
      const producer = producers.get(name);
      const at = merged.get(step.id)!.at(['inputs', i]);
      if (!producer) {
        problems.push({
          ...at,
          message: `step "${step.id}" needs input "${name}", which no step lists in "outputs"${hint(name, [...producers.keys()])}`,
        });
        return;
      }
      const earlierPhase = phaseIds.indexOf(producer.phase) < phaseIds.indexOf(step.phase);
      if (!earlierPhase && !ancestors.get(step.id)!.has(producer.id)) {
        problems.push({
          ...at,
          message: `step "${step.id}" needs input "${name}" from "${producer.id}" but does not run after it; add "${producer.id}" to its "after"`,
        });
      }
    });
  }
}

/** Each elementary cycle found by a depth-first search, as the ids along it. */
export function findCycles(steps: readonly Pick<RunbookStep, 'id' | 'after'>[]): string[][] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (id: string) => {
    state.set(id, 'open');
    stack.push(id);
    for (const dep of byId.get(id)?.after ?? []) {
      if (!byId.has(dep)) continue;
      const s = state.get(dep);
      if (s === 'open') cycles.push(stack.slice(stack.indexOf(dep)).reverse());
      else if (s === undefined) visit(dep);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const s of steps) if (!state.has(s.id)) visit(s.id);
  return cycles;
}

function ancestorsOf(steps: readonly RunbookStep[]): Map<string, Set<string>> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const memo = new Map<string, Set<string>>();
  const of = (id: string): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const set = new Set<string>();
    memo.set(id, set);
    for (const dep of byId.get(id)!.after) {
      set.add(dep);
      for (const a of of(dep)) set.add(a);
    }
    return set;
  };
  for (const s of steps) of(s.id);
  return memo;
}

/** Phases in install order; inside a phase, Kahn's algorithm keeping declaration order. */
function order(steps: readonly RunbookStep[], phaseIds: readonly string[]): RunbookStep[] {
  const out: RunbookStep[] = [];
  for (const phase of phaseIds) {
    const pending = steps.filter((s) => s.phase === phase);
    const done = new Set<string>();
    while (pending.length > 0) {
      const next = pending.findIndex((s) => s.after.every((d) => done.has(d)));
      const [step] = pending.splice(next, 1);
      done.add(step!.id);
      out.push(step!);
    }
  }
  return out;
}

function hint(word: string, candidates: readonly string[]): string {
  const guess = closest(word, candidates);
  return guess ? `; did you mean "${guess}"?` : '';
}

function where(ref: SourceRef): string {
  return ref.line === undefined ? ref.file : `${ref.file}:${ref.line}:${ref.column ?? 1}`;
}

function invalid(problems: RunbookProblem[]): UstartError {
  const lines = problems.map((p) => `  ${where(p)}: ${p.message}`);
  return new UstartError(
    'RunbookInvalid',
    `the runbook has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${lines.join('\n')}`,
    { detail: { problems: problems.map((p) => ({ ...p, file: p.file })) } },
  );
}

/** A path relative to the runbook directory it lives in, for messages and rendered output. */
export function runbookRelative(runbook: Runbook, file: string): string {
  for (const dir of [...runbook.dirs].reverse()) {
    const rel = relative(dir, file);
    if (!rel.startsWith('..')) return rel;
  }
  return file;
}

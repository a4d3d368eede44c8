/**
 * The runbook's phases as data: `phases.yaml` of a runbook directory declares them (order,
 * label, read-only, reset, needs). Everything that lists phases — the loader's step order,
 * `run:phases` of the contract, the CLI's --phase choices, the demo, the Install page —
 * reads them from here, so adding a phase touches only the runbook's files
 * (docs/runbook-format.md, "Adding a phase").
 *
 * Read synchronously: the file is small, and the CLI needs the phase names while it builds
 * its commands' help.
 */
import { join } from 'node:path';
import { UstartError, isUstartError } from '../errors.js';
import { closest } from '../plan/suggest.js';
import { assetPath } from '../util/assets.js';
import { readRegularFileSync } from '../util/user-file.js';
import { PhasesFile, RESET_PREFIX } from './schema.js';
import { parseYamlFile, type RunbookProblem } from './yaml-file.js';

/** The file of a runbook directory that declares its phases; not a step file. */
export const PHASES_FILE = 'phases.yaml';

/** A phase as runs and fronts see it: the declared ones, then their resets (reverse order). */
export interface RunbookPhase {
  id: string;
  label: { en: string; de: string };
  readOnly: boolean;
  /** The reset phase of this install phase, when the runbook has one. */
  reset?: string;
  /** For a reset phase: the install phase whose work it removes. */
  resetOf?: string;
  /** Earlier phases this one builds on. */
  needs: string[];
  /** Run only when named (the OS install, which needs run inputs); absent: false. */
  onRequest?: boolean;
}

/**
 * The phases of a layered runbook: the last directory with a `phases.yaml` declares them
 * (a customer runbook that adds a phase copies the list and adds its own). Problems are
 * returned, each with its file and line; `loadPhases` throws them.
 */
export function readPhases(dirs: readonly string[]): {
  phases: RunbookPhase[];
  file?: string;
  problems: RunbookProblem[];
} {
  const problems: RunbookProblem[] = [];
  let text: string | undefined;
  let file: string | undefined;
  for (const dir of [...dirs].reverse()) {
    const candidate = join(dir, PHASES_FILE);
    try {
      // Regular files only: a FIFO or device named phases.yaml must not hang the CLI.
      text = readRegularFileSync(candidate, { what: 'runbook phases file' });
      file = candidate;
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        const message = isUstartError(e) ? e.message : `cannot be read (${code ?? String(e)})`;
        problems.push({ file: candidate, message });
        return { phases: [], problems };
      }
    }
  }
  if (text === undefined || file === undefined) {
    problems.push({
      file: join(dirs.at(-1) ?? '.', PHASES_FILE),
      message: `no runbook directory has ${PHASES_FILE}; declare the phases there (docs/runbook-format.md, "Phases")`,
    });
    return { phases: [], problems };
  }
  const parsed = parseYamlFile(text, file, PhasesFile, problems);
  if (!parsed) return { phases: [], file, problems };
  const { at } = parsed;
  const declared = parsed.value.phases;
  const seen: string[] = [];
  declared.forEach((p, i) => {
    if (seen.includes(p.id)) {
      problems.push({ ...at(['phases', i, 'id']), message: `phase "${p.id}" is declared twice` });
    }
    p.needs.forEach((need, j) => {
      if (!seen.includes(need)) {
        const later = declared.some((d) => d.id === need);
        problems.push({
          ...at(['phases', i, 'needs', j]),
          message: later
            ? `phase "${p.id}" needs "${need}", which comes after it; list the phases in the order they run`
            : `phase "${p.id}" needs "${need}", which is not declared${hint(need, seen)}`,
        });
      }
    });
    seen.push(p.id);
  });
  const installs: RunbookPhase[] = declared.map((p) => ({
    id: p.id,
    label: p.label,
    readOnly: p.readOnly,
    ...(p.reset ? { reset: `${RESET_PREFIX}${p.id}` } : {}),
    needs: p.needs,
    ...(p.onRequest ? { onRequest: true } : {}),
  }));
  const resets: RunbookPhase[] = installs
    .filter((p) => p.reset !== undefined)
    .reverse()
    .map((p) => ({ id: p.reset!, label: p.label, readOnly: false, resetOf: p.id, needs: [] }));
  return { phases: [...installs, ...resets], file, problems };
}

/** The phases of a layered runbook (readPhases), or a RunbookInvalid error naming the file. */
export function loadPhases(dirs: readonly string[] = [assetPath('runbook')]): RunbookPhase[] {
  const { phases, problems } = readPhases(dirs);
  if (problems.length > 0) {
    const lines = problems.map(
      (p) =>
        `  ${p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`}: ${p.message}`,
    );
    throw new UstartError(
      'RunbookInvalid',
      `the runbook's phases have ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${lines.join('\n')}`,
      { detail: { problems } },
    );
  }
  return phases;
}

/**
 * The phases a run does when it names none: every install phase that changes something,
 * but those run only on request (the OS install).
 */
export function installPhases(phases: readonly RunbookPhase[]): string[] {
  return phases
    .filter((p) => !p.readOnly && p.resetOf === undefined && !p.onRequest)
    .map((p) => p.id);
}

/**
 * Phase names a caller gave, checked against the runbook's and put in run order, each once;
 * an unknown name is an InvalidArgument error with the caller's `message` (which gets the
 * name and the list of phases).
 */
export function checkPhaseNames(
  phases: readonly RunbookPhase[],
  names: readonly string[],
  message: (name: string, ids: string) => string,
): string[] {
  const ids = phases.map((p) => p.id);
  const unknown = names.find((name) => !ids.includes(name));
  if (unknown !== undefined) {
    throw new UstartError('InvalidArgument', message(unknown, ids.join(', ')));
  }
  return ids.filter((id) => names.includes(id));
}

function hint(word: string, candidates: readonly string[]): string {
  const guess = closest(word, candidates);
  return guess ? `; did you mean "${guess}"?` : '';
}

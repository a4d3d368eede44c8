/**
 * How long the rest of a run will take, from step history: how long each step took in the
 * plan's earlier runs (the run journals, `run:list`), laid over the step graph. Steps start
 * when the steps they wait for are done, so what is left is the longest chain of unfinished
 * steps, not the number of host-steps left times an average. (Early steps such as the
 * connect checks take seconds and the cluster steps minutes: an average of the first steps
 * said "about 10 s left" for a 71 s run.)
 */
import type { RunInfo } from '../../../src/api';
import type { RunView } from '../state/run-store';

/** How long each step took in earlier runs, newest run first (ms, from the first host's start to the last host's end). */
export interface StepHistory {
  durations: ReadonlyMap<string, readonly number[]>;
}

export interface Estimate {
  /** What is left, in ms; 0 when every unfinished step already took longer than before. */
  remainingMs: number;
  /** Earlier runs the figure comes from. */
  runs: number;
  /** Unfinished steps no earlier run finished: counted as taking no time, so the figure is low. */
  unknownSteps: number;
  /** A running step has taken longer than it did before. */
  overdue: boolean;
}

const DONE = new Set(['succeeded', 'failed', 'skipped', 'cancelled', 'unknown', 'connection-lost']);

/**
 * Every step that succeeded on all its hosts in an earlier run, with its wall time in that
 * run. `except` leaves out the run being estimated.
 */
export function stepHistory(
  runs: readonly RunInfo[],
  except?: string,
): StepHistory & { runs: number } {
  const durations = new Map<string, number[]>();
  let used = 0;
  for (const run of runs) {
    if (run.runId === except) continue;
    let any = false;
    for (const step of run.steps) {
      const times = step.hosts.map((h) => step.hostStates[h]);
      if (times.length === 0) continue;
      let start = Infinity;
      let end = -Infinity;
      let complete = true;
      for (const t of times) {
        if (t?.state !== 'succeeded' || t.startedAt === undefined || t.finishedAt === undefined) {
          complete = false;
          break;
        }
        start = Math.min(start, t.startedAt);
        end = Math.max(end, t.finishedAt);
      }
      if (!complete || end < start) continue;
      const list = durations.get(step.id) ?? [];
      list.push(end - start);
      durations.set(step.id, list);
      any = true;
    }
    if (any) used++;
  }
  return { durations, runs: used };
}

/** The typical duration: the median, so one slow run (a retry, a mirror hiccup) does not rule. */
function typical(list: readonly number[] | undefined): number | undefined {
  if (!list?.length) return undefined;
  const sorted = [...list].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * What is left of `view` at `now`, or undefined when nothing is left or no unfinished step
 * has any history (then there is nothing honest to say). A step not started yet takes its
 * typical time once the steps it waits for are done; a running step what is left of it.
 */
export function estimateRemaining(
  view: RunView,
  history: StepHistory & { runs: number },
  now: number,
): Estimate | undefined {
  const byId = new Map(view.steps.map((s) => [s.id, s]));
  const ends = new Map<string, number>();
  let unknownSteps = 0;
  let knownSteps = 0;
  let overdue = false;
  const visiting = new Set<string>();
  /** When the step is expected to end, relative to now (0 for a finished step). */
  const endOf = (id: string): number => {
    const cached = ends.get(id);
    if (cached !== undefined) return cached;
    const step = byId.get(id);
    // A step outside this run (another phase's) or a cycle: nothing to wait for.
    if (!step || visiting.has(id)) return 0;
    visiting.add(id);
    const hosts = step.hosts.map((h) => view.hosts[`${id}\u0000${h}`]);
    const finished =
      DONE.has(step.state) ||
      (hosts.length > 0 && hosts.every((h) => h !== undefined && DONE.has(h.state)));
    let end = 0;
    if (!finished) {
      const wait = Math.max(0, ...step.after.map(endOf));
      const took = typical(history.durations.get(id));
      if (took === undefined) unknownSteps++;
      else knownSteps++;
      const starts = hosts.flatMap((h) =>
        h?.startedAt !== undefined && h.state !== 'pending' ? [h.startedAt] : [],
      );
      const left =
        took !== undefined && starts.length > 0 ? Math.min(...starts) + took - now : undefined;
      if (left !== undefined && left < 0) overdue = true;
      const own = took === undefined ? 0 : left !== undefined ? Math.max(0, left) : took;
      end = wait + own;
    }
    visiting.delete(id);
    ends.set(id, end);
    return end;
  };
  const remainingMs = Math.max(0, ...view.steps.map((s) => endOf(s.id)));
  if (knownSteps === 0) return undefined;
  return { remainingMs, runs: history.runs, unknownSteps, overdue };
}

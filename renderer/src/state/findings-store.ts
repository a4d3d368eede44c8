/**
 * Validation findings of the plan being edited. The core validates (the renderer may not
 * import the rules); requests go out debounced after the last edit, and an answer to an
 * older plan than the newest request is dropped, so typing is never held up.
 */
import { create } from 'zustand';
import type { ApiClient, FindingView, Plan } from '../../../src/api';
import { usePlanStore } from './plan-store';

/** Quiet time after the last edit before validating. */
export const VALIDATE_DEBOUNCE_MS = 100;

interface FindingsState {
  findings: FindingView[];
  counts: { error: number; warning: number; info: number };
  /** True while an edit has not been validated yet. */
  pending: boolean;
  /** Bumped on every answer applied; the benchmark waits on it. */
  generation: number;
}

export const useFindingsStore = create<FindingsState>(() => ({
  findings: [],
  counts: { error: 0, warning: 0, info: 0 },
  pending: false,
  generation: 0,
}));

type Answer = Pick<FindingsState, 'findings' | 'counts'>;

/**
 * Findings of plans already validated, by plan object. Undo and redo bring back the very
 * objects validated before, so their findings are known at once; the plans a history holds
 * keep their entries alive, dropped plans let them go. This also covers the plan a file was
 * opened with: its findings came with `plan:open`. (Before, that plan alone was remembered
 * as "needs no validation", so undoing back to it kept the findings of the undone edit.)
 */
const known = new WeakMap<Plan, Answer>();

function show({ findings, counts }: Answer): void {
  useFindingsStore.setState((s) => ({
    findings,
    counts,
    pending: false,
    generation: s.generation + 1,
  }));
}

/** Shows findings the core already computed for `plan` (opening a file validates it). */
export function seedFindings(plan: Plan, value: Answer): void {
  known.set(plan, { findings: value.findings, counts: value.counts });
  show(value);
}

/** Validates the plan whenever it changes; returns the function that stops it. */
export function startValidation(api: ApiClient): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latest = 0;
  const run = async (plan: Plan) => {
    const ticket = ++latest;
    const result = await api.planValidate({ plan });
    if (result.ok) known.set(plan, result.value);
    if (ticket !== latest) return;
    if (result.ok) show(result.value);
    else useFindingsStore.setState({ pending: false });
  };
  const unsubscribe = usePlanStore.subscribe((state, previous) => {
    const plan = state.history?.present;
    if (!plan || plan === previous.history?.present) return;
    clearTimeout(timer);
    const answer = known.get(plan);
    if (answer) {
      // An answer still on its way is for another plan now: drop it.
      latest++;
      show(answer);
      return;
    }
    useFindingsStore.setState({ pending: true });
    timer = setTimeout(() => void run(plan), VALIDATE_DEBOUNCE_MS);
  });
  return () => {
    clearTimeout(timer);
    unsubscribe();
  };
}

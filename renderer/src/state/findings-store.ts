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

/** The plan whose findings came with it (from `plan:open`), so it needs no validation. */
let seededFor: Plan | undefined;

/** Shows findings the core already computed for `plan` (opening a file validates it). */
export function seedFindings(plan: Plan, value: Pick<FindingsState, 'findings' | 'counts'>): void {
  seededFor = plan;
  useFindingsStore.setState((s) => ({ ...value, pending: false, generation: s.generation + 1 }));
}

/** Validates the plan whenever it changes; returns the function that stops it. */
export function startValidation(api: ApiClient): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latest = 0;
  const run = async (plan: Plan) => {
    const ticket = ++latest;
    const result = await api.planValidate({ plan });
    if (ticket !== latest) return;
    if (result.ok) {
      useFindingsStore.setState((s) => ({
        findings: result.value.findings,
        counts: result.value.counts,
        pending: false,
        generation: s.generation + 1,
      }));
    } else {
      useFindingsStore.setState({ pending: false });
    }
  };
  const unsubscribe = usePlanStore.subscribe((state, previous) => {
    const plan = state.history?.present;
    if (!plan || plan === previous.history?.present || plan === seededFor) return;
    useFindingsStore.setState({ pending: true });
    clearTimeout(timer);
    timer = setTimeout(() => void run(plan), VALIDATE_DEBOUNCE_MS);
  });
  return () => {
    clearTimeout(timer);
    unsubscribe();
  };
}

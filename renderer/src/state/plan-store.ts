/**
 * The plan being edited, its file, and its undo history. Every change goes through `edit`,
 * so every change can be undone and marks the plan unsaved.
 */
import { produce, type Draft } from 'immer';
import { create } from 'zustand';
import type { Plan } from '../../../src/api';
import { record, redo, startHistory, undo, type History } from './history';

interface PlanState {
  history: History<Plan> | undefined;
  /** The file the plan was opened from or saved to; null for a new plan. */
  file: string | null;
  /** The plan as last saved or opened, to tell whether there are unsaved changes. */
  saved: Plan | undefined;
  load(plan: Plan, file: string | null): void;
  /**
   * Changes the plan. `key` names the field for merging keystrokes into one undo step;
   * leave it out for one-off edits (a drag, a bulk change).
   */
  edit(recipe: (draft: Draft<Plan>) => void, key?: string): void;
  replace(plan: Plan): void;
  undo(): void;
  redo(): void;
  markSaved(file: string): void;
}

export const usePlanStore = create<PlanState>((set, get) => ({
  history: undefined,
  file: null,
  saved: undefined,
  load: (plan, file) => set({ history: startHistory(plan), file, saved: file ? plan : undefined }),
  edit(recipe, key) {
    const h = get().history;
    if (!h) return;
    set({ history: record(h, produce(h.present, recipe), key, Date.now()) });
  },
  replace(plan) {
    const h = get().history;
    if (h) set({ history: record(h, plan, undefined, Date.now()) });
  },
  undo: () => set((s) => (s.history ? { history: undo(s.history) } : {})),
  redo: () => set((s) => (s.history ? { history: redo(s.history) } : {})),
  markSaved: (file) => set((s) => ({ file, saved: s.history?.present })),
}));

export const selectPlan = (s: PlanState) => s.history?.present;
export const selectDirty = (s: PlanState) =>
  s.history !== undefined && s.history.present !== s.saved;
export const selectCanUndo = (s: PlanState) => (s.history?.past.length ?? 0) > 0;
export const selectCanRedo = (s: PlanState) => (s.history?.future.length ?? 0) > 0;

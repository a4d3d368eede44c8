/** What the wizard shows: the step, language, theme, selection, and where to jump. */
import { create } from 'zustand';
import type { Lang } from '../i18n';
// Only the type: the registry imports the steps, which import this store.
import type { StepId } from '../steps/registry';

export type { StepId };

export interface Notice {
  kind: 'info' | 'error';
  text: string;
}

interface UiState {
  step: StepId;
  lang: Lang;
  theme: 'light' | 'dark';
  /** Selected servers, by index in `plan.servers`. */
  selected: ReadonlySet<number>;
  /** A finding's JSON pointer the current step should scroll to and focus. */
  focusPath: string | undefined;
  notice: Notice | undefined;
  setStep(step: StepId): void;
  setLang(lang: Lang): void;
  toggleTheme(): void;
  select(indices: Iterable<number>): void;
  jumpTo(step: StepId, path: string): void;
  focusDone(): void;
  notify(notice: Notice | undefined): void;
}

const stored = (key: string) => {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
};
const keep = (key: string, value: string) => {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage may be off (private windows); the choice then lasts for this page.
  }
};

export const useUiStore = create<UiState>((set) => ({
  // A new page opens on the first step (WIZARD_STEPS[0]; typed, as the store loads first).
  step: 'site',
  lang: stored('ustart.lang') === 'de' ? 'de' : 'en',
  theme: stored('ustart.theme') === 'dark' ? 'dark' : 'light',
  selected: new Set(),
  focusPath: undefined,
  notice: undefined,
  setStep: (step) => set({ step }),
  setLang: (lang) => {
    keep('ustart.lang', lang);
    set({ lang });
  },
  toggleTheme: () =>
    set((s) => {
      const theme = s.theme === 'light' ? 'dark' : 'light';
      keep('ustart.theme', theme);
      return { theme };
    }),
  select: (indices) => set({ selected: new Set(indices) }),
  jumpTo: (step, path) => set({ step, focusPath: path }),
  focusDone: () => set({ focusPath: undefined }),
  notify: (notice) => set({ notice }),
}));

/** The Terminals tab: open shells (on hosts or, in Electron, on this computer) and which is shown. */
import { create } from 'zustand';

export interface TerminalTab {
  shellId: string;
  /** A planned host name, or undefined for a terminal on this computer. */
  host: string | undefined;
  title: string;
  exited?: { code: number | null; signal: string | null; message?: string };
}

interface TerminalState {
  tabs: TerminalTab[];
  active: string | undefined;
  add(tab: TerminalTab): void;
  exited(shellId: string, exit: NonNullable<TerminalTab['exited']>): void;
  remove(shellId: string): void;
  activate(shellId: string): void;
}

export const useTerminalStore = create<TerminalState>((set) => ({
  tabs: [],
  active: undefined,
  add: (tab) => set((s) => ({ tabs: [...s.tabs, tab], active: tab.shellId })),
  exited: (shellId, exit) =>
    set((s) => ({ tabs: s.tabs.map((t) => (t.shellId === shellId ? { ...t, exited: exit } : t)) })),
  remove: (shellId) =>
    set((s) => {
      const tabs = s.tabs.filter((t) => t.shellId !== shellId);
      return { tabs, active: s.active === shellId ? tabs.at(-1)?.shellId : s.active };
    }),
  activate: (shellId) => set({ active: shellId }),
}));

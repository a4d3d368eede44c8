/** Which page of the install side is shown, beside the wizard's steps (ui-store). */
import { create } from 'zustand';

export const PAGES = ['connect', 'install', 'terminals'] as const;
export type HostPage = (typeof PAGES)[number];

interface HostPagesState {
  /** Undefined: the wizard's current step is shown. */
  page: HostPage | undefined;
  open(page: HostPage | undefined): void;
}

export const useHostPagesStore = create<HostPagesState>((set) => ({
  page: undefined,
  open: (page) => set({ page }),
}));

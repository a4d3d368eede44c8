/** Which page of the install side is shown, beside the wizard's steps (ui-store). */
import { create } from 'zustand';

export const PAGES = ['connect', 'install', 'terminals'] as const;
export type OperatePage = (typeof PAGES)[number];

interface OperateState {
  /** Undefined: the wizard's current step is shown. */
  page: OperatePage | undefined;
  open(page: OperatePage | undefined): void;
}

export const useOperateStore = create<OperateState>((set) => ({
  page: undefined,
  open: (page) => set({ page }),
}));

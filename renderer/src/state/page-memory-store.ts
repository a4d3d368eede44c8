/**
 * What Connect and Install show after work the user did, kept while the user goes to
 * another page and back (the pages' components unmount on the way): Connect's host checks
 * and gathered facts with the network matrix, Install's chosen phases and step-by-step.
 * Kept per plan file: another plan starts fresh.
 */
import { create } from 'zustand';
import type { ConnectReport, HostCheck } from '../../../src/api';

export interface ConnectMemory {
  hosts: HostCheck[] | undefined;
  report: ConnectReport | undefined;
}

export interface InstallChoice {
  phases: string[];
  stepByStep: boolean;
}

const NO_CONNECT: ConnectMemory = { hosts: undefined, report: undefined };
export const DEFAULT_INSTALL: InstallChoice = { phases: ['umetal'], stepByStep: false };

interface PageMemoryState {
  planFile: string | undefined;
  connect: ConnectMemory;
  install: InstallChoice;
  /** `change` may be a function of what is kept now (a host re-checked after its key). */
  setConnect(
    planFile: string,
    change: Partial<ConnectMemory> | ((cur: ConnectMemory) => Partial<ConnectMemory>),
  ): void;
  setInstall(planFile: string, change: Partial<InstallChoice>): void;
}

export const usePageMemory = create<PageMemoryState>((set) => {
  /** The memory of `planFile`: what is kept when it is the same plan, else a fresh start. */
  const own = (s: PageMemoryState, planFile: string) =>
    s.planFile === planFile ? s : { planFile, connect: NO_CONNECT, install: DEFAULT_INSTALL };
  return {
    planFile: undefined,
    connect: NO_CONNECT,
    install: DEFAULT_INSTALL,
    setConnect: (planFile, change) =>
      set((s) => {
        const m = own(s, planFile);
        const c = typeof change === 'function' ? change(m.connect) : change;
        return { planFile, install: m.install, connect: { ...m.connect, ...c } };
      }),
    setInstall: (planFile, change) =>
      set((s) => {
        const m = own(s, planFile);
        return { planFile, connect: m.connect, install: { ...m.install, ...change } };
      }),
  };
});

/** Connect's memory for `planFile` (empty for another plan). */
export const selectConnect = (planFile: string | null) => (s: PageMemoryState) =>
  planFile !== null && s.planFile === planFile ? s.connect : NO_CONNECT;

/** Install's choice for `planFile` (the defaults for another plan). */
export const selectInstall = (planFile: string | null) => (s: PageMemoryState) =>
  planFile !== null && s.planFile === planFile ? s.install : DEFAULT_INSTALL;

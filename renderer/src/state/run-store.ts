/**
 * The Install page's state: the run being watched (steps, host states, pause, progress) and
 * the run history. It holds status and metadata only; log text goes to the log rings and
 * xterm (install/log-hub.ts), never through the store (STYLE.md, "Streams of output").
 */
import { create } from 'zustand';
import type { HostStateName, RunEventView, RunInfo, RunStateName } from '../../../src/api';

export interface StepView {
  id: string;
  title: string;
  phase: string;
  hosts: string[];
  after: string[];
  state: HostStateName;
  reason?: string;
}

export interface HostStepView {
  state: HostStateName;
  attempt: number;
  exitCode?: number;
  message?: string;
  startedAt?: number;
  finishedAt?: number;
}

export interface RunView {
  runId: string;
  state: RunStateName;
  startedAt: number;
  finishedAt?: number;
  steps: StepView[];
  /** Keyed `step\u0000host`. */
  hosts: Record<string, HostStepView>;
  paused?: { stepId: string; reason: 'before-step' | 'step-failed' };
  /** The last event's sequence number seen, and how many went missing between events. */
  lastSeq: number;
  gaps: number;
  warnings: string[];
  /** A run against the demo lab (src/demo), not real servers. */
  demo?: boolean;
}

export const hostKey = (stepId: string, host: string) => `${stepId}\u0000${host}`;

/** A run as `run:get`/`run:list` describe it. */
export function viewOfInfo(info: RunInfo): RunView {
  const hosts: Record<string, HostStepView> = {};
  for (const s of info.steps) {
    for (const h of s.hosts) {
      const v = s.hostStates[h];
      hosts[hostKey(s.id, h)] = v ? { ...v } : { state: 'pending', attempt: 0 };
    }
  }
  return {
    runId: info.runId,
    state: info.state,
    startedAt: info.startedAt,
    ...(info.finishedAt !== undefined ? { finishedAt: info.finishedAt } : {}),
    steps: info.steps.map((s) => ({
      id: s.id,
      title: s.title,
      phase: s.phase,
      hosts: s.hosts,
      after: s.after,
      state: s.state,
      ...(s.reason ? { reason: s.reason } : {}),
    })),
    hosts,
    ...(info.paused ? { paused: info.paused } : {}),
    lastSeq: 0,
    gaps: 0,
    warnings: [],
    ...(info.demo ? { demo: true } : {}),
  };
}

/**
 * Applies engine events in order (pure: returns a new view). Replayed events older than
 * what the view already saw are ignored, a jump in `seq` is counted as a gap.
 */
export function applyEvents(view: RunView, events: readonly RunEventView[]): RunView {
  let v: RunView = view;
  let copied = false;
  const own = () => {
    if (!copied) {
      v = { ...v, steps: [...v.steps], hosts: { ...v.hosts }, warnings: [...v.warnings] };
      copied = true;
    }
    return v;
  };
  const step = (id: string, change: Partial<StepView>) => {
    const w = own();
    const i = w.steps.findIndex((s) => s.id === id);
    if (i >= 0) w.steps[i] = { ...w.steps[i]!, ...change };
  };
  const host = (id: string, h: string, change: Partial<HostStepView>) => {
    const w = own();
    const k = hostKey(id, h);
    w.hosts[k] = { ...(w.hosts[k] ?? { state: 'pending', attempt: 0 }), ...change };
  };
  for (const e of events) {
    if (e.seq <= v.lastSeq) continue;
    const w = own();
    if (w.lastSeq > 0 && e.seq !== w.lastSeq + 1) w.gaps += e.seq - w.lastSeq - 1;
    w.lastSeq = e.seq;
    switch (e.type) {
      case 'run-started': {
        const known = new Map(w.steps.map((s) => [s.id, s]));
        w.steps = e.steps.map((s) => ({
          ...s,
          state: known.get(s.id)?.state ?? 'pending',
        }));
        for (const s of e.steps)
          for (const h of s.hosts) w.hosts[hostKey(s.id, h)] ??= { state: 'pending', attempt: 0 };
        w.state = 'running';
        if (e.demo) w.demo = true;
        delete w.finishedAt;
        break;
      }
      case 'step-started':
        step(e.stepId, { state: 'running' });
        break;
      case 'host-step-started':
        host(e.stepId, e.host, {
          state: 'running',
          attempt: e.attempt,
          startedAt: e.time,
          exitCode: undefined,
          message: undefined,
        });
        if (w.paused?.stepId === e.stepId) delete w.paused;
        break;
      case 'host-step-finished':
        host(e.stepId, e.host, {
          state: e.state,
          attempt: e.attempt,
          finishedAt: e.time,
          ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
          ...(e.message ? { message: e.message } : {}),
        });
        break;
      case 'step-finished':
        step(e.stepId, { state: e.state });
        break;
      case 'step-skipped':
        step(e.stepId, { state: 'skipped', reason: e.reason });
        break;
      case 'run-paused':
        w.paused = { stepId: e.stepId, reason: e.reason };
        break;
      case 'decision-taken':
        delete w.paused;
        break;
      case 'warning':
        w.warnings.push(e.host ? `${e.host}: ${e.message}` : e.message);
        break;
      case 'run-finished':
        w.state = e.state;
        w.finishedAt = e.time;
        delete w.paused;
        break;
      case 'log':
      case 'host-step-retrying':
      case 'timeout-warning':
        break;
      default:
        throw new Error(`unknown run event ${JSON.stringify(e satisfies never)}`);
    }
  }
  return v;
}

/** Done and total host-steps, elapsed time and a naive estimate of what is left. */
export function progressOf(
  view: RunView,
  now: number,
): { done: number; total: number; elapsedMs: number } {
  const all = Object.values(view.hosts);
  const done = all.filter((h) => h.state !== 'pending' && h.state !== 'running').length;
  const end = view.finishedAt ?? now;
  const elapsedMs = Math.max(0, end - view.startedAt);
  return { done, total: all.length, elapsedMs };
}

interface RunStoreState {
  /** The run shown, or undefined before one is chosen. */
  view: RunView | undefined;
  history: RunInfo[];
  /** The step and host whose log is shown. */
  selected: { stepId: string; host: string } | undefined;
  show(view: RunView | undefined): void;
  apply(events: readonly RunEventView[]): void;
  setHistory(runs: RunInfo[]): void;
  select(stepId: string, host: string): void;
}

export const useRunStore = create<RunStoreState>((set) => ({
  view: undefined,
  history: [],
  selected: undefined,
  show: (view) => set({ view }),
  apply: (events) =>
    set((s) => {
      if (!s.view) return {};
      const next = applyEvents(s.view, events);
      return next === s.view ? {} : { view: next };
    }),
  setHistory: (history) => set({ history }),
  select: (stepId, host) => set({ selected: { stepId, host } }),
}));

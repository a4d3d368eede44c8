import { describe, expect, it } from 'vitest';
import type { RunEventView, RunInfo } from '../../../src/api';
import { applyEvents, hostKey, progressOf, useRunStore, viewOfInfo } from './run-store';

const counts = {
  pending: 0,
  running: 0,
  succeeded: 0,
  failed: 0,
  skipped: 0,
  cancelled: 0,
  'connection-lost': 0,
  unknown: 0,
};

function info(): RunInfo {
  return {
    runId: 'r1',
    state: 'running',
    startedAt: 1000,
    demo: false,
    counts,
    active: true,
    steps: [
      {
        id: 'a',
        title: 'A',
        phase: 'umetal',
        hosts: ['h1', 'h2'],
        after: [],
        state: 'pending',
        hostStates: {},
      },
      {
        id: 'b',
        title: 'B',
        phase: 'umetal',
        hosts: ['h1'],
        after: ['a'],
        state: 'pending',
        hostStates: {},
      },
    ],
  };
}

let seq = 0;
const base = () => ({ runId: 'r1', seq: ++seq, time: 1000 + seq * 100 });

describe('run store', () => {
  it('follows a run from its journal state through events to its end', () => {
    seq = 0;
    let v = viewOfInfo(info());
    expect(v.hosts[hostKey('a', 'h2')]).toEqual({ state: 'pending', attempt: 0 });
    const events: RunEventView[] = [
      { ...base(), type: 'step-started', stepId: 'a', hosts: ['h1', 'h2'] },
      { ...base(), type: 'host-step-started', stepId: 'a', host: 'h1', attempt: 1 },
      { ...base(), type: 'host-step-started', stepId: 'a', host: 'h2', attempt: 1 },
      { ...base(), type: 'log', stepId: 'a', host: 'h1', stream: 'stdout', data: 'x\n', offset: 0 },
      {
        ...base(),
        type: 'host-step-finished',
        stepId: 'a',
        host: 'h1',
        state: 'succeeded',
        attempt: 1,
        exitCode: 0,
      },
      {
        ...base(),
        type: 'host-step-finished',
        stepId: 'a',
        host: 'h2',
        state: 'failed',
        attempt: 1,
        exitCode: 2,
        message: 'run exited with code 2',
      },
      { ...base(), type: 'run-paused', stepId: 'a', reason: 'step-failed' },
    ];
    v = applyEvents(v, events);
    expect(v.paused).toEqual({ stepId: 'a', reason: 'step-failed' });
    expect(v.hosts[hostKey('a', 'h2')]).toMatchObject({
      state: 'failed',
      exitCode: 2,
      message: 'run exited with code 2',
    });
    expect(progressOf(v, 2000)).toMatchObject({
      done: 2,
      total: 3,
      elapsedMs: 1000,
    });

    v = applyEvents(v, [
      {
        ...base(),
        type: 'decision-taken',
        stepId: 'a',
        decision: { kind: 'retry', hosts: ['h2'] },
      },
      { ...base(), type: 'host-step-started', stepId: 'a', host: 'h2', attempt: 2 },
    ]);
    expect(v.paused).toBeUndefined();
    expect(v.hosts[hostKey('a', 'h2')]).toMatchObject({ state: 'running', attempt: 2 });
    expect(v.hosts[hostKey('a', 'h2')]!.exitCode).toBeUndefined();

    v = applyEvents(v, [
      {
        ...base(),
        type: 'host-step-finished',
        stepId: 'a',
        host: 'h2',
        state: 'succeeded',
        attempt: 2,
        exitCode: 0,
      },
      { ...base(), type: 'step-finished', stepId: 'a', state: 'succeeded', counts },
      { ...base(), type: 'step-skipped', stepId: 'b', reason: 'done by hand' },
      { ...base(), type: 'step-finished', stepId: 'b', state: 'skipped', counts },
      { ...base(), type: 'run-finished', state: 'succeeded', counts },
    ]);
    expect(v.steps.map((s) => [s.id, s.state, s.reason])).toEqual([
      ['a', 'succeeded', undefined],
      ['b', 'skipped', 'done by hand'],
    ]);
    expect(v.state).toBe('succeeded');
    expect(v.gaps).toBe(0);
    expect(v.lastSeq).toBe(seq);
  });

  it('ignores replayed events it already applied and counts missing ones as gaps', () => {
    seq = 0;
    const v = applyEvents(viewOfInfo(info()), [
      { ...base(), type: 'step-started', stepId: 'a', hosts: ['h1'] },
      { ...base(), type: 'host-step-started', stepId: 'a', host: 'h1', attempt: 1 },
    ]);
    const replay = applyEvents(v, [
      { runId: 'r1', seq: 1, time: 0, type: 'step-started', stepId: 'a', hosts: ['h1'] },
    ]);
    expect(replay).toBe(v);
    const jumped = applyEvents(v, [
      {
        runId: 'r1',
        seq: 6,
        time: 0,
        type: 'host-step-finished',
        stepId: 'a',
        host: 'h1',
        state: 'succeeded',
        attempt: 1,
      },
    ]);
    expect(jumped.gaps).toBe(3);
    expect(jumped.hosts[hostKey('a', 'h1')]!.state).toBe('succeeded');
    // The input view is never changed.
    expect(v.hosts[hostKey('a', 'h1')]!.state).toBe('running');
  });

  it('applies batches through the zustand store only when a run is shown', () => {
    seq = 0;
    useRunStore.getState().show(undefined);
    useRunStore.getState().apply([{ ...base(), type: 'step-started', stepId: 'a', hosts: [] }]);
    expect(useRunStore.getState().view).toBeUndefined();
    useRunStore.getState().show(viewOfInfo(info()));
    useRunStore.getState().apply([{ ...base(), type: 'step-started', stepId: 'a', hosts: ['h1'] }]);
    expect(useRunStore.getState().view!.steps[0]!.state).toBe('running');
  });
});

/**
 * The Install page's time estimate from step history: durations recorded in a real run
 * journal, read back through the core's `run:list` as the page reads them, and laid over
 * the step graph of the next run.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unwrap, type RunInfo } from '../../../src/api/index.js';
import { createCore, type Core } from '../../../src/app/index.js';
import { estimateRemaining, stepHistory } from '../../../renderer/src/install/estimate.js';
import {
  hostKey,
  progressOf,
  viewOfInfo,
  type RunView,
} from '../../../renderer/src/state/run-store.js';

const RECORDED = join(import.meta.dirname, '../../fixtures/run-journal-connect.jsonl');
const RECORDED_ID = '20261203-161755-5aee55';

let dir: string;
let core: Core;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-estimate-'));
  core = createCore({ mode: 'test', stateDir: join(dir, '.state'), root: dir });
});

afterEach(async () => {
  await core?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh run of `steps`, as the page holds it, with some host-steps already done. */
function nextRun(
  steps: Array<{ id: string; hosts: string[]; after: string[] }>,
  startedAt: number,
  done: Record<string, { startedAt: number; finishedAt?: number }>,
): RunView {
  const hosts: RunView['hosts'] = {};
  for (const s of steps)
    for (const h of s.hosts) {
      const d = done[hostKey(s.id, h)];
      hosts[hostKey(s.id, h)] = d
        ? { state: d.finishedAt === undefined ? 'running' : 'succeeded', attempt: 1, ...d }
        : { state: 'pending', attempt: 0 };
    }
  return {
    runId: 'next',
    state: 'running',
    startedAt,
    steps: steps.map((s) => ({
      ...s,
      title: s.id,
      phase: 'umetal',
      state: s.hosts.every((h) => hosts[hostKey(s.id, h)]!.finishedAt !== undefined)
        ? 'succeeded'
        : s.hosts.some((h) => hosts[hostKey(s.id, h)]!.startedAt !== undefined)
          ? 'running'
          : 'pending',
    })),
    hosts,
    lastSeq: 0,
    gaps: 0,
    warnings: [],
  };
}

describe('time estimate from step history', () => {
  it('reads step durations from a recorded journal through run:list and estimates the next run', async () => {
    await writeFile(join(dir, 'site.yaml'), 'placeholder: the journal only names it\n');
    const runDir = join(dir, '.ustart', 'runs', RECORDED_ID);
    await mkdir(runDir, { recursive: true });
    await copyFile(RECORDED, join(runDir, 'journal.jsonl'));

    const runs = unwrap(await core.client.runList({ planFile: 'site.yaml' })).runs;
    expect(runs).toHaveLength(1);
    const facts = runs[0]!.steps.find((s) => s.id === 'connect.facts')!;
    // The journal's times, as recorded: ctl-01 ran 4,608 ms.
    expect(facts.hostStates['ctl-01']).toMatchObject({ state: 'succeeded' });
    const f1 = facts.hostStates['ctl-01']!;
    expect(f1.finishedAt! - f1.startedAt!).toBe(4608);

    const history = stepHistory(runs);
    expect(history.runs).toBe(1);
    // Wall time of a step: first host's start to last host's end.
    expect(history.durations.get('connect.facts')).toEqual([4608]);
    expect(history.durations.get('connect.netcheck')).toEqual([6968]);

    // The next run, right after its facts step finished (4.6 s in): the network check
    // is left, which took 7 s. The old estimate (time per host-step so far times those
    // left) says 4.6 s.
    const hosts = ['ctl-01', 'ctl-02', 'ctl-03'];
    const t0 = 1_000_000;
    const view = nextRun(
      [
        { id: 'connect.facts', hosts, after: [] },
        { id: 'connect.netcheck', hosts, after: ['connect.facts'] },
      ],
      t0,
      Object.fromEntries(
        hosts.map((h) => [hostKey('connect.facts', h), { startedAt: t0, finishedAt: t0 + 4600 }]),
      ),
    );
    const now = t0 + 4600;
    // (Time per finished host-step would say 4.6 s: the first step was the quick one.)
    expect(estimateRemaining(view, history, now)).toEqual({
      remainingMs: 6968,
      runs: 1,
      unknownSteps: 0,
      overdue: false,
    });

    // The same run as the page saw it before starting (planned): the whole of it.
    const planned = viewOfInfo({
      ...runs[0]!,
      runId: '',
      steps: runs[0]!.steps.map((s) => ({ ...s, state: 'pending', hostStates: {} })),
    });
    expect(estimateRemaining(planned, history, now)?.remainingMs).toBe(4608 + 6968);
  });

  /** Durations of a chain a → b → c → d, 1 + 2 + 60 + 8 = 71 s, as two earlier runs took them. */
  function history71(): RunInfo[] {
    const run = (runId: string, ms: Record<string, number>): RunInfo => {
      let t = 0;
      const order = ['a', 'b', 'c', 'd'];
      return {
        runId,
        state: 'succeeded',
        startedAt: 0,
        finishedAt: 71_000,
        demo: true,
        active: false,
        counts: {
          pending: 0,
          running: 0,
          succeeded: 4,
          failed: 0,
          skipped: 0,
          cancelled: 0,
          'connection-lost': 0,
          unknown: 0,
        },
        steps: order.map((id, i) => {
          const startedAt = t;
          t += ms[id]!;
          return {
            id,
            title: id,
            phase: 'umetal',
            hosts: ['h1'],
            after: i ? [order[i - 1]!] : [],
            state: 'succeeded' as const,
            hostStates: {
              h1: { state: 'succeeded' as const, attempt: 1, startedAt, finishedAt: t },
            },
          };
        }),
      };
    };
    return [
      run('r2', { a: 1000, b: 2000, c: 60_000, d: 8000 }),
      run('r1', { a: 1000, b: 2000, c: 64_000, d: 8000 }),
      run('r0', { a: 1000, b: 2000, c: 56_000, d: 8000 }),
    ];
  }

  const chain = [
    { id: 'a', hosts: ['h1'], after: [] },
    { id: 'b', hosts: ['h1'], after: ['a'] },
    { id: 'c', hosts: ['h1'], after: ['b'] },
    { id: 'd', hosts: ['h1'], after: ['c'] },
  ];

  it('says about 68 s, not 3 s, for a 71 s run after its two quick first steps', () => {
    const history = stepHistory(history71());
    const view = nextRun(chain, 0, {
      [hostKey('a', 'h1')]: { startedAt: 0, finishedAt: 1000 },
      [hostKey('b', 'h1')]: { startedAt: 1000, finishedAt: 3000 },
    });
    // Time per finished host-step would say 3 s: 3 s for 2 host-steps, so 3 s for the 2 left.
    expect(progressOf(view, 3000)).toMatchObject({ done: 2, total: 4 });
    // From history: c's median 60 s, then d's 8 s.
    expect(estimateRemaining(view, history, 3000)).toEqual({
      remainingMs: 68_000,
      runs: 3,
      unknownSteps: 0,
      overdue: false,
    });
  });

  it('counts down a running step, and says nothing is known when no step has history', () => {
    const history = stepHistory(history71());
    const view = nextRun(chain, 0, {
      [hostKey('a', 'h1')]: { startedAt: 0, finishedAt: 1000 },
      [hostKey('b', 'h1')]: { startedAt: 1000, finishedAt: 3000 },
      [hostKey('c', 'h1')]: { startedAt: 3000 },
    });
    // c has run 40 s of its typical 60 s: 20 s of it left, then d.
    expect(estimateRemaining(view, history, 43_000)?.remainingMs).toBe(28_000);
    expect(estimateRemaining(view, history, 43_000)?.overdue).toBe(false);
    // Past its typical time c counts as ending now: d is what is left, and c is overdue.
    expect(estimateRemaining(view, history, 90_000)).toMatchObject({
      remainingMs: 8000,
      overdue: true,
    });

    const unknown = stepHistory([]);
    expect(estimateRemaining(view, unknown, 43_000)).toBeUndefined();
  });

  it('takes the longest chain of parallel steps, and names steps without history', () => {
    const history = stepHistory(history71());
    // b and c both wait for a only; e was never run before.
    const view = nextRun(
      [
        { id: 'a', hosts: ['h1'], after: [] },
        { id: 'b', hosts: ['h1', 'h2'], after: ['a'] },
        { id: 'c', hosts: ['h1'], after: ['a'] },
        { id: 'e', hosts: ['h1'], after: ['b', 'c'] },
      ],
      0,
      { [hostKey('a', 'h1')]: { startedAt: 0, finishedAt: 1000 } },
    );
    expect(estimateRemaining(view, history, 1000)).toEqual({
      remainingMs: 60_000,
      runs: 3,
      unknownSteps: 1,
      overdue: false,
    });
  });

  it('leaves out the run being estimated and steps that did not succeed everywhere', () => {
    const runs = history71();
    runs[1]!.steps[2]!.hostStates.h1 = { state: 'failed', attempt: 1, startedAt: 3000 };
    const history = stepHistory(runs, 'r0');
    expect(history.durations.get('c')).toEqual([60_000]);
    expect(history.runs).toBe(2);
  });
});

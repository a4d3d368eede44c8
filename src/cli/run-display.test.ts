/**
 * The CLI's run views on a fake terminal of a known width: live lines redrawn in place (no
 * stale line left, none wider than the terminal, redraws throttled), one line per step
 * without a terminal, a failed host's log tail with the command for the rest, JSON lines.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeTerminal } from '../../test/support/fake-terminal.js';
import { localRun } from '../../test/support/local-run.js';
import type { RunEvent, StepSpec } from '../engine/index.js';
import { main } from './main.js';
import { bufferOutput } from './output.js';
import { CompactRunView, createRunDisplay, logsCommand } from './run-display.js';

const ESC = '\x1b';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Events as the engine makes them, numbered, at the fake clock's time. */
function events(runId = 'r1') {
  let seq = 0;
  return <T extends RunEvent['type']>(
    type: T,
    fields: Omit<Extract<RunEvent, { type: T }>, 'type' | 'runId' | 'seq' | 'time'>,
  ) => ({ type, runId, seq: seq++, time: Date.now(), ...fields }) as unknown as RunEvent;
}

const HOSTS = ['h1', 'h2', 'h3', 'h4'];
const started = (ev: ReturnType<typeof events>) =>
  ev('run-started', {
    runDir: '/site/.ustart/runs/r1',
    planFile: '/site/plan.yaml',
    resumed: false,
    steps: [
      { id: 'p1.a', title: 'First step of phase one', phase: 'umetal', hosts: HOSTS, after: [] },
      { id: 'p2.b', title: 'A step of phase two', phase: 'ustack', hosts: ['h1'], after: [] },
    ],
  });

describe('the compact view on a terminal', () => {
  it('keeps one live line per running step, cut to the width, and replaces it when the step ends', () => {
    vi.useFakeTimers();
    const term = fakeTerminal(40);
    const view = new CompactRunView(term, { throttleMs: 100 });
    const ev = events();
    view.onEvent(started(ev));
    view.onEvent(ev('step-started', { stepId: 'p1.a', hosts: HOSTS }));
    const wraps = term.wraps();
    for (const host of HOSTS)
      view.onEvent(ev('host-step-started', { stepId: 'p1.a', host, attempt: 1 }));
    vi.advanceTimersByTime(100);
    let live = term.screen().filter((l) => l.includes('▶'));
    expect(live).toHaveLength(1);
    expect(live[0]).toContain('p1.a');
    // 40 columns: the live line is cut at 39, so the terminal never wraps it.
    expect(live[0]!.length).toBeLessThanOrEqual(39);
    expect(live[0]).not.toContain('First step');
    expect(term.wraps()).toBe(wraps);

    view.onEvent(
      ev('host-step-finished', {
        stepId: 'p1.a',
        host: 'h1',
        state: 'succeeded',
        attempt: 1,
        exitCode: 0,
      }),
    );
    view.onEvent(
      ev('host-step-finished', {
        stepId: 'p1.a',
        host: 'h2',
        state: 'succeeded',
        attempt: 1,
        exitCode: 0,
      }),
    );
    vi.advanceTimersByTime(100);
    const wide = fakeTerminal(120);
    const wideView = new CompactRunView(wide, { throttleMs: 0 });
    wideView.onEvent(started(events()));
    wideView.onEvent(ev('step-started', { stepId: 'p1.a', hosts: HOSTS }));
    for (const host of HOSTS)
      wideView.onEvent(ev('host-step-started', { stepId: 'p1.a', host, attempt: 1 }));
    wideView.onEvent(
      ev('host-step-finished', {
        stepId: 'p1.a',
        host: 'h1',
        state: 'succeeded',
        attempt: 1,
        exitCode: 0,
      }),
    );
    wideView.onEvent(
      ev('host-step-finished', {
        stepId: 'p1.a',
        host: 'h2',
        state: 'succeeded',
        attempt: 1,
        exitCode: 0,
      }),
    );
    live = wide.screen().filter((l) => l.includes('▶'));
    expect(live).toHaveLength(1);
    // Half the hosts done: half the bar full; the counts and the title follow.
    expect(live[0]).toMatch(
      /▶ p1\.a +█{10}░{10} {2}2\/4 done, 2 running {2}\d+\.\d s {2}First step of phase one$/,
    );
    wideView.dispose();

    for (const host of ['h3', 'h4']) {
      view.onEvent(
        ev('host-step-finished', {
          stepId: 'p1.a',
          host,
          state: 'succeeded',
          attempt: 1,
          exitCode: 0,
        }),
      );
    }
    view.onEvent(
      ev('step-finished', {
        stepId: 'p1.a',
        state: 'succeeded',
        counts: { succeeded: 4 } as never,
      }),
    );
    view.onEvent(ev('step-started', { stepId: 'p2.b', hosts: ['h1'] }));
    view.onEvent(ev('host-step-started', { stepId: 'p2.b', host: 'h1', attempt: 1 }));
    vi.advanceTimersByTime(100);
    const screen = term.screen();
    // The finished step has its one line; the only live line is the running step's.
    expect(screen.filter((l) => l.includes('p1.a'))).toEqual([
      expect.stringMatching(/✓ p1\.a +4\/4 hosts succeeded/),
    ]);
    expect(screen.filter((l) => l.includes('▶'))).toEqual([expect.stringContaining('p2.b')]);
    expect(screen).toContain('── phase umetal (uMetal): 1 step ──');
    expect(screen).toContain('── phase ustack (uStack): 1 step ──');
    expect(screen.indexOf('── phase ustack (uStack): 1 step ──')).toBeGreaterThan(
      screen.findIndex((l) => l.includes('✓ p1.a')),
    );
    view.dispose();
  });

  it('redraws at most once per throttle interval, and the last state always shows', () => {
    vi.useFakeTimers();
    const term = fakeTerminal(100);
    const view = new CompactRunView(term, { throttleMs: 100 });
    const ev = events();
    view.onEvent(started(ev));
    view.onEvent(ev('step-started', { stepId: 'p1.a', hosts: HOSTS }));
    const before = term.writes.length;
    for (const host of HOSTS)
      view.onEvent(ev('host-step-started', { stepId: 'p1.a', host, attempt: 1 }));
    for (const host of HOSTS.slice(0, 3)) {
      view.onEvent(
        ev('host-step-finished', {
          stepId: 'p1.a',
          host,
          state: 'succeeded',
          attempt: 1,
          exitCode: 0,
        }),
      );
    }
    // Seven changes within the interval: nothing drawn yet, then one redraw.
    expect(term.writes.length).toBe(before);
    vi.advanceTimersByTime(99);
    expect(term.writes.length).toBe(before);
    vi.advanceTimersByTime(1);
    expect(term.writes.length).toBe(before + 1);
    expect(term.screen().filter((l) => l.includes('▶'))).toEqual([
      expect.stringContaining('3/4 done, 1 running'),
    ]);
    // Each redraw moves up over the live lines it drew and clears below.
    expect(term.writes.at(-1)!.startsWith(`${ESC}[1A\r${ESC}[J`)).toBe(true);
    view.dispose();
  });

  it('shows a failed host, the last 20 lines of its log and the command for the rest', () => {
    const term = fakeTerminal(200);
    const view = new CompactRunView(term, { throttleMs: 0 });
    const ev = events();
    view.onEvent(started(ev));
    view.onEvent(ev('step-started', { stepId: 'p1.a', hosts: HOSTS }));
    view.onEvent(ev('host-step-started', { stepId: 'p1.a', host: 'h2', attempt: 1 }));
    view.onEvent(
      ev('log', { stepId: 'p1.a', host: 'h2', stream: 'engine', data: '# uStart: upload /x\n' }),
    );
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n');
    // Split mid-line, as SSH packets are.
    view.onEvent(
      ev('log', { stepId: 'p1.a', host: 'h2', stream: 'stdout', data: lines.slice(0, 50) }),
    );
    view.onEvent(
      ev('log', { stepId: 'p1.a', host: 'h2', stream: 'stderr', data: lines.slice(50) }),
    );
    view.onEvent(
      ev('host-step-finished', {
        stepId: 'p1.a',
        host: 'h2',
        state: 'failed',
        attempt: 1,
        exitCode: 3,
        message: 'run exited with code 3',
      }),
    );
    const screen = term.screen();
    const at = screen.findIndex((l) => l.includes('✗ p1.a failed on h2'));
    expect(screen[at]).toBe('  ✗ p1.a failed on h2 (exit 3, attempt 1): run exited with code 3');
    expect(screen.slice(at + 2, at + 22)).toEqual(
      Array.from({ length: 20 }, (_, i) => `    │ line ${i + 11}`),
    );
    expect(screen[at + 22]).toBe(
      '    the whole log: ustart logs r1 --plan /site/plan.yaml --step p1.a --host h2',
    );
    expect(term.raw).not.toContain('# uStart');
    view.dispose();
  });
});

describe('a pause on a terminal', () => {
  it('takes the live lines away while the command asks, and draws them again after', () => {
    vi.useFakeTimers();
    const term = fakeTerminal(100);
    const view = new CompactRunView(term, { throttleMs: 100 });
    const ev = events();
    view.onEvent(started(ev));
    view.onEvent(ev('step-started', { stepId: 'p1.a', hosts: HOSTS }));
    view.onEvent(ev('host-step-started', { stepId: 'p1.a', host: 'h1', attempt: 1 }));
    vi.advanceTimersByTime(100);
    expect(term.screen().filter((l) => l.includes('▶'))).toHaveLength(1);
    view.onEvent(ev('run-paused', { stepId: 'p1.a', reason: 'step-failed' }));
    expect(term.screen().filter((l) => l.includes('▶'))).toHaveLength(0);
    // The question, as readline writes it to the same terminal; the clock ticks meanwhile.
    term.stdout('step p1.a did not succeed. [r]etry? r\n');
    const writes = term.writes.length;
    vi.advanceTimersByTime(5000);
    expect(term.writes.length).toBe(writes);
    view.onEvent(ev('decision-taken', { stepId: 'p1.a', decision: { kind: 'retry' } }));
    const screen = term.screen();
    expect(screen.at(-2)).toBe('step p1.a did not succeed. [r]etry? r');
    expect(screen.at(-1)).toContain('▶ p1.a');
    view.dispose();
  });
});

describe('the compact view without a terminal', () => {
  it('prints one line per step when it ends, no escapes, no bookkeeping', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ustart-view-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const steps: StepSpec[] = [
      {
        id: 'hello',
        title: 'Say hello',
        phase: 'umetal',
        targets: 'all',
        run: 'for i in 1 2 3; do echo "hi $i from $HOST"; done',
        check: 'false',
      },
      {
        id: 'bye',
        title: 'Say bye',
        phase: 'ustack',
        targets: 'all',
        after: ['hello'],
        run: 'echo bye; [ "$HOST" != h3 ]',
        check: 'false',
      },
    ];
    const out = bufferOutput();
    const view = createRunDisplay(out);
    const result = await localRun({
      runsDir: dir,
      steps,
      hosts: HOSTS,
      onEvent: (e) => view.onEvent(e),
    });
    view.dispose();
    expect(result.state).toBe('failed');
    expect(out.out).not.toContain(ESC);
    expect(out.out).not.toContain('# uStart');
    expect(out.out).not.toContain('hi 1 from');
    const lines = out.out.split('\n');
    expect(lines.filter((l) => /^ {2}[✓✗] hello {2,}/.test(l))).toEqual([
      expect.stringMatching(/✓ hello +4\/4 hosts succeeded .*Say hello$/),
    ]);
    expect(lines.filter((l) => /^ {2}[✓✗] bye {2,}/.test(l))).toEqual([
      expect.stringMatching(/✗ bye +3\/4 hosts failed, 1 failed/),
    ]);
    expect(out.out).toContain('── phase umetal (uMetal): 1 step ──');
    expect(out.out).toContain('  ✗ bye failed on h3 (exit 1, attempt 1)');
    expect(out.out).toContain('    │ bye\n');
    // The command it names prints the whole log of that host.
    const command = lines.find((l) => l.includes('the whole log:'))!.split('the whole log: ')[1]!;
    expect(command).toBe(logsCommand({ runId: result.runId, runDir: result.runDir }, 'bye', 'h3'));
    const logs = bufferOutput();
    const args = command.split(' ').slice(1);
    expect(await main(['node', 'ustart', ...args], logs)).toBe(0);
    expect(logs.out).toContain('h3 bye │ bye');
    expect(logs.out).not.toContain('h1');
  });
});

describe('--json', () => {
  it('writes one JSON object per line: the events, a failure with its log tail, no log lines', () => {
    const out = bufferOutput();
    const view = createRunDisplay(out, { json: true });
    const ev = events();
    view.onEvent(started(ev));
    view.onEvent(ev('step-started', { stepId: 'p1.a', hosts: ['h1'] }));
    view.onEvent(ev('host-step-started', { stepId: 'p1.a', host: 'h1', attempt: 1 }));
    view.onEvent(ev('log', { stepId: 'p1.a', host: 'h1', stream: 'stdout', data: 'oops\n' }));
    view.onEvent(
      ev('host-step-finished', {
        stepId: 'p1.a',
        host: 'h1',
        state: 'failed',
        attempt: 1,
        exitCode: 1,
      }),
    );
    view.note('a note');
    const parsed = out.out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(parsed.map((p) => p.type)).toEqual([
      'run-started',
      'step-started',
      'host-step-started',
      'host-step-finished',
      'failure',
      'note',
    ]);
    expect(parsed[4]).toMatchObject({
      stepId: 'p1.a',
      host: 'h1',
      logTail: ['oops'],
      logsCommand: 'ustart logs r1 --plan /site/plan.yaml --step p1.a --host h1',
    });
  });
});

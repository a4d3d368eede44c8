/**
 * The engine's logic against real local processes (LocalTransport runs `bash -c`): order,
 * parallelism, check, retries, timeouts, cancel, step-by-step, resume, locks, secrets and
 * back pressure. The SSH path is covered by test/integration/engine-*.test.ts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isUstartError } from '../errors.js';
import type { HostTarget } from '../ssh/transport.js';
import { FakeClock } from '../../test/support/fake-clock.js';
import { recordEvents, logged, type EventLog } from '../../test/support/engine-events.js';
import { LocalTransport } from '../../test/support/local-transport.js';
import { RunEngine, type EngineOptions } from './engine.js';
import { readJournal, summarize } from './journal.js';
import { REDACTED } from './redact.js';
import type { RunEvent, StepSpec } from './types.js';
import { walk } from '../../test/support/walk.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-engine-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function hostsMap(n: number): Map<string, HostTarget> {
  return new Map(
    Array.from({ length: n }, (_, i) => {
      const name = `h${i + 1}`;
      return [name, { name, address: '127.0.0.1', port: 22, user: 'root' }];
    }),
  );
}

interface Harness {
  dir: string;
  runsDir: string;
  transport: LocalTransport;
  engine: RunEngine;
  events: EventLog;
}

/** An engine over `hosts` local hosts; commands see $DIR (a temp folder) and $HOST. */
async function harness(
  steps: StepSpec[],
  opts: Partial<EngineOptions> & { hostCount?: number; dir?: string } = {},
): Promise<Harness> {
  const dir = opts.dir ?? (await tempDir());
  const runsDir = join(dir, 'runs');
  const transport = new LocalTransport({ env: { DIR: dir } });
  cleanups.push(() => transport.dispose());
  const hosts = hostsMap(opts.hostCount ?? 2);
  const engine = new RunEngine({
    transport,
    runsDir,
    steps,
    hosts,
    resolveTargets: (t) => (t === 'all' ? [...hosts.keys()] : [...(t as string[])]),
    planText: 'schemaVersion: 1\n',
    retryDelayMs: () => 0,
    logBatchMs: 2,
    clusterLock: false,
    ...opts,
  });
  const events = recordEvents(engine);
  cleanups.push(() => events.dispose());
  return { dir, runsDir, transport, engine, events };
}

const step = (id: string, run: string, extra: Partial<StepSpec> = {}): StepSpec => ({
  id,
  title: `step ${id}`,
  phase: 'test',
  targets: 'all',
  run,
  ...extra,
});

/** Appends one line per execution, so a test can count runs of a step. */
const count = (name: string) => `echo x >> "$DIR/count-${name}-$HOST"`;
async function runs(dir: string, name: string, host: string): Promise<number> {
  const text = await readFile(join(dir, `count-${name}-${host}`), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).length;
}

const waitForGo = 'while [ ! -e "$DIR/go" ]; do sleep 0.01; done';

function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

async function pidOf(dir: string, host: string): Promise<number> {
  return Number((await readFile(join(dir, `pid-${host}`), 'utf8')).trim());
}

/** Waits until the process has exited (it is killed asynchronously) by polling its /proc entry through events of the engine run. */
async function journalOf(runsDir: string, runId: string) {
  const { records, torn } = await readJournal(join(runsDir, runId, 'journal.jsonl'));
  return { records, summary: summarize(records, torn) };
}

describe('RunEngine', () => {
  it('runs steps in `after` order and writes journal, logs and the plan', async () => {
    const h = await harness(
      [
        step('b', `${count('b')}; echo "b on $HOST"`, { after: ['a'] }),
        step('a', `${count('a')}; echo "a on $HOST"`),
        step('c', `${count('c')}`, { after: ['a', 'b'] }),
      ],
      { hostCount: 3 },
    );
    const result = await h.engine.run();
    expect(result.state).toBe('succeeded');
    const seqOf = (type: RunEvent['type'], id: string) =>
      h.events.all.find((e) => e.type === type && 'stepId' in e && e.stepId === id)!.seq;
    expect(seqOf('step-started', 'b')).toBeGreaterThan(seqOf('step-finished', 'a'));
    expect(seqOf('step-started', 'c')).toBeGreaterThan(seqOf('step-finished', 'b'));
    expect(await readFile(join(result.runDir, 'logs', 'b', 'h2.log'), 'utf8')).toContain('b on h2');
    expect(await readFile(join(result.runDir, 'plan.yaml'), 'utf8')).toBe('schemaVersion: 1\n');
    const { summary } = await journalOf(h.runsDir, result.runId);
    expect(summary.finalState).toBe('succeeded');
    expect(summary.counts.succeeded).toBe(9);
    const seqs = h.events.all.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('never runs more hosts at once than the step allows', async () => {
    const h = await harness([step('p', `${count('p')}; ${waitForGo}`, { parallelism: 2 })], {
      hostCount: 5,
    });
    let running = 0;
    let most = 0;
    h.engine.subscribe((e) => {
      if (e.type === 'host-step-started') most = Math.max(most, ++running);
      if (e.type === 'host-step-finished') running--;
      if (e.type === 'host-step-started' && running === 2) void writeFile(join(h.dir, 'go'), '');
    });
    const result = await h.engine.run();
    expect(result.state).toBe('succeeded');
    expect(most).toBe(2);
    expect(h.events.of('host-step-started')).toHaveLength(5);
  });

  it('skips a host whose check passes and runs the others', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'done-h1'), '');
    const h = await harness([step('k', count('k'), { check: 'test -e "$DIR/done-$HOST"' })], {
      dir,
    });
    const result = await h.engine.run();
    expect(result.state).toBe('succeeded');
    expect(result.counts).toMatchObject({ skipped: 1, succeeded: 1 });
    expect(await runs(dir, 'k', 'h1')).toBe(0);
    expect(await runs(dir, 'k', 'h2')).toBe(1);
  });

  it('retries a failed host-step and stops when the retries are used up', async () => {
    const flaky = (n: number) => `${count('r')}; [ "$(wc -l < "$DIR/count-r-$HOST")" -ge ${n} ]`;
    const ok = await harness([step('r', flaky(3), { retries: 2 })], { hostCount: 1 });
    expect((await ok.engine.run()).state).toBe('succeeded');
    expect(await runs(ok.dir, 'r', 'h1')).toBe(3);
    expect(ok.events.of('host-step-retrying').map((e) => e.attempt)).toEqual([2, 3]);

    const bad = await harness([step('r', flaky(3), { retries: 1 })], { hostCount: 1 });
    const result = await bad.engine.run();
    expect(result.state).toBe('failed');
    expect(await runs(bad.dir, 'r', 'h1')).toBe(2);
    const last = bad.events.of('host-step-finished').at(-1)!;
    expect(last).toMatchObject({ state: 'failed', exitCode: 1, attempt: 2 });
  });

  it('kills a command at its hard timeout and fails the step', async () => {
    const h = await harness(
      [
        step('t', 'echo $$ > "$DIR/pid-$HOST"; exec sleep 60', {
          timeout: { ms: 300, mode: 'hard' },
        }),
      ],
      { hostCount: 1 },
    );
    const result = await h.engine.run();
    expect(result.state).toBe('failed');
    expect(h.events.of('host-step-finished')[0]!.message).toMatch(/hard timeout/);
    expect(pidGone(await pidOf(h.dir, 'h1'))).toBe(true);
  });

  it('warns at a soft timeout, keeps waiting, and kills only when told', async () => {
    const clock = new FakeClock();
    const h = await harness(
      [
        step('s', 'echo $$ > "$DIR/pid-$HOST"; echo started; exec sleep 60', {
          timeout: { ms: 60_000, mode: 'soft' },
        }),
      ],
      { hostCount: 1, clock },
    );
    const done = h.engine.run();
    await h.events.waitFor(logged('s', 'h1', 'started'));
    clock.advance(60_000);
    const warning = await h.events.waitFor((e) => e.type === 'timeout-warning');
    expect(warning).toMatchObject({ stepId: 's', host: 'h1', elapsedMs: 60_000 });
    expect(h.events.of('host-step-finished')).toHaveLength(0);
    h.engine.kill('s', 'h1');
    const result = await done;
    expect(result.state).toBe('cancelled');
    expect(h.events.of('host-step-finished')[0]).toMatchObject({
      state: 'cancelled',
      message: 'killed by the consultant',
    });
    expect(pidGone(await pidOf(h.dir, 'h1'))).toBe(true);
    const { records } = await journalOf(h.runsDir, result.runId);
    expect(records.some((r) => r.type === 'timeout-warning')).toBe(true);
  });

  it('cancels: running commands are killed, and resume does not run finished steps again', async () => {
    const steps = [
      step('a', count('a')),
      step(
        'b',
        `${count('b')}; echo $$ > "$DIR/pid-$HOST"; echo started; [ -e "$DIR/go" ] || exec sleep 60`,
        {
          after: ['a'],
        },
      ),
      step('c', count('c'), { after: ['b'] }),
    ];
    const signal = new AbortController();
    const first = await harness(steps, { signal: signal.signal });
    const done = first.engine.run();
    await first.events.waitFor(logged('b', 'h1', 'started'));
    await first.events.waitFor(logged('b', 'h2', 'started'));
    signal.abort();
    const cancelled = await done;
    expect(cancelled.state).toBe('cancelled');
    for (const host of ['h1', 'h2']) expect(pidGone(await pidOf(first.dir, host))).toBe(true);
    expect(await runs(first.dir, 'c', 'h1')).toBe(0);

    await writeFile(join(first.dir, 'go'), '');
    const second = await harness(steps, { dir: first.dir, resume: cancelled.runId });
    const resumed = await second.engine.run();
    expect(resumed).toMatchObject({ runId: cancelled.runId, state: 'succeeded' });
    for (const host of ['h1', 'h2']) {
      expect(await runs(first.dir, 'a', host)).toBe(1);
      expect(await runs(first.dir, 'b', host)).toBe(2);
      expect(await runs(first.dir, 'c', host)).toBe(1);
    }
    const { records, summary } = await journalOf(first.runsDir, cancelled.runId);
    expect(records.filter((r) => r.type === 'run-resumed')).toHaveLength(1);
    expect(summary.finalState).toBe('succeeded');
  });

  it('reports a lost connection as connection-lost, never failed, and resumes with check first', async () => {
    const steps = [
      step('done-first', count('d')),
      step('checked', `${count('x')}; touch "$DIR/x-$HOST"; echo started; exec sleep 60`, {
        after: ['done-first'],
        check: 'test -e "$DIR/x-$HOST"',
      }),
      step('unchecked', `${count('u')}; echo started; [ -e "$DIR/go" ] || exec sleep 60`, {
        after: ['done-first'],
      }),
    ];
    const first = await harness(steps, { hostCount: 1 });
    const done = first.engine.run();
    await first.events.waitFor(logged('checked', 'h1', 'started'));
    await first.events.waitFor(logged('unchecked', 'h1', 'started'));
    first.transport.cutLink('h1');
    const lost = await done;
    expect(lost.state).toBe('connection-lost');
    expect(
      first.events
        .of('host-step-finished')
        .slice(-2)
        .map((e) => e.state),
    ).toEqual(['connection-lost', 'connection-lost']);
    await writeFile(join(first.dir, 'go'), '');

    const second = await harness(steps, { dir: first.dir, resume: lost.runId, hostCount: 1 });
    const unsure = await second.engine.run();
    // The checked step proves it is done; the unchecked one cannot, and is not re-run blindly.
    expect(unsure.state).toBe('unknown');
    expect(await runs(first.dir, 'x', 'h1')).toBe(1);
    expect(await runs(first.dir, 'u', 'h1')).toBe(1);
    const unknown = second.events.of('host-step-finished').find((e) => e.stepId === 'unchecked')!;
    expect(unknown.message).toMatch(/--rerun unchecked@h1/);

    const third = await harness(steps, {
      dir: first.dir,
      resume: lost.runId,
      hostCount: 1,
      rerun: ['unchecked@h1'],
    });
    expect((await third.engine.run()).state).toBe('succeeded');
    expect(await runs(first.dir, 'd', 'h1')).toBe(1);
    expect(await runs(first.dir, 'u', 'h1')).toBe(2);
  });

  it('in step-by-step mode waits for run, skip (journaled with its reason) and run-all', async () => {
    const h = await harness(
      [
        step('a', count('a')),
        step('b', count('b'), { after: ['a'] }),
        step('c', count('c'), { after: ['b'] }),
        step('d', count('d'), { after: ['c'] }),
      ],
      { stepByStep: true, hostCount: 1 },
    );
    h.engine.subscribe((e) => {
      if (e.type !== 'run-paused') return;
      if (e.stepId === 'a') h.engine.decide({ kind: 'run' });
      if (e.stepId === 'b') h.engine.decide({ kind: 'skip', reason: 'done by hand on site' });
      if (e.stepId === 'c') h.engine.decide({ kind: 'run-all' });
    });
    const result = await h.engine.run();
    expect(result.state).toBe('succeeded');
    expect(h.events.of('run-paused').map((e) => e.stepId)).toEqual(['a', 'b', 'c']);
    expect([await runs(h.dir, 'a', 'h1'), await runs(h.dir, 'b', 'h1')]).toEqual([1, 0]);
    expect([await runs(h.dir, 'c', 'h1'), await runs(h.dir, 'd', 'h1')]).toEqual([1, 1]);
    const { records } = await journalOf(h.runsDir, result.runId);
    expect(records).toContainEqual(
      expect.objectContaining({
        type: 'step',
        stepId: 'b',
        state: 'skipped',
        reason: 'done by hand on site',
      }),
    );
  });

  it('after a failure, retries the step on one host when told', async () => {
    const h = await harness([step('f', `${count('f')}; [ "$HOST" = h2 ] || [ -e "$DIR/fixed" ]`)], {
      pauseOnFailure: true,
      hostCount: 2,
    });
    h.engine.subscribe((e) => {
      if (e.type === 'run-paused' && e.reason === 'step-failed') {
        void writeFile(join(h.dir, 'fixed'), '').then(() =>
          h.engine.decide({ kind: 'retry', hosts: ['h1'] }),
        );
      }
    });
    const result = await h.engine.run();
    expect(result.state).toBe('succeeded');
    expect([await runs(h.dir, 'f', 'h1'), await runs(h.dir, 'f', 'h2')]).toEqual([2, 1]);
  });

  it('refuses a second concurrent run of the same plan and names the owner', async () => {
    const steps = [step('w', `echo started; ${waitForGo}`)];
    const first = await harness(steps, { hostCount: 1 });
    const done = first.engine.run();
    await first.events.waitFor(logged('w', 'h1', 'started'));
    const second = await harness(steps, { dir: first.dir, hostCount: 1 });
    const refused = await second.engine.run().catch((e: unknown) => e);
    expect(isUstartError(refused, 'RunLocked')).toBe(true);
    expect((refused as Error).message).toContain(`pid ${process.pid}`);
    expect((refused as Error).message).toContain(first.engine.runId);
    await writeFile(join(first.dir, 'go'), '');
    expect((await done).state).toBe('succeeded');
  });

  it('keeps secrets out of the run folder, the events and every argv', async () => {
    const token = 'tok-5b1c9e77d0a2';
    const sudo = 'sudo-pw-8f3e2a91';
    const h = await harness(
      [
        step(
          's',
          `echo "token=$TOKEN"; printf '%s' "$TOKEN" | cut -c1-6 >&2; echo "${'$'}{TOKEN}${'$'}{TOKEN}"; echo ready; ${waitForGo}; echo "bye $TOKEN"`,
          { secrets: ['TOKEN'] },
        ),
      ],
      {
        hostCount: 1,
        secrets: {
          get: async (name) => (name === 'TOKEN' ? token : undefined),
          values: async () => [sudo],
        },
      },
    );
    const done = h.engine.run();
    await h.events.waitFor(logged('s', 'h1', 'ready'));
    const leaks: string[] = [];
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      for (const f of ['cmdline', 'environ']) {
        const text = await readFile(`/proc/${pid}/${f}`, 'utf8').catch(() => '');
        if (text.includes(token)) leaks.push(`${pid}/${f}`);
      }
    }
    expect(leaks).toEqual([]);
    await writeFile(join(h.dir, 'go'), '');
    const result = await done;
    expect(result.state).toBe('succeeded');
    const out = h.events.output('s', 'h1');
    expect(out).toContain(`token=${REDACTED}`);
    expect(out).toContain(`${REDACTED}${REDACTED}`);
    expect(JSON.stringify(h.events.all)).not.toContain(token);
    expect(h.transport.commands.join('\n')).not.toContain(token);
    for (const file of await walk(result.runDir)) {
      const text = await readFile(file, 'utf8');
      expect(text, file).not.toContain(token);
      expect(text, file).not.toContain(sudo);
    }
  });

  describe('outputs feeding later inputs', () => {
    const value = 'join-tok-7c41e0a9b3d2';
    const encoded = Buffer.from(value).toString('base64');
    /** The producer copies the value from a file, so it is in no command line of the test. */
    const graph = (dir: string): StepSpec[] => [
      step('make', `${count('make')}; mkdir -p "$DIR/out"; cp "$DIR/made" "$DIR/out/join"`, {
        targets: ['h1'],
        outputs: [{ name: 'join', path: join(dir, 'out', 'join') }],
      }),
      step(
        'use',
        `[ -e "$DIR/fixed" ] || exit 1; echo "got=$USTART_IN_JOIN"; printf '%s' "$USTART_IN_JOIN" | base64 -d > "$DIR/got-$HOST"`,
        { after: ['make'], inputs: ['join'] },
      ),
    ];

    async function expectNoLeak(h: Harness, runDir: string): Promise<void> {
      const events = JSON.stringify(h.events.all);
      const argv = h.transport.commands.join('\n');
      for (const secret of [value, encoded]) {
        expect(events).not.toContain(secret);
        expect(argv).not.toContain(secret);
        for (const file of await walk(runDir)) {
          expect(await readFile(file, 'utf8'), file).not.toContain(secret);
        }
      }
    }

    it('passes a producer output to a consumer on every host, hidden everywhere', async () => {
      const dir = await tempDir();
      await writeFile(join(dir, 'made'), value);
      await writeFile(join(dir, 'fixed'), '');
      const h = await harness(graph(dir), { dir });
      const result = await h.engine.run();
      expect(result.state).toBe('succeeded');
      for (const host of ['h1', 'h2']) {
        expect(await readFile(join(dir, `got-${host}`), 'utf8')).toBe(value);
        expect(h.events.output('use', host)).toContain(`got=${REDACTED}`);
      }
      await expectNoLeak(h, result.runDir);
    });

    it('on resume reads the output again from the host that produced it', async () => {
      const dir = await tempDir();
      await writeFile(join(dir, 'made'), value);
      const first = await harness(graph(dir), { dir });
      const failed = await first.engine.run();
      expect(failed.state).toBe('failed');
      await writeFile(join(dir, 'fixed'), '');
      const second = await harness(graph(dir), { dir, resume: failed.runId });
      const result = await second.engine.run();
      expect(result.state).toBe('succeeded');
      expect(await runs(dir, 'make', 'h1')).toBe(1);
      expect(await readFile(join(dir, 'got-h2'), 'utf8')).toBe(value);
      expect(second.transport.commands.some((c) => c.includes('base64 -w0'))).toBe(true);
      await expectNoLeak(second, result.runDir);
    });

    it('on resume checks a finished producer again and runs it when its output went stale', async () => {
      // kubeadm's uploaded certificates expire after 2 hours: a consumer resumed later needs
      // the producer to make its output again (docs/upstream-facts.md#kubeadm.cert-key-ttl).
      const dir = await tempDir();
      await writeFile(join(dir, 'made'), value);
      const steps = graph(dir);
      steps[0]!.check = '[ -e "$DIR/fresh" ]';
      await writeFile(join(dir, 'fresh'), '');
      const first = await harness(steps, { dir });
      const failed = await first.engine.run();
      expect(failed.state).toBe('failed');
      expect(await runs(dir, 'make', 'h1')).toBe(0); // skipped by its check
      // Time passes: the producer's output is no longer good, and the consumer is fixed.
      await rm(join(dir, 'fresh'));
      await writeFile(join(dir, 'fixed'), '');
      const second = await harness(steps, { dir, resume: failed.runId });
      const result = await second.engine.run();
      expect(result.state).toBe('succeeded');
      expect(await runs(dir, 'make', 'h1')).toBe(1);
      // A producer whose consumers are all done is not checked again on resume.
      const third = await harness(steps, { dir, resume: failed.runId });
      await third.engine.run();
      expect(third.events.of('step-started').map((e) => e.stepId)).toEqual([]);
    });

    it('fails the producer that leaves no output file, naming it', async () => {
      const dir = await tempDir();
      const steps = graph(dir);
      steps[0]!.run = 'true';
      const h = await harness(steps, { dir });
      expect((await h.engine.run()).state).toBe('failed');
      const make = h.events.of('host-step-finished').find((e) => e.stepId === 'make')!;
      expect(make.message).toContain(`could not read output "join" of step make`);
      expect(h.events.of('step-started').map((e) => e.stepId)).toEqual(['make']);
    });
  });

  it('pauses the source above the high-water mark and resumes when acknowledged', async () => {
    const total = 1_000_000;
    const h = await harness([step('big', `head -c ${total} /dev/zero | tr '\\0' x`)], {
      hostCount: 1,
      events: { high: 100_000, low: 5_000 },
    });
    let received = 0;
    let acking = false;
    const sub = h.engine.subscribe(
      (e) => {
        if (e.type !== 'log' || e.stream !== 'stdout') return;
        received += e.data.length;
        if (acking) sub.ack(e.data.length);
      },
      { flowControlled: true },
    );
    cleanups.push(() => sub.dispose());
    const paused = new Promise<number>((resolve) =>
      h.engine.hub.flow.onChange((p) => p && resolve(received)),
    );
    const done = h.engine.run();
    const atPause = await paused;
    expect(atPause).toBeGreaterThan(100_000);
    // One more batch at most arrives after the mark: the source stops, it does not buffer. A
    // batch closes at 64 k characters (HostLog's maxBatch) plus the chunk that crossed it, and
    // a pipe read here is at most 64 KiB (on a loaded machine the reads do come that large).
    expect(atPause).toBeLessThanOrEqual(100_000 + 65_536 + 65_536);
    expect(h.transport.pauses).toBeGreaterThan(0);
    expect(h.events.of('host-step-finished')).toHaveLength(0);
    acking = true;
    sub.ack(received);
    expect((await done).state).toBe('succeeded');
    expect(received).toBe(total);
    const file = await readFile(join(h.engine.runDir, 'logs', 'big', 'h1.log'), 'utf8');
    expect(file.split('x').length - 1).toBe(total);
  });

  it('replays events after a given sequence number', async () => {
    const h = await harness([step('a', 'echo one'), step('b', 'echo two', { after: ['a'] })], {
      hostCount: 1,
    });
    await h.engine.run();
    const mid = h.events.of('step-finished')[0]!.seq;
    const { events, complete } = h.engine.hub.since(mid);
    expect(complete).toBe(true);
    expect(events.map((e) => e.seq)).toEqual(
      h.events.all.filter((e) => e.seq > mid).map((e) => e.seq),
    );
  });

  it('puts an upload that names hosts on those hosts only', async () => {
    const dir = await tempDir();
    const up = join(dir, 'up');
    // One host at a time, each clearing what it got: what a host sees is what it was sent.
    const h = await harness(
      [
        step('u', 'ls "$DIR/up" > "$DIR/seen-$HOST" && rm -f "$DIR"/up/*', {
          check: `mkdir -p "$DIR/up" && false`,
          parallelism: 1,
          uploads: [
            { path: join(up, 'shared'), content: 'every host\n' },
            { path: join(up, 'own-h1'), content: 'h1 only\n', hosts: ['h1'] },
            { path: join(up, 'own-h2'), content: 'h2 only\n', hosts: ['h2'] },
          ],
        }),
      ],
      { dir },
    );
    expect((await h.engine.run()).state).toBe('succeeded');
    expect(await readFile(join(dir, 'seen-h1'), 'utf8')).toBe('own-h1\nshared\n');
    expect(await readFile(join(dir, 'seen-h2'), 'utf8')).toBe('own-h2\nshared\n');
  });

  it('refuses an upload to a host the step does not run on, naming it', async () => {
    const h = await harness([
      step('u', 'true', {
        targets: ['h1'],
        uploads: [{ path: '/tmp/x', content: 'x', hosts: ['h1', 'h2'] }],
      }),
    ]);
    await expect(h.engine.run()).rejects.toThrow(
      /step "u": upload to \/tmp\/x names "h2", which is not among the step's target hosts \(h1\)/,
    );
  });

  it('runs a local step after its check, logs its lines, and retries it when it throws', async () => {
    const dir = await tempDir();
    const calls: string[] = [];
    const steps: StepSpec[] = [
      step('local', '# pushed from this machine', {
        check: `[ -e "$DIR/done-$HOST" ]`,
        retries: 1,
        local: async ({ host, connection, log }) => {
          calls.push(host);
          log(`pushing to ${host}`);
          if (calls.filter((c) => c === host).length === 1 && host === 'h2')
            throw new Error('the link dropped');
          const r = await connection.exec(`touch "$DIR/done-${host}"`);
          expect(r).toMatchObject({ kind: 'exited', code: 0 });
        },
      }),
      step('after', count('after'), { after: ['local'] }),
    ];
    const h = await harness(steps, { dir });
    expect((await h.engine.run()).state).toBe('succeeded');
    expect(calls.sort()).toEqual(['h1', 'h2', 'h2']);
    const lines = h.events
      .of('log')
      .filter((e) => e.stepId === 'local' && e.host === 'h2')
      .map((e) => e.data)
      .join('');
    expect(lines).toMatch(/pushing to h2[\s\S]*the link dropped/);
    expect(await runs(dir, 'after', 'h1')).toBe(1);

    // Done on every host: the check skips it, the function is not called again.
    const again = await harness(steps, { dir });
    const second = await again.engine.run();
    expect(second.counts.skipped).toBe(2);
    expect(calls).toHaveLength(3);
  });

  it('refuses a graph with a cycle, naming the steps', async () => {
    const h = await harness([
      step('a', 'true', { after: ['b'] }),
      step('b', 'true', { after: ['a'] }),
    ]);
    await expect(h.engine.run()).rejects.toThrow(/circle: a → b → a/);
    expect(existsSync(join(h.runsDir, 'run.lock'))).toBe(false);
  });
});

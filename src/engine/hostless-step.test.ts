/**
 * Host-less steps (StepSpec.hostless): done from this machine with no connection to the host
 * at all, as the OS install through a BMC is. A transport whose connect throws proves the
 * engine never asks for one; the ordinary step after it proves the other steps still connect
 * (LocalTransport runs `bash -c`).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UstartError, isUstartError } from '../errors.js';
import type { HostTarget, Transport } from '../ssh/transport.js';
import { recordEvents } from '../../test/support/engine-events.js';
import { LocalTransport } from '../../test/support/local-transport.js';
import { RunEngine, type EngineOptions } from './engine.js';
import { bindLocalActions, checkGraph } from './graph.js';
import { readJournal, summarize } from './journal.js';
import type { HostlessContext, StepSpec } from './types.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-hostless-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const hosts = new Map<string, HostTarget>(
  ['h1', 'h2'].map((name) => [name, { name, address: '127.0.0.1', port: 22, user: 'root' }]),
);

/** A transport that refuses every connect and counts the attempts. */
class NoConnections implements Transport {
  connects: string[] = [];
  connect(target: HostTarget): Promise<never> {
    this.connects.push(target.name);
    return Promise.reject(new UstartError('ConnectionFailed', `no SSH on ${target.name} yet`));
  }
  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

async function engineFor(steps: StepSpec[], opts: Partial<EngineOptions> = {}) {
  const runsDir = join(await tempDir(), 'runs');
  const engine = new RunEngine({
    transport: new NoConnections(),
    runsDir,
    steps,
    hosts,
    resolveTargets: (t) => (t === 'all' ? [...hosts.keys()] : [...(t as string[])]),
    retryDelayMs: () => 0,
    logBatchMs: 2,
    clusterLock: false,
    ...opts,
  });
  const events = recordEvents(engine);
  cleanups.push(() => events.dispose());
  return { engine, events, runsDir };
}

const install = (hostless: StepSpec['hostless'], extra: Partial<StepSpec> = {}): StepSpec => ({
  id: 'umetal.os-install',
  title: 'Install the OS',
  phase: 'os-install',
  targets: 'all',
  run: '# done on this machine',
  localAction: 'os-install',
  hostless,
  ...extra,
});

describe('host-less steps', () => {
  it('never opens a connection: a passing check skips, a run succeeds, both log to the host-step', async () => {
    const transport = new NoConnections();
    const ran: string[] = [];
    const { engine, events } = await engineFor(
      [
        install({
          check: ({ host, log }) => {
            log(`probing ${host}`);
            return Promise.resolve(host === 'h1');
          },
          run: ({ host, log }) => {
            ran.push(host);
            log(`installing ${host}`);
            return Promise.resolve();
          },
        }),
      ],
      { transport },
    );
    const result = await engine.run();
    expect(result.state).toBe('succeeded');
    expect(result.counts).toMatchObject({ skipped: 1, succeeded: 1 });
    expect(ran).toEqual(['h2']);
    expect(transport.connects).toEqual([]);
    const log = (host: string) =>
      events
        .of('log')
        .filter((e) => e.host === host)
        .map((e) => e.data)
        .join('');
    expect(log('h1')).toContain('probing h1');
    expect(log('h2')).toMatch(/probing h2[\s\S]*installing h2/);
  });

  it('retries a run that throws, and fails with its message when the retries are used up', async () => {
    let tries = 0;
    const { engine, runsDir } = await engineFor([
      install(
        {
          run: ({ host }) => {
            if (host === 'h1' && ++tries < 2) throw new Error('BMC busy');
            if (host === 'h2') throw new Error('no BMC answers');
            return Promise.resolve();
          },
        },
        { retries: 1 },
      ),
    ]);
    const result = await engine.run();
    expect(result.state).toBe('failed');
    expect(tries).toBe(2);
    const s = summarize((await readJournal(join(runsDir, result.runId, 'journal.jsonl'))).records);
    const step = s.steps.get('umetal.os-install')!;
    expect(step.hosts.get('h1')).toMatchObject({ state: 'succeeded', attempt: 2 });
    expect(step.hosts.get('h2')).toMatchObject({ state: 'failed', attempt: 2 });
  });

  it('a cancel aborts the running function and ends it cancelled; a kill ends one host only', async () => {
    const started = new Set<string>();
    const waitAbort = ({ host, signal }: HostlessContext) =>
      new Promise<void>((_, reject) => {
        started.add(host);
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    const { engine, events } = await engineFor([install({ run: waitAbort })]);
    const done = engine.run();
    await events.waitFor((e) => e.type === 'host-step-started' && e.host === 'h2');
    engine.kill('umetal.os-install', 'h1');
    await events.waitFor((e) => e.type === 'host-step-finished' && e.host === 'h1');
    engine.cancel();
    const result = await done;
    expect(result.state).toBe('cancelled');
    const finished = events.of('host-step-finished');
    expect(finished.find((e) => e.host === 'h1')).toMatchObject({
      state: 'cancelled',
      message: 'killed by the consultant',
    });
    expect(finished.find((e) => e.host === 'h2')).toMatchObject({
      state: 'cancelled',
      message: 'cancelled',
    });
  });

  it('resume binds the action again and runs its check; the lock waits for the first SSH step', async () => {
    const dir = await tempDir();
    const transport = new LocalTransport({ env: { DIR: dir } });
    cleanups.push(() => transport.dispose());
    const connects: string[] = [];
    const counting: Transport = {
      connect: (t) => {
        connects.push(t.name);
        return transport.connect(t);
      },
      dispose: () => transport.dispose(),
    };
    let installed = false;
    const action = {
      check: () => Promise.resolve(installed),
      run: ({ signal }: HostlessContext) =>
        new Promise<void>((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted'))),
        ),
    };
    const graph: StepSpec[] = [
      install(undefined),
      {
        id: 'connect.facts',
        title: 'facts',
        phase: 'connect',
        targets: 'all',
        run: 'true',
        after: ['umetal.os-install'],
      },
    ];
    // A named action left unbound never starts.
    expect(() => checkGraph(graph)).toThrow(/local action "os-install".*did not provide/);
    const lock = { host: 'h1', path: join(dir, 'cluster.lock') };
    const first = await engineFor(bindLocalActions(graph, { 'os-install': action }), {
      transport: counting,
      clusterLock: lock,
    });
    const running = first.engine.run();
    await first.events.waitFor((e) => e.type === 'host-step-started');
    // No connection yet, not even for the cluster lock: the servers have no OS.
    expect(connects).toEqual([]);
    first.engine.cancel();
    const cancelled = await running;
    installed = true;
    const second = await engineFor(bindLocalActions(graph, { 'os-install': action }), {
      transport: counting,
      clusterLock: lock,
      runsDir: first.runsDir,
      resume: cancelled.runId,
    });
    const resumed = await second.engine.run();
    expect(resumed.state).toBe('succeeded');
    expect(resumed.counts).toMatchObject({ skipped: 2, succeeded: 2 });
    // The lock (on h1) and the facts step connected only after the host-less step.
    expect(connects[0]).toBe('h1');
    expect(
      second.events.of('host-step-finished').filter((e) => e.state === 'skipped'),
    ).toHaveLength(2);
  });

  it('a hard timeout aborts the function and fails the host-step; steps.json names the action', async () => {
    const { engine, runsDir } = await engineFor([
      install(
        {
          run: ({ signal }) =>
            new Promise<void>((_, reject) =>
              signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true }),
            ),
        },
        { targets: ['h1'], timeout: { ms: 50, mode: 'hard' } },
      ),
    ]);
    const result = await engine.run();
    expect(result.state).toBe('failed');
    const s = summarize((await readJournal(join(runsDir, result.runId, 'journal.jsonl'))).records);
    expect(s.steps.get('umetal.os-install')!.hosts.get('h1')).toMatchObject({
      state: 'failed',
      message: 'run ran longer than its hard timeout of 50 ms and was stopped',
    });
    const saved = JSON.parse(
      await readFile(join(runsDir, result.runId, 'steps.json'), 'utf8'),
    ) as Record<string, unknown>[];
    expect(saved[0]).toMatchObject({ id: 'umetal.os-install', localAction: 'os-install' });
    expect(saved[0]).not.toHaveProperty('hostless');
  });

  it('refuses uploads on a host-less step, naming it', () => {
    try {
      checkGraph([
        install({ run: () => Promise.resolve() }, { uploads: [{ path: '/etc/x', content: 'x' }] }),
      ]);
      expect.unreachable();
    } catch (e) {
      expect(isUstartError(e, 'RunbookInvalid')).toBe(true);
      expect((e as Error).message).toMatch(/umetal\.os-install.*without a connection/);
    }
  });
});

/**
 * The run service through the api (direct client), with commands run as local processes
 * (test/support/local-transport.ts) so scheduling, pauses, streaming and back pressure are
 * tested fast; the SSH path is tested on lab hosts in test/integration/host-pages-lab.test.ts.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../test/support/local-transport.js';
import { unwrap, type EventPayload, type RunEventView } from '../api/index.js';
import type { StepSpec } from '../engine/index.js';
import { loadPlanFile } from '../plan/load.js';
import { assetPath } from '../util/assets.js';
import { createCore, type Core } from './core.js';

let work: string;
let core: Core;
let transport: LocalTransport;
let steps: StepSpec[];
let hosts: string[];
const planFile = () => join(work, 'site.yaml');

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'ustart-runs-'));
  await copyFile(assetPath('samples', 'demo-stuttgart.yaml'), planFile());
  hosts = (await loadPlanFile(planFile())).plan!.servers.slice(0, 2).map((s) => s.hostname);
  transport = new LocalTransport({ env: { WORK: work } });
  core = createCore({
    mode: 'test',
    stateDir: join(work, '.state'),
    hostPages: {
      stepSource: async () => steps,
      runTransport: async () => transport,
      clusterLock: false,
      retryDelayMs: () => 0,
      leaseMs: 400,
      // The engine's own window, so a small step shows the back pressure.
      flow: { high: 100_000, low: 5_000 },
    },
  });
});

afterEach(async () => {
  await core.dispose();
  await rm(work, { recursive: true, force: true });
});

/** Collects one attachment's events as a front would, acknowledging them when `ack`. */
function follow(attachId: string, ack = true) {
  const events: RunEventView[] = [];
  const off = core.client.on('run:events', (b: EventPayload<'run:events'>) => {
    if (b.attachId !== attachId) return;
    events.push(...b.events);
    const chars = b.events.reduce((n, e) => n + (e.type === 'log' ? e.data.length : 0), 0);
    if (ack && chars) void core.client.runAck({ attachId, chars });
  });
  return { events, off };
}

function finished(runId: string): Promise<EventPayload<'run:changed'>> {
  return new Promise((resolve) => {
    const off = core.client.on('run:changed', (e) => {
      if (e.runId === runId && e.state !== 'running') {
        off();
        resolve(e);
      }
    });
  });
}

describe('run service', () => {
  it('pauses before each step with what it will do; run, then skip with a reason', async () => {
    steps = [
      {
        id: 'a',
        title: 'A',
        phase: 'connect',
        description: 'writes a greeting',
        // One host: here every "host" is this machine, and two would race on the upload.
        targets: [hosts[0]!],
        run: 'cat "$WORK/greeting-$HOST" 2>/dev/null; echo ran a on $HOST',
        uploads: [
          { path: join(work, 'uploaded.txt'), content: 'hello\n', mode: 0o644 },
          { path: join(work, 'own.txt'), content: 'mine\n', hosts: [hosts[0]!] },
        ],
      },
      { id: 'b', title: 'B', phase: 'connect', targets: hosts, after: ['a'], run: 'echo b' },
    ];
    const api = core.client;
    const { runId } = unwrap(
      await api.runStart({ planFile: planFile(), phases: ['connect'], stepByStep: true }),
    );
    const { attachId, events: replay } = unwrap(await api.runAttach({ runId }));
    const live = follow(attachId);
    const paused = async (stepId: string) => {
      await expect
        .poll(
          () =>
            [...replay, ...live.events].find((e) => e.type === 'run-paused' && e.stepId === stepId),
          { timeout: 10_000 },
        )
        .toBeTruthy();
      expect(unwrap(await api.runGet({ planFile: planFile(), runId })).paused).toEqual({
        stepId,
        reason: 'before-step',
      });
    };
    await paused('a');
    const preview = unwrap(await api.runStepPreview({ runId, stepId: 'a' }));
    expect(preview).toMatchObject({
      description: 'writes a greeting',
      hosts: [hosts[0]],
      run: steps[0]!.run,
      files: [
        { path: join(work, 'uploaded.txt'), bytes: 6, text: 'hello\n', mode: 0o644 },
        // A host's own file says which host gets it; a shared one names none.
        { path: join(work, 'own.txt'), bytes: 5, hosts: [hosts[0]] },
      ],
    });
    expect(preview.files[0]).not.toHaveProperty('hosts');
    // A decision for another step than the one waiting is refused.
    expect((await api.runDecide({ runId, stepId: 'b', decision: { kind: 'run' } })).ok).toBe(false);
    unwrap(await api.runDecide({ runId, stepId: 'a', decision: { kind: 'run' } }));
    await paused('b');
    const noReason = await api.runDecide({
      runId,
      stepId: 'b',
      decision: { kind: 'skip', reason: ' ' },
    });
    expect(noReason.ok).toBe(false);
    const done = finished(runId);
    unwrap(
      await api.runDecide({
        runId,
        stepId: 'b',
        decision: { kind: 'skip', reason: 'done by hand' },
      }),
    );
    expect((await done).state).toBe('succeeded');
    const info = unwrap(await api.runGet({ planFile: planFile(), runId }));
    expect(info.steps.map((s) => [s.id, s.state, s.reason])).toEqual([
      ['a', 'succeeded', undefined],
      ['b', 'skipped', 'done by hand'],
    ]);
    expect(await readFile(join(work, 'uploaded.txt'), 'utf8')).toBe('hello\n');
    live.off();
  });

  it('holds the hosts back while a view does not acknowledge, and lets go of a view that vanished', async () => {
    // 600,000 characters: far past the 100,000 a view may be behind.
    steps = [
      {
        id: 'loud',
        title: 'Loud',
        phase: 'connect',
        targets: [hosts[0]!],
        run: 'for i in $(seq 1 10000); do echo "line $i of a step that prints a great deal"; done',
      },
    ];
    const api = core.client;
    const { runId } = unwrap(await api.runStart({ planFile: planFile(), phases: ['connect'] }));
    const done = finished(runId);
    const silent = unwrap(await api.runAttach({ runId }));
    const mute = follow(silent.attachId, false);
    const good = unwrap(await api.runAttach({ runId }));
    const reader = follow(good.attachId, true);
    // The silent view holds the output back until its lease runs out; then the run ends.
    expect((await done).state).toBe('succeeded');
    expect(transport.pauses).toBeGreaterThan(0);
    const logOf = (events: RunEventView[]) =>
      events.map((e) => (e.type === 'log' ? e.data : '')).join('');
    const file = unwrap(
      await api.runLog({
        planFile: planFile(),
        runId,
        stepId: 'loud',
        host: hosts[0]!,
        maxBytes: 4_194_304,
      }),
    );
    expect(logOf([...good.events, ...reader.events])).toBe(file.data);
    expect(file.data).toContain('line 10000 of a step');
    expect(logOf([...silent.events, ...mute.events]).length).toBeLessThan(file.data.length);
    mute.off();
    reader.off();
  });

  it('retries one host-step of an ended run by resuming it; offsets continue the log file', async () => {
    steps = [
      {
        id: 'flaky',
        title: 'Flaky',
        phase: 'connect',
        targets: [hosts[0]!],
        run: 'echo "try on $HOST"; test -e "$WORK/fixed"',
      },
    ];
    const api = core.client;
    const first = unwrap(
      await api.runStart({ planFile: planFile(), phases: ['connect'], pauseOnFailure: false }),
    );
    expect((await finished(first.runId)).state).toBe('failed');
    const before = unwrap(
      await api.runLog({
        planFile: planFile(),
        runId: first.runId,
        stepId: 'flaky',
        host: hosts[0]!,
      }),
    );
    await writeFile(join(work, 'fixed'), '');
    const done = finished(first.runId);
    const again = unwrap(
      await api.runRetry({
        planFile: planFile(),
        runId: first.runId,
        stepId: 'flaky',
        host: hosts[0]!,
      }),
    );
    expect(again.runId).toBe(first.runId);
    const attached = unwrap(await api.runAttach({ runId: again.runId }));
    const live = follow(attached.attachId);
    expect((await done).state).toBe('succeeded');
    const logs = [...attached.events, ...live.events].filter((e) => e.type === 'log');
    expect(logs[0]!.type === 'log' && logs[0]!.offset).toBe(before.size);
    const after = unwrap(
      await api.runLog({
        planFile: planFile(),
        runId: first.runId,
        stepId: 'flaky',
        host: hosts[0]!,
      }),
    );
    expect(after.data.slice(before.data.length)).toBe(
      logs.map((e) => (e.type === 'log' ? e.data : '')).join(''),
    );
    const runs = unwrap(await api.runList({ planFile: planFile() })).runs;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ state: 'succeeded', active: false });
    live.off();
  });
});

describe('the os-install phase in the app', () => {
  it('is refused for a real site without its inputs, before anything starts, naming them and where to give them', async () => {
    steps = [
      {
        id: 'umetal.os-install',
        title: 'Install Debian 12 through the BMC',
        phase: 'os-install',
        targets: hosts,
        run: '# done on this machine',
        localAction: 'os-install',
      },
    ];
    let connects = 0;
    const connect = transport.connect.bind(transport);
    transport.connect = (...a) => {
      connects++;
      return connect(...a);
    };
    const r = await core.client.runStart({ planFile: planFile(), phases: ['os-install'] });
    expect(r.ok).toBe(false);
    const message = r.ok ? '' : r.error.message;
    expect(message).toContain('the Debian mirror');
    expect(message).toContain("this machine's address");
    expect(message).toContain('Install → OS install');
    expect(connects).toBe(0);
    const runs = unwrap(await core.client.runList({ planFile: planFile() }));
    expect(runs.runs).toEqual([]);
  });
});

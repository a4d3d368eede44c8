/**
 * The run engine over Ssh2Transport against real sshd lab hosts: a graph runs with its
 * cluster lock on the first controller, secrets stay off the hosts' argv and the run
 * folder, and a link cut mid-step ends as connection-lost, then resumes without running
 * completed steps again.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEngine, readJournal, summarize, type StepSpec } from '../../src/engine/index.js';
import type { EngineOptions } from '../../src/engine/engine.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import type { HostTarget } from '../../src/ssh/transport.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { logged, recordEvents } from '../support/engine-events.js';
import { walk } from '../support/walk.js';

const available = labAvailable();

describe.skipIf(!available)('run engine on lab hosts', () => {
  let lab: Lab;
  let tmp: string;
  let hosts: Map<string, HostTarget>;
  const disposers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ustart-engine-lab-'));
    lab = await createLab({ hosts: 3 });
    hosts = new Map(lab.hosts.map((h) => [h.name, lab.target(h.index)]));
  });
  afterAll(async () => {
    for (const d of disposers.splice(0)) await d();
    await lab?.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  function engine(steps: StepSpec[], runsDir: string, extra: Partial<EngineOptions> = {}) {
    const transport = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
    });
    disposers.push(() => transport.dispose());
    const e = new RunEngine({
      transport,
      runsDir,
      steps,
      hosts,
      resolveTargets: (t) => (t === 'all' ? [...hosts.keys()] : [...(t as string[])]),
      retryDelayMs: () => 0,
      clusterLock: { host: lab.hosts[0]!.name, path: '/var/lib/ustart/run.lock' },
      ...extra,
    });
    const events = recordEvents(e);
    disposers.push(async () => events.dispose());
    return { engine: e, events };
  }

  const countOn = async (i: number, name: string) =>
    Number((await lab.exec(i, `cat /root/count-${name} 2>/dev/null | wc -l`)).stdout.trim());

  it('runs a graph on every host, holding the cluster lock on the first controller', async () => {
    const runsDir = join(tmp, 'graph');
    const { engine: e, events } = engine(
      [
        {
          id: 'write',
          title: 'write',
          phase: 't',
          targets: 'all',
          run: 'echo x >> /root/count-write; hostname; cat /var/lib/ustart/run.lock 2>/dev/null || true',
        },
        {
          id: 'read',
          title: 'read',
          phase: 't',
          targets: 'all',
          after: ['write'],
          check: 'test -e /root/count-read',
          run: 'echo x >> /root/count-read; wc -l < /root/count-write',
        },
      ],
      runsDir,
    );
    const result = await e.run();
    expect(result.state).toBe('succeeded');
    expect(events.output('write', lab.hosts[0]!.name)).toContain(`"runId":"${e.runId}"`);
    expect(events.output('write', lab.hosts[1]!.name)).toContain(lab.hosts[1]!.name);
    expect(events.output('read', lab.hosts[2]!.name).trim()).toBe('1');
    expect((await lab.exec(0, 'test -e /var/lib/ustart/run.lock; echo $?')).stdout.trim()).toBe(
      '1',
    );
    for (const h of lab.hosts) expect(await countOn(h.index, 'write')).toBe(1);
  });

  it('keeps a secret off the hosts process list and out of the run folder', async () => {
    const secret = 'lab-secret-7c2d91e4a0';
    const runsDir = join(tmp, 'secret');
    const { engine: e, events } = engine(
      [
        {
          id: 'use-secret',
          title: 'use a secret',
          phase: 't',
          targets: [lab.hosts[1]!.name],
          secrets: ['TOKEN'],
          run: 'echo "have $TOKEN"; echo ready; while [ ! -e /root/go-secret ]; do sleep 0.05; done',
        },
      ],
      runsDir,
      {
        secrets: { get: async () => secret, values: async () => [] },
        clusterLock: false,
      },
    );
    const done = e.run();
    await events.waitFor(logged('use-secret', lab.hosts[1]!.name, 'ready'));
    const ps = await lab.exec(
      1,
      'cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr "\\0" " "',
    );
    expect(ps.stdout).not.toContain(secret);
    await lab.exec(1, 'touch /root/go-secret');
    expect((await done).state).toBe('succeeded');
    expect(events.output('use-secret', lab.hosts[1]!.name)).toContain('have [redacted]');
    for (const f of await walk(join(runsDir, e.runId))) {
      expect(await readFile(f, 'utf8'), f).not.toContain(secret);
    }
  });

  it(
    'ends a step whose link is cut as connection-lost, and resume does not repeat finished steps',
    { timeout: 120_000 },
    async () => {
      const runsDir = join(tmp, 'cut');
      const cutHost = lab.hosts[2]!.name;
      const steps: StepSpec[] = [
        {
          id: 'first',
          title: 'first',
          phase: 't',
          targets: 'all',
          run: 'echo x >> /root/count-first',
        },
        {
          id: 'long',
          title: 'long',
          phase: 't',
          targets: 'all',
          after: ['first'],
          check: 'test -e /root/long-done',
          run: 'echo x >> /root/count-long; echo started; while [ ! -e /root/go-long ]; do sleep 0.05; done; touch /root/long-done',
        },
      ];
      const first = engine(steps, runsDir, { clusterLock: false });
      const done = first.engine.run();
      await first.events.waitFor(logged('long', cutHost, 'started'));
      for (const h of lab.hosts.slice(0, 2)) await lab.exec(h.index, 'touch /root/go-long');
      await lab.cutLink(2);
      // Keepalive (15 s × 3) notices the dead link; the test's timeout bounds it.
      const lost = await done;
      expect(lost.state).toBe('connection-lost');
      const finished = first.events.of('host-step-finished').filter((x) => x.stepId === 'long');
      expect(finished.find((x) => x.host === cutHost)!.state).toBe('connection-lost');
      expect(finished.filter((x) => x.state === 'succeeded')).toHaveLength(2);

      await lab.restoreLink(2);
      await lab.exec(2, 'touch /root/go-long');
      const second = engine(steps, runsDir, { resume: lost.runId, clusterLock: false });
      const resumed = await second.engine.run();
      expect(resumed.state).toBe('succeeded');
      for (const h of lab.hosts) expect(await countOn(h.index, 'first')).toBe(1);
      expect(await countOn(0, 'long')).toBe(1);
      expect(await countOn(1, 'long')).toBe(1);
      // The cut host's step ran on while the link was down; its check proves it or it reruns.
      expect(await countOn(2, 'long')).toBeGreaterThanOrEqual(1);
      const { records, torn } = await readJournal(join(runsDir, lost.runId, 'journal.jsonl'));
      expect(torn).toBe(false);
      expect(summarize(records).finalState).toBe('succeeded');
    },
  );
});

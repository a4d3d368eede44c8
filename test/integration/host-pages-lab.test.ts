/**
 * The core's Connect, run and shell api against real lab hosts, through the direct client
 * (what the fronts see, structured-cloned): host keys unknown until accepted in this
 * session, the connect phase's facts and network matrix, a run that fails on one host and
 * pauses, a shell on that host that fixes the cause, a retry on that host, the end; the
 * event stream re-attached from a sequence number without a gap; older log bytes read
 * from the file exactly where the live stream began.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap, type EventPayload, type RunEventView } from '../../src/api/index.js';
import { createCore, type Core } from '../../src/app/index.js';
import { planToYaml } from '../../src/plan/save.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';

const available = labAvailable();

describe.skipIf(!available)('Connect, runs and shells over the api on lab hosts', () => {
  let lab: Lab;
  let work: string;
  let core: Core;
  const planFile = () => join(work, 'site.yaml');

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ustart-host-pages-'));
    lab = await createLab({ hosts: 3 });
    // The lab plan is air-gapped; connecting needs no bundle, which is what this runs.
    const plan = (await loadPlanFile(lab.planPath)).plan!;
    await writeFile(planFile(), planToYaml(plan));
    core = createCore({
      mode: 'test',
      stateDir: join(work, '.state'),
      hostPages: { readOnlyKnownHosts: [], sshConfigFile: null, retryDelayMs: () => 0 },
    });
  }, 120_000);

  afterAll(async () => {
    await core?.dispose();
    await lab?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('refuses unknown host keys until accepted, then gathers facts and the matrix', async () => {
    const api = core.client;
    const { settings } = unwrap(await api.accessGet({ planFile: planFile() }));
    expect(settings.user).toBe('root');
    unwrap(
      await api.accessSet({
        planFile: planFile(),
        settings: { ...settings, keyPath: lab.clientKeyPath, agent: false },
      }),
    );
    const first = unwrap(await api.connectCheck({ planFile: planFile() })).hosts;
    expect(first.map((h) => h.state)).toEqual([
      'host-key-unknown',
      'host-key-unknown',
      'host-key-unknown',
    ]);
    const expected = lab.hosts.map((h) => h.publicKey);
    expect(expected).toHaveLength(3);
    for (const h of first) expect(h.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);

    // Refusing keeps the host refused; a wrong fingerprint is not accepted.
    unwrap(
      await api.connectHostKey({
        planFile: planFile(),
        host: first[0]!.host,
        fingerprint: first[0]!.fingerprint!,
        decision: 'refuse',
      }),
    );
    const wrong = await api.connectHostKey({
      planFile: planFile(),
      host: first[1]!.host,
      fingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      decision: 'accept-once',
    });
    expect(wrong.ok).toBe(false);
    const again = unwrap(await api.connectCheck({ planFile: planFile() })).hosts;
    expect(again[0]!.state).toBe('host-key-unknown');
    for (const h of again) {
      unwrap(
        await api.connectHostKey({
          planFile: planFile(),
          host: h.host,
          fingerprint: h.fingerprint!,
          decision: 'accept-once',
        }),
      );
    }
    const ok = unwrap(await api.connectCheck({ planFile: planFile() })).hosts;
    expect(ok.map((h) => h.state)).toEqual(['ok', 'ok', 'ok']);

    const report = unwrap(await api.connectGather({ planFile: planFile() }));
    expect(report.state).toBe('succeeded');
    for (const h of report.hosts) {
      expect(h.facts?.hostname).toBe(h.host);
      expect(h.facts?.cpus).toBeGreaterThan(0);
    }
    const mgmt = report.matrix.networks.find((n) => n.network === 'mgmt')!;
    expect(mgmt.cells).toHaveLength(6);
    expect(mgmt.cells.every((c) => c.lossPercent === 0 && c.mtuOk === true)).toBe(true);
  }, 300_000);

  it('pauses on a failure, a shell fixes it, a retry on that host finishes the run', async () => {
    const api = core.client;
    const broken = lab.hosts[1]!;
    // The step writes its output under /var/lib/ustart/out: a file in its place breaks it.
    await lab.exec(broken.index, 'rm -rf /var/lib/ustart/out && touch /var/lib/ustart/out');
    const batches: EventPayload<'run:events'>[] = [];
    const off = api.on('run:events', (b) => batches.push(b));
    try {
      const { runId } = unwrap(
        await api.runStart({ planFile: planFile(), phases: ['connect'], pauseOnFailure: true }),
      );
      const first = unwrap(await api.runAttach({ runId, sinceSeq: 0 }));
      const seen: RunEventView[] = [...first.events];
      const collect = () => {
        for (const b of batches.splice(0)) {
          if (b.attachId !== first.attachId) continue;
          seen.push(...b.events);
          const chars = b.events.reduce((n, e) => n + (e.type === 'log' ? e.data.length : 0), 0);
          void api.runAck({ attachId: first.attachId, chars });
        }
        return seen;
      };
      await expect
        .poll(() => collect().find((e) => e.type === 'run-paused'), { timeout: 150_000 })
        .toMatchObject({ stepId: 'connect.facts', reason: 'step-failed' });
      const failed = seen.find(
        (e) => e.type === 'host-step-finished' && e.host === broken.name && e.state === 'failed',
      );
      expect(failed).toBeDefined();
      const info = unwrap(await api.runGet({ planFile: planFile(), runId }));
      expect(info.active).toBe(true);
      expect(info.paused).toEqual({ stepId: 'connect.facts', reason: 'step-failed' });

      // A second front attaches from a sequence number: it gets exactly what followed.
      const lastSeq = seen.at(-1)!.seq;
      const midway = Math.floor(lastSeq / 2);
      const second = unwrap(await api.runAttach({ runId, sinceSeq: midway, epoch: first.epoch }));
      expect(second.complete).toBe(true);
      expect(second.events.map((e) => e.seq)).toEqual(
        seen.filter((e) => e.seq > midway).map((e) => e.seq),
      );
      unwrap(await api.runDetach({ attachId: second.attachId }));

      // The consultant opens a shell on the broken host and removes the file in the way.
      const shellOut: string[] = [];
      const offShell = api.on('shell:data', (d) => shellOut.push(d.data));
      const exited: EventPayload<'shell:exit'>[] = [];
      const offExit = api.on('shell:exit', (e) => exited.push(e));
      const { shellId } = unwrap(
        await api.shellOpen({ planFile: planFile(), host: broken.name, cols: 100, rows: 30 }),
      );
      unwrap(await api.shellResize({ shellId, cols: 120, rows: 40 }));
      unwrap(
        await api.shellWrite({
          shellId,
          data: 'rm /var/lib/ustart/out && echo "fixed on $(hostname) $(stty size)"\nexit\n',
        }),
      );
      await expect
        .poll(() => exited.find((e) => e.shellId === shellId), { timeout: 20_000 })
        .toBeTruthy();
      expect(shellOut.join('')).toContain(`fixed on ${broken.name} 40 120`);
      offShell();
      offExit();

      unwrap(
        await api.runRetry({
          planFile: planFile(),
          runId,
          stepId: 'connect.facts',
          host: broken.name,
        }),
      );
      await expect
        .poll(() => collect().find((e) => e.type === 'run-finished'), { timeout: 120_000 })
        .toMatchObject({ state: 'succeeded' });
      const seqs = collect().map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));

      // The live log of the retried host-step is the log file from its first offset on.
      const logs = seen.filter(
        (e): e is Extract<RunEventView, { type: 'log' }> =>
          e.type === 'log' && e.stepId === 'connect.facts' && e.host === broken.name,
      );
      const file = unwrap(
        await api.runLog({
          planFile: planFile(),
          runId,
          stepId: 'connect.facts',
          host: broken.name,
        }),
      );
      expect(file.data).toBe(logs.map((e) => e.data).join(''));
      expect(logs[0]!.offset).toBe(0);
      const tail = logs.at(-1)!;
      const before = unwrap(
        await api.runLog({
          planFile: planFile(),
          runId,
          stepId: 'connect.facts',
          host: broken.name,
          end: tail.offset,
        }),
      );
      expect(before.end).toBe(tail.offset);
      expect(before.data + tail.data).toBe(
        file.data.slice(file.data.length - before.data.length - tail.data.length),
      );

      const runs = unwrap(await api.runList({ planFile: planFile() })).runs;
      expect(runs[0]).toMatchObject({ runId, state: 'succeeded', active: false });
      expect(
        runs[0]!.steps.find((s) => s.id === 'connect.facts')!.hostStates[broken.name],
      ).toMatchObject({
        state: 'succeeded',
        // Two attempts of the step itself (it has one retry), then the consultant's.
        attempt: 3,
      });
    } finally {
      off();
    }
  }, 420_000);

  it('asks once for the passphrase of an encrypted key, through secret:needed', async () => {
    const api = core.client;
    const { settings } = unwrap(await api.accessGet({ planFile: planFile() }));
    unwrap(
      await api.accessSet({
        planFile: planFile(),
        settings: { ...settings, keyPath: lab.encryptedKeyPath, agent: false },
      }),
    );
    const asked: EventPayload<'secret:needed'>[] = [];
    const off = api.on('secret:needed', (e) => {
      asked.push(e);
      void api.secretProvide({
        ref: e.ref,
        value: lab.clientKeyPassphrase,
        requestId: e.requestId,
      });
    });
    try {
      const hosts = unwrap(await api.connectCheck({ planFile: planFile() })).hosts;
      expect(hosts.map((h) => h.state)).toEqual(['ok', 'ok', 'ok']);
      expect(asked.map((a) => a.ref)).toEqual([
        { kind: 'passphrase', keyPath: lab.encryptedKeyPath },
      ]);
    } finally {
      off();
    }
  }, 120_000);
});

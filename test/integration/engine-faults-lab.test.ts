/**
 * Faults in the middle of a step, with the real engine over Ssh2Transport on sshd lab hosts
 * (issue 16, findings 8 and 9):
 *
 * - a link that drops, or an sshd that dies, while a step uploads is journaled
 *   `connection-lost` (never `failed … Not connected`), within the keepalive's
 *   interval × count of the drop;
 * - a hard timeout ends the host-step on this side within timeout + the stop grace, even
 *   when the command ignores SIGTERM/SIGHUP and floods a paused consumer, when the host no
 *   longer answers, or when the kill cannot reach the command; an unconfirmed kill is said
 *   so (`unknown`, "remote kill not confirmed"), never "was killed".
 *
 * Times are read from the engine's events (`time`), never from sleeps.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEngine, readJournal, type RunEvent, type StepSpec } from '../../src/engine/index.js';
import { keepaliveSettings } from '../../src/ssh/keepalive.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import {
  DEFAULT_STOP_GRACE_MS,
  Ssh2Transport,
  type Ssh2TransportOptions,
} from '../../src/ssh/ssh2-transport.js';
import type { HostTarget } from '../../src/ssh/transport.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { logged, recordEvents } from '../support/engine-events.js';

const available = labAvailable();
const run = promisify(execFile);

/**
 * What the bounds allow beyond the documented figure: timer lag, a journal fsync and the
 * scheduling of a 2-core machine shared with other test files.
 */
const SLACK_MS = 1500;

type Finished = Extract<RunEvent, { type: 'host-step-finished' }>;

describe.skipIf(!available)('engine faults on lab hosts', () => {
  let lab: Lab;
  let tmp: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ustart-engine-faults-'));
    lab = await createLab({ hosts: 4 });
  });
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await lab?.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  function start(
    name: string,
    i: number,
    step: Omit<StepSpec, 'id' | 'title' | 'phase' | 'targets'>,
    options: { transport?: Partial<Ssh2TransportOptions>; user?: string } = {},
  ) {
    const host = lab.hosts[i]!.name;
    const transport = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
      ...options.transport,
    });
    cleanups.push(() => transport.dispose());
    const hosts = new Map<string, HostTarget>([[host, lab.target(i, options.user)]]);
    const engine = new RunEngine({
      transport,
      runsDir: join(tmp, name),
      steps: [{ id: name, title: name, phase: 't', targets: [host], ...step }],
      hosts,
      resolveTargets: () => [host],
      retryDelayMs: () => 0,
      clusterLock: false,
    });
    const events = recordEvents(engine);
    cleanups.push(async () => events.dispose());
    const done = engine.run();
    return { host, engine, events, done };
  }

  async function journaled(runDir: string, stepId: string) {
    const { records } = await readJournal(join(runDir, 'journal.jsonl'));
    return records.filter((r) => r.type === 'host-step' && r.stepId === stepId).at(-1);
  }

  /** The PIDs of every sshd in host `i`'s network namespace (the lab's own, nothing else). */
  async function sshdPids(i: number): Promise<number[]> {
    const { stdout } = await run('ip', ['netns', 'pids', lab.hosts[i]!.netns]);
    const pids: number[] = [];
    for (const p of stdout.split('\n').filter(Boolean)) {
      const comm = await readFile(`/proc/${p}/comm`, 'utf8').catch(() => '');
      if (comm.trim() === 'sshd') pids.push(Number(p));
    }
    return pids;
  }

  /** Kills process group `pgid` on host `i` as root, and tells whether any of it was there. */
  async function killGroupOn(i: number, pgid: number): Promise<boolean> {
    const r = await lab.exec(i, `kill -KILL -${pgid} 2>/dev/null && echo was-there || true`);
    return r.stdout.includes('was-there');
  }

  it(
    'journals a link cut during an upload as connection-lost within keepalive interval × count',
    { timeout: 60_000 },
    async () => {
      // A short keepalive for the test: 1 s × 3, so the bound is 3 s (the default is 45 s).
      const ka = keepaliveSettings({ keepaliveIntervalMs: 1000, keepaliveCountMax: 3 });
      expect(ka.detectionMs).toBe(3000);
      const { host, engine, events, done } = start(
        'upload-cut',
        0,
        { uploads: [{ path: '/root/big.bin', content: new Uint8Array(64 << 20) }], run: 'true' },
        { transport: { keepaliveIntervalMs: 1000, keepaliveCountMax: 3 } },
      );
      try {
        await events.waitFor(logged('upload-cut', host, 'upload /root/big.bin'));
        await lab.cutLink(0);
        const cutAt = Date.now();
        const result = await done;
        const finished = events.of('host-step-finished')[0]!;
        expect(finished).toMatchObject({ state: 'connection-lost' });
        expect(finished.message).toMatch(/upload to \/root\/big\.bin/);
        expect(finished.message).toMatch(/keepalive for 3 s \(1 s × 3\)/);
        expect(finished.time - cutAt).toBeLessThanOrEqual(ka.detectionMs + SLACK_MS);
        expect(result.state).toBe('connection-lost');
        expect(await journaled(engine.runDir, 'upload-cut')).toMatchObject({
          state: 'connection-lost',
        });
      } finally {
        await lab.restoreLink(0);
      }
    },
  );

  it(
    'journals an sshd killed during an upload as connection-lost at once',
    { timeout: 60_000 },
    async () => {
      const { detectionMs } = keepaliveSettings();
      const { host, engine, events, done } = start('sshd-killed', 1, {
        uploads: [{ path: '/root/big.bin', content: new Uint8Array(64 << 20) }],
        run: 'true',
      });
      await events.waitFor(logged('sshd-killed', host, 'upload /root/big.bin'));
      const pids = await sshdPids(1);
      expect(pids.length).toBeGreaterThanOrEqual(2); // the listener and the session's
      const killedAt = Date.now();
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      const result = await done;
      const finished = events.of('host-step-finished')[0]!;
      expect(finished).toMatchObject({ state: 'connection-lost' });
      expect(finished.message).toMatch(/lost during the upload to \/root\/big\.bin/);
      expect(finished.message).not.toMatch(/Not connected/);
      // A closed TCP connection needs no keepalive: well inside the documented bound.
      expect(finished.time - killedAt).toBeLessThanOrEqual(detectionMs);
      expect(result.state).toBe('connection-lost');
      expect(await journaled(engine.runDir, 'sshd-killed')).toMatchObject({
        state: 'connection-lost',
      });
    },
  );

  it(
    'ends a hard timeout on this side when the command ignores TERM and HUP and floods a paused front',
    { timeout: 60_000 },
    async () => {
      const timeoutMs = 3000;
      const { host, engine, events, done } = start('flood', 2, {
        timeout: { ms: timeoutMs, mode: 'hard' },
        run: `trap '' TERM HUP; echo "started pgid $$"; while :; do echo ${'x'.repeat(200)}; done`,
      });
      // A front that never acknowledges (a browser tab that stopped reading): the flow pauses.
      const front = engine.subscribe(() => undefined, { flowControlled: true });
      cleanups.push(async () => front.dispose());
      const started = await events.waitFor(logged('flood', host, 'started pgid'));
      const pgid = Number(/started pgid (\d+)/.exec(events.output('flood', host))![1]);
      cleanups.push(() => killGroupOn(2, pgid));
      const result = await done;
      expect(engine.hub.flow.paused).toBe(true);
      const finished = events.of('host-step-finished')[0]!;
      expect(finished.time - started.time).toBeLessThanOrEqual(
        timeoutMs + DEFAULT_STOP_GRACE_MS + SLACK_MS,
      );
      // TERM was ignored; the kill went on to KILL and confirmed the group gone.
      expect(finished).toMatchObject({ state: 'failed', retryable: true });
      expect(finished.message).toMatch(/hard timeout of 3 s and was killed/);
      expect(result.state).toBe('failed');
      expect(await journaled(engine.runDir, 'flood')).toMatchObject({ state: 'failed' });
      expect(await killGroupOn(2, pgid)).toBe(false);
    },
  );

  it(
    'ends a hard timeout on this side when the kill cannot reach the command, and says so',
    { timeout: 60_000 },
    async () => {
      // The step runs as the unprivileged lab user and starts a root command through sudo
      // itself (no `sudo: true`): the user's kill cannot reach it.
      await lab.exec(
        2,
        `printf '%s ALL=(ALL) NOPASSWD: ALL\\n' ${lab.testUser.name} > /etc/sudoers.d/zz-faults && chmod 440 /etc/sudoers.d/zz-faults`,
      );
      const timeoutMs = 3000;
      const { host, engine, events, done } = start(
        'beyond-kill',
        2,
        {
          timeout: { ms: timeoutMs, mode: 'hard' },
          run: `exec sudo -n sh -c 'trap "" TERM HUP; echo "started pgid $(ps -o pgid= $$)"; while :; do sleep 1; done'`,
        },
        { user: lab.testUser.name },
      );
      const started = await events.waitFor(logged('beyond-kill', host, 'started pgid'));
      const pgid = Number(/started pgid +(\d+)/.exec(events.output('beyond-kill', host))![1]);
      cleanups.push(() => killGroupOn(2, pgid));
      const result = await done;
      const finished = events.of('host-step-finished')[0]!;
      expect(finished.time - started.time).toBeLessThanOrEqual(
        timeoutMs + DEFAULT_STOP_GRACE_MS + SLACK_MS,
      );
      expect(finished.state).toBe('unknown');
      expect(finished.message).toMatch(/hard timeout of 3 s; remote kill not confirmed/);
      expect(finished.message).not.toMatch(/was killed/);
      expect(result.state).toBe('unknown');
      expect(await journaled(engine.runDir, 'beyond-kill')).toMatchObject({ state: 'unknown' });
      // What the journal says is true: the command still runs there.
      expect(await killGroupOn(2, pgid)).toBe(true);
    },
  );

  it(
    'ends a hard timeout on this side when the host stops answering, before the keepalive would',
    { timeout: 90_000 },
    async () => {
      const timeoutMs = 3000;
      const { detectionMs } = keepaliveSettings();
      const { host, engine, events, done } = start('silent', 3, {
        timeout: { ms: timeoutMs, mode: 'hard' },
        run: 'echo "started pgid $$"; sleep 600',
      });
      try {
        const started = await events.waitFor(logged('silent', host, 'started pgid'));
        const pgid = Number(/started pgid (\d+)/.exec(events.output('silent', host))![1]);
        cleanups.push(() => killGroupOn(3, pgid));
        await lab.cutLink(3);
        const result = await done;
        const finished = events.of('host-step-finished')[0]! as Finished;
        const took = finished.time - started.time;
        expect(took).toBeLessThanOrEqual(timeoutMs + DEFAULT_STOP_GRACE_MS + SLACK_MS);
        expect(took).toBeLessThan(detectionMs);
        expect(finished.state).toBe('unknown');
        expect(finished.message).toMatch(/remote kill not confirmed/);
        expect(result.state).toBe('unknown');
        expect(await journaled(engine.runDir, 'silent')).toMatchObject({ state: 'unknown' });
      } finally {
        await lab.restoreLink(3);
      }
    },
  );
});

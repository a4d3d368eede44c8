/**
 * The run engine over Ssh2Transport as a NON-ROOT lab user who uses sudo, as most sites
 * require (docs/engine.md, "Locks"): the cluster lock is taken through sudo, a sudo step
 * runs, the lock is released, and a stale lock is taken over with --take-over-lock. Also a
 * user without sudo rights (a clear error, not "stale"), and a lock whose heartbeat lies in
 * the future (a crashed laptop with a fast clock), judged by the host's own clock.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUstartError } from '../../src/errors.js';
import { RunEngine, type StepSpec } from '../../src/engine/index.js';
import type { EngineOptions } from '../../src/engine/engine.js';
import { ClusterLock, currentOwner, type LockOwner } from '../../src/engine/lock.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import type { HostTarget } from '../../src/ssh/transport.js';
import { shQuote } from '../../src/util/sh-quote.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { recordEvents } from '../support/engine-events.js';
import { FakeClock } from '../support/fake-clock.js';
import { storeOf } from './ssh-helpers.js';

const available = labAvailable();
const LOCK = '/var/lib/ustart/run.lock';
const SUDO_USER = 'opsadmin';
const PLAIN_USER = 'nosudo';

describe.skipIf(!available)('run engine as a non-root sudo user on lab hosts', () => {
  let lab: Lab;
  let tmp: string;
  let first: string;
  const disposers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ustart-engine-sudo-'));
    lab = await createLab({ hosts: 2 });
    first = lab.hosts[0]!.name;
    for (const h of lab.hosts) await lab.addUser(h.index, SUDO_USER, 'nopasswd');
    await lab.addUser(0, PLAIN_USER, 'none');
  });
  afterAll(async () => {
    for (const d of disposers.splice(0)) await d().catch(() => undefined);
    await lab?.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  function engine(
    user: string,
    steps: StepSpec[],
    extra: Partial<EngineOptions> & { password?: string } = {},
  ) {
    const { password, ...options } = extra;
    const transport = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
      ...(password ? { credentials: storeOf({ sudo: password }) } : {}),
    });
    disposers.push(() => transport.dispose());
    const hosts = new Map<string, HostTarget>(
      lab.hosts.map((h) => [h.name, lab.target(h.index, user)]),
    );
    const e = new RunEngine({
      transport,
      runsDir: join(tmp, `runs-${Math.random().toString(36).slice(2)}`),
      steps,
      hosts,
      resolveTargets: (t) => (t === 'all' ? [...hosts.keys()] : [...(t as string[])]),
      retryDelayMs: () => 0,
      // No `sudo` here: the lock must see for itself that a non-root login needs it.
      clusterLock: { host: first, path: LOCK },
      ...options,
    });
    const events = recordEvents(e);
    disposers.push(async () => events.dispose());
    return { engine: e, events };
  }

  /** A step run through sudo on every host: who it runs as, and the lock as it is meanwhile. */
  const asRoot: StepSpec[] = [
    {
      id: 'as-root',
      title: 'as root',
      phase: 't',
      targets: 'all',
      sudo: true,
      run: `echo "uid=$(id -u)"; echo x >> /root/sudo-ran; if [ -e ${LOCK} ]; then stat -c 'lock %U %a' ${LOCK}; cat ${LOCK}; fi`,
    },
  ];

  /** The message a run of `asRoot` as `user` is refused with, its error code checked. */
  async function refusal(user: string, code: 'RunLocked' | 'LockFailed'): Promise<string> {
    const refused = await engine(user, asRoot)
      .engine.run()
      .catch((e: unknown) => e);
    expect(isUstartError(refused, code)).toBe(true);
    return (refused as Error).message;
  }

  const lockGone = async () =>
    (await lab.exec(0, `test -e ${LOCK}; echo $?`)).stdout.trim() === '1';

  /** Leaves a lock on the first controller as another laptop's run would; its file last written `fileAgeS` s ago by the host's clock. */
  async function plantLock(owner: Partial<LockOwner>, fileAgeS: number): Promise<LockOwner> {
    const lock: LockOwner = {
      runId: 'old-run',
      user: 'someone',
      machine: 'other-laptop',
      pid: 4242,
      startedAt: Date.now() - 600_000,
      heartbeatAt: Date.now() - 300_000,
      token: 'feedc0ffee123456',
      ...owner,
    };
    const at = Math.floor(Date.now() / 1000) - fileAgeS;
    const res = await lab.exec(
      0,
      `mkdir -p /var/lib/ustart && printf '%s' ${shQuote(JSON.stringify(lock))} > ${LOCK} && touch -d @${at} ${LOCK}`,
    );
    expect(res.code, res.stderr).toBe(0);
    return lock;
  }

  it('takes the cluster lock through passwordless sudo, runs a sudo step, releases the lock', async () => {
    const { engine: e, events } = engine(SUDO_USER, asRoot);
    const result = await e.run();
    expect(result.state).toBe('succeeded');
    const out = events.output('as-root', first);
    expect(out).toContain('uid=0');
    // The lock was there while the step ran, owned by root, written by this run.
    expect(out).toContain('lock root 644');
    expect(out).toContain(`"runId":"${e.runId}"`);
    expect(events.output('as-root', lab.hosts[1]!.name)).toContain('uid=0');
    expect(await lockGone()).toBe(true);
    for (const h of lab.hosts) {
      expect((await lab.exec(h.index, 'wc -l < /root/sudo-ran')).stdout.trim()).toBe('1');
    }
  });

  it('takes the cluster lock through sudo with a password (the lab test user)', async () => {
    const { engine: e, events } = engine(lab.testUser.name, asRoot, {
      password: lab.testUser.password,
      secrets: { get: async () => undefined, values: async () => [lab.testUser.password] },
    });
    const result = await e.run();
    expect(result.state).toBe('succeeded');
    expect(events.output('as-root', first)).toContain(`"runId":"${e.runId}"`);
    expect(await lockGone()).toBe(true);
  });

  it('names a stale lock and its owner, and takes it over with --take-over-lock', async () => {
    await plantLock({}, 300);
    const message = await refusal(SUDO_USER, 'RunLocked');
    expect(message).toContain('stale');
    expect(message).toContain('run old-run by someone@other-laptop (pid 4242)');
    expect(message).toContain('--take-over-lock');
    expect(message).not.toContain('unreadable');

    const { engine: e, events } = engine(SUDO_USER, asRoot, {
      clusterLock: { host: first, path: LOCK, takeOver: true },
    });
    const result = await e.run();
    expect(result.state).toBe('succeeded');
    expect(events.output('as-root', first)).toContain(`"runId":"${e.runId}"`);
    expect(await lockGone()).toBe(true);
  });

  it('renews its heartbeat through sudo, and hears when another run took the lock', async () => {
    const transport = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
    });
    disposers.push(() => transport.dispose());
    const conn = await transport.connect(lab.target(0, SUDO_USER));
    const clock = new FakeClock(Date.now());
    const warnings: string[] = [];
    const lock = await ClusterLock.acquire(conn, currentOwner('run-beat', clock), {
      path: LOCK,
      clock,
      onHeartbeatFailed: (m) => warnings.push(m),
    });
    const stamp = async () =>
      (JSON.parse((await lab.exec(0, `cat ${LOCK}`)).stdout) as LockOwner).heartbeatAt;
    const before = await stamp();
    clock.advance(10_000);
    await lock.heartbeat();
    expect(await stamp()).toBe(before! + 10_000);
    expect(warnings).toEqual([]);
    // Another run replaced it (its token differs): the next heartbeat says so, and leaves it.
    await plantLock({ runId: 'newer-run', heartbeatAt: Date.now() }, 0);
    await lock.heartbeat();
    expect(warnings.join()).toMatch(/no longer ours/);
    await lock.release();
    expect(await lockGone()).toBe(false);
    await lab.exec(0, `rm -f ${LOCK}`);
  });

  it('says that a user without sudo rights cannot take the lock, naming host, user and file', async () => {
    const message = await refusal(PLAIN_USER, 'LockFailed');
    expect(message).toContain(`${first}:${LOCK}`);
    expect(message).toContain(PLAIN_USER);
    expect(message).toMatch(/sudo/);
    expect(message).not.toMatch(/stale|another run/);
    expect(await lockGone()).toBe(true);
  });

  it('takes over a lock stamped in the future once the host clock says it is stale', async () => {
    // A laptop whose clock ran an hour fast crashed five minutes ago (by the host's clock).
    await plantLock({ heartbeatAt: Date.now() + 3_600_000 }, 300);
    const message = await refusal(SUDO_USER, 'RunLocked');
    expect(message).toContain('stale');
    expect(message).toMatch(/stamped 36\d\d s ahead of this machine's clock/);
    expect(message).toMatch(new RegExp(`${first}'s own clock.* (29\\d|30\\d) s`));
    expect(message).toContain('--take-over-lock');

    const { engine: e } = engine(SUDO_USER, asRoot, {
      clusterLock: { host: first, path: LOCK, takeOver: true },
    });
    expect((await e.run()).state).toBe('succeeded');
    expect(await lockGone()).toBe(true);

    // The same fast clock on a run that is alive (the host saw its file written just now):
    // refused as live, even with --take-over-lock, and the message says the clocks disagree.
    await plantLock({ heartbeatAt: Date.now() + 3_600_000 }, 0);
    const live = await engine(SUDO_USER, asRoot, {
      clusterLock: { host: first, path: LOCK, takeOver: true },
    })
      .engine.run()
      .catch((e: unknown) => e);
    expect(isUstartError(live, 'RunLocked')).toBe(true);
    expect((live as Error).message).toContain('locked by another run');
    expect((live as Error).message).toMatch(/ahead of this machine's clock/);
    expect((live as Error).message).toContain('Wait for it to finish');
    await lab.exec(0, `rm -f ${LOCK}`);
  });
});

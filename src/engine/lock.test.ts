/** Laptop and cluster locks; the cluster lock through a transport, its time from a fake clock. */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/support/fake-clock.js';
import { LocalTransport } from '../../test/support/local-transport.js';
import { isUstartError } from '../errors.js';
import { ClusterLock, LocalRunLock, currentOwner, type LockOwner } from './lock.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-lock-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('LocalRunLock', () => {
  it('refuses a second run while the owner lives, naming it, and takes over a dead one', async () => {
    const dir = await tempDir();
    const file = join(dir, 'run.lock');
    const clock = new FakeClock();
    const lock = await LocalRunLock.acquire(file, currentOwner('run-a', clock));
    const refused = await LocalRunLock.acquire(file, currentOwner('run-b', clock)).catch((e) => e);
    expect(isUstartError(refused, 'RunLocked')).toBe(true);
    expect(refused.message).toContain(`run run-a by`);
    expect(refused.message).toContain(`pid ${process.pid}`);
    await lock.release();

    const dead: LockOwner = { ...currentOwner('run-dead', clock), pid: await deadPid() };
    await writeFile(file, JSON.stringify(dead));
    const taken = await LocalRunLock.acquire(file, currentOwner('run-c', clock));
    expect(JSON.parse(await readFile(file, 'utf8')).runId).toBe('run-c');
    await taken.release();
  });
});

describe('ClusterLock', () => {
  async function setup() {
    const dir = await tempDir();
    const transport = new LocalTransport();
    cleanups.push(() => transport.dispose());
    const conn = await transport.connect({
      name: 'ctl1',
      address: '127.0.0.1',
      port: 22,
      user: 'root',
    });
    return { path: join(dir, 'lib', 'run.lock'), conn };
  }

  it('refuses a live lock with its owner, and a stale one without --take-over-lock', async () => {
    const { path, conn } = await setup();
    // Run a's laptop keeps its own time; it stops beating when the test stops moving it.
    const aClock = new FakeClock();
    const clock = new FakeClock();
    const a = await ClusterLock.acquire(conn, currentOwner('run-a', aClock), {
      path,
      clock: aClock,
    });
    cleanups.push(() => a.release());
    aClock.advance(20_000);
    await a.heartbeat();
    clock.advance(45_000);
    const live = await ClusterLock.acquire(conn, currentOwner('run-b', clock), {
      path,
      clock,
    }).catch((e) => e);
    expect(isUstartError(live, 'RunLocked')).toBe(true);
    expect(live.message).toContain(`run run-a by`);
    expect(live.message).toContain(`@${hostname()} (pid ${process.pid})`);

    // Run a's laptop went away: no heartbeat for more than 30 s.
    clock.advance(6_000);
    const stale = await ClusterLock.acquire(conn, currentOwner('run-b', clock), {
      path,
      clock,
    }).catch((e) => e);
    expect(isUstartError(stale, 'RunLocked')).toBe(true);
    expect(stale.message).toMatch(/stale.*--take-over-lock/);

    const b = await ClusterLock.acquire(conn, currentOwner('run-b', clock), {
      path,
      clock,
      takeOver: true,
    });
    expect(JSON.parse(await readFile(path, 'utf8')).runId).toBe('run-b');
    const lateA = await ClusterLock.acquire(conn, currentOwner('run-c', clock), {
      path,
      clock,
    }).catch((e) => e);
    expect(lateA.message).toContain('run run-b');
    await b.release();
    await expect(readFile(path)).rejects.toThrow();
  });

  it('tells the old owner when its lock was taken over', async () => {
    const { path, conn } = await setup();
    const oldClock = new FakeClock();
    const clock = new FakeClock();
    const warnings: string[] = [];
    const a = await ClusterLock.acquire(conn, currentOwner('run-a', oldClock), {
      path,
      clock: oldClock,
      onHeartbeatFailed: (m) => warnings.push(m),
    });
    clock.advance(40_000);
    const b = await ClusterLock.acquire(conn, currentOwner('run-b', clock), {
      path,
      clock,
      takeOver: true,
    });
    await a.heartbeat();
    expect(warnings.join()).toMatch(/no longer ours/);
    await a.release();
    expect(JSON.parse(await readFile(path, 'utf8')).runId).toBe('run-b');
    await b.release();
  });

  it('judges a heartbeat stamped in the future by the host clock, and says the skew', async () => {
    const { path, conn } = await setup();
    // This laptop's clock is right; the crashed one's ran an hour fast.
    const clock = new FakeClock(Date.now());
    const fast: LockOwner = {
      ...currentOwner('run-fast', clock),
      machine: 'fast-laptop',
      heartbeatAt: clock.now() + 3_600_000,
      token: '0123456789abcdef',
    };
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, JSON.stringify(fast));
    // Its file was last written five minutes ago by the host's clock.
    const fiveMinutesAgo = new Date(Date.now() - 300_000);
    await utimes(path, fiveMinutesAgo, fiveMinutesAgo);
    const stale = await ClusterLock.acquire(conn, currentOwner('run-b', clock), {
      path,
      clock,
    }).catch((e) => e);
    expect(isUstartError(stale, 'RunLocked')).toBe(true);
    expect(stale.message).toMatch(/stale.*stamped 3600 s ahead of this machine's clock/);
    // A second or two may pass on a loaded machine between utimes and the host's `date`.
    expect(stale.message).toMatch(/by ctl1's own clock nothing renewed it for 30[0-9] s/);
    expect(stale.message).toContain('--take-over-lock');
    expect(stale.detail.skewMs).toBe(3_600_000);
    const b = await ClusterLock.acquire(conn, currentOwner('run-b', clock), {
      path,
      clock,
      takeOver: true,
    });
    expect(JSON.parse(await readFile(path, 'utf8')).runId).toBe('run-b');
    await b.release();

    // The same fast clock on a run that still renews its lock: refused as live.
    await writeFile(path, JSON.stringify(fast));
    const live = await ClusterLock.acquire(conn, currentOwner('run-c', clock), {
      path,
      clock,
      takeOver: true,
    }).catch((e) => e);
    expect(isUstartError(live, 'RunLocked')).toBe(true);
    expect(live.message).toMatch(
      /locked by another run.*ahead of this machine's clock.*renewed \d s ago/,
    );
    expect(JSON.parse(await readFile(path, 'utf8')).runId).toBe('run-fast');
  });

  it('says what failed when the lock cannot be written, instead of calling it stale', async () => {
    const { path, conn } = await setup();
    // Its folder cannot be made: a file stands where the folder should be.
    const blocked = join(path, '..', 'not-a-dir');
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(blocked, 'x');
    const clock = new FakeClock();
    const failed = await ClusterLock.acquire(conn, currentOwner('run-a', clock), {
      path: join(blocked, 'run.lock'),
      clock,
      takeOver: true,
    }).catch((e) => e);
    expect(isUstartError(failed, 'LockFailed')).toBe(true);
    expect(failed.message).toContain(
      `could not write the cluster lock ctl1:${blocked}/run.lock as root`,
    );
    expect(failed.message).toMatch(/cannot create directory.*Check .*not-a-dir on ctl1/);
    expect(failed.message).not.toMatch(/stale|another run/);
  });

  it('renews its heartbeat every 10 s of the clock', async () => {
    const { path, conn } = await setup();
    const clock = new FakeClock();
    const a = await ClusterLock.acquire(conn, currentOwner('run-a', clock), { path, clock });
    expect(clock.pendingTimers).toBe(1);
    await a.release();
    expect(clock.pendingTimers).toBe(0);
  });
});

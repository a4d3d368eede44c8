/**
 * Two locks keep two runs from driving the same servers at once:
 * - on the laptop, one run per site plan: `run.lock` in the runs folder (pid, machine,
 *   start time); a lock whose process is gone is taken over;
 * - on the cluster, a lock file on the first controller (owner, machine, pid) with a
 *   heartbeat every 10 s; it is stale after 30 s without one, and taking over a stale lock
 *   needs an explicit decision (`--take-over-lock`), because the other laptop may only be
 *   asleep.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { open, readFile, rm } from 'node:fs/promises';
import { UstartError } from '../errors.js';
import type { HostConnection } from '../ssh/transport.js';
import { shQuote } from '../util/shell.js';
import type { Clock } from './clock.js';

export interface LockOwner {
  runId: string;
  user: string;
  machine: string;
  pid: number;
  startedAt: number;
  /** Cluster lock only: last heartbeat, by the owner's clock. */
  heartbeatAt?: number;
  /** Cluster lock only: tells this owner's lock from a later one. */
  token?: string;
}

export function describeOwner(o: LockOwner): string {
  return `run ${o.runId} by ${o.user}@${o.machine} (pid ${o.pid}), started ${new Date(o.startedAt).toISOString()}`;
}

export function currentOwner(runId: string, clock: Clock): LockOwner {
  return {
    runId,
    user: safeUser(),
    machine: hostname(),
    pid: process.pid,
    startedAt: clock.now(),
  };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The laptop lock: one run per plan. Released by `release()`; a dead owner's lock is taken over. */
export class LocalRunLock {
  private constructor(
    readonly file: string,
    readonly owner: LockOwner,
  ) {}

  static async acquire(file: string, owner: LockOwner): Promise<LocalRunLock> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(file, 'wx', 0o644);
        try {
          await handle.writeFile(JSON.stringify(owner) + '\n');
          await handle.sync();
        } finally {
          await handle.close();
        }
        return new LocalRunLock(file, owner);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = await readOwner(file);
      // Only a process on this machine can be checked; one elsewhere (a shared folder) is
      // taken as alive.
      if (held && (held.machine !== hostname() || pidAlive(held.pid))) {
        throw new UstartError(
          'RunLocked',
          `another run of this plan is going on: ${describeOwner(held)}. Wait for it to finish or stop it (Ctrl-C in its terminal); the lock is ${file}.`,
          { detail: { file, owner: held } },
        );
      }
      // Stale (or unreadable, a crash while writing it): remove and try again.
      await rm(file, { force: true });
    }
    throw new UstartError(
      'RunLocked',
      `could not take the lock ${file}: another process keeps creating it.`,
      { detail: { file } },
    );
  }

  async release(): Promise<void> {
    const held = await readOwner(this.file);
    if (held && held.pid === this.owner.pid && held.runId === this.owner.runId)
      await rm(this.file, { force: true });
  }
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

export const CLUSTER_LOCK_PATH = '/var/lib/ustart/run.lock';
export const HEARTBEAT_MS = 10_000;
export const STALE_MS = 30_000;

export interface ClusterLockOptions {
  path?: string;
  takeOver?: boolean;
  sudo?: boolean;
  clock: Clock;
  /** Called when a heartbeat could not be written (the connection dropped, the file changed). */
  onHeartbeatFailed?: (message: string) => void;
}

/**
 * The cluster lock, a file on the first controller written through the transport. The
 * staleness is judged on the owner's heartbeat time; laptops keep NTP time, and 30 s
 * covers ordinary drift.
 */
export class ClusterLock {
  private stopHeartbeat: (() => void) | undefined;

  private constructor(
    private readonly conn: HostConnection,
    private readonly path: string,
    private readonly owner: LockOwner,
    private readonly opts: ClusterLockOptions,
  ) {}

  static async acquire(
    conn: HostConnection,
    owner: LockOwner,
    opts: ClusterLockOptions,
  ): Promise<ClusterLock> {
    const path = opts.path ?? CLUSTER_LOCK_PATH;
    const mine: LockOwner = {
      ...owner,
      heartbeatAt: opts.clock.now(),
      token: randomBytes(8).toString('hex'),
    };
    const q = shQuote(path);
    const dir = shQuote(path.replace(/\/[^/]*$/, '') || '/');
    // noclobber makes the create atomic: of two laptops, one wins.
    const res = await run(
      conn,
      `mkdir -p ${dir} && if ( set -C; cat > ${q} ) 2>/dev/null; then echo ACQUIRED; else echo HELD; cat ${q}; fi`,
      opts.sudo,
      JSON.stringify(mine),
    );
    if (!res.startsWith('ACQUIRED')) {
      const held = parseOwner(res.slice('HELD'.length));
      const age = held?.heartbeatAt === undefined ? Infinity : opts.clock.now() - held.heartbeatAt;
      const where = `${conn.target.name}:${path}`;
      // A lock left by a dead process of this very machine is provably free.
      const deadHere = held !== undefined && held.machine === hostname() && !pidAlive(held.pid);
      if (age <= STALE_MS && held && !deadHere) {
        throw new UstartError(
          'RunLocked',
          `the cluster is locked by another run: ${describeOwner(held)}, last heartbeat ${Math.round(age / 1000)} s ago (lock ${where}). Wait for it to finish.`,
          { detail: { owner: held, host: conn.target.name, path } },
        );
      }
      if (!opts.takeOver && !deadHere) {
        throw new UstartError(
          'RunLocked',
          `the cluster lock ${where} is stale (${held ? `${describeOwner(held)}, no heartbeat for ${Math.round(age / 1000)} s` : 'unreadable'}). If that run is really gone, run again with --take-over-lock.`,
          { detail: { owner: held, host: conn.target.name, path, stale: true } },
        );
      }
      // Replace only the lock we judged stale: a newer owner's token makes the swap fail.
      const expect = held?.token ? `grep -q ${shQuote(`"token":"${held.token}"`)} ${q} && ` : '';
      const swapped = await run(
        conn,
        `${expect}cat > ${q}.new && mv -f ${q}.new ${q} && echo TAKEN`,
        opts.sudo,
        JSON.stringify(mine),
      );
      if (!swapped.startsWith('TAKEN')) {
        throw new UstartError(
          'RunLocked',
          `the cluster lock ${where} changed while taking it over; another run took it. Look at ${where}.`,
          { detail: { host: conn.target.name, path } },
        );
      }
    }
    const lock = new ClusterLock(conn, path, mine, opts);
    lock.stopHeartbeat = opts.clock.setInterval(() => void lock.heartbeat(), HEARTBEAT_MS);
    return lock;
  }

  /** Rewrites the heartbeat time, only while the file is still ours. */
  async heartbeat(): Promise<void> {
    const q = shQuote(this.path);
    const next = { ...this.owner, heartbeatAt: this.opts.clock.now() };
    try {
      const out = await run(
        this.conn,
        `grep -q ${shQuote(`"token":"${this.owner.token}"`)} ${q} && cat > ${q}.new && mv -f ${q}.new ${q} && echo OK`,
        this.opts.sudo,
        JSON.stringify(next),
      );
      if (!out.startsWith('OK'))
        this.opts.onHeartbeatFailed?.(
          `the cluster lock ${this.conn.target.name}:${this.path} is no longer ours; another run took it over.`,
        );
    } catch (e) {
      this.opts.onHeartbeatFailed?.(
        `could not renew the cluster lock on ${this.conn.target.name}: ${(e as Error).message}`,
      );
    }
  }

  async release(): Promise<void> {
    this.stopHeartbeat?.();
    this.stopHeartbeat = undefined;
    const q = shQuote(this.path);
    await run(
      this.conn,
      `if grep -q ${shQuote(`"token":"${this.owner.token}"`)} ${q}; then rm -f ${q}; fi`,
      this.opts.sudo,
    ).catch(() => undefined);
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    return JSON.parse(text.trim()) as LockOwner;
  } catch {
    return undefined;
  }
}

async function run(
  conn: HostConnection,
  command: string,
  sudo = false,
  stdin?: string,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  const outcome = await conn.exec(command, {
    sudo,
    stdin,
    timeoutMs: 20_000,
    onStdout: (c) => chunks.push(c),
  });
  if (outcome.kind !== 'exited') {
    throw new UstartError(
      outcome.kind === 'connection-lost' ? 'ConnectionLost' : 'CommandTimeout',
      `the cluster lock command on ${conn.target.name} ended with ${outcome.kind}.`,
      { detail: { host: conn.target.name } },
    );
  }
  return Buffer.concat(chunks).toString('utf8');
}

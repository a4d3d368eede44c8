/**
 * Two locks keep two runs from driving the same servers at once:
 * - on the laptop, one run per site plan: `run.lock` in the runs folder (pid, machine,
 *   start time); a lock whose process is gone is taken over;
 * - on the cluster, a lock file on the first controller (owner, machine, pid), written
 *   through sudo for a non-root login, with a heartbeat every 10 s; it is stale after 30 s
 *   without one (by the host's clock when the heartbeat is stamped in the future), and
 *   taking over a stale lock needs an explicit decision (`--take-over-lock`), because the
 *   other laptop may only be asleep.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { open, readFile, rm } from 'node:fs/promises';
import { UstartError } from '../errors.js';
import type { HostConnection } from '../ssh/transport.js';
import { shQuote } from '../util/sh-quote.js';
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
/**
 * A heartbeat stamped more than this ahead of this machine's clock is suspect: the owner's
 * clock (or this one) is off, and this machine's clock cannot age it. The host's own clock
 * then judges (see `judge`).
 */
export const MAX_SKEW_MS = 30_000;

export interface ClusterLockOptions {
  path?: string;
  takeOver?: boolean;
  /** Write the lock through sudo. Default: when the SSH user is not root (the lock lives under /var/lib). */
  sudo?: boolean;
  clock: Clock;
  /** Called when a heartbeat could not be written (the connection dropped, the file changed). */
  onHeartbeatFailed?: (message: string) => void;
}

/** Where the lock is and how it is written: the connection, the file, through sudo or not. */
interface LockSite {
  conn: HostConnection;
  path: string;
  sudo: boolean;
}

/**
 * The cluster lock, a file on the first controller written through the transport (through
 * sudo for a non-root login). Staleness is judged on the owner's heartbeat time by this
 * machine's clock: laptops keep NTP time, and 30 s covers ordinary drift. A heartbeat
 * stamped in the future (a fast clock) is judged by the host's clock instead: the lock
 * file's modification time against the host's time, both read in one command.
 */
export class ClusterLock {
  private stopHeartbeat: (() => void) | undefined;

  private constructor(
    private readonly site: LockSite,
    private readonly owner: LockOwner,
    private readonly opts: ClusterLockOptions,
  ) {}

  static async acquire(
    conn: HostConnection,
    owner: LockOwner,
    opts: ClusterLockOptions,
  ): Promise<ClusterLock> {
    const path = opts.path ?? CLUSTER_LOCK_PATH;
    const site: LockSite = { conn, path, sudo: opts.sudo ?? conn.target.user !== 'root' };
    const mine: LockOwner = {
      ...owner,
      heartbeatAt: opts.clock.now(),
      token: randomBytes(8).toString('hex'),
    };
    const q = shQuote(path);
    const dir = shQuote(path.replace(/\/[^/]*$/, '') || '/');
    const where = `${conn.target.name}:${path}`;
    // noclobber makes the create atomic: of two laptops, one wins. A lock that is there is
    // printed after the host's time and the file's modification time, both in seconds by
    // the host's clock (docs/upstream-facts.md#coreutils.stat-mtime-epoch).
    // Exit 4: not created and not there, a lock released in between (tried again) or a
    // file that cannot be created (its error on stderr).
    const script = `mkdir -p ${dir} || exit 3; if ( set -C; cat > ${q} ); then echo ACQUIRED; exit 0; fi; [ -e ${q} ] || exit 4; echo HELD; date +%s; stat -c %Y ${q} 2>/dev/null || echo -; cat ${q}`;
    let res = await run(site, script, JSON.stringify(mine));
    if (res.code === 4) res = await run(site, script, JSON.stringify(mine));
    if (res.code !== 0) throw lockFailed(site, res);
    if (!res.out.startsWith('ACQUIRED')) {
      const [marker, hostNow, mtime, ...rest] = res.out.split('\n');
      if (marker !== 'HELD') throw lockFailed(site, res);
      const held = parseOwner(rest.join('\n'));
      const verdict = judge(held, opts.clock.now(), hostTimes(hostNow, mtime), conn.target.name);
      // A lock left by a dead process of this very machine is provably free.
      const deadHere = held !== undefined && held.machine === hostname() && !pidAlive(held.pid);
      if (verdict.live && held && !deadHere) {
        throw new UstartError(
          'RunLocked',
          `the cluster is locked by another run: ${describeOwner(held)}, ${verdict.text} (lock ${where}). Wait for it to finish.`,
          {
            detail: {
              owner: held,
              host: conn.target.name,
              path,
              ...(verdict.skewMs !== undefined ? { skewMs: verdict.skewMs } : {}),
            },
          },
        );
      }
      if (!opts.takeOver && !deadHere) {
        throw new UstartError(
          'RunLocked',
          `the cluster lock ${where} is stale (${held ? `${describeOwner(held)}, ${verdict.text}` : 'its content is unreadable'}). If that run is really gone, run again with --take-over-lock.`,
          {
            detail: {
              owner: held,
              host: conn.target.name,
              path,
              stale: true,
              ...(verdict.skewMs !== undefined ? { skewMs: verdict.skewMs } : {}),
            },
          },
        );
      }
      // Replace only the lock we judged stale: a newer owner's token makes the swap fail.
      // A temp file of this shell's own (`$$`): two runs taking over at once never share one.
      const swap = `cat > ${q}.new.$$ && mv -f ${q}.new.$$ ${q} && echo TAKEN`;
      const swapped = await run(
        site,
        held?.token
          ? `if grep -q ${shQuote(`"token":"${held.token}"`)} ${q}; then ${swap}; else echo CHANGED; fi`
          : swap,
        JSON.stringify(mine),
      );
      if (swapped.code === 0 && swapped.out.startsWith('CHANGED')) {
        throw new UstartError(
          'RunLocked',
          `the cluster lock ${where} changed while taking it over: another run took it, or it was released. Look at ${where}, then run again.`,
          { detail: { host: conn.target.name, path } },
        );
      }
      if (swapped.code !== 0 || !swapped.out.startsWith('TAKEN')) throw lockFailed(site, swapped);
    }
    const lock = new ClusterLock(site, mine, opts);
    lock.stopHeartbeat = opts.clock.setInterval(() => void lock.heartbeat(), HEARTBEAT_MS);
    return lock;
  }

  /**
   * One write at a time: the timer's heartbeat, an explicit one and the release follow each
   * other, so a release never races a heartbeat that would write the file back.
   */
  private writing: Promise<void> = Promise.resolve();
  private released = false;

  private serial(write: () => Promise<void>): Promise<void> {
    const next = this.writing.then(write);
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Rewrites the heartbeat time, only while the file is still ours. */
  heartbeat(): Promise<void> {
    // A timer's heartbeat queued behind the release has nothing left to renew.
    return this.serial(() => (this.released ? Promise.resolve() : this.writeHeartbeat()));
  }

  private async writeHeartbeat(): Promise<void> {
    const { conn, path } = this.site;
    const q = shQuote(path);
    const next = { ...this.owner, heartbeatAt: this.opts.clock.now() };
    try {
      const res = await run(
        this.site,
        `if grep -q ${shQuote(`"token":"${this.owner.token}"`)} ${q}; then cat > ${q}.new.$$ && mv -f ${q}.new.$$ ${q} && echo OK; else echo CHANGED; fi`,
        JSON.stringify(next),
      );
      if (res.code === 0 && res.out.startsWith('CHANGED'))
        this.opts.onHeartbeatFailed?.(
          `the cluster lock ${conn.target.name}:${path} is no longer ours; another run took it over.`,
        );
      else if (res.code !== 0 || !res.out.startsWith('OK'))
        this.opts.onHeartbeatFailed?.(lockFailed(this.site, res).message);
    } catch (e) {
      this.opts.onHeartbeatFailed?.(
        `could not renew the cluster lock on ${conn.target.name}: ${(e as Error).message}`,
      );
    }
  }

  release(): Promise<void> {
    this.stopHeartbeat?.();
    this.stopHeartbeat = undefined;
    const q = shQuote(this.site.path);
    return this.serial(async () => {
      this.released = true;
      await run(
        this.site,
        `if grep -q ${shQuote(`"token":"${this.owner.token}"`)} ${q}; then rm -f ${q}; fi`,
      ).catch(() => undefined);
    });
  }
}

/** The host's time and the lock file's modification time, in ms by the host's clock. */
interface HostTimes {
  now: number;
  written: number;
}

function hostTimes(now: string | undefined, written: string | undefined): HostTimes | undefined {
  if (!/^\d+$/.test(now ?? '') || !/^\d+$/.test(written ?? '')) return undefined;
  return { now: Number(now) * 1000, written: Number(written) * 1000 };
}

const secs = (ms: number) => Math.round(ms / 1000);

/**
 * Is a held lock alive? By this machine's clock against the owner's heartbeat stamp, unless
 * the stamp lies more than MAX_SKEW_MS ahead: then two clocks disagree and this one cannot
 * age it, so the host's clock does (the file is rewritten at every heartbeat, so its
 * modification time is the last heartbeat by the host's clock; seconds are enough). When
 * the host's clock cannot be read, the lock counts as stale: a take-over still needs
 * --take-over-lock, and the message says why.
 */
function judge(
  held: LockOwner | undefined,
  now: number,
  host: HostTimes | undefined,
  hostName: string,
): { live: boolean; text: string; skewMs?: number } {
  if (held?.heartbeatAt === undefined) return { live: false, text: 'no heartbeat recorded' };
  const age = now - held.heartbeatAt;
  if (age >= 0) {
    return age <= STALE_MS
      ? { live: true, text: `last heartbeat ${secs(age)} s ago` }
      : { live: false, text: `no heartbeat for ${secs(age)} s` };
  }
  if (-age <= MAX_SKEW_MS) return { live: true, text: 'last heartbeat just now' };
  const ahead = `its heartbeat is stamped ${secs(-age)} s ahead of this machine's clock`;
  if (!host) {
    return {
      live: false,
      skewMs: -age,
      text: `${ahead}, so one of the two clocks is wrong, and ${hostName}'s own clock could not be read to tell whether it still runs`,
    };
  }
  const hostAge = Math.max(0, host.now - host.written);
  // Whose clock is off: this machine's against the host's, or else the owner's.
  const mineOff = now - host.now;
  const whose =
    Math.abs(mineOff) > MAX_SKEW_MS
      ? `this machine's clock is ${secs(Math.abs(mineOff))} s ${mineOff < 0 ? 'behind' : 'ahead of'} ${hostName}'s`
      : `the owner's clock was about ${secs(held.heartbeatAt - host.written)} s ahead of ${hostName}'s`;
  return hostAge <= STALE_MS
    ? {
        live: true,
        skewMs: -age,
        text: `${ahead} (${whose}), but ${hostName}'s own clock says it was renewed ${secs(hostAge)} s ago`,
      }
    : {
        live: false,
        skewMs: -age,
        text: `${ahead} (${whose}); by ${hostName}'s own clock nothing renewed it for ${secs(hostAge)} s`,
      };
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    return JSON.parse(text.trim()) as LockOwner;
  } catch {
    return undefined;
  }
}

/** A lock command that could not do its work (no rights, sudo refused, a full disk). */
function lockFailed(site: LockSite, res: RunOutput): UstartError {
  const { conn, path, sudo } = site;
  const host = conn.target.name;
  const user = conn.target.user;
  const said =
    res.err
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1)
      ?.slice(0, 200) ?? `exit code ${res.code}`;
  const dir = path.replace(/\/[^/]*$/, '') || '/';
  // sudo's own complaints start with "sudo:" (docs/upstream-facts.md#sudo.error-prefix);
  // anything else is the lock command's.
  const sudoRefused = sudo && /^sudo:/m.test(res.err);
  const what = sudoRefused
    ? `${user} needs sudo rights on ${host}: without a password, or with its sudo password given when asked`
    : sudo || user === 'root'
      ? `Check ${dir} on ${host}: it must be a folder root can write`
      : `${user} must be able to write ${dir} there; log in as a user with sudo rights`;
  return new UstartError(
    'LockFailed',
    `could not write the cluster lock ${host}:${path} as ${user}${sudo ? ' through sudo' : ''} (${host} said: ${said}). ${what}.`,
    { detail: { host, path, user, sudo, exitCode: res.code } },
  );
}

interface RunOutput {
  code: number;
  out: string;
  err: string;
}

async function run(site: LockSite, command: string, stdin?: string): Promise<RunOutput> {
  const { conn, sudo } = site;
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const outcome = await conn.exec(command, {
    sudo,
    stdin,
    timeoutMs: 20_000,
    onStdout: (c) => out.push(c),
    onStderr: (c) => err.push(c),
  });
  if (outcome.kind !== 'exited') {
    throw new UstartError(
      outcome.kind === 'connection-lost' ? 'ConnectionLost' : 'CommandTimeout',
      `the cluster lock command on ${conn.target.name} ended with ${outcome.kind}.`,
      { detail: { host: conn.target.name } },
    );
  }
  return {
    code: outcome.code,
    out: Buffer.concat(out).toString('utf8'),
    err: Buffer.concat(err).toString('utf8'),
  };
}

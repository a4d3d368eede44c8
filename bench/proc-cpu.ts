/**
 * CPU seconds from /proc, for the transfer benches (bench/sftp.ts, bench/bundle-push.ts):
 * this process's reaped children (scp and its ssh) and everything in a lab host's network
 * namespace (live processes plus what each has reaped).
 */
import { readFileSync } from 'node:fs';
import { runCommand } from '../test/lab/run.js';

/** USER_HZ: clock ticks per second in /proc/<pid>/stat (100 on Linux). */
const TICKS = 100;

/** utime+stime (own) and cutime+cstime (reaped children) of a process, in seconds. */
export function procCpu(pid: number | 'self', withChildren: boolean, own = true): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return ((own ? f[11]! + f[12]! : 0) + (withChildren ? f[13]! + f[14]! : 0)) / TICKS;
  } catch {
    return 0; // it exited between the listing and the read
  }
}

/** CPU of this process's reaped children (scp and its ssh). */
export function childCpu(): number {
  return procCpu('self', true, false);
}

/** This process's own CPU seconds (user + system) since `from`. */
export function ownCpu(from?: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1e6;
}

/**
 * CPU of everything in the host's namespace: live processes plus what each has reaped,
 * so a finished sftp-server or sha256sum is still counted (in its sshd parent).
 */
export async function namespaceCpu(netns: string): Promise<number> {
  const { stdout } = await runCommand('ip', ['netns', 'pids', netns]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .reduce((sum, pid) => sum + procCpu(Number(pid), true), 0);
}

/**
 * A bundle to N lab hosts with pushBundleToHosts (this machine's link carries it once: the
 * first host receives it, the others fetch it from the first over the lab's bridge, every
 * host checks every file) against ONE `scp -r` of the same folder to one host. Goal: N = 10
 * in ≤ 1.3 × the time of that one scp. Prints the ratio for N = 1, 5 and 10.
 *
 * The bundle is the uMetal lab fixture's (test/support/umetal-lab.ts). Each round runs, for
 * every N, one scp to host 0 and one fan-out to hosts 0..N-1, back to back, alternating
 * which goes first; the ratio is taken within the pair, the table shows medians.
 *
 * The profile (why N = 10 is not ≤ 1.3 × here): all lab hosts are namespaces on this
 * machine's cores, so every host's sshd, tar, curl, openssl and the source's python server
 * run on the CPUs the sender uses. The bench counts CPU seconds per role: this process
 * (process.cpuUsage: the SSH client, the tar stream), each host (its sshd's
 * utime+stime+cutime+cstime from /proc/<pid>/stat: the lab host's sshd is the root of every
 * process of that host, and reaps its sessions, which reap theirs; read once the sshd has no
 * child left), scp (this process's cutime+cstime), and the whole machine (/proc/stat, so the
 * other agents' load shows). From them: the lower bound on wall time here (all CPU / cores),
 * and the time on separate machines (the push to the first host as measured, alone, plus
 * the slowest fetching host's own CPU path, plus the source's uplink carrying N−1 copies at
 * SITE_GBIT). Last, one fetching host taken apart: one curl of the bundle from host 0's
 * server, then one openssl check of it, each with its CPU seconds (the shell's cutime).
 *
 * The chain relay (relayBundleToHosts, src/bundle/push-relay.ts) runs in the same rounds,
 * next to the star and the scp: each host passes the stream on to the next as it arrives.
 * Its profile: the same CPU counts per role, and from the relay's own logs (RELAY's
 * timestamped events) the hop delay (the last host's first byte after the first host's)
 * and the tail (the last host's receiver done after the first host's). Its site model: the
 * push to one host alone (the star's first phase, as measured) plus the measured hops, plus
 * what the slowest relaying host's CPU exceeds the first host's (a slower stage paces the
 * chain); each uplink carries one copy, so the site network adds nothing at SITE_GBIT.
 *
 * Run: `node bin/run-ts.mjs bench/bundle-fanout.ts [--rounds 3]` as root (builds a 10-host lab).
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fetchBundleFrom, pushBundle } from '../src/bundle/index.js';
import { serveBundleFolder } from '../src/bundle/push.js';
import { relayBundleToHosts } from '../src/bundle/push-relay.js';
import { relayEvent } from '../src/bundle/push-stream.js';
import { KnownHosts } from '../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../src/ssh/ssh2-transport.js';
import { createLab } from '../test/lab/lab.js';
import { labUnavailableReason } from '../test/lab/require-lab.js';
import { mustRun } from '../test/lab/run.js';
import { prepareUmetalBundle } from '../test/support/umetal-lab.js';

const PUSH_DIR = '/var/lib/ustart/bench-fanout';
const SCP_DIR = '/var/lib/ustart/bench-scp';
const COUNTS = [1, 5, 10];
/** The site network the model assumes between the source and the fetching hosts. */
const SITE_GBIT = 10;

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);

async function main(): Promise<void> {
  const reason = labUnavailableReason();
  if (reason) throw new Error(`bench/bundle-fanout: ${reason}`);
  const bundle = await prepareUmetalBundle();
  const mb = bundle.report.manifest!.entries.reduce((n, e) => n + e.size, 0) / 1e6;
  const lab = await createLab({ hosts: Math.max(...COUNTS) });
  const transport = new Ssh2Transport({
    knownHosts: new KnownHosts(lab.knownHostsPath),
    agentSocket: null,
    identityFiles: [lab.clientKeyPath],
  });
  try {
    const clear = () =>
      Promise.all(
        lab.hosts.map((h) =>
          lab.exec(h, `rm -rf ${PUSH_DIR} ${SCP_DIR}; mkdir -p /var/lib/ustart`),
        ),
      );
    const hostPids = lab.hosts.map((h) => h.pid);
    /** Waits until no lab host's sshd has a child left: every session reaped into cutime. */
    const settled = async () => {
      for (let i = 0; i < 200; i++) {
        const kids = await Promise.all(hostPids.map((pid) => childrenOf(pid)));
        if (kids.every((k) => k.length === 0)) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('bench/bundle-fanout: a lab host still has SSH sessions 5 s after the run');
    };
    const snapshot = async (): Promise<Snapshot> => ({
      at: performance.now(),
      self: selfCpu(),
      children: await childCpu('self'),
      hosts: await Promise.all(hostPids.map((pid) => cpuOf(pid))),
      machine: await machineBusy(),
    });
    const measure = async (run: (phase: () => void) => Promise<unknown>): Promise<Sample> => {
      await clear();
      await settled();
      const before = await snapshot();
      let phaseAt = 0;
      await run(() => (phaseAt = performance.now()));
      const wall = (performance.now() - before.at) / 1000;
      await settled();
      const after = await snapshot();
      return {
        wall,
        firstWall: phaseAt ? (phaseAt - before.at) / 1000 : wall,
        laptop: after.self - before.self,
        children: after.children - before.children,
        hosts: after.hosts.map((c, i) => c - before.hosts[i]!),
        machine: after.machine - before.machine,
      };
    };
    const scp = () =>
      measure(() =>
        mustRun('scp', [
          '-q',
          '-r',
          '-i',
          lab.clientKeyPath,
          '-o',
          `UserKnownHostsFile=${lab.knownHostsPath}`,
          '-o',
          'BatchMode=yes',
          bundle.dir,
          `root@${lab.hosts[0]!.address}:${SCP_DIR}`,
        ]),
      );
    // pushBundleToHosts is exactly these two calls; timed apart to see the phases.
    const fanOut = (n: number) =>
      measure(async (phase) => {
        const [first, ...rest] = lab.hosts.slice(0, n).map((h) => lab.target(h.index));
        const pushed = await pushBundle(transport, first!, bundle.report, { remoteDir: PUSH_DIR });
        phase();
        await fetchBundleFrom(transport, first!, pushed, rest, bundle.report, {
          remoteDir: PUSH_DIR,
        });
      });
    /** The relay's timings from its logs: hop delay and tail, seconds. */
    let relayTimes: { hops: number; tail: number; fromHere: number } = {
      hops: 0,
      tail: 0,
      fromHere: 0,
    };
    const chain = (n: number) =>
      measure(async () => {
        const relayed = await relayBundleToHosts(
          transport,
          lab.hosts.slice(0, n).map((h) => lab.target(h.index)),
          bundle.report,
          { remoteDir: PUSH_DIR },
        );
        const at = (k: number, what: string) =>
          relayed[k]!.log.map((l) => relayEvent(l)).find((e) => e?.what === what)?.at ?? NaN;
        relayTimes = {
          hops: n > 1 ? at(n - 1, 'first-byte') - at(0, 'first-byte') : 0,
          tail: n > 1 ? at(n - 1, 'receiver-exit') - at(0, 'receiver-exit') : 0,
          fromHere: relayed.filter((r, k) => k > 0 && r.from === 'this machine').length,
        };
      });
    const fetcherSplit = async () => {
      await clear();
      const [a, b] = [lab.target(0), lab.target(1)];
      const pushed = await pushBundle(transport, a, bundle.report, { remoteDir: PUSH_DIR });
      await fetchBundleFrom(transport, a, pushed, [b], bundle.report, { remoteDir: PUSH_DIR });
      await settled();
      const server = await serveBundleFolder(transport, a, PUSH_DIR, undefined);
      if (!server) throw new Error('bench/bundle-fanout: host 0 cannot serve');
      const before = await cpuOf(hostPids[0]!);
      let parts: { curl: number; check: number; curlWall: number };
      try {
        const script = [
          'set -e',
          'cpu() { set -- $(cut -d" " -f16,17 /proc/$$/stat); echo $(($1 + $2)); }',
          'w=/tmp/ustart-bench-split; rm -rf $w; mkdir -p $w',
          `cd ${PUSH_DIR}`,
          `find . -path ./.incoming -prune -o -type f -printf '%P\\n' > $w/list`,
          // A `%` in a name (apt's epoch as %3a) is %25 in its URL, as the receiver's list has it.
          `sed 'h; s|%|%25|g; s|.*|url = "${server.url}/&"|; p; g; s|.*|output = "&"|' $w/list > $w/cfg`,
          'cd $w',
          'c0=$(cpu); t0=$(date +%s%N)',
          'curl -fsS --fail-early --create-dirs -K cfg',
          'c1=$(cpu); t1=$(date +%s%N)',
          "tr '\\n' '\\0' < list | xargs -0 openssl dgst -sha256 -r -- > /dev/null",
          'c2=$(cpu)',
          'echo "$((c1 - c0)) $((c2 - c1)) $(((t1 - t0) / 1000000))"',
          'cd / && rm -rf $w',
        ].join('\n');
        const r = await lab.exec(1, script);
        if (r.code !== 0) throw new Error(`bench/bundle-fanout: split: ${r.stderr}`);
        const [curl, check, ms] = r.stdout.trim().split(' ').map(Number);
        parts = { curl: curl! / TICKS, check: check! / TICKS, curlWall: ms! / 1000 };
      } finally {
        await server.stop();
        await settled();
      }
      return { ...parts, server: (await cpuOf(hostPids[0]!)) - before };
    };
    const samples = new Map(COUNTS.map((n) => [n, [] as Round[]]));
    const loads: string[] = [];
    for (let r = 0; r < rounds; r++) {
      loads.push((await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' '));
      for (const n of COUNTS) {
        // Alternate which goes first, so neither always runs on the warmer machine.
        let scpSample: Sample;
        let fan: Sample;
        let relay: Sample;
        if (r % 2 === 0) {
          scpSample = await scp();
          fan = await fanOut(n);
          relay = await chain(n);
        } else {
          relay = await chain(n);
          fan = await fanOut(n);
          scpSample = await scp();
        }
        samples.get(n)!.push({ scp: scpSample, fan, chain: relay, ...relayTimes });
        console.log(
          `round ${r + 1}/${rounds}, N=${n}: star ${fan.wall.toFixed(2)} s, chain ${relay.wall.toFixed(2)} s (hops ${relayTimes.hops.toFixed(2)} s, tail ${relayTimes.tail.toFixed(2)} s, ${relayTimes.fromHere} host(s) pushed from here), one scp -r ${scpSample.wall.toFixed(2)} s`,
        );
      }
    }
    // One fetching host's CPU split: host 1 fetches the bundle again from host 0's server with
    // one curl (as the receiver does), then checks it with one openssl (as the receiver
    // does); the shell's cutime + cstime after each (fields 16–17 of /proc/$$/stat).
    const split = await fetcherSplit();
    await clear();
    const cores = availableParallelism();
    const bytes = mb * 1e6;
    console.log(
      `\nBundle of ${mb.toFixed(1)} MB to N lab hosts: the star (pushBundleToHosts, every file checked on every host) vs one scp -r to one host; median of ${rounds} rounds; ${cores} cores; load average at each round's start: ${loads.join(' | ')}`,
    );
    const col = (xs: readonly (string | number)[]) =>
      xs.map((x, i) => String(x).padStart(i === 0 ? 3 : 8)).join(' ');
    console.log(
      col([
        'N',
        'fan s',
        'scp s',
        '×scp',
        'first s',
        'fetch s',
        'here',
        'source',
        'fetcher',
        'hosts',
        'scp cpu',
        'bound s',
        'machine',
        'model s',
        'model×',
      ]),
    );
    for (const n of COUNTS) {
      const s = samples.get(n)!;
      const m = (f: (x: Round) => number) => median(s.map(f));
      const fetchers = (x: Sample) => x.hosts.slice(1, n);
      const maxFetcher = (x: Sample) => Math.max(0, ...fetchers(x));
      const allHosts = (x: Sample) => x.hosts.reduce((a, b) => a + b, 0);
      // Separate machines: the push to the first host as measured (one host busy, as on a
      // site), then every fetcher at once on its own CPU, the source's uplink carrying n − 1
      // copies; the slowest fetcher decides.
      const model = (x: Sample) =>
        x.firstWall + (n > 1 ? maxFetcher(x) + ((n - 1) * bytes * 8) / (SITE_GBIT * 1e9) : 0);
      console.log(
        col([
          n,
          m((x) => x.fan.wall).toFixed(2),
          m((x) => x.scp.wall).toFixed(2),
          m((x) => x.fan.wall / x.scp.wall).toFixed(2),
          m((x) => x.fan.firstWall).toFixed(2),
          m((x) => x.fan.wall - x.fan.firstWall).toFixed(2),
          m((x) => x.fan.laptop).toFixed(2),
          m((x) => x.fan.hosts[0]!).toFixed(2),
          m((x) => maxFetcher(x.fan)).toFixed(2),
          m((x) => allHosts(x.fan)).toFixed(2),
          m((x) => x.scp.children + allHosts(x.scp)).toFixed(2),
          m((x) => (x.fan.laptop + allHosts(x.fan)) / cores).toFixed(2),
          m((x) => x.fan.machine).toFixed(2),
          m((x) => model(x.fan)).toFixed(2),
          m((x) => model(x.fan) / x.scp.wall).toFixed(2),
        ]),
      );
    }
    console.log(
      [
        'Columns (seconds; CPU is user+system): fan/scp wall, their ratio; first = the push to the first host, fetch = the rest;',
        'here = this process (SSH client, tar stream); source = host 0 (receive, then serve); fetcher = the slowest other host;',
        'hosts = all lab hosts; scp cpu = scp + ssh here + its host side; bound = (here + hosts) / cores, the least wall time',
        `on this machine; machine = CPU busy on the whole machine (other agents too); model = first + slowest fetcher + ${SITE_GBIT} Gbit/s`,
        'uplink for N−1 copies: the time with a CPU per host.',
      ].join('\n'),
    );
    console.log(
      `\nThe chain relay (relayBundleToHosts) in the same rounds: the same bundle, the same hosts.`,
    );
    console.log(
      col([
        'N',
        'chain s',
        'scp s',
        '×scp',
        '×star',
        'hops s',
        'tail s',
        'here',
        'first',
        'relayer',
        'hosts',
        'bound s',
        'machine',
        'model s',
        'model×',
      ]),
    );
    for (const n of COUNTS) {
      const s = samples.get(n)!;
      const m = (f: (x: Round) => number) => median(s.map(f));
      const allHosts = (x: Sample) => x.hosts.reduce((a, b) => a + b, 0);
      const slowest = (x: Sample) => Math.max(0, ...x.hosts.slice(1, n));
      // Separate machines: the push to one host alone, the measured hops, and what the
      // slowest relaying host's CPU exceeds the first host's.
      const model = (x: Round) =>
        x.fan.firstWall + x.hops + Math.max(0, slowest(x.chain) - x.chain.hosts[0]!);
      console.log(
        col([
          n,
          m((x) => x.chain.wall).toFixed(2),
          m((x) => x.scp.wall).toFixed(2),
          m((x) => x.chain.wall / x.scp.wall).toFixed(2),
          m((x) => x.chain.wall / x.fan.wall).toFixed(2),
          m((x) => x.hops).toFixed(2),
          m((x) => x.tail).toFixed(2),
          m((x) => x.chain.laptop).toFixed(2),
          m((x) => x.chain.hosts[0]!).toFixed(2),
          m((x) => slowest(x.chain)).toFixed(2),
          m((x) => allHosts(x.chain)).toFixed(2),
          m((x) => (x.chain.laptop + allHosts(x.chain)) / cores).toFixed(2),
          m((x) => x.chain.machine).toFixed(2),
          m(model).toFixed(2),
          m((x) => model(x) / x.scp.wall).toFixed(2),
        ]),
      );
    }
    console.log(
      [
        "Columns: chain wall, ×scp and ×star within the round; hops = the last host's first byte after the first host's;",
        "tail = the last host's receiver done after the first host's (both from the relay's own timestamped logs);",
        'here = this process; first = host 0 (receive from here, pass on); relayer = the slowest other host (receive,',
        'pass on, unpack, check); hosts = all; bound = (here + hosts) / cores; model = the push to one host alone',
        '(first s of the star) + hops + (relayer − first) CPU: the time with a CPU per host (each uplink carries one copy).',
      ].join('\n'),
    );
    console.log(
      `One fetching host, its parts alone (CPU s): curl of the ${mb.toFixed(1)} MB from the source ${split.curl.toFixed(2)} (wall ${split.curlWall.toFixed(2)}), openssl dgst -sha256 of it ${split.check.toFixed(2)}; the source's server meanwhile ${split.server.toFixed(2)}`,
    );
    console.log('Goal: N = 10 in ≤ 1.3 × the time of one scp to one host.');
  } finally {
    await transport.dispose();
    await lab.dispose();
  }
}

/** One round for one N: the scp, the star, the chain and the chain's times from its logs. */
interface Round {
  scp: Sample;
  fan: Sample;
  chain: Sample;
  hops: number;
  tail: number;
  fromHere: number;
}

interface Snapshot {
  at: number;
  self: number;
  children: number;
  hosts: number[];
  machine: number;
}

/** One timed run: wall seconds, and CPU seconds by role. */
interface Sample {
  wall: number;
  /** Until the first host held the bundle (the fan-out's first phase). */
  firstWall: number;
  laptop: number;
  /** This process's reaped children (scp and its ssh). */
  children: number;
  /** Per lab host, everything its sshd ran (reaped). */
  hosts: number[];
  /** The whole machine's busy CPU seconds. */
  machine: number;
}

/** The kernel's clock ticks per second for /proc times (USER_HZ; 100 on Linux/x86). */
const TICKS = 100;

function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Fields of /proc/<pid>/stat after the command name (state is [0]). */
async function statFields(pid: number | 'self'): Promise<string[]> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime + cutime + cstime (stat fields 14–17), in seconds. */
async function cpuOf(pid: number): Promise<number> {
  const f = await statFields(pid);
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
}

/** cutime + cstime: the CPU of reaped children. */
async function childCpu(pid: number | 'self'): Promise<number> {
  const f = await statFields(pid);
  return (Number(f[13]) + Number(f[14])) / TICKS;
}

async function childrenOf(pid: number): Promise<string[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  return text.split(' ').filter(Boolean);
}

/** Busy CPU seconds of the whole machine since boot (/proc/stat: all but idle and iowait). */
async function machineBusy(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const t = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return (t.reduce((a, b) => a + b, 0) - t[3]! - t[4]!) / TICKS;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

await main();

/**
 * A bundle to N lab hosts with pushBundleToHosts (this machine's link carries it once: the
 * first host receives it, the others fetch it from the first over the lab's bridge, every
 * host checks every file) against ONE `scp -r` of the same folder to one host. Goal: N = 10
 * in ≤ 1.3 × the time of that one scp. Prints the ratio for N = 1, 5 and 10.
 *
 * The bundle is the uMetal lab fixture's (test/support/umetal-lab.ts). Each round runs, for
 * every N, one scp to host 0 and one fan-out to hosts 0..N-1, back to back, alternating
 * which goes first; the ratio is taken within the pair, the table shows medians. All lab
 * hosts are namespaces on this machine's cores, so N hosts unpacking and hashing at once
 * compete for the same CPU the sender uses; on a site each host has its own.
 *
 * Run: `node bin/run-ts.mjs bench/bundle-fanout.ts [--rounds 3]` as root (builds a 10-host lab).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pushBundleToHosts } from '../src/bundle/index.js';
import { KnownHosts } from '../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../src/ssh/ssh2-transport.js';
import { createLab } from '../test/lab/lab.js';
import { labUnavailableReason } from '../test/lab/require-lab.js';
import { mustRun } from '../test/lab/run.js';
import { prepareUmetalBundle } from '../test/support/umetal-lab.js';

const PUSH_DIR = '/var/lib/ustart/bench-fanout';
const SCP_DIR = '/var/lib/ustart/bench-scp';
const COUNTS = [1, 5, 10];

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
    const timed = async (run: () => Promise<unknown>) => {
      await clear();
      const t0 = performance.now();
      await run();
      return (performance.now() - t0) / 1000;
    };
    const scp = () =>
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
      ]);
    const fanOut = (n: number) => () =>
      pushBundleToHosts(
        transport,
        lab.hosts.slice(0, n).map((h) => lab.target(h.index)),
        bundle.report,
        { remoteDir: PUSH_DIR },
      );
    const samples = new Map(COUNTS.map((n) => [n, [] as { scp: number; fan: number }[]]));
    for (let r = 0; r < rounds; r++) {
      for (const n of COUNTS) {
        // Alternate which goes first, so neither always runs on the warmer machine.
        if (r % 2 === 0) {
          const scpSeconds = await timed(scp);
          samples.get(n)!.push({ scp: scpSeconds, fan: await timed(fanOut(n)) });
        } else {
          const fan = await timed(fanOut(n));
          samples.get(n)!.push({ scp: await timed(scp), fan });
        }
        const last = samples.get(n)!.at(-1)!;
        console.log(
          `round ${r + 1}/${rounds}, N=${n}: fan-out ${last.fan.toFixed(1)} s, one scp -r ${last.scp.toFixed(1)} s`,
        );
      }
    }
    await clear();
    console.log(
      `\nBundle of ${mb.toFixed(1)} MB to N lab hosts (pushBundleToHosts, every file checked on every host) vs one scp -r to one host; median of ${rounds} rounds`,
    );
    console.log(
      `${'N'.padStart(3)} ${'fan-out s'.padStart(10)} ${'scp s'.padStart(7)}  × one scp (time)`,
    );
    for (const n of COUNTS) {
      const s = samples.get(n)!;
      console.log(
        `${String(n).padStart(3)} ${median(s.map((x) => x.fan))
          .toFixed(1)
          .padStart(10)} ${median(s.map((x) => x.scp))
          .toFixed(1)
          .padStart(7)}  ${median(s.map((x) => x.fan / x.scp)).toFixed(2)}`,
      );
    }
    console.log('Goal: N = 10 in ≤ 1.3 × the time of one scp to one host.');
  } finally {
    await transport.dispose();
    await lab.dispose();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

await main();

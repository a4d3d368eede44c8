/**
 * pushBundle of the uMetal lab bundle (~170 files, ~110 MB) to lab hosts vs `scp -r` of the same folder.
 *
 * The bundle is the uMetal lab fixture's (test/support/umetal-lab.ts, cached in the temp
 * folder). Each round pushes it to every host at once with pushBundle (one tar stream per
 * host, every file's sha256 checked on the host before the renames) and copies the folder
 * to every host at once with OpenSSH's `scp -r` (same key; it checks nothing), in a
 * rotating order; the ratio is taken within a round and the table shows medians. The
 * breakdown says where pushBundle's time goes: start-up (connection, receiver start and its
 * listing of the staging folder: until the first bytes go), sending (until the last file's
 * bytes are handed to the connection) and the rest (the bytes still in flight, the host's
 * check and renames), from its events; and the fixed cost of one small checked upload (an
 * archive bundle's path) and of one exec round trip on this machine now. rsync is not
 * installed here, so scp is the reference.
 *
 * Run: `node bin/run-ts.mjs bench/bundle-push.ts [--hosts 1] [--rounds 3]` as root.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pushBundle, type BundleEvent } from '../src/bundle/index.js';
import { KnownHosts } from '../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../src/ssh/ssh2-transport.js';
import { createLab, type Lab } from '../test/lab/lab.js';
import { labUnavailableReason } from '../test/lab/require-lab.js';
import { mustRun } from '../test/lab/run.js';
import { prepareUmetalBundle } from '../test/support/umetal-lab.js';
import { childCpu, namespaceCpu, ownCpu } from './proc-cpu.js';

const PUSH_DIR = '/var/lib/ustart/bench-push';
const SCP_DIR = '/var/lib/ustart/bench-scp';

const { values } = parseArgs({
  options: { hosts: { type: 'string', default: '1' }, rounds: { type: 'string', default: '3' } },
});
const hostCount = Number(values.hosts);
const rounds = Number(values.rounds);

interface PushSample {
  seconds: number;
  /** From the call to the first progress event (connection, receiver start and listing), the slowest host. */
  startSeconds: number;
  /** From the first progress event to the last item-finished, the slowest host. */
  uploadSeconds: number;
  /** From the last item-finished to phase-finished (bytes in flight, the host's check, renames), the slowest host. */
  checkSeconds: number;
}

/** CPU seconds of a variant: this side (this process, or scp and its ssh) and the hosts'. */
interface Cpu {
  here: number;
  hosts: number;
}

async function main(): Promise<void> {
  const reason = labUnavailableReason();
  if (reason) throw new Error(`bench/bundle-push: ${reason}`);
  const bundle = await prepareUmetalBundle();
  const manifest = bundle.report.manifest!;
  const bytes = manifest.entries.reduce((n, e) => n + e.size, 0);
  const lab = await createLab({ hosts: hostCount });
  const transport = new Ssh2Transport({
    knownHosts: new KnownHosts(lab.knownHostsPath),
    agentSocket: null,
    identityFiles: [lab.clientKeyPath],
  });
  try {
    const hostsCpu = async () =>
      (await Promise.all(lab.hosts.map((h) => namespaceCpu(h.netns)))).reduce((a, b) => a + b, 0);
    /** `run`'s CPU: this process's own (pushBundle) plus its reaped children (scp, ssh). */
    const measured = async <T>(run: () => Promise<T>): Promise<[T, Cpu]> => {
      const own0 = process.cpuUsage();
      const kids0 = childCpu();
      const hosts0 = await hostsCpu();
      const value = await run();
      return [
        value,
        { here: ownCpu(own0) + childCpu() - kids0, hosts: (await hostsCpu()) - hosts0 },
      ];
    };
    const clear = () =>
      Promise.all(lab.hosts.map((h) => lab.exec(h, `rm -rf ${PUSH_DIR} ${SCP_DIR}`)));
    const push = async (): Promise<PushSample> => {
      const t0 = performance.now();
      const phases = await Promise.all(
        lab.hosts.map(async (h) => {
          const called = performance.now();
          let firstBytes = 0;
          let lastItem = 0;
          let finished = 0;
          const onEvent = (e: BundleEvent) => {
            if (e.type === 'progressed' && firstBytes === 0) firstBytes = performance.now();
            if (e.type === 'item-finished') lastItem = performance.now();
            if (e.type === 'phase-finished') finished = performance.now();
          };
          await pushBundle(transport, lab.target(h.index), bundle.report, {
            remoteDir: PUSH_DIR,
            onEvent,
          });
          return {
            start: (firstBytes - called) / 1000,
            upload: (lastItem - firstBytes) / 1000,
            check: (finished - lastItem) / 1000,
          };
        }),
      );
      return {
        seconds: (performance.now() - t0) / 1000,
        startSeconds: Math.max(...phases.map((p) => p.start)),
        uploadSeconds: Math.max(...phases.map((p) => p.upload)),
        checkSeconds: Math.max(...phases.map((p) => p.check)),
      };
    };
    const scp = async (): Promise<number> => {
      const t0 = performance.now();
      await Promise.all(lab.hosts.map((h) => scpFolder(lab, h.address, bundle.dir)));
      return (performance.now() - t0) / 1000;
    };

    const pushes: PushSample[] = [];
    const scps: number[] = [];
    const pushCpu: Cpu[] = [];
    const scpCpu: Cpu[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['push', 'scp'] as const) : (['scp', 'push'] as const);
      for (const v of order) {
        await clear();
        if (v === 'push') {
          const [sample, cpu] = await measured(push);
          pushes.push(sample);
          pushCpu.push(cpu);
        } else {
          const [seconds, cpu] = await measured(scp);
          scps.push(seconds);
          scpCpu.push(cpu);
        }
      }
      console.log(
        `round ${r + 1}/${rounds}: pushBundle ${pushes.at(-1)!.seconds.toFixed(1)} s, scp -r ${scps.at(-1)!.toFixed(1)} s`,
      );
    }
    const fixed = await fixedCosts(transport, lab);
    await clear();

    const files = manifest.entries.length + 2;
    const mb = bytes / 1e6;
    const ratio = median(pushes.map((p, i) => scps[i]! / p.seconds));
    console.log(
      `\nBundle of ${files} files, ${mb.toFixed(1)} MB to ${hostCount} host(s) at once, median of ${rounds} rounds`,
    );
    console.log(`${'variant'.padEnd(12)} ${'seconds'.padStart(8)} ${'MB/s'.padStart(7)}  × scp`);
    const row = (name: string, s: number, x: string) =>
      console.log(
        `${name.padEnd(12)} ${s.toFixed(1).padStart(8)} ${((mb * hostCount) / s).toFixed(1).padStart(7)}  ${x}`,
      );
    row('scp -r', median(scps), '1.00');
    row('pushBundle', median(pushes.map((p) => p.seconds)), ratio.toFixed(2));
    console.log(
      `\npushBundle breakdown (slowest host): start-up ${median(pushes.map((p) => p.startSeconds)).toFixed(2)} s, sending ${median(pushes.map((p) => p.uploadSeconds)).toFixed(2)} s, in flight + host-side check + renames ${median(pushes.map((p) => p.checkSeconds)).toFixed(2)} s`,
    );
    console.log(
      `fixed costs now: one 1-byte checked upload ${(fixed.upload * 1000).toFixed(0)} ms, one exec round trip (\`true\`) ${(fixed.exec * 1000).toFixed(0)} ms, exec of \`python3 -c pass\` ${(fixed.python * 1000).toFixed(0)} ms`,
    );
    const cpuLine = (name: string, xs: Cpu[]) =>
      `${name}: here ${median(xs.map((c) => c.here)).toFixed(2)} CPU-s, hosts ${median(xs.map((c) => c.hosts)).toFixed(2)} CPU-s`;
    console.log(
      `CPU (medians; here = this process for pushBundle, scp and its ssh for scp -r): ${cpuLine('pushBundle', pushCpu)}; ${cpuLine('scp -r', scpCpu)}`,
    );
    console.log(
      'Goal: pushBundle within reach of scp -r (× scp near 1). pushBundle checks every file on the host; scp checks nothing.',
    );
  } finally {
    await transport.dispose();
    await lab.dispose();
  }
}

/** `scp -r` of the bundle folder (its contents land in SCP_DIR). */
async function scpFolder(lab: Lab, address: string, dir: string): Promise<void> {
  await mustRun('scp', [
    '-q',
    '-r',
    '-i',
    lab.clientKeyPath,
    '-o',
    `UserKnownHostsFile=${lab.knownHostsPath}`,
    '-o',
    'BatchMode=yes',
    dir,
    `root@${address}:${SCP_DIR}`,
  ]);
}

/**
 * Medians of what every file or command pays whatever its size, on host 0: a checked
 * upload of one byte (receiver start, remote hash, rename), an exec of `true`, and an exec
 * that starts python3 (the upload's receiver).
 */
async function fixedCosts(
  transport: Ssh2Transport,
  lab: Lab,
): Promise<{ upload: number; exec: number; python: number }> {
  const connection = await transport.connect(lab.target(0));
  const timed = async (n: number, fn: (i: number) => Promise<unknown>) => {
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await fn(i);
      xs.push((performance.now() - t0) / 1000);
    }
    return median(xs);
  };
  try {
    await connection.exec(`mkdir -p ${PUSH_DIR}`);
    return {
      upload: await timed(15, (i) =>
        connection.upload(Buffer.from([i]), `${PUSH_DIR}/one-${i}`, { mode: 0o644 }),
      ),
      exec: await timed(15, () => connection.exec('true')),
      python: await timed(9, () => connection.exec('python3 -c pass')),
    };
  } finally {
    await connection.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

await main();

/**
 * Upload of a 1 GiB file to a lab host: Ssh2Transport.upload (temp file, remote sha256,
 * atomic rename included) and its other data paths vs OpenSSH `scp` (same host, same key)
 * with its default cipher and with AES-GCM, and ssh2's `fastPut` with its defaults (no
 * check, no rename). Goal: Ssh2Transport.upload ≥ 0.90 × scp's throughput.
 *
 * The machine is shared (2 cores), so every round runs all variants back to back, in a
 * rotating order, and the ratios are taken within a round; the table shows medians. CPU
 * seconds per GiB are counted on both sides (this process and its scp/ssh children; every
 * process in the lab host's namespace), because on a busy machine they explain the ratios
 * better than wall time does.
 * Run: `node bin/run-ts.mjs bench/sftp.ts [MiB] [ROUNDS]` as root (it builds a one-host lab).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type ssh2 from 'ssh2';
import { KnownHosts } from '../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../src/ssh/ssh2-transport.js';
import { checkedUpload, type UploadPath } from '../src/ssh/upload-checked.js';
import { rawClient, uploadHostOf } from '../test/integration/upload-host.js';
import { createLab, type Lab } from '../test/lab/lab.js';
import { labUnavailableReason } from '../test/lab/require-lab.js';
import { mustRun } from '../test/lab/run.js';
import { childCpu, namespaceCpu } from './proc-cpu.js';

const MIB = 1024 * 1024;
const GCM = 'aes128-gcm@openssh.com';

interface Variant {
  name: string;
  run: () => Promise<unknown>;
}

interface Sample {
  seconds: number;
  localCpu: number;
  remoteCpu: number;
}

async function main(): Promise<void> {
  const reason = labUnavailableReason();
  if (reason) throw new Error(`bench/sftp: ${reason}`);
  const sizeMiB = Number(process.argv[2] ?? 1024);
  const rounds = Number(process.argv[3] ?? 3);
  const dir = await mkdtemp(join(tmpdir(), 'ustart-bench-sftp-'));
  const lab = await createLab({ hosts: 1 });
  const transport = new Ssh2Transport({
    knownHosts: new KnownHosts(lab.knownHostsPath),
    agentSocket: null,
    identityFiles: [lab.clientKeyPath],
  });
  const clients: ssh2.Client[] = [];
  try {
    const file = join(dir, 'payload.bin');
    const fh = await open(file, 'w');
    const block = randomBytes(8 * MIB);
    for (let i = 0; i < sizeMiB / 8; i++) await fh.write(block);
    await fh.close();
    const host = lab.hosts[0]!;
    const key = await readFile(lab.clientKeyPath);
    const conn = await transport.connect(lab.target(0));
    const connect = async () => {
      const c = await rawClient({
        host: host.address,
        port: host.port,
        username: 'root',
        privateKey: key,
        cipher: [GCM],
      });
      clients.push(c);
      return c;
    };
    const raw = uploadHostOf(await connect(), host.name);
    const viaPath = (path: UploadPath) => () =>
      checkedUpload(raw, file, `/root/${path}.bin`, { mode: 0o644, path });
    const scp = (cipher: string[]) => () =>
      mustRun('scp', [
        '-q',
        ...cipher,
        '-i',
        lab.clientKeyPath,
        '-o',
        `UserKnownHostsFile=${lab.knownHostsPath}`,
        '-o',
        'BatchMode=yes',
        file,
        `root@${host.address}:/root/scp.bin`,
      ]);
    const variants: Variant[] = [
      { name: 'scp (default: chacha20-poly1305)', run: scp([]) },
      { name: 'scp -c aes128-gcm', run: scp(['-c', GCM]) },
      {
        name: 'Ssh2Transport.upload',
        run: () => conn.upload(file, '/root/upload.bin', { mode: 0o644 }),
      },
      { name: '  exec path, sh receiver', run: viaPath('sh') },
      { name: '  SFTP path (fallback)', run: viaPath('sftp') },
      {
        name: 'ssh2 fastPut (defaults)',
        run: async () => {
          const c = await connect();
          const sftp = await new Promise<ssh2.SFTPWrapper>((res, rej) =>
            c.sftp((e, s) => (e ? rej(e) : res(s))),
          );
          await new Promise<void>((res, rej) =>
            sftp.fastPut(file, '/root/fastput.bin', (e) => (e ? rej(e) : res())),
          );
          c.end();
        },
      },
    ];

    const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
    for (let r = 0; r < rounds; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
      for (const v of order) {
        await lab.exec(0, 'rm -f /root/*.bin /root/.*.part');
        samples.get(v.name)!.push(await measure(lab, v.run));
      }
      console.log(`round ${r + 1}/${rounds}: ${order.map((v) => seconds(samples, v)).join('; ')}`);
    }
    report(variants, samples, sizeMiB);
  } finally {
    for (const c of clients) c.end();
    await transport.dispose();
    await lab.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

async function measure(lab: Lab, run: () => Promise<unknown>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const kids0 = childCpu();
  const remote0 = await namespaceCpu(lab.hosts[0]!.netns);
  const t0 = performance.now();
  await run();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    seconds,
    localCpu: (cpu.user + cpu.system) / 1e6 + childCpu() - kids0,
    remoteCpu: (await namespaceCpu(lab.hosts[0]!.netns)) - remote0,
  };
}

function seconds(samples: Map<string, Sample[]>, v: Variant): string {
  return `${v.name.trim()}: ${samples.get(v.name)!.at(-1)!.seconds.toFixed(1)} s`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function report(variants: Variant[], samples: Map<string, Sample[]>, sizeMiB: number): void {
  const [scpDefault, scpGcm] = [variants[0]!, variants[1]!].map((v) => samples.get(v.name)!);
  // Throughput ratio to a reference within each round = its time / ours.
  const ratio = (mine: Sample[], ref: Sample[]) =>
    median(mine.map((s, i) => ref[i]!.seconds / s.seconds)).toFixed(2);
  const perGiB = (xs: number[]) => ((median(xs) * 1024) / sizeMiB).toFixed(1);
  console.log(
    `\nUpload of ${sizeMiB} MiB to a lab host, median of ${scpDefault!.length} rounds (MiB/s: higher is better)`,
  );
  console.log(
    `${'variant'.padEnd(34)} ${'MiB/s'.padStart(6)} ${'× scp'.padStart(6)} ${'× scp-gcm'.padStart(9)}   CPU s/GiB here + host`,
  );
  for (const v of variants) {
    const s = samples.get(v.name)!;
    console.log(
      `${v.name.padEnd(34)} ${(sizeMiB / median(s.map((x) => x.seconds))).toFixed(0).padStart(6)} ${ratio(s, scpDefault!).padStart(6)} ${ratio(s, scpGcm!).padStart(9)}   ${perGiB(s.map((x) => x.localCpu))} + ${perGiB(s.map((x) => x.remoteCpu))}`,
    );
  }
  console.log(
    'Goal: Ssh2Transport.upload ≥ 0.90 × scp. Its numbers include the remote sha256 and the rename; fastPut and scp check nothing.',
  );
}

await main();

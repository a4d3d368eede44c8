/**
 * SFTP upload of a 1 GiB file to a lab host: Ssh2Transport.upload (temp file, remote
 * sha256, atomic rename included) vs OpenSSH `scp` (same host, same key) and ssh2's
 * `fastPut` with its defaults. Goal: upload ≥ 90 % of scp's throughput.
 * Run: `node bin/run-ts.mjs bench/sftp.ts [MiB]` as root (it builds a one-host lab).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import ssh2 from 'ssh2';
import { KnownHosts } from '../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../src/ssh/ssh2-transport.js';
import { createLab } from '../test/lab/lab.js';
import { labUnavailableReason } from '../test/lab/require-lab.js';
import { mustRun } from '../test/lab/run.js';

const MIB = 1024 * 1024;

async function main(): Promise<void> {
  const reason = labUnavailableReason();
  if (reason) throw new Error(`bench/sftp: ${reason}`);
  const sizeMiB = Number(process.argv[2] ?? 1024);
  const dir = await mkdtemp(join(tmpdir(), 'ustart-bench-sftp-'));
  const lab = await createLab({ hosts: 1 });
  const transport = new Ssh2Transport({
    knownHosts: new KnownHosts(lab.knownHostsPath),
    agentSocket: null,
    identityFiles: [lab.clientKeyPath],
  });
  try {
    const file = join(dir, 'payload.bin');
    const fh = await open(file, 'w');
    const block = randomBytes(8 * MIB);
    for (let i = 0; i < sizeMiB / 8; i++) await fh.write(block);
    await fh.close();
    const host = lab.hosts[0]!;
    const key = await readFile(lab.clientKeyPath);
    const conn = await transport.connect(lab.target(0));
    const clear = () => conn.exec('rm -f /root/*.bin; sync');

    const time = async (fn: () => Promise<unknown>) => {
      await clear();
      const t0 = performance.now();
      await fn();
      return (performance.now() - t0) / 1000;
    };
    const scp = await time(() =>
      mustRun('scp', [
        '-q',
        '-i',
        lab.clientKeyPath,
        '-o',
        `UserKnownHostsFile=${lab.knownHostsPath}`,
        '-o',
        'BatchMode=yes',
        file,
        `root@${host.address}:/root/scp.bin`,
      ]),
    );
    const upload = await time(() => conn.upload(file, '/root/upload.bin', { mode: 0o644 }));
    const fastPut = await time(async () => {
      const client = new ssh2.Client();
      await new Promise<void>((resolve, reject) => {
        client.once('ready', resolve).once('error', reject);
        client.connect({
          host: host.address,
          port: host.port,
          username: 'root',
          privateKey: key,
          hostVerifier: () => true,
        });
      });
      const sftp = await new Promise<ssh2.SFTPWrapper>((res, rej) =>
        client.sftp((e, s) => (e ? rej(e) : res(s))),
      );
      await new Promise<void>((res, rej) =>
        sftp.fastPut(file, '/root/fastput.bin', (e) => (e ? rej(e) : res())),
      );
      client.end();
    });
    const rate = (s: number) => (sizeMiB / s).toFixed(0).padStart(6);
    console.log(`SFTP upload of ${sizeMiB} MiB to a lab host (MiB/s, higher is better)`);
    console.log(`  scp (OpenSSH)              ${rate(scp)}  ${scp.toFixed(2)} s   1.00×`);
    console.log(
      `  Ssh2Transport.upload       ${rate(upload)}  ${upload.toFixed(2)} s   ${(scp / upload).toFixed(2)}× scp (goal ≥ 0.90; includes remote sha256 + rename)`,
    );
    console.log(
      `  ssh2 fastPut (defaults)    ${rate(fastPut)}  ${fastPut.toFixed(2)} s   ${(scp / fastPut).toFixed(2)}× scp`,
    );
    await clear();
    await conn.close();
  } finally {
    await transport.dispose();
    await lab.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

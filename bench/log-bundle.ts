/**
 * Log bundle throughput (read, redact, deflate, write) against `tar czf` of the same run folder.
 * Writes a run folder of synthetic kubelet-like logs (default 256 MiB in 4 files, a few
 * secrets per thousand lines) in a temp folder, warms the page cache, then times each side
 * several times and keeps the best run of each. `tar czf` deflates at the same level (6) and
 * redacts nothing, so the ratio is what redaction and the zip layout cost.
 *
 *   node bin/run-ts.mjs bench/log-bundle.ts [--mib 256] [--runs 3]
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { createLogBundle } from '../src/logbundle/index.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: { mib: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' } },
});
const totalBytes = Math.round(Number(values.mib) * 2 ** 20);
const runs = Number(values.runs);
const HOSTS = 4;

/** Runs `fn` `runs` times; prints and returns the fastest (the machine's noise only adds). */
async function fastestOf(label: string, fn: () => Promise<unknown>): Promise<number> {
  const seconds: number[] = [];
  while (seconds.length < runs) {
    const started = performance.now();
    await fn();
    seconds.push((performance.now() - started) / 1000);
  }
  const fastest = Math.min(...seconds);
  const rate = (totalBytes / 1e6 / fastest).toFixed(0);
  console.log(
    `  ${label.padEnd(30)} ${rate.padStart(5)} MB/s  (${seconds.map((t) => t.toFixed(2)).join(' / ')} s)`,
  );
  return fastest;
}

/** Deterministic, varied log lines; one in 500 carries a token the redactor must find. */
async function writeLog(file: string, size: number, host: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    let seed = host + 1;
    const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const words = ['Started', 'pod', 'sandbox', 'image', 'pulled', 'node', 'ready', 'level=info'];
    let written = 0;
    for (let i = 0; written < size; i++) {
      let chunk = '';
      for (let j = 0; j < 2000; j++) {
        const n = i * 2000 + j;
        const words8 = Array.from({ length: 8 }, () => words[Math.floor(rand() * words.length)]);
        const extra = n % 500 === 0 ? ` join --token abcdef.${String(n).padStart(16, '0')}` : '';
        chunk += `2026-11-27T16:${String(n % 60).padStart(2, '0')}:00 h${host} kubelet[${n % 9000}]: ${words8.join(' ')} ${rand().toString(36).slice(2)}${extra}\n`;
      }
      const bytes = Buffer.from(chunk).subarray(0, size - written);
      await handle.write(bytes);
      written += bytes.length;
    }
  } finally {
    await handle.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'ustart-bench-logbundle-'));
try {
  const runDir = join(dir, 'run');
  await mkdir(join(runDir, 'logs', 'install'), { recursive: true });
  const hosts = Array.from({ length: HOSTS }, (_, i) => `h${i}`);
  await writeFile(
    join(runDir, 'journal.jsonl'),
    `${JSON.stringify({ type: 'run-created', v: 1, at: Date.now(), runId: 'bench', machine: 'm', user: 'u', pid: 1, steps: [{ id: 'install', title: 'install', phase: 'bench', hosts, after: [] }] })}\n`,
  );
  for (const [i, h] of hosts.entries()) {
    await writeLog(join(runDir, 'logs', 'install', `${h}.log`), totalBytes / HOSTS, i);
  }
  for (const h of hosts) await readFile(join(runDir, 'logs', 'install', `${h}.log`));
  console.log(`  ${values.mib} MiB of logs in ${HOSTS} files, deflate level 6 on both sides`);

  const zip = join(dir, 'bundle.zip');
  const tgz = join(dir, 'run.tgz');
  const ours = await fastestOf('ustart logs collect --no-hosts', async () => {
    await rm(zip, { force: true });
    await createLogBundle({ runDir, out: zip, version: 'bench' });
  });
  const tar = await fastestOf('tar czf', async () => {
    await rm(tgz, { force: true });
    await run('tar', ['czf', tgz, '-C', dir, 'run']);
  });
  const { size: zipSize } = await stat(zip);
  const { size: tgzSize } = await stat(tgz);
  console.log(
    `  time: log bundle / tar czf = ${(ours / tar).toFixed(2)}×; size: ${(zipSize / 2 ** 20).toFixed(1)} MiB vs ${(tgzSize / 2 ** 20).toFixed(1)} MiB`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

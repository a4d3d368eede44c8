/**
 * Bundle verification throughput against `sha256sum` over the same bytes (DESIGN.md:
 * verify at ≥ 90 % of sha256sum's speed). Builds a 2 GiB bundle of random data in a temp
 * folder, as a folder and as a tar, warms the page cache, then times each side several
 * times and keeps the best run of each, so both read from memory and measure hashing
 * plus I/O overhead, not the disk's mood.
 *
 *   node bin/run-ts.mjs bench/verify.ts [--gib 2] [--runs 3]
 */
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { open, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import {
  createBundle,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  verifyBundle,
} from '../src/bundle/index.js';
import { loadPlanFile } from '../src/plan/index.js';
import { assetPath } from '../src/util/assets.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: { gib: { type: 'string', default: '2' }, runs: { type: 'string', default: '3' } },
});
const totalBytes = Math.round(Number(values.gib) * 2 ** 30);
const runs = Number(values.runs);
const FILES = 4;

async function best(label: string, fn: () => Promise<unknown>): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    fastest = Math.min(fastest, (performance.now() - started) / 1000);
  }
  console.log(
    `  ${label.padEnd(34)} ${(totalBytes / 1e6 / fastest).toFixed(0).padStart(6)} MB/s  (best of ${runs}: ${fastest.toFixed(2)} s)`,
  );
  return fastest;
}

async function writeRandom(file: string, size: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    const chunk = Buffer.allocUnsafe(16 * 2 ** 20);
    for (let done = 0; done < size;) {
      const n = Math.min(chunk.length, size - done);
      randomFillSync(chunk, 0, n);
      await handle.write(chunk, 0, n);
      done += n;
    }
  } finally {
    await handle.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'ustart-bench-verify-'));
try {
  const inputs = join(dir, 'inputs');
  const runbook = join(dir, 'runbook');
  await mkdir(inputs);
  await mkdir(runbook);
  const files = Array.from({ length: FILES }, (_, i) => join(inputs, `image-${i}.tar`));
  for (const file of files) await writeRandom(file, Math.floor(totalBytes / FILES));
  await generateKeyPair(join(dir, 'k'));
  const parsed = await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'));
  const common = {
    plan: parsed.plan!,
    privateKey: await loadPrivateKey(join(dir, 'k.key')),
    onlyAdded: true,
    runbookDir: runbook,
    architecture: 'amd64',
    add: files.map((path) => ({ kind: 'image' as const, path })),
  };
  const folder = join(dir, 'bundle');
  const tar = join(dir, 'bundle.tar');
  await createBundle({ ...common, out: folder });
  await createBundle({ ...common, out: tar });
  await rm(inputs, { recursive: true });
  const key = await loadPublicKey(join(dir, 'k.pub'));
  const folderFiles = files.map((_, i) => join(folder, 'images', `image-${i}.tar`));

  // Warm the page cache for both layouts.
  await run('sha256sum', folderFiles);
  await run('sha256sum', [tar]);

  const verifyOk = async (path: string) => {
    const report = await verifyBundle(path, key);
    if (!report.ok) throw new Error(`bench bundle did not verify: ${report.problems[0]?.message}`);
  };
  console.log(`verify a ${values.gib} GiB bundle (${FILES} files), node ${process.version}`);
  const shaFolder = await best('sha256sum over the entry files', () =>
    run('sha256sum', folderFiles),
  );
  const verifyFolder = await best('ustart verify (folder)', () => verifyOk(folder));
  const shaTar = await best('sha256sum over the tar', () => run('sha256sum', [tar]));
  const verifyTar = await best('ustart verify (tar)', () => verifyOk(tar));
  // Context, not the goal: coreutils' sha256sum may lack the SHA extensions OpenSSL (and so
  // node:crypto) uses; openssl shows what the same hash code does with no bundle around it.
  const openssl = await best('openssl dgst -sha256 (entry files)', () =>
    run('openssl', ['dgst', '-sha256', ...folderFiles]),
  );
  console.log(
    `  ratio folder: ${((shaFolder / verifyFolder) * 100).toFixed(0)} % of sha256sum (goal ≥ 90 %)`,
  );
  console.log(
    `  ratio tar:    ${((shaTar / verifyTar) * 100).toFixed(0)} % of sha256sum (goal ≥ 90 %)`,
  );
  console.log(`  folder verify vs openssl dgst: ${((openssl / verifyFolder) * 100).toFixed(0)} %`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

/**
 * Runs the benchmarks: `npm run bench` runs every bench/*.ts, `npm run bench -- NAME [ARGS]`
 * one of them (with its own arguments), `npm run bench -- --list` lists them. Each runs in
 * its own Node process so one bench's warm JIT, heap or failure does not colour the next.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const RUN_TS = fileURLToPath(new URL('../bin/run-ts.mjs', import.meta.url));

async function benches(): Promise<Array<{ name: string; file: string; summary: string }>> {
  const files = (await readdir(BENCH_DIR))
    .filter((f) => f.endsWith('.ts') && f !== basename(fileURLToPath(import.meta.url)))
    .sort();
  return Promise.all(
    files.map(async (f) => {
      const file = join(BENCH_DIR, f);
      // The first line of each bench's header comment says what it measures.
      const header = /\/\*\*\s*\n?\s*\*?\s*(.+)/.exec(await readFile(file, 'utf8'));
      return { name: f.replace(/\.ts$/, ''), file, summary: header?.[1]?.trim() ?? '' };
    }),
  );
}

function run(file: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN_TS, file, ...args], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  const all = await benches();
  if (name === '--list' || name === '--help') {
    for (const b of all) console.log(`${b.name.padEnd(12)} ${b.summary}`);
    return 0;
  }
  const chosen = name === undefined ? all : all.filter((b) => b.name === name);
  if (chosen.length === 0) {
    console.error(`no benchmark "${name}"; choose one of: ${all.map((b) => b.name).join(', ')}`);
    return 2;
  }
  const failed: string[] = [];
  for (const b of chosen) {
    console.log(`\n== ${b.name}: ${b.summary}`);
    if ((await run(b.file, args)) !== 0) failed.push(b.name);
  }
  if (failed.length) console.error(`\nbenchmarks that failed: ${failed.join(', ')}`);
  return failed.length ? 1 : 0;
}

process.exitCode = await main();

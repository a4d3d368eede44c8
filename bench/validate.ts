/**
 * Validate: the rules and `ustart validate` on a 1,000-server plan vs a bare YAML parse.
 *
 * The plan is generated (24 racks, every rule exercised, no errors) and written to a temp
 * file; the yaml library's parse of the same text is the reference. Goal (DESIGN.md):
 * validatePlan under 100 ms on this machine. Each step is warmed up, then timed N times;
 * the median is printed with its ratio to the bare YAML parse.
 * Run: `node bin/run-ts.mjs bench/validate.ts [SERVERS] [RUNS]` (or `npm run bench -- validate`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse } from 'yaml';
import { generatePlan } from '../src/plan/generate.js';
import { checkPlanFile, parsePlanText, planToYaml, validatePlan } from '../src/plan/index.js';

const TARGET_MS = 100;

/** Median wall and CPU milliseconds of `runs` calls after a warm-up. CPU time is printed
 * too because a busy machine stretches wall time but barely changes the CPU a step needs. */
async function timed(runs: number, fn: () => unknown): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < Math.max(3, runs / 3); i++) await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wall: median(wall), cpu: median(cpu) };
}

async function main(): Promise<void> {
  const servers = Number(process.argv[2] ?? 1000);
  const runs = Number(process.argv[3] ?? 15);
  const racks = Math.max(1, Math.round((servers * 24) / 1000));
  const plan = generatePlan({ servers, racks, seed: 1 });
  const text = planToYaml(plan);
  const dir = await mkdtemp(join(tmpdir(), 'ustart-bench-validate-'));
  try {
    const file = join(dir, 'generated.yaml');
    await writeFile(file, text);
    const findings = validatePlan(plan);
    const errors = findings.filter((f) => f.severity === 'error').length;
    if (errors > 0) throw new Error(`the generated plan has ${errors} errors; fix generatePlan`);

    const rows: Array<[string, { wall: number; cpu: number }]> = [
      ['yaml parse (reference)', await timed(runs, () => parse(text))],
      ['parse + schema (zod)', await timed(runs, () => parsePlanText(text, file))],
      ['validatePlan alone', await timed(runs, () => validatePlan(plan))],
      ['checkPlanFile (read+parse+schema+rules)', await timed(runs, () => checkPlanFile(file))],
    ];
    const reference = rows[0]![1];
    console.log(
      `Validate a ${servers}-server, ${racks}-rack plan (${(text.length / 1024).toFixed(0)} KiB of YAML, ${findings.length} findings), median of ${runs} after warm-up`,
    );
    const head = ['wall ms', '× parse', 'cpu ms', '× parse'].map((h) => h.padStart(9)).join(' ');
    console.log(`  ${'step'.padEnd(42)} ${head}`);
    for (const [name, t] of rows) {
      const cols = [t.wall, t.wall / reference.wall, t.cpu, t.cpu / reference.cpu];
      console.log(`  ${name.padEnd(42)} ${cols.map((x) => x.toFixed(2).padStart(9)).join(' ')}`);
    }
    const validate = rows[2]![1].wall;
    console.log(
      `  target: validatePlan under ${TARGET_MS} ms — ${validate < TARGET_MS ? 'met' : 'MISSED'} (${validate.toFixed(1)} ms wall, ${(validate / TARGET_MS).toFixed(2)}× the budget)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

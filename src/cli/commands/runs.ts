/** `ustart runs PLAN`: the runs of a plan, oldest first, with their state and counts. */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultRunsDir, listRuns, type RunState, type RunSummary } from '../../engine/index.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';
import { formatCounts } from '../run-view.js';

export function registerRuns(program: Command, out: Output, setCode: (c: number) => void): void {
  program
    .command('runs')
    .description('List the runs of a site plan: id, start, state and host-step counts.')
    .argument('<plan>', 'the site plan (YAML)')
    .option('--runs-dir <dir>', 'where runs are kept (default: .ustart/runs next to the plan)')
    .option('--json', 'print as JSON')
    .action(async (planFile: string, opts: { runsDir?: string; json?: boolean }) => {
      const runsDir = opts.runsDir ? resolve(opts.runsDir) : defaultRunsDir(planFile);
      const runs = await listRuns(runsDir);
      const rows = await Promise.all(
        runs.map(async (r) => ({ run: r, state: await stateOf(r, runsDir) })),
      );
      if (opts.json) {
        out.stdout(
          JSON.stringify(
            rows.map(({ run, state }) => ({
              id: run.runId,
              demo: run.demo,
              startedAt: new Date(run.startedAt).toISOString(),
              updatedAt: new Date(run.updatedAt).toISOString(),
              state,
              counts: run.counts,
            })),
            null,
            2,
          ) + '\n',
        );
      } else if (!rows.length) {
        out.stdout(`no runs yet in ${runsDir}\n`);
      } else {
        for (const { run, state } of rows) {
          const color = state === 'succeeded' ? 'green' : state === 'running' ? 'cyan' : 'red';
          out.stdout(
            `${run.demo ? paint(out, 'magenta', '[DEMO] ') : ''}${run.runId}  ${new Date(run.startedAt).toISOString().replace('T', ' ').slice(0, 19)}  ${paint(out, color, state.padEnd(15))}  ${paint(out, 'dim', formatCounts(run.counts))}\n`,
          );
        }
      }
      setCode(EXIT.ok);
    });
}

/** A run without a `run-finished` record is running while its process holds the lock. */
async function stateOf(run: RunSummary, runsDir: string): Promise<RunState> {
  if (run.finalState) return run.finalState;
  try {
    const lock = JSON.parse(await readFile(join(runsDir, 'run.lock'), 'utf8')) as {
      runId: string;
      pid: number;
      machine: string;
    };
    if (lock.runId === run.runId && (lock.machine !== hostname() || alive(lock.pid)))
      return 'running';
  } catch {
    /* no lock: nobody runs it */
  }
  return 'interrupted';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

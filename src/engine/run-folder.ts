/**
 * Where a run's files live. By default a plan's runs sit next to it, in
 * `<plan-dir>/.ustart/runs/<runId>/`, so a plan folder copied to another laptop carries
 * its history along.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { readJournal, summarize, type RunSummary } from './journal.js';

export function defaultRunsDir(planFile: string): string {
  return join(dirname(resolve(planFile)), '.ustart', 'runs');
}

export const runDirOf = (runsDir: string, runId: string) => join(runsDir, runId);
export const journalPath = (runDir: string) => join(runDir, 'journal.jsonl');
export const logPath = (runDir: string, stepId: string, host: string) =>
  join(runDir, 'logs', stepId, `${host}.log`);
export const runLockPath = (runsDir: string) => join(runsDir, 'run.lock');

/** Every run in `runsDir`, oldest first; folders without a readable journal are left out. */
export async function listRuns(runsDir: string): Promise<RunSummary[]> {
  let names: string[];
  try {
    names = await readdir(runsDir);
  } catch {
    return [];
  }
  const runs: RunSummary[] = [];
  for (const name of names.sort()) {
    try {
      const { records, torn } = await readJournal(journalPath(join(runsDir, name)));
      runs.push(summarize(records, torn));
    } catch {
      /* not a run folder (run.lock, a half-created run) */
    }
  }
  return runs.sort((a, b) => a.startedAt - b.startedAt);
}

/** Registers the run commands: `run`, `runs` and `logs`. */
import type { Command } from 'commander';
import type { StepSource } from '../engine/index.js';
import { registerLogs } from './commands/logs.js';
import { registerRun } from './commands/run.js';
import { registerRuns } from './commands/runs.js';
import type { Output } from './output.js';

export function registerRunCommands(
  program: Command,
  out: Output,
  setCode: (c: number) => void,
  stepSource?: StepSource,
): void {
  registerRun(program, out, setCode, stepSource);
  registerRuns(program, out, setCode);
  registerLogs(program, out, setCode);
}

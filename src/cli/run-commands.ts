/** Registers the run commands: `run`, `runs`, `logs` and `logs collect`. */
import type { Command } from 'commander';
import type { StepSource } from '../engine/index.js';
import { registerLogs } from './commands/logs.js';
import { registerLogsCollect } from './commands/logs-collect.js';
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
  registerLogsCollect(registerLogs(program, out, setCode), out, setCode);
}

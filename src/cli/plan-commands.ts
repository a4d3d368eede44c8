/** Registers the plan commands: `validate` and `plan …`. */
import type { Command } from 'commander';
import { registerPlanNew } from './commands/plan-new.js';
import { registerValidate } from './commands/validate.js';
import type { Output } from './output.js';

export function registerPlanCommands(
  program: Command,
  out: Output,
  setCode: (c: number) => void,
): void {
  registerValidate(program, out, setCode);
  const plan = program.command('plan').description('Create and work on site plans.');
  registerPlanNew(plan, out, setCode);
}

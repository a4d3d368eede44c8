/** Registers the plan commands: `validate` and `plan …`. */
import type { Command } from 'commander';
import { registerPlanCapacity } from './commands/plan-capacity.js';
import { registerPlanImportCsv } from './commands/plan-import-csv.js';
import { registerPlanIpam } from './commands/plan-ipam.js';
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
  registerPlanIpam(plan, out, setCode);
  registerPlanCapacity(plan, out, setCode);
  registerPlanImportCsv(plan, out, setCode);
}

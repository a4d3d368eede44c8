/** Loading a plan for a command that needs a plan the schema accepts (ipam, capacity). */
import { loadPlanFile, type ParsedPlan, type Plan } from '../../plan/index.js';
import { EXIT } from '../exit.js';
import type { Output } from '../output.js';
import { formatFindings } from './validate.js';

/**
 * The parsed plan, or undefined after printing its schema findings and setting exit code 1.
 * Unreadable files throw (exit 2).
 */
export async function loadPlanForCommand(
  file: string,
  out: Output,
  setCode: (c: number) => void,
): Promise<(ParsedPlan & { plan: Plan }) | undefined> {
  const parsed = await loadPlanFile(file);
  if (parsed.plan) return parsed as ParsedPlan & { plan: Plan };
  out.stderr(formatFindings(out, file, parsed.findings));
  out.stderr(`${file} does not match the plan format; fix the errors above first.\n`);
  setCode(EXIT.invalid);
  return undefined;
}

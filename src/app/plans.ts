/**
 * Plan files for the fronts: open, validate while editing, save keeping the user's comments.
 * The core remembers each opened file's YAML document and text, so a save keeps comments
 * and refuses to overwrite a file someone else changed meanwhile.
 */
import { readFile } from 'node:fs/promises';
import {
  checkParsed,
  countBySeverity,
  emptyPlan,
  loadPlanFile,
  parsePlanText,
  planToYaml,
  pointer,
  savePlanFile,
  validatePlan,
  Plan,
  type Finding,
  type ParsedPlan,
} from '../plan/index.js';
import { assetPath } from '../util/assets.js';
import { writeAtomically, type WriteOptions } from '../util/fs.js';
import { readRegularFile, type UserFileOptions } from '../util/user-file.js';

/** How a confined front (browser mode) reads and writes: see src/app/path-confinement.ts. */
export type Confinement = Pick<UserFileOptions, 'noFollow' | 'within'>;

export interface OpenedPlanValue {
  file: string | null;
  plan: Plan | null;
  findings: Finding[];
  counts: ReturnType<typeof countBySeverity>;
}

interface Remembered {
  /** Holds the YAML document, built only when saving needs it. */
  parsed: ParsedPlan;
  text: string;
}

export class PlanFiles {
  private readonly opened = new Map<string, Remembered>();

  constructor(private readonly confinement: Confinement = {}) {}

  async open(file: string): Promise<OpenedPlanValue> {
    const parsed = await loadPlanFile(file, this.confinement);
    const checked = checkParsed(parsed, { lines: false });
    const text = await readRegularFile(file, { ...this.confinement, encoding: 'utf8' });
    this.opened.set(file, { parsed, text });
    return {
      file,
      plan: checked.plan ?? null,
      findings: checked.findings,
      counts: countBySeverity(checked.findings),
    };
  }

  /** A plan uploaded as text (browser mode's file picker): validated, not tied to a file. */
  openText(name: string, text: string): OpenedPlanValue {
    const checked = checkParsed(parsePlanText(text, name), { lines: false });
    return {
      file: null,
      plan: checked.plan ?? null,
      findings: checked.findings,
      counts: countBySeverity(checked.findings),
    };
  }

  async create(template: 'empty' | 'demo'): Promise<OpenedPlanValue> {
    const plan =
      template === 'demo'
        ? parsePlanText(await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8'), 'demo')
            .plan
        : emptyPlan();
    if (!plan) throw new Error('the bundled demo plan does not match the schema');
    const findings = validatePlan(plan);
    return { file: null, plan, findings, counts: countBySeverity(findings) };
  }

  async save(file: string, plan: Plan): Promise<void> {
    const known = this.opened.get(file);
    await savePlanFile(
      file,
      plan,
      known ? { base: known.parsed.document, expectedText: known.text } : {},
      this.writeOptions(),
    );
    const text = await readRegularFile(file, { ...this.confinement, encoding: 'utf8' });
    this.opened.set(file, { parsed: parsePlanText(text, file), text });
  }

  async export(file: string, plan: Plan): Promise<void> {
    await writeAtomically(file, planToYaml(plan), 0o644, this.writeOptions());
  }

  private writeOptions(): WriteOptions {
    return this.confinement.within === undefined ? {} : { within: this.confinement.within };
  }

  /** What `export` writes, as text (a browser downloads it). */
  yaml(plan: Plan): string {
    return planToYaml(plan);
  }
}

/** Validates whatever the front holds; a structurally broken plan gives schema findings. */
export function validateUnknown(value: unknown): {
  findings: Finding[];
  counts: ReturnType<typeof countBySeverity>;
} {
  const parsed = Plan.safeParse(value);
  const findings: Finding[] = parsed.success
    ? validatePlan(parsed.data)
    : parsed.error.issues.map((issue) => {
        const path = pointer(...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)));
        return {
          rule: 'schema-value',
          severity: 'error' as const,
          path,
          message: `${path || 'the plan'}: ${issue.message}`,
          hint: 'Correct the value; see docs/plan-format.md for what is allowed.',
        };
      });
  return { findings, counts: countBySeverity(findings) };
}

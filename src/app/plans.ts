/**
 * Plan files for the fronts: open, validate while editing, save keeping the user's comments.
 * The core remembers each opened file's YAML document and text, so a save keeps comments
 * and refuses to overwrite a file someone else changed meanwhile.
 */
import { readFile } from 'node:fs/promises';
import {
  checkParsed,
  countBySeverity,
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

/** How a confined front (browser mode) reads and writes: see src/app/paths.ts. */
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

/**
 * A plan to start from nothing: the five usual networks with example ranges and no
 * hardware yet. Its findings (no controllers, no servers) guide the first steps.
 */
export function emptyPlan(): Plan {
  const net = (
    name: string,
    purpose: Plan['networks'][number]['purpose'],
    vlan: number,
    third: number,
    mtu = 1500,
  ) => ({
    name,
    purpose,
    vlan,
    cidr: `10.${third}.0.0/24`,
    ...(purpose === 'management' || purpose === 'bmc' ? { gateway: `10.${third}.0.1` } : {}),
    mtu,
    pool: { start: `10.${third}.0.11`, end: `10.${third}.0.200` },
  });
  return {
    schemaVersion: 1,
    site: {
      name: 'new-site',
      customer: 'Customer',
      location: 'Datacenter',
      environment: 'poc',
      domain: 'cloud.example',
      ntp: ['10.10.0.2'],
      dns: ['10.10.0.2'],
      airGapped: false,
    },
    networks: [
      net('mgmt', 'management', 100, 10),
      net('bmc', 'bmc', 90, 9),
      net('storage', 'storage', 200, 20, 9000),
      net('provider', 'provider', 300, 40),
      net('tenant', 'tenant', 400, 30, 9000),
    ],
    racks: [],
    servers: [],
    kubernetes: {
      version: '1.31.4',
      controlPlaneVip: '10.10.0.5',
      podCidr: '172.16.0.0/16',
      serviceCidr: '172.17.0.0/16',
    },
    openstack: { release: '2025.1', region: 'RegionOne', publicVip: '10.40.0.5' },
    access: { user: 'ubuntu' },
  };
}

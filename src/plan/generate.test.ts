import { describe, expect, it } from 'vitest';
import { isUstartError } from '../errors.js';
import { countBySeverity } from './finding.js';
import { generatePlan } from './generate.js';
import { parsePlanText } from './load.js';
import { planToYaml } from './save.js';
import { validatePlan } from './validate/index.js';

describe('generatePlan', () => {
  it('makes a 1,000-server, 24-rack production plan that validates with no errors or warnings', () => {
    const plan = generatePlan({ servers: 1000, racks: 24, seed: 1 });
    expect(plan.servers).toHaveLength(1000);
    expect(plan.racks).toHaveLength(24);
    const findings = validatePlan(plan);
    expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(countBySeverity(findings).error).toBe(0);
  });

  it('spreads controllers one per rack and gives every storage server OSDs', () => {
    const plan = generatePlan({ servers: 1000, racks: 24, seed: 3 });
    const controllers = plan.servers.filter((s) => s.roles.includes('controller'));
    expect(controllers.length % 2).toBe(1);
    expect(new Set(controllers.map((s) => s.rack)).size).toBe(controllers.length);
    const storage = plan.servers.filter((s) => s.roles.includes('storage'));
    expect(storage.length).toBeGreaterThanOrEqual(3);
    for (const s of storage) expect(s.disks.some((d) => d.use === 'ceph-osd')).toBe(true);
    expect(new Set(storage.map((s) => s.rack)).size).toBe(24);
  });

  it('round-trips through YAML and the schema unchanged', () => {
    const plan = generatePlan({ servers: 200, racks: 6, seed: 9 });
    const parsed = parsePlanText(planToYaml(plan), 'generated.yaml');
    expect(parsed.findings).toEqual([]);
    expect(parsed.plan).toEqual(plan);
  });

  it('is deterministic for a seed and varies with it', () => {
    const a = generatePlan({ servers: 300, racks: 8, seed: 42 });
    expect(generatePlan({ servers: 300, racks: 8, seed: 42 })).toEqual(a);
    expect(generatePlan({ servers: 300, racks: 8, seed: 43 })).not.toEqual(a);
  });

  it.each([
    [7, 1],
    [10, 2],
    [60, 3],
    [3000, 70],
  ])('makes a valid plan of %i servers in %i racks', (servers, racks) => {
    const findings = validatePlan(generatePlan({ servers, racks, seed: 5 }));
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('refuses sizes it cannot lay out, saying why', () => {
    for (const [servers, racks] of [
      [3, 1],
      [100, 0],
      [2000, 2],
    ] as const) {
      let error: unknown;
      try {
        generatePlan({ servers, racks });
      } catch (e) {
        error = e;
      }
      expect(isUstartError(error, 'InvalidArgument')).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`${servers}`));
    }
  });
});

import { describe, expect, it } from 'vitest';
import { emptyPlan } from './empty.js';
import { Plan } from './schema.js';
import { validatePlan } from './validate/index.js';

describe('emptyPlan', () => {
  it('holds the schema and leaves only the guidance of an empty site', () => {
    const plan = emptyPlan();
    expect(Plan.safeParse(plan).success).toBe(true);
    expect(plan.networks.map((n) => n.purpose)).toEqual([
      'management',
      'bmc',
      'storage',
      'provider',
      'tenant',
    ]);
    // Its only errors are the servers it does not have yet: they guide the first steps.
    const errors = validatePlan(plan)
      .filter((f) => f.severity === 'error')
      .map((f) => f.rule)
      .sort();
    expect(errors).toEqual(['compute-count-min', 'controller-count-min']);
  });
});

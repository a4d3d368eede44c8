/**
 * The wizard step registry against the parallel lists it replaced (ui-store's STEPS,
 * StepRail's LABELS and its `id !== 'review'`, App's five conditionals, finding-steps.ts's pointer
 * tests): the same steps in the same order, with the same labels and components, and every
 * place of the plan schema landing on the step it landed on before.
 * test/unit/renderer/wizard-steps.test.ts checks the rule families against the real rules.
 */
import { describe, expect, it } from 'vitest';
import { Plan, RuleFamily } from '../../../src/api';
import { stepOf, stepShowsFamily } from '../logic/finding-steps';
import { HardwareStep } from './HardwareStep';
import { NetworksStep } from './NetworksStep';
import { ReviewStep } from './ReviewStep';
import { RolesStep } from './RolesStep';
import { SiteStep } from './SiteStep';
import { WIZARD_STEPS, isStepId } from './registry';

// The lists as they were before the registry (commit be63b79), kept as the oracle.
const OLD_STEPS = ['site', 'hardware', 'networks', 'roles', 'review'];
const OLD_LABELS = ['stepSite', 'stepHardware', 'stepNetworks', 'stepRoles', 'stepReview'];
const OLD_COMPONENTS = [SiteStep, HardwareStep, NetworksStep, RolesStep, ReviewStep];
/** finding-steps.ts's stepOf for a finding with a path (the rule id mattered only for ``). */
function oldStepOf(path: string): string {
  if (/^\/servers\/\d+\/roles/.test(path)) return 'roles';
  if (path.startsWith('/servers') || path.startsWith('/racks')) return 'hardware';
  if (path.startsWith('/networks')) return 'networks';
  return 'site';
}

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  element?: { _zod: { def: Def } };
  innerType?: { _zod: { def: Def } };
  valueType?: { _zod: { def: Def } };
}

/** Every pointer a plan of this schema can have: lists at item 2, map keys as `storage`. */
function schemaPointers(def: Def, at = ''): string[] {
  const out = [at];
  const inner = (d: { _zod: { def: Def } } | undefined, to: string) =>
    d ? schemaPointers(d._zod.def, to) : [];
  switch (def.type) {
    case 'optional':
      return inner(def.innerType, at);
    case 'array':
      return [...out, ...inner(def.element, `${at}/2`)];
    case 'record':
      return [...out, ...inner(def.valueType, `${at}/storage`)];
    case 'object':
      for (const [key, value] of Object.entries(def.shape ?? {}))
        out.push(...schemaPointers(value._zod.def, `${at}/${key}`));
      return out;
    default:
      return out;
  }
}

describe('the wizard step registry', () => {
  it('has the steps, labels, components and rail badges the parallel lists had', () => {
    expect(WIZARD_STEPS.map((s) => s.id)).toEqual(OLD_STEPS);
    expect(WIZARD_STEPS.map((s) => s.label)).toEqual(OLD_LABELS);
    expect(WIZARD_STEPS.map((s) => s.component)).toEqual(OLD_COMPONENTS);
    // The rail counted errors on every step but the review.
    expect(WIZARD_STEPS.filter((s) => !s.badge).map((s) => s.id)).toEqual(['review']);
    expect(OLD_STEPS.every(isStepId)).toBe(true);
    expect(['', 'install', 'Site', undefined, 3].some(isStepId)).toBe(false);
  });

  it('sends every place of the plan schema, and those the old tests named, where it went', () => {
    const places = [
      ...schemaPointers((Plan as unknown as { _zod: { def: Def } })._zod.def),
      // paths.test.ts and finding-place.test.ts
      '/servers/3/roles',
      '/servers/3/roles/0',
      '/servers/12/nics/0',
      '/servers/7/nics/0/mac',
      '/servers/0/bonds/0/members/1',
      '/servers/0/addresses/storage',
      '/servers/0/bmc/address',
      '/servers/0/cpu/cores',
      '/racks/0/powerKw',
      '/networks/1/cidr',
      '/networks/0/pool/start',
      '/site/ntp/1',
      '/kubernetes/podCidr',
      '/openstack/region',
      '/acknowledgements/1/rule',
      '/servers',
      '/racks',
      '/networks',
      '/site',
    ];
    expect(places).toContain('/servers/2/roles/2');
    expect(places).toContain('/servers/2/nics/2/mac');
    expect(places.length).toBeGreaterThan(100);
    expect(places.filter((p) => stepOf(p) !== oldStepOf(p))).toEqual([]);
    // A path wins over a family: only a finding about the whole plan goes by its family.
    for (const p of places.filter((p) => p !== '')) {
      for (const family of RuleFamily.options) expect(stepOf(p, family)).toBe(oldStepOf(p));
    }
  });

  it('places the families roles and storage on the Roles step, and nothing else by family', () => {
    const byFamily = Object.fromEntries(RuleFamily.options.map((f) => [f, stepOf('', f)]));
    expect(byFamily).toEqual({
      ...Object.fromEntries(RuleFamily.options.map((f) => [f, 'site'])),
      roles: 'roles',
      storage: 'roles',
    });
    expect(stepOf('')).toBe('site');
    for (const step of WIZARD_STEPS) {
      const shown = RuleFamily.options.filter((f) => stepShowsFamily(step.id, f));
      expect(shown).toEqual(step.id === 'roles' ? ['roles', 'storage'] : []);
    }
    expect(stepShowsFamily('roles', undefined)).toBe(false);
  });
});

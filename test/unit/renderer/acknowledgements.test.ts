/**
 * Acknowledging a finding from the wizard: the plan edit (renderer/src/logic/acknowledgements.ts)
 * against the real validator, through the plan store's undo, and through a save to YAML and
 * back, so what the UI writes is what `ustart validate` accepts.
 */
import { produce } from 'immer';
import { describe, expect, it } from 'vitest';
import {
  acknowledge,
  acknowledgementsOf,
  canAcknowledge,
  withdrawAcknowledgement,
} from '../../../renderer/src/logic/acknowledgements.js';
import { usePlanStore } from '../../../renderer/src/state/plan-store.js';
import {
  countBySeverity,
  loadPlanFile,
  parsePlanText,
  planToYaml,
  validatePlan,
  type Finding,
  type Plan,
} from '../../../src/plan/index.js';
import { assetPath } from '../../../src/util/assets.js';

/** The demo with ctl-03 beside ctl-01 in R01: losing R01 loses the control plane (a warning). */
async function demoWithQuorumWarning(): Promise<{ plan: Plan; warning: Finding }> {
  const parsed = await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'));
  const plan = produce(parsed.plan!, (d) => {
    Object.assign(
      d.servers.find((s) => s.hostname === 'ctl-03')!,
      { rack: 'R01', position: 38 },
    );
  });
  const warning = validatePlan(plan).find((f) => f.rule === 'rack-loss-quorum');
  if (!warning) throw new Error('the demo with ctl-03 in R01 has no rack-loss-quorum warning');
  return { plan, warning };
}

const warnings = (plan: Plan) => countBySeverity(validatePlan(plan)).warning;

describe('acknowledging a finding', () => {
  it('accepts a warning at its path: the validator marks it and stops counting it', async () => {
    const { plan, warning } = await demoWithQuorumWarning();
    const before = warnings(plan);
    expect(before).toBeGreaterThan(0);
    expect(canAcknowledge(warning)).toBe(true);

    const acked = produce(plan, (d) =>
      acknowledge(d, warning, { reason: '  Only two racks until Q3.  ', by: ' J. Berater ' }),
    );
    expect(acked.acknowledgements).toEqual([
      {
        rule: 'rack-loss-quorum',
        path: warning.path,
        reason: 'Only two racks until Q3.',
        by: 'J. Berater',
      },
    ]);
    expect(plan.acknowledgements).toBeUndefined();
    const after = validatePlan(acked).find((f) => f.rule === 'rack-loss-quorum')!;
    expect(after.acknowledged).toEqual({ reason: 'Only two racks until Q3.', by: 'J. Berater' });
    expect(canAcknowledge(after)).toBe(false);
    expect(warnings(acked)).toBe(before - 1);
    // No finding about the acknowledgement itself (rule acknowledgement-invalid).
    expect(validatePlan(acked).map((f) => f.rule)).not.toContain('acknowledgement-invalid');
  });

  it('accepts the whole rule without a path, and replaces rather than duplicates', async () => {
    const { plan, warning } = await demoWithQuorumWarning();
    const once = produce(plan, (d) => acknowledge(d, warning, { reason: 'a', wholeRule: true }));
    expect(once.acknowledgements).toEqual([{ rule: 'rack-loss-quorum', reason: 'a' }]);
    const twice = produce(once, (d) => acknowledge(d, warning, { reason: 'b', wholeRule: true }));
    expect(twice.acknowledgements).toEqual([{ rule: 'rack-loss-quorum', reason: 'b' }]);
    const both = produce(twice, (d) => acknowledge(d, warning, { reason: 'c', by: ' ' }));
    expect(both.acknowledgements).toEqual([
      { rule: 'rack-loss-quorum', reason: 'b' },
      { rule: 'rack-loss-quorum', path: warning.path, reason: 'c' },
    ]);
    expect(acknowledgementsOf(both, warning)).toEqual([0, 1]);
    expect(acknowledgementsOf(both, { rule: 'rack-loss-quorum', path: '/servers/99' })).toEqual([
      0,
    ]);
    expect(acknowledgementsOf(both, { rule: 'controller-spread', path: warning.path })).toEqual([]);
  });

  it('refuses errors and empty reasons', async () => {
    const { plan, warning } = await demoWithQuorumWarning();
    const error = {
      rule: 'hostname-unique',
      path: '/servers/1/hostname',
      severity: 'error' as const,
    };
    expect(canAcknowledge(error)).toBe(false);
    expect(() => produce(plan, (d) => acknowledge(d, error, { reason: 'we want it so' }))).toThrow(
      /hostname-unique is an error: errors cannot be acknowledged/,
    );
    expect(() => produce(plan, (d) => acknowledge(d, warning, { reason: ' \n ' }))).toThrow(
      /acknowledging rack-loss-quorum needs a reason/,
    );
  });

  it('withdraws every entry covering the finding and drops the empty list', async () => {
    const { plan, warning } = await demoWithQuorumWarning();
    const other = { rule: 'controller-spread', reason: 'kept' };
    const acked = produce(plan, (d) => {
      d.acknowledgements = [other];
      acknowledge(d, warning, { reason: 'whole', wholeRule: true });
      acknowledge(d, warning, { reason: 'here' });
    });
    let removed = -1;
    const withdrawn = produce(acked, (d) => {
      removed = withdrawAcknowledgement(d, warning);
    });
    expect(removed).toBe(2);
    expect(withdrawn.acknowledgements).toEqual([other]);
    expect(validatePlan(withdrawn).find((f) => f.rule === 'rack-loss-quorum')!.acknowledged).toBe(
      undefined,
    );

    const alone = produce(plan, (d) => acknowledge(d, warning, { reason: 'x' }));
    const empty = produce(alone, (d) => void withdrawAcknowledgement(d, warning));
    expect('acknowledgements' in empty).toBe(false);
    expect(produce(plan, (d) => void withdrawAcknowledgement(d, warning))).toBe(plan);
  });

  it('is one undo step in the plan store', async () => {
    const { plan, warning } = await demoWithQuorumWarning();
    const store = usePlanStore.getState();
    store.load(plan, null);
    usePlanStore.getState().edit((d) => acknowledge(d, warning, { reason: 'two racks' }));
    expect(usePlanStore.getState().history!.present.acknowledgements).toHaveLength(1);
    usePlanStore.getState().undo();
    expect(usePlanStore.getState().history!.present).toBe(plan);
    usePlanStore.getState().redo();
    const redone = usePlanStore.getState().history!.present;
    expect(warnings(redone)).toBe(warnings(plan) - 1);
    usePlanStore.getState().edit((d) => void withdrawAcknowledgement(d, warning));
    expect(warnings(usePlanStore.getState().history!.present)).toBe(warnings(plan));
    usePlanStore.getState().undo();
    expect(usePlanStore.getState().history!.present).toBe(redone);
  });

  it('survives a save to YAML and a reload: the file validates with the warning accepted', async () => {
    const { plan, warning } = await demoWithQuorumWarning();
    const acked = produce(plan, (d) =>
      acknowledge(d, warning, { reason: 'Rack R03 is delivered in Q3: "soon".' }),
    );
    const text = planToYaml(acked);
    expect(text).toContain('acknowledgements:');
    const reread = parsePlanText(text, 'site.yaml');
    expect(reread.findings).toEqual([]);
    expect(reread.plan!.acknowledgements).toEqual(acked.acknowledgements);
    expect(warnings(reread.plan!)).toBe(warnings(plan) - 1);
  });
});

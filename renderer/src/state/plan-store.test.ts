import { beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/api';
import { selectCanRedo, selectCanUndo, selectDirty, selectPlan, usePlanStore } from './plan-store';

const plan = {
  site: { name: 'a', customer: 'c' },
  servers: [{ hostname: 's1', rack: 'R01', position: 1 }],
} as unknown as Plan;

const state = () => usePlanStore.getState();

describe('plan store', () => {
  beforeEach(() => state().load(plan, '/plans/a.yaml'));

  it('makes every edit undoable, keeps untouched parts shared, and tracks unsaved changes', () => {
    expect(selectDirty(state())).toBe(false);
    state().edit((d) => void (d.site.customer = 'Beispiel GmbH'));
    const edited = selectPlan(state())!;
    expect(edited.site.customer).toBe('Beispiel GmbH');
    expect(edited.servers).toBe(plan.servers);
    expect(selectDirty(state())).toBe(true);
    state().undo();
    expect(selectPlan(state())).toBe(plan);
    expect(selectDirty(state())).toBe(false);
    expect(selectCanRedo(state())).toBe(true);
    state().redo();
    expect(selectPlan(state())).toBe(edited);
    state().markSaved('/plans/b.yaml');
    expect(selectDirty(state())).toBe(false);
    expect(state().file).toBe('/plans/b.yaml');
  });

  it('turns typing into one field into one undo step', () => {
    for (const name of ['b', 'bo', 'bon'])
      state().edit((d) => void (d.site.name = name), '/site/name');
    expect(selectPlan(state())!.site.name).toBe('bon');
    state().undo();
    expect(selectPlan(state())!.site.name).toBe('a');
    expect(selectCanUndo(state())).toBe(false);
  });

  it('starts a new plan unsaved', () => {
    state().load(plan, null);
    state().edit((d) => void (d.site.name = 'x'));
    expect(selectDirty(state())).toBe(true);
  });
});

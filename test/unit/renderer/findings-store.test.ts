/**
 * The wizard's findings follow the plan on screen through undo and redo: the renderer's
 * findings store against the real core (direct binding), no DOM.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { unwrap } from '../../../src/api/index.js';
import { createCore, type Core } from '../../../src/app/core.js';
import {
  VALIDATE_DEBOUNCE_MS,
  seedFindings,
  startValidation,
  useFindingsStore,
} from '../../../renderer/src/state/findings-store.js';
import { usePlanStore } from '../../../renderer/src/state/plan-store.js';

let dir: string;
let core: Core;
let stop: () => void;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-findings-'));
  core = createCore({ mode: 'test', stateDir: join(dir, 'state'), root: dir });
  stop = startValidation(core.client);
});
afterEach(async () => {
  stop();
  await core.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** Resolves with the findings' rules once an answer has been applied and nothing is pending. */
function settled(): Promise<string[]> {
  const rules = () => useFindingsStore.getState().findings.map((f) => f.rule);
  if (!useFindingsStore.getState().pending) return Promise.resolve(rules());
  return new Promise((resolve) => {
    const unsubscribe = useFindingsStore.subscribe((s) => {
      if (s.pending) return;
      unsubscribe();
      resolve(rules());
    });
  });
}

describe('findings after undo and redo', () => {
  it('show the findings of the plan on screen at once, the opened one included', async () => {
    // A plan with an error, as opened: its findings come with it.
    const created = unwrap(await core.client.planNew({ template: 'demo' }));
    const broken = structuredClone(created.plan!);
    broken.servers[1]!.hostname = 'ctl-01';
    const opened = unwrap(await core.client.planValidate({ plan: broken }));
    seedFindings(broken, opened);
    usePlanStore.getState().load(broken, null);
    expect(await settled()).toContain('hostname-unique');

    // The fix: validated by the core after the debounce.
    usePlanStore.getState().edit((d) => void (d.servers[1]!.hostname = 'ctl-02'), 'hostname');
    expect(useFindingsStore.getState().pending).toBe(true);
    expect(await settled()).not.toContain('hostname-unique');

    // Undo brings back the opened plan, and its error, without waiting for the core.
    usePlanStore.getState().undo();
    expect(useFindingsStore.getState().pending).toBe(false);
    expect(useFindingsStore.getState().findings.map((f) => f.rule)).toContain('hostname-unique');
    expect(useFindingsStore.getState().counts.error).toBe(1);

    usePlanStore.getState().redo();
    expect(useFindingsStore.getState().pending).toBe(false);
    expect(useFindingsStore.getState().counts.error).toBe(0);
  });

  it('never applies the validation an undo made obsolete', async () => {
    const plan = unwrap(await core.client.planNew({ template: 'demo' })).plan!;
    seedFindings(plan, unwrap(await core.client.planValidate({ plan })));
    usePlanStore.getState().load(plan, null);
    // The debounce timer is driven by hand: no waiting on wall time.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      usePlanStore.getState().edit((d) => void (d.servers[1]!.hostname = 'ctl-01'), 'hostname');
      // Undo before the debounced validation of the edit has started; then its time passes.
      usePlanStore.getState().undo();
      vi.advanceTimersByTime(VALIDATE_DEBOUNCE_MS * 3);
    } finally {
      vi.useRealTimers();
    }
    expect(await settled()).not.toContain('hostname-unique');
    // A round trip to the core: an answer for the undone edit would have arrived by now.
    await core.client.planValidate({ plan });
    expect(useFindingsStore.getState().counts.error).toBe(0);
  });
});

/**
 * Connect and Install in browser mode against the demo lab (issue 17, items 6 and 8):
 * gathered facts and the network matrix stay when the user leaves Connect and comes back;
 * the chosen phases stay on Install; a second run's estimate comes from the first run's
 * step durations; a step chosen in the graph brings its log into view.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../src/api/index.js';
import type { Core } from '../../src/app/index.js';
import type { DemoSession } from '../../src/demo/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { Cleanup, connectDemoHosts, startDemoBrowser } from './harness.js';
import { attr } from './install-flow.js';
import { shot } from './wizard-flow.js';

const cleanup = new Cleanup();
let session: DemoSession;
let core: Core;
let server: RunningServer;
let page: Page;

beforeAll(async () => {
  ({ session, core, server, page } = await startDemoBrowser(cleanup, {
    name: 'keep',
    demo: { speed: 2000 },
    // A short window, so the log below the graph starts out of view.
    viewport: { width: 1280, height: 640 },
  }));
}, 240_000);

afterAll(() => cleanup.run());

/** Whether any part of the element is inside the window (640 px high). */
async function inView(page: Page, testId: string): Promise<boolean> {
  const box = await page.getByTestId(testId).boundingBox();
  return box !== null && box.y < 640 && box.y + box.height > 0;
}

describe('Connect and Install keep their state', () => {
  it('keeps the facts and the network matrix when the user leaves Connect and comes back', async () => {
    await page.goto(server.url);
    await page.getByTestId('demo-badge').waitFor({ timeout: 30_000 });
    const hosts = [...session.lab.targets.keys()];
    await connectDemoHosts(page, hosts);
    await page.getByTestId('gather').click();
    await page.getByTestId('connect-report').waitFor({ timeout: 60_000 });
    const facts = await page.getByTestId('facts').textContent();
    const matrices = await page.locator('[data-testid^="net-matrix-"]').count();
    expect(matrices).toBeGreaterThan(0);

    // Away to the wizard and to Install, then back: the same report, not gathered again.
    await page.getByTestId('step-site').click();
    await page.getByTestId('connect-page').waitFor({ state: 'detached' });
    await page.getByTestId('page-install').click();
    await page.getByTestId('install-page').waitFor();
    await page.getByTestId('page-connect').click();
    await page.getByTestId('connect-report').waitFor({ timeout: 1000 });
    expect(await page.getByTestId('facts').textContent()).toBe(facts);
    expect(await page.locator('[data-testid^="net-matrix-"]').count()).toBe(matrices);
    for (const h of hosts)
      expect(await attr(page.getByTestId(`host-state-${h}`), 'data-state')).toBe('ok');
    await shot(page, 'keep-1-connect-back');
  }, 180_000);

  it('keeps the chosen phases on Install', async () => {
    await page.getByTestId('page-install').click();
    await page.getByTestId('phase-connect').check();
    await page.getByTestId('phase-umetal').uncheck();
    await page.getByTestId('step-by-step').check();
    await page.getByTestId('page-connect').click();
    await page.getByTestId('page-install').click();
    expect(await page.getByTestId('phase-connect').isChecked()).toBe(true);
    expect(await page.getByTestId('phase-umetal').isChecked()).toBe(false);
    expect(await page.getByTestId('step-by-step').isChecked()).toBe(true);
  });

  it('estimates a run from the step durations of the earlier one, and shows a chosen step’s log', async () => {
    // Gathering the facts was a run of the connect steps (journalled like any run): what
    // its steps took, as run:list gives it, is the history.
    const planFile = session.planFile;
    const runs = unwrap(await core.client.runList({ planFile })).runs;
    expect(runs).toHaveLength(1);
    const took = runs[0]!.steps.map((s) => {
      const t = Object.values(s.hostStates);
      return Math.max(...t.map((h) => h.finishedAt!)) - Math.min(...t.map((h) => h.startedAt!));
    });
    expect(runs[0]!.steps.map((s) => s.id)).toEqual(['connect.facts', 'connect.netcheck']);
    expect(runs[0]!.steps[1]!.after).toEqual(['connect.facts']);
    const estimate = page.getByTestId('run-estimate');
    // The planned run: what the same steps took before.
    await expect.poll(() => estimate.textContent()).toContain('expected to take about');
    expect(await estimate.textContent()).toContain('(from 1 earlier run)');
    expect(Number(await attr(estimate, 'data-ms'))).toBe(took[0]! + took[1]!);

    // The second run pauses before its first step: all of it is left, the first run's time.
    await page.getByTestId('run-start').click();
    await page
      .locator('[data-testid="pause-panel"][data-reason="before-step"]')
      .waitFor({ timeout: 30_000 });
    await expect.poll(() => estimate.textContent()).toContain('left (from 1 earlier run)');
    expect(Number(await attr(estimate, 'data-ms'))).toBe(took[0]! + took[1]!);
    await shot(page, 'keep-2-estimate');

    // A step chosen in the graph: its log comes into view below.
    await page.getByTestId('step-view-graph').click();
    // From the top of the page (a string: the tests are compiled without the DOM's types).
    await page.evaluate(
      `window.scrollTo(0, 0); document.querySelector('main.content')?.scrollTo(0, 0)`,
    );
    await page.getByTestId('graphstep-connect.facts').click();
    await page.getByTestId('log-view').waitFor();
    await expect.poll(() => inView(page, 'log-view')).toBe(true);
    await shot(page, 'keep-3-log-in-view');
    await page.getByTestId('decide-run-all').click();
    await page.locator('[data-testid="run-state"]:text("succeeded")').waitFor({ timeout: 90_000 });
  }, 240_000);
});

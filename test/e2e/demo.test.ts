/**
 * The first run in browser mode, as `ustart serve --demo` builds it: the demo site opens on
 * its own with a Demo badge, Connect reaches the demo lab, and uMetal, uStack and uGarden
 * run at high speed with one injected failure that shows in the UI, is retried from the
 * UI, and the run ends with every step green. The real engine, Ssh2Transport (fenced to
 * the lab) and runbook, against the simulated servers of src/demo.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoSession } from '../../src/demo/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { Cleanup, connectDemoHosts, startDemoBrowser } from './harness.js';
import { attr, terminalText } from './install-flow.js';
import { shot } from './wizard-flow.js';

const FAIL_STEP = 'umetal.kubeadm-init';
const FAIL_HOST = 'ctl-01';

const cleanup = new Cleanup();
let session: DemoSession;
let server: RunningServer;
let page: Page;

describe('the demo in browser mode', () => {
  beforeAll(async () => {
    // What `ustart serve --demo --speed 2000 --inject-failure …` starts (src/cli/commands/serve.ts).
    ({ session, server, page } = await startDemoBrowser(cleanup, {
      name: 'demo',
      demo: { speed: 2000, scenario: { injectFailures: [`${FAIL_STEP}@${FAIL_HOST}`] } },
    }));
  }, 240_000);

  afterAll(() => cleanup.run());

  it('opens the demo site, connects, installs all three phases, retries the injected failure and ends green', async () => {
    const started = performance.now();
    await page.goto(server.url);

    // The demo site is open on arrival, marked as a demo.
    await page.getByTestId('demo-badge').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('demo-badge').textContent()).toBe('Demo');

    // Connect: every host of the lab answers.
    const hosts = [...session.lab.targets.keys()];
    await connectDemoHosts(page, hosts);
    await page.getByTestId('gather').click();
    await page.getByTestId('connect-report').waitFor({ timeout: 60_000 });
    for (const h of hosts) {
      expect(await page.getByTestId(`facts-${h}`).textContent()).toMatch(/Ubuntu|Debian/);
    }
    await shot(page, 'demo-1-connected');

    // Install: uMetal, uStack and uGarden in one run.
    await page.getByTestId('page-install').click();
    for (const phase of ['umetal', 'ustack', 'ugarden']) {
      await page.getByTestId(`phase-${phase}`).check();
    }
    await page.getByTestId('runstep-ugarden.kubeconfig').waitFor();
    await page.getByTestId('run-start').click();
    await page.getByTestId('run-demo-badge').waitFor();

    // The injected failure shows: the run pauses on it, its cell is red, its log says why.
    await page
      .locator('[data-testid="pause-panel"][data-reason="step-failed"]')
      .waitFor({ timeout: 60_000 });
    const failed = page.getByTestId(`cell-${FAIL_STEP}-${FAIL_HOST}`);
    expect(await attr(failed, 'data-state')).toBe('failed');
    await failed.click();
    await expect
      .poll(() => terminalText(page.getByTestId('log-view')), { timeout: 20_000 })
      .toContain('Could not get lock /var/lib/dpkg/lock-frontend');
    await shot(page, 'demo-2-failure');

    // Retry on that host from the UI; the run goes on to the end.
    await page.getByTestId('retry-host').click();
    await page.locator('[data-testid="run-state"]:text("succeeded")').waitFor({ timeout: 90_000 });
    await shot(page, 'demo-3-green');

    // Everything green: every step, and every host of every step.
    const steps = page.locator('[data-testid^="runstep-"]');
    expect(await steps.count()).toBeGreaterThan(30);
    for (const s of await steps.all()) {
      expect(await attr(s, 'data-state'), (await attr(s, 'data-testid')) ?? '').toBe('succeeded');
    }
    const cells = page.locator('[data-testid^="cell-"]');
    for (const c of await cells.all()) {
      expect(await attr(c, 'data-state'), (await attr(c, 'data-testid')) ?? '').toBe('succeeded');
    }
    const phases = new Set(
      await steps.evaluateAll((els) =>
        els.map((e) => e.getAttribute('data-testid')!.split('.')[0]),
      ),
    );
    expect(phases).toEqual(new Set(['runstep-umetal', 'runstep-ustack', 'runstep-ugarden']));

    // The demo is shown wherever the run is: header, the live run, the history.
    expect(await page.getByTestId('demo-badge').isVisible()).toBe(true);
    expect(await page.getByTestId('run-demo-badge').isVisible()).toBe(true);
    const runId = await attr(page.getByTestId('run-progress'), 'data-run');
    await page.getByTestId(`history-demo-${runId}`).waitFor();

    // Not a timed assertion: the number is reported (docs/demo.md).
    console.log(
      `demo e2e: open → connect → 3 phases → retry → green in ${Math.round(performance.now() - started)} ms`,
    );
  }, 180_000);
});

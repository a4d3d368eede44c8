/**
 * End-to-end in browser mode against lab hosts: Connect (access settings, the host-key
 * dialog with each host's real SHA256 fingerprint), facts and the network matrix; then a
 * run watched live on the Install page, one host-step made to fail, a reload of the page
 * while the run waits (the stream re-attaches from the last sequence number: no gap), a
 * shell on the failed host in the Terminals tab that removes the cause, a retry on that
 * host, and the run's end.
 *
 * The run is the runbook's connect phase: uMetal's first steps need systemd and a bundle
 * of packages, which the lab hosts do not have yet (see test/integration/runbook-umetal).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlanFile } from '../../src/plan/load.js';
import { planToYaml } from '../../src/plan/save.js';
import type { RunningServer } from '../../src/server/server.js';
import { fingerprint } from '../../src/ssh/known-hosts.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { attr, openPlan, terminalText } from './install-flow.js';
import { Cleanup, browserCore, startBrowserMode, tempDir } from './harness.js';
import { shot } from './wizard-flow.js';

const available = labAvailable();

const cleanup = new Cleanup();
let lab: Lab;
let work: string;
let server: RunningServer;
let page: Page;

/** The colour an element's top border is drawn in (this file is typed without the DOM). */
const borderColour = (l: Locator) =>
  l.evaluate((el) => {
    const view = globalThis as unknown as { getComputedStyle(e: unknown): CSSLike };
    return view.getComputedStyle(el).borderTopColor;
  });
interface CSSLike {
  borderTopColor: string;
}

describe.skipIf(!available)('Connect, install with live logs and terminals in browser mode', () => {
  beforeAll(async () => {
    work = await tempDir(cleanup, 'install');
    lab = await createLab({ hosts: 3 });
    cleanup.add(() => lab.dispose());
    await writeFile(join(work, 'site.yaml'), planToYaml((await loadPlanFile(lab.planPath)).plan!));
    ({ server, page } = await startBrowserMode(cleanup, {
      name: 'install',
      core: browserCore(work, {
        // Only what the consultant accepts in the dialog is trusted: no ~/.ssh files.
        hostPages: { readOnlyKnownHosts: [], sshConfigFile: null, retryDelayMs: () => 0 },
      }),
      viewport: { width: 1400, height: 900 },
    }));
  }, 240_000);

  afterAll(() => cleanup.run());

  it('connects, runs, fails, is fixed in a shell, retries and finishes across a reload', async () => {
    const [h0, broken, h2] = lab.hosts;
    await page.goto(server.url);
    await openPlan(page);

    // Connect: the lab's key, no agent; every host key unknown until accepted in the dialog.
    await page.getByTestId('page-connect').click();
    await page.getByTestId('access-key').fill(lab.clientKeyPath);
    await page.getByTestId('access-agent').uncheck();
    await page.getByTestId('access-save').click();
    await page.getByTestId('check-hosts').click();
    for (const h of lab.hosts) {
      await page
        .locator(`[data-testid="host-state-${h.name}"][data-state="host-key-unknown"]`)
        .waitFor();
    }
    await shot(page, 'install-1-unknown-keys');
    for (const h of lab.hosts) {
      await page.getByTestId(`verify-key-${h.name}`).click();
      const shown = await page.getByTestId('hostkey-fingerprint').textContent();
      // What the dialog shows is the host's real key, as ssh-keygen -lf would print it.
      expect(shown).toBe(fingerprint(Buffer.from(h.publicKey.split(' ')[1]!, 'base64')));
      if (h === h0) await shot(page, 'install-2-host-key-dialog');
      await page.getByTestId('hostkey-accept-once').click();
      await page.locator(`[data-testid="host-state-${h.name}"][data-state="ok"]`).waitFor();
    }

    // Facts beside the plan and the network matrix (every pair reachable at the MTU).
    await page.getByTestId('gather').click();
    await page.getByTestId('connect-report').waitFor({ timeout: 180_000 });
    for (const h of lab.hosts) {
      expect(await page.getByTestId(`facts-${h.name}`).textContent()).toMatch(/Debian|Ubuntu|\d/);
    }
    const cells = page.locator('[data-testid^="net-mgmt-"]');
    expect(await cells.count()).toBe(6);
    for (const c of await cells.all()) expect(await attr(c, 'data-ok')).toBe('true');
    await shot(page, 'install-3-facts-matrix');

    // A file where the step writes its output: connect.facts fails on that host.
    const r = await lab.exec(
      broken!.index,
      'rm -rf /var/lib/ustart/out && touch /var/lib/ustart/out',
    );
    expect(r.code).toBe(0);

    await page.getByTestId('page-install').click();
    // The lab site is air-gapped: installing uMetal without the offline bundle is refused
    // on the page, saying what to give; nothing starts.
    expect(await attr(page.getByTestId('bundle-fields'), 'data-required')).toBe('true');
    await page.getByTestId('run-start').click();
    expect(await page.getByTestId('bundle-error').textContent()).toContain('site.airGapped');
    expect(await page.getByTestId('run-history').textContent()).not.toContain('running');
    await page.getByTestId('phase-umetal').uncheck();
    await page.getByTestId('phase-connect').check();
    await page.getByTestId('runstep-connect.facts').waitFor();
    await page.getByTestId('run-start').click();

    // Logs arrive live in xterm.
    const okCell = page.getByTestId(`cell-connect.facts-${h0!.name}`);
    await page
      .locator(`[data-testid="cell-connect.facts-${h0!.name}"][data-state="succeeded"]`)
      .waitFor({ timeout: 120_000 });
    await okCell.click();
    const logView = page.getByTestId('log-view');
    await expect
      .poll(() => terminalText(logView), { timeout: 30_000 })
      .toContain(`gathering facts on ${h0!.name}`);

    // The broken host fails (twice: the step has one retry) and the run pauses.
    await page
      .locator('[data-testid="pause-panel"][data-reason="step-failed"]')
      .waitFor({ timeout: 120_000 });
    expect(await attr(page.getByTestId(`cell-connect.facts-${broken!.name}`), 'data-state')).toBe(
      'failed',
    );
    expect(await attr(page.getByTestId(`cell-connect.facts-${h2!.name}`), 'data-state')).toBe(
      'succeeded',
    );
    await page.getByTestId(`cell-connect.facts-${broken!.name}`).click();
    await expect.poll(() => terminalText(logView)).toContain('cannot create directory');
    await shot(page, 'install-4-paused-on-failure');
    const progress = page.getByTestId('run-progress');
    const seenBefore = Number(await attr(progress, 'data-last-seq'));
    expect(seenBefore).toBeGreaterThan(0);
    expect(await attr(progress, 'data-gaps')).toBe('0');

    // Reload while the run waits: the page re-attaches from the last sequence number.
    await page.reload();
    await openPlan(page);
    await page.getByTestId('page-install').click();
    await page.locator('[data-testid="pause-panel"][data-reason="step-failed"]').waitFor();
    expect(await attr(page.getByTestId('run-progress'), 'data-state')).toBe('running');

    // The fix, in a shell on that host.
    await page.getByTestId('page-terminals').click();
    await page.getByTestId('shell-host').selectOption(broken!.name);
    await page.getByTestId('shell-open').click();
    const shell = page.locator('[data-testid^="shell-"].shell-term').first();
    await shell.waitFor();
    await shell.click();
    await page.keyboard.type('rm /var/lib/ustart/out && echo FIXED-$((6*7)) on $(hostname)\n');
    await expect
      .poll(() => terminalText(shell), { timeout: 20_000 })
      .toContain(`FIXED-42 on ${broken!.name}`);
    await shot(page, 'install-5-shell-fix');

    // Retry on that host; the run goes on and finishes.
    await page.getByTestId('page-install').click();
    await page.getByTestId(`decide-retry-${broken!.name}`).click();
    await page.locator('[data-testid="run-state"]:text("succeeded")').waitFor({ timeout: 180_000 });
    const after = page.getByTestId('run-progress');
    // No event was lost or repeated across the reload: the first one this page got is the
    // one after the last the old page saw, and none is missing since.
    expect(Number(await attr(after, 'data-first-seq'))).toBe(seenBefore + 1);
    expect(await attr(after, 'data-gaps')).toBe('0');
    expect(Number(await attr(after, 'data-last-seq'))).toBeGreaterThan(seenBefore);
    for (const h of lab.hosts) {
      for (const step of ['connect.facts', 'connect.netcheck']) {
        expect(await attr(page.getByTestId(`cell-${step}-${h.name}`), 'data-state')).toBe(
          'succeeded',
        );
      }
    }

    // The steps as a graph: netcheck waits for facts, so it stands one column to the right,
    // with an arrow between them, both in the colour of their state; a node opens its log.
    await page.getByTestId('step-view-graph').click();
    const facts = page.getByTestId('graphstep-connect.facts');
    const netcheck = page.getByTestId('graphstep-connect.netcheck');
    expect(await attr(facts, 'data-state')).toBe('succeeded');
    expect(await attr(netcheck, 'data-state')).toBe('succeeded');
    expect(Number(await attr(netcheck, 'data-column'))).toBe(
      Number(await attr(facts, 'data-column')) + 1,
    );
    await page.getByTestId('edge-connect.facts-connect.netcheck').waitFor({ state: 'attached' });
    expect(await borderColour(facts)).toBe('rgb(22, 163, 74)'); // --st-succeeded
    await netcheck.click();
    expect(await attr(page.getByTestId('log-view'), 'data-step')).toBe('connect.netcheck');
    await shot(page, 'install-6a-step-graph');
    await page.getByTestId('step-view-list').click();

    // The retried host's log: the new attempt live, the failed ones loaded from the file.
    await page.getByTestId(`cell-connect.facts-${broken!.name}`).click();
    await expect.poll(() => terminalText(logView)).toContain('facts written to');
    await page.getByTestId('log-older').click();
    await expect.poll(() => terminalText(logView)).toContain('attempt 1');
    await shot(page, 'install-6-finished');
    expect(await page.getByTestId('run-history').textContent()).toContain('succeeded');

    // Step by step: a pause before each step shows what it will run; run one, skip the next.
    await page.getByTestId('phase-umetal').uncheck();
    await page.getByTestId('phase-connect').check();
    await page.getByTestId('step-by-step').check();
    await page.getByTestId('run-start').click();
    const before = page.locator('[data-testid="pause-panel"][data-reason="before-step"]');
    await before.waitFor({ timeout: 60_000 });
    await expect.poll(() => before.textContent()).toContain('connect.facts');
    await expect.poll(() => page.getByTestId('preview-run').textContent()).toMatch(/\S/);
    expect(await before.textContent()).toContain(lab.hosts.map((h) => h.name).join(', '));
    await shot(page, 'install-7-step-by-step');
    await page.getByTestId('decide-run').click();
    await expect
      .poll(() => before.textContent(), { timeout: 120_000 })
      .toContain('connect.netcheck');
    await page.getByTestId('decide-reason').fill('network verified a minute ago');
    await page.getByTestId('decide-skip').click();
    await page.locator('[data-testid="run-state"]:text("succeeded")').waitFor({ timeout: 60_000 });
    expect(await attr(page.getByTestId('runstep-connect.netcheck'), 'data-state')).toBe('skipped');
    expect(await attr(page.getByTestId('runstep-connect.facts'), 'data-state')).toBe('succeeded');
  }, 600_000);
});

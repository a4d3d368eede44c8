/**
 * The demo install ends on its summary (issue 17, item 7), in browser mode against the demo
 * lab: the endpoints at the plan's addresses and the workload cluster's API read from the
 * first controller, the run's duration, the kubeconfig downloaded through the browser (its
 * shape checked, its content never printed), and the Secrets' values absent from the page
 * until revealed, gone again when hidden. The handover report downloads with the capacity
 * and install sections and no secret.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app/index.js';
import type { DemoSession } from '../../src/demo/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';
import type { RunningServer } from '../../src/server/server.js';
import { Cleanup, startDemoBrowser } from './harness.js';
import { attr } from './install-flow.js';
import { pdfText, SHOTS, shot } from './wizard-flow.js';

const cleanup = new Cleanup();
let session: DemoSession;
let core: Core;
let server: RunningServer;
let page: Page;
let plan: Plan;

describe('the end of a demo install in browser mode', () => {
  beforeAll(async () => {
    ({ session, core, server, page } = await startDemoBrowser(cleanup, {
      name: 'summary',
      demo: { speed: 2000 },
      prepare: async (s) => {
        plan = (await loadPlanFile(s.planFile)).plan!;
      },
    }));
  }, 240_000);

  afterAll(() => cleanup.run());

  /** The page's visible text, for "is this secret on screen" checks (never printed). */
  const pageText = () => page.locator('body').innerText();

  /** Clicks `testId` and answers the downloaded file's name and text. */
  async function downloadOf(testId: string): Promise<{ name: string; text: string }> {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId(testId).click(),
    ]);
    const path = await download.path();
    return { name: download.suggestedFilename(), text: await readFile(path, 'utf8') };
  }

  it('installs the three phases and ends on the summary, with downloads and secrets only on reveal', async () => {
    await page.goto(server.url);
    await page.getByTestId('demo-badge').waitFor({ timeout: 30_000 });

    // Connect: every host of the lab answers.
    await page.getByTestId('page-connect').click();
    await page.getByTestId('check-hosts').click();
    for (const h of session.lab.targets.keys()) {
      await page.locator(`[data-testid="host-state-${h}"][data-state="ok"]`).waitFor({
        timeout: 60_000,
      });
    }

    // Install all three phases; the run ends on the summary.
    await page.getByTestId('page-install').click();
    for (const phase of ['umetal', 'ustack', 'ugarden']) {
      await page.getByTestId(`phase-${phase}`).check();
    }
    await page.getByTestId('runstep-ugarden.kubeconfig').waitFor();
    await page.getByTestId('run-start').click();
    await page.locator('[data-testid="run-state"]:text("succeeded")').waitFor({ timeout: 90_000 });
    const summary = page.locator('[data-testid="install-summary"][data-state="ready"]');
    await summary.waitFor({ timeout: 30_000 });
    const runId = await attr(page.getByTestId('run-progress'), 'data-run');
    expect(await attr(summary, 'data-run')).toBe(runId);
    expect(await summary.isVisible()).toBe(true);
    await page.getByTestId('summary-demo-badge').waitFor();

    // Endpoints at the plan's addresses; the workload cluster's from the first controller.
    const url = (id: string) => page.getByTestId(`endpoint-url-${id}`).textContent();
    const vip = plan.kubernetes.controlPlaneVip;
    expect(await url('kubernetes-api')).toBe(`https://${vip}:6443`);
    expect(await url('grafana')).toBe(`http://${vip}:30300/`);
    expect(await url('keystone')).toBe(`https://keystone.${plan.site.domain}/v3`);
    expect(await url('horizon')).toBe(`https://horizon.${plan.site.domain}/`);
    expect(await url('garden-api')).toBe('https://198.51.100.20:6443');
    expect(await url('git')).toContain('gitea-http.ustart-git');
    for (const row of await page.locator('[data-testid^="endpoint-"][data-installed]').all()) {
      expect(await attr(row, 'data-installed')).toBe('true');
    }
    expect(await page.getByTestId('summary-duration').textContent()).toMatch(
      /^\d+ (s|min \d\d s)$/,
    );
    // Where the credentials live, by name; the log bundle is offered with the summary.
    const text = await pageText();
    expect(text).toContain('Secret monitoring/grafana-admin (keys admin-user, admin-password)');
    expect(text).toContain('/etc/kubernetes/admin.conf on ');
    expect(await summary.getByRole('button', { name: 'Log bundle' }).count()).toBe(1);

    // The secrets, read by the test from the site itself: not on the page before reveal.
    const secret = async (which: 'grafana-admin' | 'keystone-admin') => {
      const r = await core.client.handoverReveal({ planFile: session.planFile, secret: which });
      if (!r.ok) throw new Error(r.error.message);
      return r.value.values;
    };
    const grafanaPassword = (await secret('grafana-admin'))['admin-password']!;
    const keystonePassword = (await secret('keystone-admin')).OS_PASSWORD!;
    expect(grafanaPassword.length).toBeGreaterThan(8);
    const before = await pageText();
    expect(before.includes(grafanaPassword)).toBe(false);
    expect(before.includes(keystonePassword)).toBe(false);
    await shot(page, 'summary-1-install-ended');

    // The kubeconfig, downloaded through the browser: its shape, never its content in a log.
    const kc = await downloadOf('download-garden-kubeconfig');
    expect(kc.name).toBe(`${plan.site.name}-garden-01.kubeconfig`);
    expect(kc.text.startsWith('apiVersion: v1\nkind: Config\n')).toBe(true);
    expect(kc.text.includes('server: https://198.51.100.20:6443')).toBe(true);
    expect(/\n {4}client-key-data: \S+\n/.test(kc.text)).toBe(true);
    const admin = await downloadOf('download-admin-kubeconfig');
    expect(admin.text.includes(`server: https://${vip}:6443`)).toBe(true);
    const clouds = await downloadOf('download-clouds-yaml');
    expect(clouds.name).toBe('clouds.yaml');
    expect(clouds.text.includes(`password: '${keystonePassword}'`)).toBe(true);
    // Downloading does not put the secret on the page either.
    expect((await pageText()).includes(keystonePassword)).toBe(false);

    // Reveal: fetched on demand, shown, hidden again.
    await page.getByTestId('reveal-grafana-admin').click();
    const shown = page.getByTestId('secret-grafana-admin-admin-password');
    await shown.waitFor();
    expect((await shown.textContent()) === grafanaPassword).toBe(true);
    expect((await pageText()).includes(keystonePassword)).toBe(false);
    await page.getByTestId('hide-grafana-admin').click();
    await shown.waitFor({ state: 'detached' });
    expect((await pageText()).includes(grafanaPassword)).toBe(false);
    await page.getByTestId('reveal-grafana-admin').waitFor();

    // The handover report: capacity and this install, no secret.
    const report = await downloadOf('summary-report');
    expect(report.name).toBe(`${plan.site.name}-handover-${runId}.html`);
    expect(report.text).toContain('id="capacity"');
    expect(report.text).toContain('id="install-summary"');
    expect(report.text).toContain('https://198.51.100.20:6443');
    expect(report.text.includes(grafanaPassword)).toBe(false);
    expect(report.text.includes(keystonePassword)).toBe(false);

    // The same report as PDF: the browser's print view, printed by Chromium.
    await page.getByTestId('summary-report-pdf').click();
    const view = page.getByTestId('report-view');
    await view.waitFor();
    const pdf = join(SHOTS, 'install-summary-report.pdf');
    await page.pdf({ path: pdf, format: 'A4', printBackground: true });
    const printed = await pdfText(pdf);
    expect(printed).toContain('Install summary');
    expect(printed).toContain('Capacity');
    expect(printed.includes(grafanaPassword)).toBe(false);
    await view.getByRole('button', { name: 'Close' }).click();
    await view.waitFor({ state: 'detached' });

    // In German, the summary and its buttons too.
    await page.getByTestId('lang').click();
    await summary.getByText('Installation abgeschlossen: was übergeben wird').waitFor();
    expect(await page.getByTestId('reveal-grafana-admin').textContent()).toBe('Anzeigen');
    expect(await pageText()).toContain(
      'Secret monitoring/grafana-admin (Schlüssel admin-user, admin-password) im Management-Cluster',
    );
    await page.getByTestId('lang').click();
  }, 180_000);
});

/**
 * Findings in browser mode (issue 17, item 3 and 4): they name places as the plan does
 * ("sto-01 › NIC ens1f0 › mac"), count in words ("1 error", "1 Fehler"), offer the Run IPAM
 * button instead of CLI advice, follow the plan through undo and redo, and name the rack
 * whose loss breaks the control plane's quorum. Real server, real renderer, Chromium.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Plan } from '../../src/plan/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { assetPath } from '../../src/util/assets.js';
import { Cleanup, browserCore, startBrowserMode, tempDir } from './harness.js';
import { shot, step } from './wizard-flow.js';

const cleanup = new Cleanup();
let work: string;
let server: RunningServer;
let page: Page;

/**
 * The demo with two errors (an invalid domain, a multicast MAC on sto-01's storage NIC), a
 * server waiting for IPAM, and ctl-03 back beside ctl-01 in R01, as the demo had it.
 */
async function brokenDemo(): Promise<string> {
  const plan = parse(await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8')) as Plan;
  const server = (hostname: string) => plan.servers.find((s) => s.hostname === hostname)!;
  plan.site.domain = 'cloud_musterbau.example';
  server('sto-01').nics[1]!.mac = '01:00:5e:00:00:01';
  delete server('cmp-02').addresses.mgmt;
  Object.assign(server('ctl-03'), { rack: 'R01', position: 38 });
  return stringify(plan);
}

beforeAll(async () => {
  work = await tempDir(cleanup, 'findings');
  await writeFile(join(work, 'plan.yaml'), await brokenDemo());
  ({ server, page } = await startBrowserMode(cleanup, {
    name: 'findings',
    core: browserCore(work),
    viewport: { width: 1280, height: 720 },
    acceptDialogs: true,
  }));
}, 180_000);

afterAll(() => cleanup.run());

const counts = () => page.getByTestId('findings-count').textContent();
const finding = (rule: string) => page.locator(`button.finding-link[data-rule="${rule}"]`);

describe('findings in browser mode', () => {
  it('read like the plan, offer buttons, and follow undo and redo', async () => {
    await page.goto(server.url);
    await page.getByTestId('open').click();
    await page.getByTestId('path-input').fill('plan.yaml');
    await page.getByTestId('path-ok').click();
    await expect.poll(counts, { timeout: 15_000 }).toMatch(/^2 errors 2 warnings/);

    // Places named as the plan names them, not as JSON pointers.
    await step(page, 'review');
    const mac = finding('mac-unicast');
    await expect
      .poll(() => mac.getByTestId('finding-place').textContent())
      .toBe('sto-01 › NIC ens1f0 › mac');
    expect(await finding('address-ipam-pending').getByTestId('finding-place').textContent()).toBe(
      'cmp-02 › address on mgmt',
    );
    expect(await page.locator('.review-layout').textContent()).not.toMatch(/\/servers\/\d/);

    // Rack loss: the rule and the capacity figure name R01 and its two controllers.
    expect(await finding('rack-loss-quorum').textContent()).toContain(
      'losing rack R01 stops the control plane: it holds ctl-01 and ctl-03, 2 of the 3 controllers',
    );
    await expect
      .poll(() => page.getByTestId('rack-loss').textContent())
      .toBe(
        'after losing rack R01: control plane loses quorum (controllers in the rack: ctl-01, ctl-03)',
      );
    await shot(page, 'findings-review');

    // A fix, then undo back to the plan as opened, and redo: the findings follow the plan.
    await step(page, 'site');
    await page.locator('input[data-path="/site/domain"]').fill('cloud.musterbau.example');
    await expect.poll(counts).toMatch(/^1 error 2 warnings/);
    await page.getByTestId('undo').click();
    await expect.poll(counts).toMatch(/^2 errors 2 warnings/);
    await step(page, 'review');
    await finding('site-domain-format').waitFor();
    await page.getByTestId('redo').click();
    await expect.poll(counts).toMatch(/^1 error 2 warnings/);
    await expect.poll(() => finding('site-domain-format').count()).toBe(0);

    // No CLI advice where a button does it: Run IPAM sits beside the finding.
    const ipam = page
      .locator('.finding-row')
      .filter({ has: finding('address-ipam-pending') })
      .getByTestId('finding-run-ipam');
    expect(await finding('address-ipam-pending').textContent()).not.toContain('ustart');
    await ipam.click();
    await expect.poll(() => finding('address-ipam-pending').count()).toBe(0);
    await expect.poll(counts).toMatch(/^1 error 1 warning\b/);

    // German plural rules and place words; undo brings back the finding IPAM resolved.
    await page.getByTestId('lang').click();
    await expect.poll(counts).toMatch(/^1 Fehler 1 Warnung\b/);
    await page.getByTestId('undo').click();
    await expect.poll(counts).toMatch(/^1 Fehler 2 Warnungen/);
    await expect
      .poll(() => finding('address-ipam-pending').getByTestId('finding-place').textContent())
      .toBe('cmp-02 › Adresse im Netz mgmt');
    await page.getByTestId('lang').click();
    await expect.poll(counts).toMatch(/^1 error 2 warnings/);
  }, 120_000);
});

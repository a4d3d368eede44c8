/**
 * End-to-end in browser mode: the real server, the real renderer (built fresh), Debian's
 * Chromium. Creates a plan from nothing, imports the sample CSV, places servers, assigns
 * roles, watches a finding come and go, saves, reopens, and prints the report to PDF.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../src/api/index.js';
import type { Core } from '../../src/app/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { Cleanup, startCsvWorkspace } from './harness.js';
import {
  SHOTS,
  cell,
  expectReport,
  importCsv,
  pdfText,
  placeServers,
  roleFindingComesAndGoes,
  shot,
  step,
} from './wizard-flow.js';

const cleanup = new Cleanup();
let work: string;
let core: Core;
let server: RunningServer;
let page: Page;

beforeAll(async () => {
  ({ work, core, server, page } = await startCsvWorkspace(cleanup, 'wizard', {
    width: 1280,
    height: 720,
  }));
}, 180_000);

afterAll(() => cleanup.run());

describe('planning wizard in browser mode', () => {
  it('plans a site from nothing to a saved plan and a PDF report', async () => {
    await page.goto(server.url);
    // The token leaves the address bar once the page has it.
    await expect.poll(() => page.url()).not.toContain('token=');

    await page.getByTestId('new-empty').click();
    await page.getByTestId('findings-count').waitFor();
    await shot(page, '1-site');

    await importCsv(page, 'inventory.csv');
    await placeServers(page);

    await step(page, 'networks');
    await page.getByTestId('run-ipam').click();
    await page.getByTestId('ip-plan-mgmt').waitFor();
    await shot(page, '4-networks');

    await roleFindingComesAndGoes(page);

    // Save, then reopen in a fresh page and save that as a second file: same plan.
    await page.getByTestId('save').click();
    await page.getByTestId('path-input').fill('site.yaml');
    await page.getByTestId('path-ok').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('site.yaml');
    expect((await stat(join(work, 'site.yaml'))).size).toBeGreaterThan(0);

    await page.reload();
    await page.getByTestId('open').click();
    await page.getByTestId('path-input').fill('site.yaml');
    await page.getByTestId('path-ok').click();
    await page.getByTestId('step-hardware').click();
    expect(await cell(page, 'cmp-01', 'rack').inputValue()).toBe('R02');
    await page.getByRole('button', { name: /Save as/ }).click();
    await page.getByTestId('path-input').fill('again.yaml');
    await page.getByTestId('path-ok').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('again.yaml');
    const first = unwrap(await core.client.planOpen({ file: 'site.yaml' })).plan;
    const second = unwrap(await core.client.planOpen({ file: 'again.yaml' })).plan;
    expect(second).toEqual(first);
    expect(first?.servers.find((s) => s.hostname === 'cmp-01')).toMatchObject({
      rack: 'R02',
      position: 9,
    });
    const roles = Object.fromEntries(first!.servers.map((s) => [s.hostname, s.roles.join('+')]));
    expect(roles).toMatchObject({
      'ctl-01': 'controller',
      'ctl-02': 'controller',
      'cmp-03': 'compute',
    });

    // Review, then the handover report printed to PDF by Chromium, as the print dialog would.
    await step(page, 'review');
    await page.getByTestId('findings-count').waitFor();
    await shot(page, '6-review');
    // A finding is a link to its field: the first error jumps to its server in the table.
    await page.getByTestId('findings-error').locator('button').first().click();
    await page.locator('[data-testid="step-hardware"][aria-current="step"]').waitFor();
    await expect
      .poll(() => page.locator('*:focus').getAttribute('data-path'))
      .toMatch(/^\/servers\/\d+\//);
    await step(page, 'review');
    // The imported list has no storage NICs: rendering the configuration is refused, saying why.
    await page.getByTestId('export-render').click();
    await page.getByTestId('path-input').fill('render');
    await page.getByTestId('path-ok').click();
    await expect
      .poll(() => page.getByTestId('notice').textContent())
      .toMatch(/\d+ errors?; fix (it|them) \(see Review\)/);
    await page.getByTestId('print-view').click();
    await page.getByTestId('report-view').waitFor();
    await shot(page, '7-report');
    const pdf = join(SHOTS, 'handover-report.pdf');
    await page.pdf({ path: pdf, format: 'A4', printBackground: true });
    expectReport(await pdfText(pdf));
  }, 180_000);
});

/**
 * End-to-end in browser mode (issue 17, "Done when", first point): the customer's CSV
 * imported and brought to zero errors and zero unacknowledged warnings in the UI alone — the
 * storage and provider NICs added with the bulk editor, the provider gateway filled in, the
 * warnings the site has to live with acknowledged with a reason (and undo, redo and withdraw
 * on the way), addresses from IPAM — then saved, the page reloaded, the plan reopened from
 * Recent with the findings still at zero, and the saved file valid for `ustart validate`.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Plan } from '../../src/plan/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { Cleanup, startCsvWorkspace, type BrowserMode } from './harness.js';
import { bulkAddNic, errors, selectFiltered, warnings } from './hardware-flow.js';
import { importCsv, shot, step } from './wizard-flow.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/ustart.mjs');

const cleanup = new Cleanup();
let work: string | undefined;
let server: RunningServer | undefined;
let browser: (BrowserMode & { work: string }) | undefined;

beforeAll(async () => {
  browser = await startCsvWorkspace(cleanup, 'zero');
  ({ work, server } = browser);
}, 180_000);

afterAll(() => cleanup.run());

/** Errors and unacknowledged warnings in the header, once validation has caught up. */
const counted = async (page: Page) => `${await errors(page)}/${await warnings(page)}`;

const ackOpen = (page: Page, rule: string) =>
  page.locator(`[data-testid="ack-open"][data-ack-rule="${rule}"]`);
const accepted = (page: Page, rule: string) =>
  page.locator(`[data-testid="ack-badge"][data-ack-rule="${rule}"]`);

/** Acknowledges the finding of `rule` on the Review step through the dialog. */
async function acknowledge(page: Page, rule: string, reason: string, screenshot?: string) {
  await ackOpen(page, rule).click();
  const dialog = page.getByTestId('ack-dialog');
  await dialog.waitFor();
  // The reason is required: without one the dialog cannot be confirmed.
  expect(await page.getByTestId('ack-ok').isDisabled()).toBe(true);
  await page.getByTestId('ack-reason').fill(reason);
  await page.getByTestId('ack-by').fill('J. Berater');
  expect(await page.getByTestId('ack-ok').isDisabled()).toBe(false);
  if (screenshot) await shot(page, screenshot);
  await page.getByTestId('ack-ok').click();
  await dialog.waitFor({ state: 'detached' });
  await accepted(page, rule).waitFor();
}

const CAPACITY_REASON =
  'hci-01 is a hyperconverged node with fewer disks by design; Ceph weights OSDs by size.';
const QUORUM_REASON =
  'The customer has two racks; the third rack for the production phase is ordered for Q3.';

describe('the customer CSV brought to zero findings in browser mode', () => {
  it('imports, fixes, acknowledges, saves, reloads, reopens from Recent, and validates', async () => {
    const { page } = browser!;
    await page.goto(server!.url);
    await page.getByTestId('new-empty').click();
    await page.getByTestId('findings-count').waitFor();
    await importCsv(page, 'inventory.csv');
    await expect.poll(() => errors(page), { timeout: 15_000 }).toBe(9);

    // The storage and provider NICs, in bulk (the Hardware step is open after the import).
    await selectFiltered(page, 'storage');
    await bulkAddNic(page, 'eno2', 'storage', {
      'sto-01': 'b0:7b:25:1a:20:07',
      'sto-02': 'b0:7b:25:1a:20:08',
      'sto-03': 'b0:7b:25:1a:20:09',
      'hci-01': '94:40:c9:00:20:11',
    });
    await selectFiltered(page, 'compute');
    await bulkAddNic(page, 'eno3', 'provider', {
      'cmp-01': '94:40:c9:00:30:01',
      'cmp-02': '94:40:c9:00:30:02',
      'cmp-03': '94:40:c9:00:30:03',
      'cmp-04': '94:40:c9:00:30:04',
      'hci-01': '94:40:c9:00:30:11',
    });
    await expect.poll(() => errors(page), { timeout: 15_000 }).toBe(0);

    // The provider network's gateway, then addresses from the pools.
    await step(page, 'networks');
    await page.locator('[data-path="/networks/3/gateway"]').fill('10.40.0.1');
    await page.getByTestId('run-ipam').click();
    await page.getByTestId('ip-plan-storage').waitFor();
    await expect.poll(() => counted(page), { timeout: 15_000 }).toBe('0/2');

    // What is left is what the site lives with: acknowledge it, with a reason.
    await step(page, 'review');
    // Errors cannot be acknowledged, so no finding of the plan offers it beside an error.
    expect(
      await page.locator('[data-testid="findings-error"] [data-testid="ack-open"]').count(),
    ).toBe(0);
    await acknowledge(page, 'storage-capacity-balance', CAPACITY_REASON, 'ack-1-dialog');
    await expect.poll(() => counted(page), { timeout: 15_000 }).toBe('0/1');
    expect(await accepted(page, 'storage-capacity-balance').getAttribute('title')).toBe(
      `${CAPACITY_REASON} (accepted by J. Berater)`,
    );
    // Undo takes the acknowledgement back, redo brings it again.
    await page.getByTestId('undo').click();
    await expect.poll(() => counted(page), { timeout: 15_000 }).toBe('0/2');
    await ackOpen(page, 'storage-capacity-balance').waitFor();
    await page.getByTestId('redo').click();
    await expect.poll(() => counted(page), { timeout: 15_000 }).toBe('0/1');
    await accepted(page, 'storage-capacity-balance').waitFor();

    await acknowledge(page, 'rack-loss-quorum', QUORUM_REASON);
    await expect.poll(() => counted(page), { timeout: 15_000 }).toBe('0/0');
    // Withdrawn, the warning counts again; undo accepts it again.
    await page.locator('[data-testid="ack-withdraw"][data-ack-rule="rack-loss-quorum"]').click();
    await expect.poll(() => counted(page), { timeout: 15_000 }).toBe('0/1');
    await ackOpen(page, 'rack-loss-quorum').waitFor();
    await page.getByTestId('undo').click();
    await expect.poll(() => counted(page), { timeout: 15_000 }).toBe('0/0');
    await accepted(page, 'rack-loss-quorum').waitFor();
    await shot(page, 'ack-2-accepted');

    // Save.
    await page.getByTestId('save').click();
    await page.getByTestId('path-input').fill('site.yaml');
    await page.getByTestId('path-ok').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('site.yaml');

    // Reload: the open plan comes back, findings still at zero.
    await page.reload();
    await page.getByTestId('findings-count').waitFor();
    await expect.poll(() => counted(page), { timeout: 15_000 }).toBe('0/0');

    // Another plan, then the saved one again from Recent.
    await page.getByTestId('new-empty').click();
    await expect.poll(() => errors(page), { timeout: 15_000 }).toBeGreaterThan(0);
    const recent = page.getByLabel('Recent', { exact: true });
    const files = await recent
      .locator('option')
      .evaluateAll((els) => els.map((e) => e.getAttribute('value') ?? ''));
    const saved = files.find((f) => /(^|[\\/])site\.yaml$/.test(f));
    expect(saved, `Recent lists ${files.join(', ')}`).toBeDefined();
    await recent.selectOption(saved!);
    await expect.poll(() => page.locator('.topbar .file').textContent()).toBe('site.yaml');
    await expect.poll(() => counted(page), { timeout: 15_000 }).toBe('0/0');
    await step(page, 'review');
    await accepted(page, 'storage-capacity-balance').waitFor();
    await accepted(page, 'rack-loss-quorum').waitFor();
    expect(await page.getByTestId('findings-warning').locator('summary').textContent()).toBe(
      'Warnings (2, 2 accepted)',
    );
    // In German too.
    await page.getByTestId('lang').click();
    await expect.poll(() => accepted(page, 'rack-loss-quorum').textContent()).toBe('akzeptiert');
    expect(
      await page
        .locator('[data-testid="ack-withdraw"][data-ack-rule="rack-loss-quorum"]')
        .textContent(),
    ).toBe('Zurücknehmen');
    await page.getByTestId('lang').click();

    // The file has both acknowledgements with their reasons, and the CLI finds it valid
    // with nothing left to count.
    const file = join(work!, 'site.yaml');
    const plan = parse(await readFile(file, 'utf8')) as Plan;
    expect(plan.acknowledgements).toEqual([
      {
        rule: 'storage-capacity-balance',
        path: '/servers/7/disks',
        reason: CAPACITY_REASON,
        by: 'J. Berater',
      },
      {
        rule: 'rack-loss-quorum',
        path: '/servers/0/rack',
        reason: QUORUM_REASON,
        by: 'J. Berater',
      },
    ]);
    const cli = await run(process.execPath, [BIN, 'validate', '--json', file], {
      env: { ...process.env, XDG_CONFIG_HOME: join(work!, 'config'), NO_COLOR: '1' },
    });
    const report = JSON.parse(cli.stdout) as {
      valid: boolean;
      errors: number;
      warnings: number;
      findings: Array<{ rule: string; acknowledged?: { reason: string } }>;
    };
    expect(report).toMatchObject({ valid: true, errors: 0, warnings: 0 });
    expect(
      report.findings.filter((f) => f.acknowledged).map((f) => [f.rule, f.acknowledged!.reason]),
    ).toEqual([
      ['rack-loss-quorum', QUORUM_REASON],
      ['storage-capacity-balance', CAPACITY_REASON],
    ]);
    // execFile rejects on a non-zero exit: reaching here means `ustart validate` exited 0.
  }, 300_000);
});

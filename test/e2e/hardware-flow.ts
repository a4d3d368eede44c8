/**
 * Steps of the hardware and network editing flow in browser mode, shared by the e2e tests
 * that bring the customer's CSV to zero findings. Every step waits on what the page shows.
 */
import type { Page } from 'playwright-core';
import { shot, step } from './wizard-flow.js';

/** The error count in the header, once validation has caught up with the last edit. */
export async function errors(page: Page): Promise<number> {
  const counts = page.getByTestId('findings-count');
  if ((await counts.getAttribute('aria-busy')) === 'true') return -1;
  return Number(/\d+/.exec((await counts.locator('.badge.error').textContent()) ?? '')?.[0]);
}

/** The rules of the findings listed on the Review step. */
export async function reviewRules(page: Page): Promise<string[]> {
  await step(page, 'review');
  await page.getByTestId('findings-count').waitFor();
  return page
    .locator('[data-testid^="findings-"] [data-rule]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-rule') ?? ''));
}

export const focusedPath = (page: Page) => page.locator('*:focus').getAttribute('data-path');

/** Filters the server table and selects every server it shows. */
export async function selectFiltered(page: Page, filter: string): Promise<void> {
  await page.getByTestId('server-filter').fill(filter);
  const all = page.getByLabel('all', { exact: true });
  if (await all.isChecked()) await all.uncheck();
  await all.check();
}

/** Adds NIC `name` on `network` to every server in `macs` with the bulk editor. */
export async function bulkAddNic(
  page: Page,
  name: string,
  network: string,
  macs: Record<string, string>,
  screenshot?: string,
) {
  const bulk = page.getByTestId('bulk-hardware');
  await bulk.waitFor();
  await bulk.getByTestId('bulk-nic-name').fill(name);
  await bulk.getByTestId('bulk-nic-speed').fill('25');
  await bulk.getByTestId('bulk-nic-network').selectOption(network);
  for (const [host, mac] of Object.entries(macs))
    await bulk.getByTestId(`bulk-mac-${host}`).fill(mac);
  if (screenshot) await shot(page, screenshot);
  await bulk.getByTestId('bulk-nic-apply').click();
}

/** The unacknowledged warning count in the header, once validation has caught up. */
export async function warnings(page: Page): Promise<number> {
  const counts = page.getByTestId('findings-count');
  if ((await counts.getAttribute('aria-busy')) === 'true') return -1;
  return Number(/\d+/.exec((await counts.locator('.badge.warning').textContent()) ?? '')?.[0]);
}

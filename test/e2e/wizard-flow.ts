/**
 * The planning wizard's end-to-end flow, shared by the browser-mode and Electron tests.
 * Every step waits on what the page shows, never on time.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';

export const SHOTS = join(import.meta.dirname, '../../test-results/e2e');

/** Chromium's flags for a headless run on a CI machine without a GPU or network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Pixels per rack unit and the header above U1..n in the rack view (renderer/src/steps/RackView.tsx). */
const U_PX = 14;
const HEAD = 18;

export async function shot(page: Page, name: string): Promise<void> {
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

export async function step(page: Page, id: string): Promise<void> {
  await page.getByTestId(`step-${id}`).click();
  await page.locator(`[data-testid="step-${id}"][aria-current="step"]`).waitFor();
}

/** The value of a server's cell in the table, found by its row. */
export function cell(page: Page, hostname: string, column: 'rack' | 'position'): Locator {
  return page.getByTestId(`row-${hostname}`).getByLabel(new RegExp(`^${column} \\d+$`));
}

/** Drags a server's block in the rack view so that its top lands on `topUnit` of `rack`. */
export async function dragServer(page: Page, hostname: string, rack: string, topUnit: number) {
  const block = page.getByTestId(`block-${hostname}`);
  await block.scrollIntoViewIfNeeded();
  const from = (await block.boundingBox())!;
  const svg = page.locator(`svg[data-rack="${rack}"]`);
  const units = Number(await svg.getAttribute('data-units'));
  const box = (await svg.boundingBox())!;
  await page.mouse.move(from.x + from.width / 2, from.y + U_PX / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y + HEAD + (units - topUnit) * U_PX + U_PX / 2, {
    steps: 8,
  });
  await page.mouse.up();
}

/** The findings listed beside the Roles step. */
export async function roleRules(page: Page): Promise<string[]> {
  return page
    .getByTestId('role-rules')
    .locator('[data-rule]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-rule') ?? ''));
}

/** Waits until the findings shown match `predicate` (validation is debounced and async). */
export async function waitForRoleRules(page: Page, predicate: (rules: string[]) => boolean) {
  await expect.poll(() => roleRules(page), { timeout: 15_000, interval: 100 }).toSatisfy(predicate);
}

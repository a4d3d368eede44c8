/**
 * The planning wizard's end-to-end flow, shared by the browser-mode and Electron tests.
 * Every step waits on what the page shows, never on time.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';

const run = promisify(execFile);

export const SHOTS = join(import.meta.dirname, '../../test-results/e2e');

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
  const svg = page.locator(`svg[data-rack="${rack}"]`);
  // The notice at the foot of the page stays for seconds and may cover the lowest units, where
  // the mouse would then press on it: dismiss it first, as a user would.
  const dismiss = page.getByTestId('notice-dismiss');
  if (await dismiss.isVisible()) await dismiss.click();
  // Racks stand side by side; with the target rack's top at the top of the view, every unit
  // of both racks is on screen (a 42 U rack is 606 px; the e2e viewport is 720 px high).
  await svg.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  const from = (await block.boundingBox())!;
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

/** CSV import through the mapping step: the detected mapping shown, notes left out. */
export async function importCsv(page: Page, path: string): Promise<void> {
  await page.getByTestId('import-csv').click();
  await page.getByTestId('csv-path').fill(path);
  await page.getByTestId('csv-load').click();
  const mapping = page.getByTestId('csv-mapping');
  await expect
    .poll(() => mapping.locator('select[data-field="hostname"]').inputValue())
    .toBe('Hostname');
  await mapping.locator('select[data-field="notes"]').selectOption('');
  await shot(page, '2-csv-mapping');
  await page.getByTestId('csv-import').click();
  await page.getByTestId('row-ctl-01').waitFor();
  expect(await cell(page, 'cmp-01', 'rack').inputValue()).toBe('R01');
}

/** Drag to a free place moves; drag onto another server is refused; arrows move; undo. */
export async function placeServers(page: Page): Promise<void> {
  await dragServer(page, 'cmp-01', 'R02', 10);
  await expect.poll(() => cell(page, 'cmp-01', 'rack').inputValue()).toBe('R02');
  expect(await cell(page, 'cmp-01', 'position').inputValue()).toBe('9');
  await dragServer(page, 'cmp-03', 'R02', 41);
  await expect.poll(() => page.getByTestId('notice').textContent()).toContain('ctl-02');
  expect(await cell(page, 'cmp-03', 'rack').inputValue()).toBe('R01');
  const before = Number(await cell(page, 'sto-03', 'position').inputValue());
  await page.getByTestId('block-sto-03').focus();
  await page.keyboard.press('ArrowDown');
  await expect.poll(() => cell(page, 'sto-03', 'position').inputValue()).toBe(String(before - 1));
  await page.getByTestId('undo').click();
  await expect.poll(() => cell(page, 'sto-03', 'position').inputValue()).toBe(String(before));
  await shot(page, '3-hardware');
}

/** Takes the roles of two controllers away (a finding appears) and gives them back (it goes). */
export async function roleFindingComesAndGoes(page: Page): Promise<void> {
  await step(page, 'roles');
  await page.getByTestId('role-row-ctl-01').waitFor();
  const baseline = await roleRules(page);
  await page.getByTestId('role-row-ctl-01').getByLabel('select ctl-01').check();
  await page.getByTestId('role-row-ctl-02').getByLabel('select ctl-02').check();
  await page.getByTestId('remove-controller').click();
  await waitForRoleRules(page, (rules) => rules.some((r) => !baseline.includes(r)));
  const appeared = (await roleRules(page)).filter((r) => !baseline.includes(r));
  expect(appeared).toContain('server-no-roles');
  await shot(page, '5-roles-finding');
  await page.getByTestId('assign-controller').click();
  await waitForRoleRules(page, (rules) => appeared.every((r) => !rules.includes(r)));
  await shot(page, '5-roles');
}

/** The text of a PDF, as pdftotext (poppler-utils) reads it. */
export async function pdfText(file: string): Promise<string> {
  const { stdout } = await run('pdftotext', ['-layout', file, '-']);
  return stdout;
}

/** What the handover report must show: rack diagrams and the IP plan. */
export function expectReport(text: string): void {
  expect(text).toContain('Rack diagrams');
  expect(text).toMatch(/R01 · 42 U/);
  expect(text).toContain('cmp-01 (compute)');
  expect(text).toContain('IP plan');
  expect(text).toMatch(/mgmt · 10\.10\.0\.0\/24/);
  expect(text).toContain('10.10.0.11');
}

/**
 * Browser mode and the user's own files (issue 17, item 5), in Debian's Chromium against the
 * real server: a plan and a CSV uploaded through the file picker (an oversize one refused),
 * the export and the report received as downloads, a reload that keeps the open plan with
 * its unsaved edits, a recent list without files outside the served folder, and notices
 * that are dismissed or expire.
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_UPLOAD_CHARS, unwrap, type Plan } from '../../src/api/index.js';
import { createCore, type Core } from '../../src/app/index.js';
import { planToYaml } from '../../src/plan/index.js';
import { buildRenderer } from '../../src/server/renderer-build.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { launchChromium } from '../support/chromium.js';
import { cell, shot, step } from './wizard-flow.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/customer-inventory-de.csv');

let base: string;
/** The folder the server works in. */
let served: string;
/** The user's own computer: files the server cannot reach, only the file picker can. */
let laptop: string;
let rendererDir: string;
let core: Core;
let other: Core;
let server: RunningServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let demo: Plan;

const siteName = () => page.locator('[data-path="/site/name"]');

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'ustart-e2e-files-'));
  served = join(base, 'served');
  laptop = join(base, 'laptop');
  rendererDir = join(base, 'ui');
  await Promise.all([served, laptop, rendererDir].map((d) => mkdir(d)));
  await copyFile(FIXTURE, join(laptop, 'inventory.csv'));
  await buildRenderer(rendererDir);
  const stateDir = join(base, 'state');
  core = createCore({ mode: 'browser', stateDir, root: served });
  // Another server on the same machine, served from another folder, shares the recent list.
  other = createCore({ mode: 'browser', stateDir, root: laptop });
  demo = unwrap(await core.client.planNew({ template: 'demo' })).plan!;
  await writeFile(join(laptop, 'stuttgart.yaml'), planToYaml(demo));
  unwrap(await core.client.planSave({ file: 'inside.yaml', plan: demo }));
  unwrap(await other.client.planSave({ file: 'outside.yaml', plan: demo }));
  server = await startServer({ core, rendererDir });
  browser = await launchChromium({ width: 1280, height: 800 });
  page = browser.page;
  // The unsaved-changes guard asks before a reload; these tests mean to reload.
  page.on('dialog', (d) => void d.accept());
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await core?.dispose();
  await other?.dispose();
  if (base) await rm(base, { recursive: true, force: true });
});

describe('browser mode and the user’s own files', () => {
  it('lists only recent plans inside the served folder', async () => {
    await page.goto(server.url);
    const recent = page.getByRole('combobox', { name: 'Recent' });
    await expect
      .poll(() => recent.locator('option').allTextContents())
      .toEqual(['Recent', join(served, 'inside.yaml')]);
  });

  it('uploads a CSV through the file picker, refusing one over the limit', async () => {
    await page.getByTestId('new-empty').click();
    await page.getByTestId('findings-count').waitFor();
    await page.getByTestId('import-csv').click();
    const input = page.getByTestId('csv-file');
    await input.setInputFiles({
      name: 'huge.csv',
      mimeType: 'text/csv',
      buffer: Buffer.alloc(MAX_UPLOAD_CHARS + 1, 'a'),
    });
    const alert = page.locator('dialog [role="alert"]');
    await expect.poll(() => alert.textContent()).toContain('huge.csv is 8.0 MB');
    expect(await alert.textContent()).toContain('the most a browser may upload is 8.0 MB');

    await input.setInputFiles(join(laptop, 'inventory.csv'));
    const mapping = page.getByTestId('csv-mapping');
    await expect
      .poll(() => mapping.locator('select[data-field="hostname"]').inputValue())
      .toBe('Hostname');
    await mapping.locator('select[data-field="notes"]').selectOption('');
    await page.getByTestId('csv-import').click();
    await page.getByTestId('row-ctl-01').waitFor();
    expect(await cell(page, 'cmp-01', 'rack').inputValue()).toBe('R01');
  });

  it('opens a plan uploaded from this computer and offers its name on save', async () => {
    await page.getByTestId('upload-plan-file').setInputFiles(join(laptop, 'stuttgart.yaml'));
    await step(page, 'site');
    await expect.poll(() => siteName().inputValue()).toBe(demo.site.name);
    // Not on the server until saved: the file name is offered there.
    await page.getByTestId('save').click();
    await expect.poll(() => page.getByTestId('path-input').inputValue()).toBe('stuttgart.yaml');
    await page.getByTestId('path-ok').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('stuttgart.yaml');
    expect(unwrap(await core.client.planOpen({ file: 'stuttgart.yaml' })).plan).toEqual(demo);
  });

  it('downloads the plan as YAML and the report as HTML instead of writing next to the server', async () => {
    await step(page, 'review');
    const before = await readdir(served);
    const [yaml] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('export-yaml').click(),
    ]);
    expect(yaml.suggestedFilename()).toBe(`${demo.site.name}-export.yaml`);
    const text = await readFile((await yaml.path())!, 'utf8');
    expect(text).toBe(planToYaml(demo));
    const [html] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('export-html').click(),
    ]);
    expect(html.suggestedFilename()).toBe(`${demo.site.name}-report.html`);
    const report = await readFile((await html.path())!, 'utf8');
    expect(report).toMatch(/^<!doctype html>/i);
    expect(report).toContain(demo.site.customer);
    expect(await readdir(served)).toEqual(before);
    await expect
      .poll(() => page.getByTestId('notice').textContent())
      .toContain(`${demo.site.name}-report.html`);
  });

  it('dismisses a notice, and lets another expire on its own', async () => {
    await page.getByTestId('notice-dismiss').click();
    await page.getByTestId('notice').waitFor({ state: 'detached' });
    await page.getByTestId('export-yaml').click();
    const notice = page.getByTestId('notice');
    await notice.waitFor();
    expect(await notice.getAttribute('data-expires-ms')).toBe('8000');
    // Move the pointer away: a hovered notice waits.
    await page.mouse.move(0, 0);
    await notice.waitFor({ state: 'detached', timeout: 15_000 });
  });

  it('keeps the open plan and its unsaved edits over a reload', async () => {
    await step(page, 'site');
    await siteName().fill('reloaded-site');
    await page.locator('.topbar .file em').waitFor();
    await shot(page, 'files-1-before-reload');
    await page.reload();
    await expect.poll(() => siteName().inputValue(), { timeout: 20_000 }).toBe('reloaded-site');
    const notice = await page.getByTestId('notice').locator('span').textContent();
    expect(notice).toContain('Restored the plan open before the reload: stuttgart.yaml');
    expect(notice).toContain('with its unsaved changes');
    expect(await page.locator('.topbar .file').textContent()).toContain('stuttgart.yaml');
    await shot(page, 'files-2-after-reload');

    // Undo goes back to the file as saved; a reload then keeps the clean plan.
    await page.getByTestId('undo').click();
    await expect.poll(() => siteName().inputValue()).toBe(demo.site.name);
    await page.locator('.topbar .file em').waitFor({ state: 'detached' });
    await page.reload();
    await expect
      .poll(() => page.getByTestId('notice').locator('span').textContent(), { timeout: 20_000 })
      .toBe('Restored the plan open before the reload: stuttgart.yaml');
    expect(await siteName().inputValue()).toBe(demo.site.name);
  });
});

/**
 * The same wizard flow in the desktop app, through Playwright's Electron support. It needs
 * the Electron binary (`npm ci` never downloads it; `npm start` or
 * `node scripts/electron-binary.mjs --where` does, not on CI here) and reports itself skipped
 * without one; nothing else depends on it. Native dialogs are answered by
 * replacing Electron's dialog functions in the main process.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const ROOT = join(import.meta.dirname, '../..');
const FIXTURE = join(import.meta.dirname, '../fixtures/customer-inventory-de.csv');

function electronBinary(): string | undefined {
  try {
    // The electron package exports the binary's path, and throws when it was not downloaded.
    const path = createRequire(import.meta.url)('electron') as unknown;
    return typeof path === 'string' && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

const binary = electronBinary();

let work: string;
let app: ElectronApplication;
let page: Page;

/** Answers the next native open or save dialog with `file`. */
async function answerDialogs(file: string): Promise<void> {
  await app.evaluate(({ dialog }, chosen) => {
    dialog.showOpenDialog = (async () => ({ canceled: false, filePaths: [chosen] })) as never;
    dialog.showSaveDialog = (async () => ({ canceled: false, filePath: chosen })) as never;
  }, file);
}

describe.skipIf(!binary)('planning wizard in the Electron app', () => {
  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'out/main/index.js'))) {
      await promisify(execFile)('npx', ['electron-vite', 'build'], { cwd: ROOT });
    }
    work = await mkdtemp(join(tmpdir(), 'ustart-e2e-electron-'));
    await copyFile(FIXTURE, join(work, 'inventory.csv'));
    app = await _electron.launch({
      executablePath: binary!,
      args: ['--no-sandbox', `--user-data-dir=${join(work, 'user-data')}`, ROOT],
      cwd: ROOT,
    });
    page = await app.firstWindow();
    // The unsaved-changes guard asks before a plan is replaced; the flow means to replace it.
    page.on('dialog', (d) => void d.accept());
  }, 180_000);

  afterAll(async () => {
    await app?.evaluate(({ dialog }) => {
      dialog.showMessageBoxSync = (() => 0) as never;
    });
    await app?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('runs sandboxed without Node in the page, and plans a site to a saved plan and a PDF', async () => {
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe(
      'undefined',
    );
    expect(
      await page.evaluate(() => Object.keys((globalThis as { ustart?: object }).ustart ?? {})),
    ).toContain('planOpen');

    await page.getByTestId('new-empty').click();
    await page.getByTestId('findings-count').waitFor();
    await importCsv(page, join(work, 'inventory.csv'));
    await placeServers(page);
    await roleFindingComesAndGoes(page);

    await answerDialogs(join(work, 'site.yaml'));
    await page.getByTestId('save').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('site.yaml');
    await page.getByTestId('new-empty').click();
    await page.getByTestId('open').click();
    await step(page, 'hardware');
    expect(await cell(page, 'cmp-01', 'rack').inputValue()).toBe('R02');

    const pdf = join(SHOTS, 'electron-report.pdf');
    await answerDialogs(pdf);
    await step(page, 'review');
    await page.getByTestId('export-pdf').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('.pdf');
    await shot(page, 'electron-review');
    expectReport(await pdfText(pdf));
  }, 180_000);
});

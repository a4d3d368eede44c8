/**
 * Printing the handover report to PDF without Electron: the HTML page printed by a Chromium
 * found on this machine (Debian's /usr/bin/chromium, or another Chrome/Chromium), driven
 * through playwright-core. The same A4, background-printed page as the app's printToPDF
 * (docs/upstream-facts.md#playwright.page-pdf).
 */
import { existsSync } from 'node:fs';
import type { chromium as Chromium } from 'playwright-core';
import { UstartError, messageOf } from '../../errors.js';

/** Where a Chromium is looked for, after the CHROMIUM_PATH variable. */
export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/**
 * The Chromium to print with: CHROMIUM_PATH when set (an error when it names no file), else
 * the first candidate that exists; undefined when there is none.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env.CHROMIUM_PATH;
  if (chosen) {
    if (existsSync(chosen)) return chosen;
    throw new UstartError(
      'InvalidArgument',
      `CHROMIUM_PATH is set to ${chosen}, which does not exist; point it at a Chromium or Chrome binary, or unset it.`,
    );
  }
  return CHROMIUM_CANDIDATES.find((c) => existsSync(c));
}

/**
 * Headless on a machine without a GPU or network: without the background-networking flags
 * Debian's Chromium stalls on a closed network. The end-to-end tests and the UI benchmarks
 * launch Chromium with the same flags (test/support/chromium.ts).
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Prints a standalone HTML page to PDF bytes with the Chromium at `executable`. */
export async function printWithChromium(executable: string, html: string): Promise<Uint8Array> {
  let chromium: typeof Chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new UstartError(
      'Unsupported',
      `printing to PDF needs the playwright-core package, which is not installed (${messageOf(e)}); run npm ci without --omit=dev, or write .html.`,
    );
  }
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: executable,
      args: CHROMIUM_ARGS,
      headless: true,
    });
  } catch (e) {
    throw new UstartError(
      'Unsupported',
      `could not start ${executable} to print the PDF: ${messageOf(e).split('\n')[0]}. Write .html instead, or set CHROMIUM_PATH to another Chromium.`,
    );
  }
  try {
    const page = await browser.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({ format: 'A4', printBackground: true });
  } finally {
    await browser.close();
  }
}

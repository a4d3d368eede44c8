/** What the Install end-to-end tests do alike on the page. */
import type { Locator, Page } from 'playwright-core';

export const attr = (l: Locator, name: string) => l.getAttribute(name);

/** The text a terminal shows (xterm's DOM rows), spaces normalised. */
export async function terminalText(term: Locator): Promise<string> {
  return (await term.locator('.xterm-rows').innerText()).replace(/\u00a0/g, ' ');
}

/** Opens site.yaml (under the server's root) and waits for the Connect page's tab. */
export async function openPlan(p: Page): Promise<void> {
  await p.getByTestId('open').click();
  await p.getByTestId('path-input').fill('site.yaml');
  await p.getByTestId('path-ok').click();
  await p.getByTestId('page-connect').waitFor();
}

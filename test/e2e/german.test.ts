/**
 * The German pass (issue 17 item 9): the demo in browser mode, switched to German, walked
 * through the wizard, the CSV importer's mapping, "delete selected servers", Connect and an
 * install to the end. On every page no visible text may be an English-only entry of the
 * catalogue (src/i18n/en.ts): an entry whose German differs. The real core, demo lab
 * and runbook, as in ./demo.test.ts.
 */
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUES, type Plural } from '../../src/i18n/catalogue.js';
import { loadPlanFile } from '../../src/plan/load.js';
import type { DemoSession } from '../../src/demo/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { Cleanup, connectDemoHosts, startDemoBrowser } from './harness.js';

/** Texts the same in both languages but not written the same in the catalogues' entries. */
const SAME_IN_BOTH = new Set(['IPAM', 'Ceph', 'VLAN', 'MTU', 'CIDR', 'OK', 'ok', 'Demo']);

/** A matcher per English-only entry: exact for short words, contained for long sentences. */
function englishOnly(): Array<{ id: string; test: (text: string) => boolean }> {
  const out: Array<{ id: string; test: (text: string) => boolean }> = [];
  const en = CATALOGUES.en as unknown as Record<string, Record<string, string | Plural>>;
  const de = CATALOGUES.de as unknown as Record<string, Record<string, string | Plural>>;
  for (const ns of Object.keys(en)) {
    for (const [key, entry] of Object.entries(en[ns]!)) {
      const german = de[ns]![key]!;
      const forms: Array<[string, string]> =
        typeof entry === 'string'
          ? [[entry, german as string]]
          : [
              [entry.one, (german as Plural).one],
              [entry.other, (german as Plural).other],
            ];
      for (const [english, deutsch] of forms) {
        if (english === deutsch || SAME_IN_BOTH.has(english)) continue;
        const literal = english.split(/\{\w+\}/);
        const pattern = literal
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.+');
        const long = literal.join('').length >= 12;
        const exact = new RegExp(`^${pattern}$`);
        const inside = new RegExp(pattern);
        out.push({
          id: `${ns}.${key}: "${english}"`,
          test: (text) => exact.test(text) || (long && inside.test(text)),
        });
      }
    }
  }
  return out;
}

/** Visible text nodes of the page, outside terminals and logs (their text is the hosts'). */
async function visibleTexts(page: Page): Promise<string[]> {
  // A string, so that this Node-typed file needs no DOM types; it runs in the page.
  return page.evaluate<string[]>(`(() => {
    const texts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.textContent.trim();
      const parent = n.parentElement;
      if (!text || !parent) continue;
      if (parent.closest('.xterm, pre, code, [data-testid="log-view"], script, style')) continue;
      // An option of a select is shown when the select is; other elements need a box.
      const box = parent.closest('option') ? parent.closest('select') : parent;
      if (!box || !box.checkVisibility()) continue;
      texts.push(text);
    }
    return texts;
  })()`);
}

const ENGLISH = englishOnly();

/** Names the plan gives (networks, racks, hosts): data, shown as written in any language. */
const planNames = new Set<string>();

/** The English-only texts the page shows, and where; and how many texts it shows. */
async function englishShown(page: Page, where: string) {
  const texts = (await visibleTexts(page)).filter((text) => !planNames.has(text));
  const found = texts.flatMap((text) =>
    ENGLISH.filter((e) => e.test(text)).map((e) => `${where}: "${text}" is ${e.id}`),
  );
  return { found, count: texts.length };
}

/** Fails with every English-only text the page shows, and where. */
async function expectGerman(page: Page, where: string): Promise<number> {
  const { found, count } = await englishShown(page, where);
  expect(found, found.join('\n')).toEqual([]);
  return count;
}

const cleanup = new Cleanup();
let session: DemoSession;
let server: RunningServer;
let page: Page;

describe('the German pass', () => {
  beforeAll(async () => {
    ({ session, server, page } = await startDemoBrowser(cleanup, {
      name: 'german',
      demo: { speed: 4000 },
      prepare: async (s) => {
        const { plan } = await loadPlanFile(s.planFile);
        if (!plan) throw new Error(`the demo plan ${s.planFile} does not match the schema`);
        for (const n of plan.networks) planNames.add(n.name);
        for (const r of plan.racks) planNames.add(r.name);
        for (const sv of plan.servers) planNames.add(sv.hostname);
        await copyFile(
          join(import.meta.dirname, '../fixtures/customer-inventory-de.csv'),
          join(s.workspace, 'kunde.csv'),
        );
      },
    }));
  }, 240_000);

  afterAll(() => cleanup.run());

  it('shows no English-only text in the wizard, the CSV mapping, Connect and Install', async () => {
    await page.goto(server.url);
    await page.getByTestId('demo-badge').waitFor({ timeout: 30_000 });
    await page.getByTestId('lang').click();
    await page.locator('html[lang="de"]').waitFor();
    let checked = 0;

    // The wizard, every step.
    for (const step of ['site', 'hardware', 'networks', 'roles', 'review']) {
      await page.getByTestId(`step-${step}`).click();
      if (step === 'review') await page.getByTestId('rack-loss').waitFor({ timeout: 15_000 });
      checked += await expectGerman(page, `wizard ${step}`);
    }

    // "Ausgewählte Server löschen" names what it deletes and asks; cancelled here.
    await page.getByTestId('step-hardware').click();
    await page.getByLabel('select cmp-01').check();
    await page.getByTestId('delete-selected').click();
    const question = page.getByTestId('delete-selected-question');
    expect(await question.textContent()).toBe(
      '1 Server (cmp-01) aus dem Plan löschen? Rückgängig stellt ihn wieder her.',
    );
    expect(await page.getByTestId('delete-selected').textContent()).toBe(
      'Ausgewählte Server löschen',
    );
    checked += await expectGerman(page, 'delete selected servers');
    await page.getByRole('button', { name: 'Abbrechen' }).click();
    await page.getByTestId('row-cmp-01').waitFor();

    // The CSV importer's mapping names its fields in German; closed without importing.
    await page.getByTestId('import-csv').click();
    await page.getByTestId('csv-path').fill('kunde.csv');
    await page.getByTestId('csv-load').click();
    await page.getByTestId('csv-mapping').waitFor();
    expect(await page.getByTestId('csv-mapping').textContent()).toContain('Kerne je Sockel');
    checked += await expectGerman(page, 'CSV mapping');
    await page.keyboard.press('Escape');
    await page.getByTestId('csv-mapping').waitFor({ state: 'detached' });

    // Connect: hosts checked and facts gathered.
    await connectDemoHosts(page, session.lab.targets.keys(), async () => {
      checked += await expectGerman(page, 'host key dialog');
    });
    await page.getByTestId('gather').click();
    await page.getByTestId('connect-report').waitFor({ timeout: 60_000 });
    checked += await expectGerman(page, 'Connect');

    // Install: the three phases as a list, then as a graph, then the run to its end.
    await page.getByTestId('page-install').click();
    for (const phase of ['umetal', 'ustack', 'ugarden']) {
      await page.getByTestId(`phase-${phase}`).check();
    }
    await page.getByTestId('runstep-ugarden.kubeconfig').waitFor();
    expect(await page.getByTestId('runstep-umetal.swap-off').textContent()).toContain(
      'Swap abschalten',
    );
    checked += await expectGerman(page, 'Install, before the run');
    await page.getByTestId('run-start').click();
    await page
      .locator('[data-testid="run-state"][data-state="succeeded"]')
      .waitFor({ timeout: 180_000 });
    expect(await page.getByTestId('run-state').textContent()).toBe('erfolgreich');
    checked += await expectGerman(page, 'Install, after the run');
    const summary = page.locator('[data-testid="install-summary"][data-state="ready"]');
    if (await summary.count()) checked += await expectGerman(page, 'install summary');

    // The check looked at real text, not an empty page, and it sees English when it is there.
    expect(checked).toBeGreaterThan(200);
    await page.getByTestId('lang').click();
    await page.locator('html[lang="en"]').waitFor();
    expect((await englishShown(page, 'English')).found.length).toBeGreaterThan(10);
  }, 400_000);
});

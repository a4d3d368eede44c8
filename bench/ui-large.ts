/**
 * UI large plan: open, keystroke-to-paint and findings latency with 1,000 servers in Chromium.
 *
 * Browser mode, as a consultant uses it: the real server, the renderer built fresh, Debian's
 * Chromium. A generated 1,000-server, 24-rack plan is opened through the wizard; then a
 * hostname in the server table is typed into (with the Hardware step's 1,000-row table and
 * 24 rack elevations mounted) and a duplicate hostname is produced, so the findings change.
 *
 * References, measured in the same browser the same way:
 *  - open: loading a static HTML page that holds the same 1,000 servers as a plain table;
 *  - keystroke: typing into a bare <input> on an empty page (the browser's own floor);
 *  - findings: the core's validatePlan on the same plan in Node plus the UI's debounce.
 * Goals (issues 6 and 21): open < 1 s, keystroke to paint p95 < 50 ms on Hardware and Networks,
 * findings < 300 ms after the last key.
 * Run: `node bin/run-ts.mjs bench/ui-large.ts [SERVERS]` (or `npm run bench -- ui-large`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium, type Page } from 'playwright-core';
import { createCore } from '../src/app/index.js';
import { generatePlan } from '../src/plan/generate.js';
import { planToYaml, validatePlan } from '../src/plan/index.js';
import { buildRenderer } from '../src/server/renderer-build.js';
import { startServer } from '../src/server/server.js';
import { CHROMIUM_ARGS as ARGS } from '../test/support/chromium.js';

const SERVERS = Number(process.argv[2] ?? 1000);
/** 60 keystrokes per measure, so the p95 is not simply the slowest of a handful. */
const KEYS = 'abcdefghijklmnopqrst'.repeat(3);
const DIGITS = '1234567890'.repeat(6);
const DEBOUNCE_MS = 100; // renderer/src/state/findings-store.ts

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

/*
 * In-page probes, as source text: this file is type-checked without the DOM (it is Node
 * code) and the probes run in the page. A keystroke's time runs from its keydown to the
 * first frame painted after it: rAF runs before that paint, a task queued from rAF after it.
 */
const PROBE_KEYS = `(() => {
  window.keySamples = [];
  document.addEventListener('keydown', () => {
    const t0 = performance.now();
    window.lastKey = t0;
    requestAnimationFrame(() => setTimeout(() => window.keySamples.push(performance.now() - t0), 0));
  }, true);
})()`;
const NEXT_PAINT = 'new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))';
const FINDINGS_SETTLED = `!document.querySelector('[data-testid="findings-count"]')?.textContent?.includes('…')`;
/** Milliseconds from the last keydown until the findings count is settled and painted. */
const FINDINGS_AFTER_LAST_KEY = `new Promise((resolve) => {
  const el = document.querySelector('[data-testid="findings-count"]');
  const settled = () => !el.textContent.includes('…');
  const finish = () => requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - window.lastKey), 0));
  if (settled()) return finish();
  new MutationObserver((_, obs) => {
    if (!settled()) return;
    obs.disconnect();
    finish();
  }).observe(el, { subtree: true, childList: true, characterData: true });
})`;

async function keySamples(page: Page, count: number): Promise<number[]> {
  await page.waitForFunction(`window.keySamples.length >= ${count}`);
  return page.evaluate<number[]>('window.keySamples');
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'ustart-bench-ui-'));
  const rendererDir = join(work, 'renderer');
  const racks = Math.max(2, Math.round(SERVERS / 42));
  const plan = generatePlan({ servers: SERVERS, racks, seed: 1 });
  await writeFile(join(work, 'large.yaml'), planToYaml(plan));
  await buildRenderer(rendererDir);
  const core = createCore({ mode: 'browser', stateDir: join(work, 'state'), root: work });
  const server = await startServer({ core, rendererDir });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
  try {
    // The probes are strings the page evaluates; the app's CSP (rightly) forbids that.
    const page = await browser.newPage({
      viewport: { width: 1920, height: 1080 },
      bypassCSP: true,
    });
    page.on('dialog', (d) => void d.accept());

    // Reference for opening: the same servers as a static table, no script.
    const rows = plan.servers
      .map((s) =>
        [s.hostname, s.rack, s.position, s.model, s.memoryGiB, s.roles.join(','), s.addresses.mgmt]
          .map((c) => `<td>${c ?? ''}</td>`)
          .join(''),
      )
      .map((r) => `<tr>${r}</tr>`)
      .join('');
    await writeFile(join(rendererDir, 'static.html'), `<!doctype html><table>${rows}</table>`);
    const staticUrl = server.url.replace('/?', '/static.html?');
    const staticTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await page.goto(staticUrl);
      await page.evaluate(NEXT_PAINT);
      staticTimes.push(performance.now() - t0);
    }

    // Open: from submitting the path to the plan shown with its findings counted.
    const openTimes: number[] = [];
    const hardwareTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      await page.goto(server.url);
      await page.getByTestId('open').click();
      await page.getByTestId('path-input').fill('large.yaml');
      const t0 = performance.now();
      await page.getByTestId('path-ok').click();
      await page.getByTestId('findings-count').waitFor();
      await page.waitForFunction(FINDINGS_SETTLED);
      openTimes.push(performance.now() - t0);
      const t1 = performance.now();
      await page.getByTestId('step-hardware').click();
      await page.getByTestId(`rack-${plan.racks.at(-1)!.name}`).waitFor();
      await page.evaluate(NEXT_PAINT);
      hardwareTimes.push(performance.now() - t1);
    }

    // Keystroke to paint: typing a hostname with the 1,000-row table and every rack mounted.
    await page.evaluate(PROBE_KEYS);
    const first = page.locator('input[data-path="/servers/0/hostname"]');
    await first.click();
    // A one-letter name, so the 60 letters typed keep it a valid label (at most 63).
    await first.fill('h');
    await first.press('End');
    await page.evaluate('window.keySamples = []');
    await page.keyboard.type(KEYS, { delay: 40 });
    const typing = await keySamples(page, KEYS.length);

    // Findings after the last key: type another server's hostname, so an error appears.
    await page.waitForFunction(FINDINGS_SETTLED);
    const before = await page.getByTestId('findings-count').textContent();
    await first.fill('');
    await page.waitForFunction(FINDINGS_SETTLED);
    await page.keyboard.type(plan.servers[1]!.hostname, { delay: 40 });
    const findingsMs = await page.evaluate<number>(FINDINGS_AFTER_LAST_KEY);
    const after = await page.getByTestId('findings-count').textContent();

    // The same typing on the Site step (one form, the large plan behind it).
    await page.getByTestId('step-site').click();
    const customer = page.locator('input[data-path="/site/customer"]');
    await customer.click();
    await customer.press('End');
    await page.evaluate('window.keySamples = []');
    await page.keyboard.type(KEYS, { delay: 40 });
    const siteTyping = await keySamples(page, KEYS.length);

    // The same on the Networks step: a network's MTU (digits, written on every keystroke), with
    // the IP plan of 1,000 servers' addresses below it.
    await page.getByTestId('step-networks').click();
    const mtu = page.locator('input[data-path="/networks/0/mtu"]');
    await mtu.click();
    await mtu.fill('');
    await page.waitForFunction(FINDINGS_SETTLED);
    await page.evaluate('window.keySamples = []');
    await page.keyboard.type(DIGITS, { delay: 40 });
    const networkTyping = await keySamples(page, DIGITS.length);

    // Reference for keystrokes: a bare input on an otherwise empty page.
    await page.goto(staticUrl);
    await page.setContent('<input id="i" autofocus>');
    await page.evaluate(PROBE_KEYS);
    await page.focus('#i');
    await page.keyboard.type(KEYS, { delay: 40 });
    const bare = await keySamples(page, KEYS.length);

    // Reference for findings: validation itself in Node, warmed up, plus the debounce.
    for (let i = 0; i < 5; i++) validatePlan(plan);
    const v: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      validatePlan(plan);
      v.push(performance.now() - t0);
    }
    const floor = median(v) + DEBOUNCE_MS;

    // Where opening spends its time: the core reading the file (YAML document, checks).
    const coreOpen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await core.handlers['plan:open']({ file: 'large.yaml' });
      coreOpen.push(performance.now() - t0);
    }

    const open = median(openTimes);
    const key = median(typing);
    const lines = [
      `ui-large: ${SERVERS} servers, ${racks} racks, Chromium (browser mode), 1920×1080`,
      `  open plan (to findings shown)  median ${ms(open)}  (static table page ${ms(median(staticTimes))}, ratio ${(open / median(staticTimes)).toFixed(1)}×; goal < 1000 ms)`,
      `    of which the core's plan:open (read, parse YAML, validate) ${ms(median(coreOpen))}`,
      `  Hardware step (table + racks)  median ${ms(median(hardwareTimes))}`,
      `  keystroke to paint, Hardware   median ${ms(key)}, p95 ${ms(p95(typing))}  (bare input ${ms(median(bare))}, p95 ${ms(p95(bare))}, ratio ${(key / median(bare)).toFixed(1)}×; goal p95 < 50 ms)`,
      `  keystroke to paint, Networks   median ${ms(median(networkTyping))}, p95 ${ms(p95(networkTyping))}  (goal p95 < 50 ms)`,
      `  keystroke to paint, Site step  median ${ms(median(siteTyping))}, p95 ${ms(p95(siteTyping))}`,
      `  findings after last keystroke  ${ms(findingsMs)}  (validatePlan ${ms(median(v))} + debounce ${DEBOUNCE_MS} ms = ${ms(floor)}, ratio ${(findingsMs / floor).toFixed(2)}×; goal < 300 ms)`,
      `  findings count: "${before}" → "${after}" with a duplicate hostname`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await browser.close();
    await server.close();
    await core.dispose();
    await rm(work, { recursive: true, force: true });
  }
}

await main();

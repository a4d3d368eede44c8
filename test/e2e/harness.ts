/**
 * The setup the browser-mode end-to-end tests share: a freshly built renderer, the core, the
 * real server and Debian's Chromium, or the demo lab under them as `ustart serve --demo`
 * starts it. Every piece is registered with a `Cleanup` as soon as it has started, so that
 * `afterAll(() => cleanup.run())` ends whatever did start, even when a later step or a test
 * fails.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createCore, type Core, type CoreOptions } from '../../src/app/index.js';
import {
  startDemoSession,
  type DemoSession,
  type DemoSessionOptions,
} from '../../src/demo/index.js';
import { buildRenderer } from '../../src/server/renderer-build.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { launchChromium } from '../support/chromium.js';
import { attr } from './install-flow.js';

/** What a test started, ended last-first; every step runs even when one throws. */
export class Cleanup {
  private readonly steps: Array<() => Promise<unknown>> = [];

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length) throw new AggregateError(errors, 'cleanup failed');
  }
}

/** A new temp folder named `ustart-e2e-<name>-…`, removed on cleanup. */
export async function tempDir(cleanup: Cleanup, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `ustart-e2e-${name}-`));
  cleanup.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Core options for browser mode served from `work`, its state in `work/.state`. */
export const browserCore = (work: string, more: Partial<CoreOptions> = {}): CoreOptions => ({
  mode: 'browser',
  stateDir: join(work, '.state'),
  root: work,
  ...more,
});

export interface BrowserOptions {
  /** Names the renderer's temp folder. */
  name: string;
  core: CoreOptions;
  viewport?: { width: number; height: number };
  /** Accept every page dialog (the unsaved-changes guard), for flows that mean to replace. */
  acceptDialogs?: boolean;
}

export interface BrowserMode {
  core: Core;
  server: RunningServer;
  page: Page;
}

/** Builds the renderer, creates the core, starts the server, launches Chromium. */
export async function startBrowserMode(
  cleanup: Cleanup,
  options: BrowserOptions,
): Promise<BrowserMode> {
  const rendererDir = await tempDir(cleanup, `${options.name}-ui`);
  await buildRenderer(rendererDir);
  const core = createCore(options.core);
  cleanup.add(() => core.dispose());
  const server = await startServer({ core, rendererDir });
  cleanup.add(() => server.close());
  const browser = await launchChromium(options.viewport);
  cleanup.add(() => browser.close());
  if (options.acceptDialogs) browser.page.on('dialog', (d) => void d.accept());
  return { core, server, page: browser.page };
}

/**
 * A work folder holding the customer's CSV (test/fixtures/customer-inventory-de.csv) as
 * inventory.csv, served in browser mode; page dialogs are accepted, since the flows that
 * import it mean to replace the plan the unsaved-changes guard asks about.
 */
export async function startCsvWorkspace(
  cleanup: Cleanup,
  name: string,
  viewport = { width: 1400, height: 900 },
): Promise<BrowserMode & { work: string }> {
  const work = await tempDir(cleanup, name);
  await copyFile(
    join(import.meta.dirname, '../fixtures/customer-inventory-de.csv'),
    join(work, 'inventory.csv'),
  );
  const started = await startBrowserMode(cleanup, {
    name,
    core: browserCore(work),
    viewport,
    acceptDialogs: true,
  });
  return { ...started, work };
}

/**
 * The demo lab and browser mode on it, as `ustart serve --demo` starts them
 * (src/cli/commands/serve.ts). `prepare` runs on the session before the core is created.
 */
export async function startDemoBrowser(
  cleanup: Cleanup,
  options: Omit<BrowserOptions, 'core'> & {
    demo: DemoSessionOptions;
    prepare?: (session: DemoSession) => Promise<void>;
  },
): Promise<BrowserMode & { session: DemoSession }> {
  const session = await startDemoSession(options.demo);
  cleanup.add(() => session.dispose());
  await options.prepare?.(session);
  const started = await startBrowserMode(cleanup, {
    ...options,
    core: {
      mode: 'browser',
      stateDir: join(session.workspace, '.ustart-app'),
      root: session.workspace,
      demo: { planFile: session.planFile },
      hostPages: { route: session.route },
    },
  });
  return { ...started, session };
}

/**
 * Connect: checks every host of the demo lab until each is ok (its keys are the lab's own,
 * so no dialog shows; a host whose key were unknown is accepted for this session).
 */
export async function connectDemoHosts(
  page: Page,
  hosts: Iterable<string>,
  /** Runs while a host-key dialog is open, before it is accepted. */
  onKeyDialog?: () => Promise<void>,
): Promise<void> {
  await page.getByTestId('page-connect').click();
  await page.getByTestId('check-hosts').click();
  for (const h of hosts) {
    const state = page.getByTestId(`host-state-${h}`);
    await state.waitFor({ timeout: 60_000 });
    if ((await attr(state, 'data-state')) === 'host-key-unknown') {
      await page.getByTestId(`verify-key-${h}`).click();
      await onKeyDialog?.();
      await page.getByTestId('hostkey-accept-once').click();
    }
    await page.locator(`[data-testid="host-state-${h}"][data-state="ok"]`).waitFor();
  }
}

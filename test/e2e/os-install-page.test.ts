/**
 * The os-install phase from the Install page in browser mode: the page shows its inputs while
 * the phase is chosen, refuses half-filled ones on the page (nothing starts), and with them
 * runs the phase through the core. The servers' BMCs are the OS-install tests' fake
 * (test/support/fake-bmc.ts: it fetches the ISO from the real install server and reports the
 * host key); the servers' SSH is real: every server but one points at a lab host's sshd
 * (answers: skipped, its BMC never opened), the last at a closed port that a relay to another
 * lab host opens once its "installer" has run. BMC logins are not asked: the fake needs none.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server as PlanServer } from '../../src/plan/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import type { FakeBmc } from '../support/fake-bmc.js';
import { closedPort, debianDemoSite, fakeInstall, relay } from '../support/os-install-site.js';
import { attr, openPlan } from './install-flow.js';
import { Cleanup, browserCore, startBrowserMode, tempDir } from './harness.js';

const available = labAvailable();
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVzdGFydC10ZXN0LWtleS1ub3QtdXNlZC1hbnl3aGVyZQ c';

const cleanup = new Cleanup();
let lab: Lab;
let work: string;
let server: RunningServer;
let page: Page;
let fresh: PlanServer;
let port: number;
let bmcs: Map<string, FakeBmc>;

describe.skipIf(!available)('the os-install phase from the Install page (browser mode)', () => {
  beforeAll(async () => {
    work = await tempDir(cleanup, 'os-install-page');
    lab = await createLab({ hosts: 2 });
    cleanup.add(() => lab.dispose());
    const doc = await debianDemoSite();
    port = await closedPort();
    const installed = lab.hosts[0]!;
    for (const s of doc.servers) s.ssh = { address: installed.address, port: installed.port };
    fresh = doc.servers[doc.servers.length - 1]!;
    fresh.ssh = { address: '127.0.0.1', port };
    await writeFile(join(work, 'site.yaml'), stringify(doc));
    const reported = lab.hosts[1]!.publicKey.split(' ')[1]!;
    const fake = fakeInstall(reported, async () =>
      cleanup.add(await relay(port, lab.hosts[1]!.address, lab.hosts[1]!.port)),
    );
    bmcs = fake.bmcs;
    ({ server, page } = await startBrowserMode(cleanup, {
      name: 'os-install-page',
      core: browserCore(work, {
        hostPages: {
          readOnlyKnownHosts: [],
          sshConfigFile: null,
          clusterLock: false,
          osInstallHooks: { openBmc: fake.openBmc, buildIso: fake.buildIso },
        },
      }),
      viewport: { width: 1400, height: 900 },
    }));
  }, 240_000);

  afterAll(() => cleanup.run());

  it('takes the inputs on the page, refuses half-filled ones, and installs the refusing server', async () => {
    await page.goto(server.url);
    await openPlan(page);
    await page.getByTestId('page-install').click();
    // Not chosen: no inputs shown.
    expect(await page.getByTestId('os-install-fields').count()).toBe(0);
    for (const p of ['connect', 'umetal', 'ustack', 'ugarden']) {
      const box = page.getByTestId(`phase-${p}`);
      if ((await box.count()) && (await box.isChecked())) await box.uncheck();
    }
    await page.getByTestId('phase-os-install').check();
    await page.getByTestId('os-install-fields').waitFor();

    // Half-filled: the page says what is missing and nothing starts.
    await page.getByTestId('os-advertise').fill('127.0.0.1');
    await page.getByTestId('run-start').click();
    expect(await page.getByTestId('os-install-error').textContent()).toContain('public key');
    expect(await page.getByTestId('run-history').textContent()).not.toContain('running');

    await page.getByTestId('os-authorizedKeys').fill(KEY);
    await page.getByTestId('os-acceptReportedHostKeys').check();
    await page.getByTestId('run-start').click();
    await page
      .locator(`[data-testid="run-state"][data-state="succeeded"]`)
      .waitFor({ timeout: 120_000 });
    expect(
      await attr(page.getByTestId(`cell-umetal.os-install-${fresh.hostname}`), 'data-state'),
    ).toBe('succeeded');
    // Only the server whose SSH refused had its BMC opened; the others were skipped.
    expect([...bmcs.keys()]).toEqual([fresh.hostname]);
    const known = await readFile(join(work, '.state', 'known_hosts'), 'utf8');
    expect(known).toContain(`[127.0.0.1]:${port} ssh-ed25519`);
  }, 180_000);
});

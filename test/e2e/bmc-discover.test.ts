/**
 * End-to-end in browser mode (issue 20, item 2): "Discover from BMCs" on the Hardware step
 * against a Redfish double (backed by a QEMU machine that stays off: discovery only reads) and
 * a BMC address where nothing answers. The password is given in the secret dialog, the unknown
 * certificate trusted after its fingerprint is shown, ctl-01's diff accepted and applied, and
 * the change undone.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetPath } from '../../src/util/assets.js';
import { RedfishDouble, makeCertificate } from '../doubles/redfish-double.js';
import { Cleanup, browserCore, startBrowserMode, tempDir, type BrowserMode } from './harness.js';
import { shot, step } from './wizard-flow.js';

const LOGIN = { username: 'root', password: 'E2e-bmc-Passw0rd' };
const cleanup = new Cleanup();
let browser: BrowserMode;
let bmc: RedfishDouble;
let work: string;

beforeAll(async () => {
  work = await tempDir(cleanup, 'discover');
  const certs = await tempDir(cleanup, 'discover-bmc');
  bmc = await RedfishDouble.start({
    dir: certs,
    host: '127.0.0.2',
    ...LOGIN,
    certificate: await makeCertificate(certs),
  });
  cleanup.add(() => bmc.close());
  // The sample plan with its BMC network on loopback: ctl-01's BMC is the double, ctl-02's an
  // address where nothing listens; the other servers have none.
  const doc = parseDocument(await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8'));
  const nets = doc.get('networks') as {
    items: { get(k: string): unknown; set(k: string, v: unknown): void }[];
  };
  const bmcNet = nets.items.find((n) => n.get('name') === 'bmc')!;
  bmcNet.set('cidr', '127.0.0.0/24');
  bmcNet.set('gateway', '127.0.0.1');
  bmcNet.set('pool', doc.createNode({ start: '127.0.0.2', end: '127.0.0.200' }));
  const servers = (
    doc.get('servers') as {
      items: { setIn(p: string[], v: unknown): void; delete(k: string): void }[];
    }
  ).items;
  servers.forEach((s, i) => {
    if (i === 0) s.setIn(['bmc', 'address'], '127.0.0.2');
    else if (i === 1) s.setIn(['bmc', 'address'], '127.0.0.4');
    else s.delete('bmc');
  });
  await writeFile(join(work, 'plan.yaml'), doc.toString());
  browser = await startBrowserMode(cleanup, {
    name: 'discover',
    // No BMC login from this process's environment: the wizard asks.
    core: browserCore(work, { discovery: { env: {} } }),
    viewport: { width: 1400, height: 1000 },
  });
}, 180_000);

afterAll(() => cleanup.run());

const memory = (page: Page) =>
  page
    .getByTestId('row-ctl-01')
    .getByLabel(/^memoryGiB \d+$/)
    .inputValue();

/** Answers the secret dialog for each of `hosts`, in any order, with the BMC password. */
async function givePasswords(page: Page, hosts: string[]): Promise<void> {
  const dialog = page.getByTestId('secret-dialog');
  const left = new Set(hosts);
  while (left.size > 0) {
    await dialog.waitFor();
    const text = (await dialog.textContent()) ?? '';
    const host = [...left].find((h) => text.includes(`root@${h}`));
    expect(host, text).toBeDefined();
    await dialog.locator('input[type="password"]').fill(LOGIN.password);
    await dialog.locator('button[type="submit"]').click();
    left.delete(host!);
    // The next ask replaces this one in the same dialog.
    await expect
      .poll(async () => ((await dialog.count()) ? await dialog.textContent() : ''))
      .not.toContain(`root@${host}`);
  }
}

describe('discovery from the BMCs in the wizard', () => {
  it('shows a server’s diff, trusts its certificate, applies it, and undoes it', async () => {
    const { page, server } = browser;
    await page.goto(server.url);
    await page.getByTestId('open').click();
    await page.getByTestId('path-input').fill('plan.yaml');
    await page.getByTestId('path-ok').click();
    await page.getByTestId('findings-count').waitFor();
    await step(page, 'hardware');
    expect(await memory(page)).toBe('256');

    await page.getByTestId('discover-open').click();
    await page.getByTestId('discover-user').fill(LOGIN.username);
    await page.getByTestId('discover-port').fill(String(bmc.port));
    await page.getByTestId('discover-read').click();
    // ctl-01's and ctl-02's BMC passwords, asked like SSH passwords.
    await givePasswords(page, ['bmc:127.0.0.2', 'bmc:127.0.0.4']);

    const status = (host: string) => page.getByTestId(`discover-status-${host}`).textContent();
    await expect
      .poll(() => status('ctl-01'), { timeout: 30_000 })
      .toBe('certificate not seen before');
    expect(await status('ctl-02')).toBe('the BMC did not answer');
    expect(await status('cmp-01')).toBe('skipped: no BMC in the plan');
    const row = page.getByTestId('discover-ctl-01');
    expect(await row.textContent()).toContain(`sha256 ${bmc.fingerprint}`);
    expect(bmc.requests).toHaveLength(0);
    await shot(page, 'discover-1-certificate');

    // Trusted: pinned in the state folder, and the BMC read again (the password is kept).
    await page.getByTestId('discover-trust-ctl-01').click();
    await expect.poll(() => status('ctl-01'), { timeout: 30_000 }).toMatch(/^\d+ changes$/);
    expect(await readFile(join(work, '.state', 'bmc_certificates'), 'utf8')).toContain(
      `[127.0.0.2]:${bmc.port} sha256 ${bmc.fingerprint}`,
    );
    const diff = await row.textContent();
    expect(diff).toContain('~ memoryGiB: 256 → 512');
    expect(diff).toContain('~ nics[0]: eno1: mac b0:7b:25:1a:00:01 → 0a:1b:2c:3d:4e:01');
    expect(diff).toContain('= nics[2]: ens1f1 b0:7b:25:12:00:01: not reported by the BMC (kept)');
    expect(diff).toContain('+ disks[2]: /dev/sdc 8001.6 GB hdd');
    expect(await page.getByTestId('discover-findings').textContent()).toMatch(
      /^Validation of the plan with every proposed change: /,
    );
    await shot(page, 'discover-2-diff');

    // Accepted (offered ticked), applied: the plan changes, as one undo step.
    expect(await page.getByTestId('discover-accept-ctl-01').isChecked()).toBe(true);
    await page.getByTestId('discover-apply').click();
    await page.getByTestId('discover-panel').waitFor({ state: 'detached' });
    await expect.poll(() => memory(page)).toBe('512');
    expect(await page.getByTestId('notice').textContent()).toContain('updated from their BMCs');
    await page.getByTestId('undo').click();
    await expect.poll(() => memory(page)).toBe('256');
    await page.getByTestId('redo').click();
    await expect.poll(() => memory(page)).toBe('512');
  }, 120_000);
});

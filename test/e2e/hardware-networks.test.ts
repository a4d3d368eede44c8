/**
 * End-to-end in browser mode (issue 17, items 1 and 2): the customer's CSV imported, its NIC
 * errors fixed in the hardware editor and with bulk edits of a selection, findings jumping to
 * NIC fields, network fields marked by their findings, a network renamed (references follow,
 * in the saved file too) and deleted (asked first, naming its uses), and undone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../src/api/index.js';
import type { Core } from '../../src/app/index.js';
import type { RunningServer } from '../../src/server/server.js';
import { Cleanup, startCsvWorkspace, type BrowserMode } from './harness.js';
import { bulkAddNic, errors, focusedPath, reviewRules, selectFiltered } from './hardware-flow.js';
import { importCsv, shot, step } from './wizard-flow.js';

const cleanup = new Cleanup();
let core: Core | undefined;
let server: RunningServer | undefined;
let browser: BrowserMode | undefined;

beforeAll(async () => {
  browser = await startCsvWorkspace(cleanup, 'hw');
  ({ core, server } = browser);
}, 180_000);

afterAll(() => cleanup.run());

describe('hardware and network editing in browser mode', () => {
  it('brings the customer CSV to zero errors with the NIC editors, then renames and deletes a network', async () => {
    const { page } = browser!;
    await page.goto(server!.url);
    await page.getByTestId('new-empty').click();
    await page.getByTestId('findings-count').waitFor();
    await importCsv(page, 'inventory.csv');

    // The imported list has no storage or provider NICs: nine NIC errors.
    await expect.poll(() => errors(page), { timeout: 15_000 }).toBe(9);
    const before = await reviewRules(page);
    expect(before.filter((r) => r === 'storage-network-nic')).toHaveLength(4);
    expect(before.filter((r) => r === 'compute-provider-uplink')).toHaveLength(5);

    // A finding about a server's NICs jumps to that server's NIC list (its Add NIC button).
    await page.locator('[data-rule="storage-network-nic"]').first().click();
    await page.locator('[data-testid="step-hardware"][aria-current="step"]').waitFor();
    await expect.poll(() => focusedPath(page)).toBe('/servers/7/nics');
    const sto01 = page.getByTestId('server-hardware');
    expect(await sto01.getAttribute('aria-label')).toBe('sto-01');

    // One server by hand: a new NIC without a MAC is a finding on its MAC field, and that
    // finding jumps to the field.
    await page.keyboard.press('Enter');
    const mac = sto01.locator('[data-path="/servers/7/nics/1/mac"]');
    await expect.poll(() => mac.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    await shot(page, 'hw-1-server-nic-finding');
    await step(page, 'review');
    await page.getByTestId('findings-error').getByRole('button', { name: /MAC/ }).first().click();
    await expect.poll(() => focusedPath(page)).toBe('/servers/7/nics/1/mac');
    await page.keyboard.type('b0:7b:25:1a:20:07');
    await page.getByLabel('Network (untagged) eno2').selectOption('storage');
    await expect.poll(() => errors(page), { timeout: 15_000 }).toBe(8);

    // The rest in bulk: all storage servers get eno2 on storage (sto-01 has it and is left
    // alone), all compute servers eno3 on provider, each with its own MAC.
    await selectFiltered(page, 'storage');
    await bulkAddNic(
      page,
      'eno2',
      'storage',
      {
        'sto-02': 'b0:7b:25:1a:20:08',
        'sto-03': 'b0:7b:25:1a:20:09',
        'hci-01': '94:40:c9:00:20:11',
      },
      'hw-2-bulk-nic',
    );
    await expect
      .poll(() => page.getByTestId('notice').textContent())
      .toMatch(/sto-02, sto-03, hci-01.*already there on sto-01/);
    await selectFiltered(page, 'compute');
    await bulkAddNic(page, 'eno3', 'provider', {
      'cmp-01': '94:40:c9:00:30:01',
      'cmp-02': '94:40:c9:00:30:02',
      'cmp-03': '94:40:c9:00:30:03',
      'cmp-04': '94:40:c9:00:30:04',
      'hci-01': '94:40:c9:00:30:11',
    });
    await expect.poll(() => errors(page), { timeout: 15_000 }).toBe(0);
    const after = await reviewRules(page);
    expect(after).not.toContain('storage-network-nic');
    expect(after).not.toContain('compute-provider-uplink');
    // A finding about a server's disks jumps to that server's disk list.
    await page.locator('[data-rule="storage-capacity-balance"]').first().click();
    await expect.poll(() => focusedPath(page)).toBe('/servers/7/disks');
    await shot(page, 'hw-2-disk-jump');

    // Network fields are marked by their findings: an invalid CIDR, a VLAN out of range.
    await step(page, 'networks');
    const cidr = page.locator('[data-path="/networks/2/cidr"]');
    await cidr.fill('10.20.0.0/33');
    await expect.poll(() => cidr.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    expect(await cidr.getAttribute('title')).toMatch(/CIDR/);
    const vlan = page.locator('[data-path="/networks/2/vlan"]');
    await vlan.fill('5000');
    await expect.poll(() => vlan.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    await shot(page, 'hw-3-network-findings');
    await cidr.fill('10.20.0.0/24');
    await vlan.fill('200');
    await expect.poll(() => errors(page), { timeout: 15_000 }).toBe(0);
    expect(await cidr.getAttribute('aria-invalid')).toBe('false');

    // Addresses from the pools, then save: the file has the NICs and no errors.
    await page.getByTestId('run-ipam').click();
    await page.getByTestId('ip-plan-storage').waitFor();
    await page.getByTestId('save').click();
    await page.getByTestId('path-input').fill('site.yaml');
    await page.getByTestId('path-ok').click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('site.yaml');
    const saved = unwrap(await core!.client.planOpen({ file: 'site.yaml' }));
    expect(saved.counts.error).toBe(0);
    const nics = (host: string, p = saved.plan!) =>
      p.servers.find((s) => s.hostname === host)!.nics.map((n) => `${n.name}:${n.network}`);
    expect(nics('hci-01')).toEqual(['eno1:mgmt', 'eno2:storage', 'eno3:provider']);

    // Rename storage → ceph: every reference follows, in the saved file too.
    const name = page.getByTestId('network-name-2');
    await name.fill('mgmt');
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    await name.fill('ceph');
    await name.press('Enter');
    await page.getByTestId('ip-plan-ceph').waitFor();
    expect(await page.getByTestId('ip-plan-storage').count()).toBe(0);
    await expect.poll(() => errors(page), { timeout: 15_000 }).toBe(0);
    await page.getByTestId('save').click();
    await expect
      .poll(async () => {
        const p = unwrap(await core!.client.planOpen({ file: 'site.yaml' })).plan!;
        return p.networks.map((n) => n.name).join(',');
      })
      .toBe('mgmt,bmc,ceph,provider,tenant');
    const renamed = unwrap(await core!.client.planOpen({ file: 'site.yaml' })).plan!;
    expect(nics('sto-02', renamed)).toEqual(['eno1:mgmt', 'eno2:ceph']);
    const sto02 = renamed.servers.find((s) => s.hostname === 'sto-02')!;
    expect(Object.keys(sto02.addresses)).toEqual(['mgmt', 'ceph']);

    // Delete it: it is in use, so the UI asks and lists the uses.
    await page.getByTestId('delete-network-ceph').click();
    const uses = page.getByTestId('network-uses');
    await uses.waitFor();
    const items = await uses.locator('li').allTextContents();
    expect(items).toContain('sto-01 › NIC eno2');
    expect(items).toContain('hci-01 › NIC eno2');
    expect(items.filter((i) => /› address 10\.20\.0\./.test(i))).toHaveLength(4);
    expect(items).toHaveLength(8);
    await shot(page, 'hw-4-delete-network');
    await page.getByTestId('confirm-delete-network').click();
    await expect
      .poll(() =>
        page
          .locator('[data-testid^="network-name-"]')
          .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value)),
      )
      .toEqual(['mgmt', 'bmc', 'provider', 'tenant']);
    await expect.poll(() => errors(page), { timeout: 15_000 }).toBeGreaterThan(0);

    // Undo brings the network and every reference back.
    await page.getByTestId('undo').click();
    await page.getByTestId('ip-plan-ceph').waitFor();
    await expect.poll(() => errors(page), { timeout: 15_000 }).toBe(0);

    // Bonds: a new bond without members is marked; a NIC joins it on its Bond column and
    // drops its own network (the bond carries the networks).
    await step(page, 'hardware');
    await page.getByTestId('server-filter').fill('');
    const all = page.getByLabel('all', { exact: true });
    if (!(await all.isChecked())) await all.check();
    await all.uncheck();
    await page.getByLabel('select cmp-01').check();
    const cmp01 = page.getByTestId('server-hardware');
    await cmp01.getByTestId('add-bond').click();
    const members = cmp01.locator('[data-path="/servers/3/bonds/0/members"]');
    await expect.poll(() => members.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    await cmp01.getByLabel('Bond eno3', { exact: true }).selectOption('bond0');
    await expect.poll(() => members.textContent()).toBe('eno3');
    expect(await cmp01.getByLabel('Network (untagged) eno3').inputValue()).toBe('');
    await cmp01.getByLabel('Network (untagged) bond0').selectOption('provider');
    await expect
      .poll(() => members.getAttribute('aria-invalid'), { timeout: 15_000 })
      .toBe('false');
    await shot(page, 'hw-5-bond');
    await expect.poll(() => errors(page), { timeout: 15_000 }).toBe(0);

    // A network nothing uses goes without asking.
    await step(page, 'networks');
    await page.getByRole('button', { name: 'Add network' }).click();
    await page.getByTestId('delete-network-net-6').click();
    await expect.poll(() => page.getByTestId('delete-network-net-6').count()).toBe(0);
    expect(await page.getByTestId('network-uses').count()).toBe(0);
  }, 240_000);
});

/**
 * The whole uMetal phase through the UI in browser mode, on 6 lab hosts prepared like fresh
 * servers with the signed offline bundle pushed to each (test/support/umetal-lab.ts: real
 * apt, chrony, containerd; doubles for systemctl and the Kubernetes tools). Connect with the
 * host-key dialog, facts and the network matrix; uMetal started with the bundle fields; one
 * host's copy of the bundle lacks kubelet, so its kubernetes-packages step fails and the run
 * pauses; a page reload re-attaches without a gap; a shell on that host, typed into, puts
 * the file back; a retry on that host, and the run ends with Kubernetes initialised.
 */
import { cp, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePlan } from '../../src/plan/index.js';
import { planToYaml } from '../../src/plan/save.js';
import type { Plan } from '../../src/plan/schema.js';
import type { RunningServer } from '../../src/server/server.js';
import { labAvailable } from '../lab/require-lab.js';
import { prepareUmetalLab, type UmetalLab } from '../support/umetal-lab.js';
import { Cleanup, browserCore, startBrowserMode, tempDir } from './harness.js';
import { attr, openPlan, terminalText } from './install-flow.js';
import { shot } from './wizard-flow.js';

const available = labAvailable();
const PACKAGES = 'umetal.kubernetes-packages';
const KUBELET = '/var/lib/ustart/bundle/bin/kubelet';
const AWAY = '/root/kubelet.away';

const cleanup = new Cleanup();
let u: UmetalLab;
let work: string;
let server: RunningServer;
let page: Page;

/**
 * The lab's plan with what the Install page needs before it installs anything: no error
 * findings. The plan also names a storage and a provider network, as a real plan would: the
 * storage server is on the storage network with its second link (`eth1`, MTU 9000, which the
 * host-network step configures), the compute servers carry the provider network on theirs
 * (OVN's uplink: up, MTU 1500, no address); and an OSD disk for the storage server.
 */
function installable(lab: Plan, eth1Macs: ReadonlyMap<string, string>): Plan {
  const plan = structuredClone(lab);
  plan.networks.push(
    { name: 'storage', purpose: 'storage', cidr: '10.250.0.0/24', mtu: 9000 },
    { name: 'provider', purpose: 'provider', cidr: '10.251.0.0/24', mtu: 1500 },
  );
  plan.servers.forEach((s, i) => {
    if (s.roles.includes('compute')) {
      // The compute servers' second link is OVN's provider uplink: brought up, no address.
      const mac = eth1Macs.get(s.hostname) ?? `02:00:00:01:00:0${i}`;
      s.nics.push({ name: 'eth1', mac, speedGbps: 10, network: 'provider' });
      return;
    }
    if (!s.roles.includes('storage')) return;
    s.disks.push({ device: '/dev/vdb', sizeGB: 100, type: 'ssd', use: 'ceph-osd' });
    const mac = eth1Macs.get(s.hostname) ?? `02:00:00:01:00:0${i}`;
    s.nics.push({ name: 'eth1', mac, speedGbps: 10, network: 'storage' });
    s.addresses.storage = `10.250.0.${10 + i}`;
  });
  const errors = validatePlan(plan).filter((f) => f.severity === 'error');
  if (errors.length) throw new Error(`the e2e plan has errors: ${JSON.stringify(errors)}`);
  return plan;
}

describe.skipIf(!available)('uMetal on 6 lab hosts through the UI in browser mode', () => {
  beforeAll(async () => {
    work = await tempDir(cleanup, 'umetal');
    // The storage server's storage NIC is real: umetal.host-network configures it (ifupdown
    // from the bundle, MTU 9000) on the lab's second link.
    u = await prepareUmetalLab({ hosts: 6, secondLink: true, mtu: 9000 });
    cleanup.add(() => u.dispose());
    const eth1Macs = new Map<string, string>();
    for (const h of u.lab.hosts) {
      const r = await u.lab.exec(h.index, 'cat /sys/class/net/eth1/address');
      eth1Macs.set(h.name, r.stdout.trim());
    }
    await writeFile(join(work, 'site.yaml'), planToYaml(installable(u.plan, eth1Macs)));
    // Browser mode reads files under its root only: the bundle goes beside the plan.
    await cp(u.bundleDir, join(work, 'bundle'), { recursive: true });
    await cp(u.bundlePublicKeyPath, join(work, 'bundle.pub'));
    ({ server, page } = await startBrowserMode(cleanup, {
      name: 'umetal',
      core: browserCore(work, {
        // Only what the consultant accepts in the dialog is trusted: no ~/.ssh files.
        hostPages: { readOnlyKnownHosts: [], sshConfigFile: null, retryDelayMs: () => 0 },
      }),
    }));
  }, 600_000);

  afterAll(() => cleanup.run());

  it('connects, installs uMetal, fails on one host, is fixed in its shell, retries, finishes', async () => {
    try {
      await flow();
    } catch (e) {
      // What the page showed when it went wrong: a screenshot and the stream's counters.
      await shot(page, 'umetal-x-failure').catch(() => undefined);
      const p = page.getByTestId('run-progress');
      const seen = await p
        .evaluate((el) => ({ ...(el as unknown as { dataset: Record<string, string> }).dataset }))
        .catch(() => ({}));
      throw new Error(`${(e as Error).message}\nrun progress: ${JSON.stringify(seen)}`, {
        cause: e,
      });
    }
  }, 1_500_000);
});

async function flow(): Promise<void> {
  const hosts = u.lab.hosts;
  const broken = hosts[3]!; // a compute node
  await page.goto(server.url);
  await openPlan(page);

  // Connect: the lab's key, no agent; each host key accepted in the dialog.
  await page.getByTestId('page-connect').click();
  await page.getByTestId('access-key').fill(u.lab.clientKeyPath);
  await page.getByTestId('access-agent').uncheck();
  await page.getByTestId('access-save').click();
  await page.getByTestId('check-hosts').click();
  for (const h of hosts) {
    await page
      .locator(`[data-testid="host-state-${h.name}"][data-state="host-key-unknown"]`)
      .waitFor({ timeout: 60_000 });
    await page.getByTestId(`verify-key-${h.name}`).click();
    await page.getByTestId('hostkey-accept-once').click();
    await page.locator(`[data-testid="host-state-${h.name}"][data-state="ok"]`).waitFor();
  }
  await page.getByTestId('gather').click();
  await page.getByTestId('connect-report').waitFor({ timeout: 300_000 });
  for (const h of hosts) {
    expect(await page.getByTestId(`facts-${h.name}`).textContent()).toMatch(/\d/);
  }
  const cells = page.locator('[data-testid^="net-mgmt-"]');
  expect(await cells.count()).toBe(hosts.length * (hosts.length - 1));
  for (const c of await cells.all()) expect(await attr(c, 'data-ok')).toBe('true');
  await shot(page, 'umetal-1-facts-matrix');

  // The cause, made on the host through its own root: its copy of the bundle lacks kubelet.
  await rename(`/proc/${broken.pid}/root${KUBELET}`, `/proc/${broken.pid}/root${AWAY}`);

  // uMetal from the offline bundle (the lab site is air-gapped).
  await page.getByTestId('page-install').click();
  await page.getByTestId('phase-umetal').check();
  await page.getByTestId('phase-connect').uncheck();
  await page.getByTestId('bundle-path').fill('bundle');
  await page.getByTestId('bundle-publicKey').fill('bundle.pub');
  await page.getByTestId(`runstep-${PACKAGES}`).waitFor();
  await page.getByTestId('run-start').click();
  // It starts, or says why not (then the test says it too).
  const refused = page.locator('[data-testid="notice"].error');
  await page
    .locator('[data-testid="run-state"], [data-testid="notice"].error')
    .first()
    .waitFor({ timeout: 120_000 });
  expect(await refused.allTextContents()).toEqual([]);
  const first = page.getByTestId(`cell-umetal.package-source-${hosts[0]!.name}`);
  await page
    .locator(`[data-testid="cell-umetal.package-source-${hosts[0]!.name}"][data-state="succeeded"]`)
    .waitFor({ timeout: 300_000 });
  await first.click();
  const logView = page.getByTestId('log-view');
  await expect.poll(() => terminalText(logView), { timeout: 30_000 }).toMatch(/\S/);

  // The broken host fails its package step and the run pauses on it.
  await page
    .locator(`[data-testid="cell-${PACKAGES}-${broken.name}"][data-state="failed"]`)
    .waitFor({ timeout: 600_000 });
  await page
    .locator('[data-testid="pause-panel"][data-reason="step-failed"]')
    .waitFor({ timeout: 120_000 });
  expect(await attr(page.getByTestId(`cell-${PACKAGES}-${broken.name}`), 'data-state')).toBe(
    'failed',
  );
  await page.getByTestId(`cell-${PACKAGES}-${broken.name}`).click();
  await expect.poll(() => terminalText(logView), { timeout: 30_000 }).toMatch(/kubelet/);
  await shot(page, 'umetal-2-failed');
  // The run is paused, but host-steps already under way elsewhere (the storage server's host
  // network, with ifupdown from the bundle) still finish and log: wait until none runs, so
  // that the page has seen every event before it reloads.
  await expect
    .poll(() => page.locator('[data-testid^="cell-"][data-state="running"]').count(), {
      timeout: 120_000,
    })
    .toBe(0);
  const seenBefore = Number(await attr(page.getByTestId('run-progress'), 'data-last-seq'));
  expect(await attr(page.getByTestId('run-progress'), 'data-gaps')).toBe('0');

  // Reload mid-run: the page re-attaches from the last sequence number it saw.
  await page.reload();
  await openPlan(page);
  await page.getByTestId('page-install').click();
  await page.locator('[data-testid="pause-panel"][data-reason="step-failed"]').waitFor();

  // The fix, typed into a shell on that host.
  await page.getByTestId('page-terminals').click();
  await page.getByTestId('shell-host').selectOption(broken.name);
  await page.getByTestId('shell-open').click();
  const shell = page.locator('[data-testid^="shell-"].shell-term').first();
  await shell.waitFor();
  await shell.click();
  await page.keyboard.type(`mv ${AWAY} ${KUBELET} && echo FIXED-$((6*7))\n`);
  await expect.poll(() => terminalText(shell), { timeout: 30_000 }).toContain('FIXED-42');
  await shot(page, 'umetal-3-shell-fix');

  // Retry on that host; the run goes on to the end.
  await page.getByTestId('page-install').click();
  await page.getByTestId(`decide-retry-${broken.name}`).click();
  await page.locator('[data-testid="run-state"]:text("succeeded")').waitFor({ timeout: 600_000 });
  const progress = page.getByTestId('run-progress');
  // Re-attached after what it had seen (not from the start); events that arrived between the
  // read of seenBefore and the reload (late log lines of the paused run) were seen by then too.
  expect(Number(await attr(progress, 'data-first-seq'))).toBeGreaterThan(seenBefore);
  expect(await attr(progress, 'data-gaps')).toBe('0');
  for (const h of hosts) {
    expect(await attr(page.getByTestId(`cell-${PACKAGES}-${h.name}`), 'data-state')).toBe(
      'succeeded',
    );
  }
  await page.getByTestId('step-view-graph').click();
  await shot(page, 'umetal-4-finished-graph');
  await page.getByTestId('step-view-list').click();
  // The cluster was created once (the retry did not init again); `init phase upload-certs`,
  // which makes the join material, is not a creation.
  const calls = await u.calls();
  expect(
    calls.filter((c) => c.tool === 'kubeadm' && c.argv[0] === 'init' && c.argv[1] === '--config'),
  ).toHaveLength(1);
  // The storage server's storage NIC was configured from the plan (umetal.host-network, with
  // ifupdown from the bundle): its address and MTU, and the Debian file that keeps them.
  const plan = installable(u.plan, new Map());
  for (const h of u.lab.hosts) {
    const storage = plan.servers.find((s) => s.hostname === h.name)?.addresses.storage;
    if (!storage) continue;
    const r = await u.lab.exec(
      h.index,
      'ip -o -4 addr show dev eth1; cat /sys/class/net/eth1/mtu; cat /etc/network/interfaces.d/ustart',
    );
    expect(r.stdout).toContain(`inet ${storage}/24`);
    expect(r.stdout).toMatch(/^9000$/m);
    expect(r.stdout).toContain('iface eth1');
  }
}

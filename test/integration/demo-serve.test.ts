/**
 * The demo site in a front (what `ustart serve --demo` and `npm start` build): the core's
 * connect phase on the demo plan reaches the demo lab and its preflight shows the MAC the
 * scenario changed; its runs are demo runs whose host logs come from the lab; a real plan
 * is kept away from the lab however it writes the lab's address; another plan saved in the
 * demo workspace is refused. Each test makes the runs and plans it looks at.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app/index.js';
import { demoOptionsFromArgv, type DemoSession } from '../../src/demo/index.js';
import type { LogBundleManifest } from '../../src/logbundle/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { planToYaml } from '../../src/plan/save.js';
import { assetPath } from '../../src/util/assets.js';
import { startDemoCore } from '../support/demo-core.js';

let top: string;
let session: DemoSession;
let core: Core;
let elsewhere: string;

beforeAll(async () => {
  // The front works in `top`: the demo workspace and a folder of real plans beside it.
  top = await mkdtemp(join(tmpdir(), 'ustart-demo-serve-'));
  elsewhere = join(top, 'real');
  await mkdir(elsewhere);
  ({ session, core } = await startDemoCore(top, {
    speed: 2000,
    scenario: { macMismatch: ['cmp-02'] },
  }));
}, 60_000);

afterAll(async () => {
  await core?.dispose();
  await session?.dispose();
  if (top) await rm(top, { recursive: true, force: true });
});

/** A connect phase on the demo plan: a demo run of its own, and what it found. */
async function gather() {
  const r = await core.client.connectGather({ planFile: session.planFile });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** A real plan, outside the demo workspace, whose ctl-01 is reached at `address:port`. */
async function realPlanAt(name: string, address: string, port: number): Promise<string> {
  const { plan } = await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'));
  plan!.servers[0]!.ssh = { address, port };
  const file = join(elsewhere, name);
  await writeFile(file, planToYaml(plan!));
  return file;
}

describe('the demo site in a front', () => {
  it('--mac-mismatch HOST: the connect phase against the demo lab reports facts-mac-differs for that host only', async () => {
    const report = await gather();
    expect(report.state).toBe('succeeded');
    const macs = report.findings.filter((f) => f.rule === 'facts-mac-differs');
    expect(macs.length).toBeGreaterThan(0);
    for (const f of macs) expect(f.message).toMatch(/^cmp-02: /);
    // The other hosts match the plan, and the demo's network check is clean.
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual(macs);
    expect(report.findings.some((f) => f.rule.startsWith('net-'))).toBe(false);
    // The demo hosts are fresh servers: the preflight's OS checks find nothing on them.
    expect(report.findings.filter((f) => f.rule.startsWith('preflight-'))).toEqual([]);
    const cmp02 = report.hosts.find((h) => h.host === 'cmp-02')!;
    expect(cmp02.facts?.macs).not.toEqual(cmp02.planned.macs);
  }, 60_000);

  it('records the demo plan runs as demo runs and tells the front which plan is the demo', async () => {
    const { runId } = await gather();
    const runs = await core.client.runList({ planFile: session.planFile });
    if (!runs.ok) throw new Error(runs.error.message);
    expect(runs.value.runs.map((r) => r.runId)).toContain(runId);
    for (const run of runs.value.runs) expect(run.demo).toBe(true);
    const info = await core.client.appInfo();
    expect(info.ok && info.value.demo).toEqual({ planFile: session.planFile });
  }, 60_000);

  it('collects the host logs of a demo run from the demo lab', async () => {
    const { runId } = await gather();
    const out = join(elsewhere, 'demo-logs.zip');
    const r = await core.client.logsCollect({ planFile: session.planFile, runId, out });
    if (!r.ok) throw new Error(r.error.message);
    const entries = unzipSync(new Uint8Array(await readFile(out)));
    const manifest = JSON.parse(
      strFromU8(entries[`ustart-logs-${runId}/manifest.json`]!),
    ) as LogBundleManifest;
    const planned = (await loadPlanFile(session.planFile)).plan!.servers.map((s) => s.hostname);
    expect(manifest.hosts.map((h) => h.host).sort()).toEqual([...planned].sort());
    for (const h of manifest.hosts) {
      expect(h.error).toBeUndefined();
      expect(h.status).toBe('collected');
    }
    const file = (path: string) => strFromU8(entries[`ustart-logs-${runId}/hosts/ctl-01/${path}`]!);
    // Before the install nothing runs kubelet; the kernel log is the demo host's own.
    expect(file('journal/kubelet.log')).toBe('-- No entries --\n');
    expect(file('kernel.log')).toMatch(/^\d{4}-\d\d-\d\dT[\d:,]+\+00:00 Linux version /);
  }, 60_000);

  it('a real plan pointed at a demo lab port is refused, however the address is written', async () => {
    const lab = session.lab.targets.get('ctl-01')!;
    for (const [i, address] of [
      lab.address,
      'localhost',
      '0.0.0.0',
      '::ffff:127.0.0.1',
      '127.0.0.2',
    ].entries()) {
      const real = await realPlanAt(`real-${i}.yaml`, address, lab.port);
      expect(await session.route.owns(real)).toBe(false);
      const r = await core.client.connectCheck({ planFile: real, hosts: ['ctl-01'] });
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value.hosts[0], address).toMatchObject({ host: 'ctl-01', state: 'unreachable' });
      expect(r.value.hosts[0]!.message, address).toContain('demo lab');
    }
    expect(await session.route.owns(assetPath('samples', 'demo-stuttgart.yaml'))).toBe(false);
  });

  it('a real plan whose jump host is a demo lab port is refused', async () => {
    const lab = session.lab.targets.get('ctl-01')!;
    const { plan } = await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'));
    plan!.access.jumpHost = { address: 'localhost', port: lab.port };
    const real = join(elsewhere, 'real-jump.yaml');
    await writeFile(real, planToYaml(plan!));
    const r = await core.client.connectCheck({ planFile: real, hosts: ['ctl-01'] });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.hosts[0]).toMatchObject({ host: 'ctl-01', state: 'unreachable' });
    expect(r.value.hosts[0]!.message).toContain('jump host');
  });

  it('another plan saved in the demo workspace (Save As) is refused, not run against real hosts', async () => {
    const { plan } = await loadPlanFile(session.planFile);
    const copy = join(session.workspace, 'my-site.yaml');
    await writeFile(copy, planToYaml(plan!));
    await expect(session.route.owns(copy)).rejects.toMatchObject({ code: 'DemoRefused' });
    const r = await core.client.connectCheck({ planFile: copy, hosts: ['ctl-01'] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('DemoRefused');
    expect(r.error.message).toContain('outside the demo workspace');
  });

  it('owns the demo plan by its real path, through a symlinked folder too', async () => {
    const link = join(elsewhere, 'workspace-link');
    await symlink(session.workspace, link);
    expect(await session.route.owns(join(link, basename(session.planFile)))).toBe(true);
    await expect(session.route.owns(join(link, 'other.yaml'))).rejects.toMatchObject({
      code: 'DemoRefused',
    });
  });

  it('reads the desktop app demo switches from argv; no --demo, no demo', () => {
    expect(demoOptionsFromArgv(['/usr/bin/electron', '.', '--no-sandbox'])).toBeUndefined();
    expect(
      demoOptionsFromArgv([
        'electron',
        '.',
        '--demo',
        '--speed=20',
        '--inject-failure',
        'umetal.cni@ctl-01',
        '--mac-mismatch',
        'cmp-02',
      ]),
    ).toEqual({
      speed: 20,
      scenario: { injectFailures: ['umetal.cni@ctl-01'], unreachable: [], macMismatch: ['cmp-02'] },
    });
    expect(() => demoOptionsFromArgv(['--demo', '--speed', '0'])).toThrow(/--speed 0/);
  });
});

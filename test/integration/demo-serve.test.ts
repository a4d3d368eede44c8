/**
 * The demo site in a front (what `ustart serve --demo` and `npm start` build): the core's
 * connect phase on the demo plan reaches the demo lab and its preflight shows the MAC the
 * scenario changed; its runs are demo runs; a real plan is kept away from the lab.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/app/index.js';
import { demoOptionsFromArgv, startDemoSession, type DemoSession } from '../../src/demo/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { planToYaml } from '../../src/plan/save.js';
import { assetPath } from '../../src/util/assets.js';

let session: DemoSession;
let core: Core;
let elsewhere: string;

beforeAll(async () => {
  session = await startDemoSession({ speed: 2000, scenario: { macMismatch: ['cmp-02'] } });
  elsewhere = await mkdtemp(join(tmpdir(), 'ustart-demo-serve-real-'));
  core = createCore({
    mode: 'test',
    stateDir: join(session.workspace, '.ustart-app'),
    root: session.workspace,
    demo: { planFile: session.planFile },
    operate: { route: session.route, readOnlyKnownHosts: [], sshConfigFile: null },
  });
}, 60_000);

afterAll(async () => {
  await core?.dispose();
  await session?.dispose();
  if (elsewhere) await rm(elsewhere, { recursive: true, force: true });
});

describe('the demo site in a front', () => {
  it('--mac-mismatch HOST: the connect phase against the demo lab reports facts-mac-differs for that host only', async () => {
    const r = await core.client.connectGather({ planFile: session.planFile });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.state).toBe('succeeded');
    const macs = r.value.findings.filter((f) => f.rule === 'facts-mac-differs');
    expect(macs.length).toBeGreaterThan(0);
    for (const f of macs) expect(f.message).toMatch(/^cmp-02: /);
    // The other hosts match the plan, and the demo's network check is clean.
    expect(r.value.findings.filter((f) => f.severity === 'error')).toEqual(macs);
    expect(r.value.findings.some((f) => f.rule.startsWith('net-'))).toBe(false);
    const cmp02 = r.value.hosts.find((h) => h.host === 'cmp-02')!;
    expect(cmp02.facts?.macs).not.toEqual(cmp02.planned.macs);
  }, 60_000);

  it('records the demo plan runs as demo runs and tells the front which plan is the demo', async () => {
    const runs = await core.client.runList({ planFile: session.planFile });
    if (!runs.ok) throw new Error(runs.error.message);
    expect(runs.value.runs.length).toBeGreaterThan(0);
    for (const run of runs.value.runs) expect(run.demo).toBe(true);
    const info = await core.client.appInfo();
    expect(info.ok && info.value.demo).toEqual({ planFile: session.planFile });
  });

  it('a real plan pointed at a demo lab port is refused, not connected', async () => {
    const { plan } = await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'));
    const lab = session.lab.targets.get('ctl-01')!;
    plan!.servers[0]!.ssh = { address: lab.address, port: lab.port };
    // Beside the demo plan, but not the plan its marker names: a real plan.
    const real = join(session.workspace, 'real-site.yaml');
    await writeFile(real, planToYaml(plan!));
    expect(await session.route.owns(real)).toBe(false);
    expect(await session.route.owns(assetPath('samples', 'demo-stuttgart.yaml'))).toBe(false);
    const r = await core.client.connectCheck({ planFile: real, hosts: ['ctl-01'] });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.hosts[0]).toMatchObject({ host: 'ctl-01', state: 'unreachable' });
    expect(r.value.hosts[0]!.message).toContain('demo lab');
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

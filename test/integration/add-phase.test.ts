/**
 * Adding a phase touches only the runbook's files (docs/runbook-format.md, "Adding a phase"):
 * a copy of the default runbook with a fourth install phase, `uview` after uGarden, declared
 * in phases.yaml and given one step in uview.yaml (and a reset), shows up in `run:phases`,
 * in the step specs in run order, in the CLI's --phase choices and in the demo's phases —
 * with no change to any code. The copy is found through USTART_ASSETS, as a packaged app
 * finds its assets.
 */
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../src/api/index.js';
import { createCore } from '../../src/app/core.js';
import { main } from '../../src/cli/main.js';
import { bufferOutput } from '../../src/cli/output.js';
import { demoPhases } from '../../src/demo/index.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { sitePhases, stepSpecsFor } from '../../src/render/step-specs.js';

const ASSETS = join(import.meta.dirname, '..', '..', 'assets');
const DEMO_PLAN = join(ASSETS, 'samples', 'demo-stuttgart.yaml');

const UVIEW_PHASE = `  - id: uview
    label: { en: uView, de: uView }
    reset: true
    needs: [ugarden]
`;

const UVIEW_STEPS = `phase: uview
steps:
  - id: uview.dashboard
    title: Start the site dashboard
    description: >-
      Starts the dashboard that shows the site's clusters.
    target: first-controller
    run: scripts/uview/dashboard.sh
`;

const RESET_UVIEW_STEPS = `phase: reset-uview
steps:
  - id: reset-uview.dashboard
    title: Remove the site dashboard
    description: >-
      Removes the dashboard uview.dashboard started.
    target: first-controller
    run: scripts/uview/dashboard-reset.sh
`;

let dir: string;
let before: string | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-add-phase-'));
  const assets = join(dir, 'assets');
  await mkdir(assets);
  await symlink(join(ASSETS, 'samples'), join(assets, 'samples'));
  await symlink(join(ASSETS, 'demo'), join(assets, 'demo'));
  const runbook = join(assets, 'runbook');
  await cp(join(ASSETS, 'runbook'), runbook, { recursive: true });
  // The only changes: runbook files.
  const phases = await readFile(join(runbook, 'phases.yaml'), 'utf8');
  await writeFile(join(runbook, 'phases.yaml'), `${phases}${UVIEW_PHASE}`);
  await writeFile(join(runbook, 'uview.yaml'), UVIEW_STEPS);
  await writeFile(join(runbook, 'reset-uview.yaml'), RESET_UVIEW_STEPS);
  await mkdir(join(runbook, 'scripts', 'uview'));
  await writeFile(join(runbook, 'scripts', 'uview', 'dashboard.sh'), 'true\n');
  await writeFile(join(runbook, 'scripts', 'uview', 'dashboard-reset.sh'), 'true\n');
  before = process.env.USTART_ASSETS;
  process.env.USTART_ASSETS = assets;
});

afterAll(async () => {
  if (before === undefined) delete process.env.USTART_ASSETS;
  else process.env.USTART_ASSETS = before;
  await rm(dir, { recursive: true, force: true });
});

describe('a fourth phase added as runbook files only', () => {
  it('is served by run:phases after uGarden, with its reset first among the resets', async () => {
    const core = createCore({ mode: 'test', stateDir: join(dir, 'state'), root: dir });
    try {
      const { phases } = unwrap(await core.client.runPhases({}));
      expect(phases.map((p) => p.id)).toEqual([
        'os-install',
        'connect',
        'umetal',
        'ustack',
        'ugarden',
        'uview',
        'reset-uview',
        'reset-ugarden',
        'reset-ustack',
        'reset-umetal',
      ]);
      expect(phases.find((p) => p.id === 'uview')).toEqual({
        id: 'uview',
        label: { en: 'uView', de: 'uView' },
        readOnly: false,
        reset: 'reset-uview',
        needs: ['ugarden'],
      });
    } finally {
      await core.dispose();
    }
  });

  it('runs its steps after every uGarden step, and is an install phase of the demo', async () => {
    const { plan } = await loadPlanFile(DEMO_PLAN);
    if (!plan) throw new Error(`${DEMO_PLAN} does not parse`);
    const specs = await stepSpecsFor(plan, { phases: ['ugarden', 'uview'] });
    const dashboard = specs.find((s) => s.id === 'uview.dashboard')!;
    expect(specs.at(-1)).toBe(dashboard);
    expect(dashboard.phase).toBe('uview');
    // A phase's first steps wait for the whole phase before (toStepSpecs).
    const garden = specs.filter((s) => s.phase === 'ugarden').map((s) => s.id);
    expect(garden.length).toBeGreaterThan(0);
    expect(dashboard.after).toEqual(garden);
    expect(demoPhases()).toEqual(['os-install', 'connect', 'umetal', 'ustack', 'ugarden', 'uview']);
    expect(sitePhases().map((p) => p.id)).toContain('reset-uview');
  });

  it('is a --phase choice of the CLI, in its help and in its check', async () => {
    const help = bufferOutput();
    await main(['node', 'ustart', 'run', '--help'], help);
    const text = (help.out + help.err).replace(/\s+/g, ' ');
    expect(text).toContain('ugarden, uview, reset-uview, reset-ugarden');
    const wrong = bufferOutput();
    expect(await main(['node', 'ustart', 'run', DEMO_PLAN, '--phase', 'uveiw'], wrong)).not.toBe(0);
    expect(wrong.err).toContain('--phase uveiw: there is no such phase; the phases are');
    expect(wrong.err).toContain('uview');
  });
});

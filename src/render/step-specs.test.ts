import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { bindLocalActions, checkGraph, type StepSpec } from '../engine/index.js';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { assetPath } from '../util/assets.js';
import { runbookStepSource, stepSpecsFor } from './step-specs.js';

let plan: Plan;
let specs: StepSpec[];
beforeAll(async () => {
  plan = (await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'))).plan!;
  specs = await stepSpecsFor(plan);
});

describe('the runbook as the engine step graph', () => {
  it('is a graph the engine accepts, phase by phase', async () => {
    // The OS install is a local action: the front binds it, or the graph does not start.
    expect(() => checkGraph(specs)).toThrow(/"umetal\.os-install" is the local action/);
    checkGraph(bindLocalActions(specs, { 'os-install': { run: () => Promise.resolve() } }));
    const umetal = await stepSpecsFor(plan, { phases: ['umetal'] });
    checkGraph(umetal);
    expect(umetal.every((s) => s.phase === 'umetal')).toBe(true);
    expect(umetal.map((s) => s.id)).toContain('umetal.kubeadm-init');
  });

  it('makes the OS install the first phase: a local action with no upload, before connect', () => {
    const install = specs[0]!;
    expect(install).toMatchObject({
      id: 'umetal.os-install',
      phase: 'os-install',
      localAction: 'os-install',
      parallelism: 4,
      targets: plan.servers.map((s) => s.hostname),
    });
    expect(install.uploads).toBeUndefined();
    expect(install.check).toBeUndefined();
    expect(install.sudo).toBeUndefined();
    expect(specs.find((s) => s.id === 'connect.facts')!.after).toEqual(['umetal.os-install']);
  });

  it('resolves targets to the plan hosts and passes the join material as an engine input', () => {
    const init = specs.find((s) => s.id === 'umetal.kubeadm-init')!;
    expect(init.outputs).toEqual([{ name: 'join', path: '/var/lib/ustart/out/join.env' }]);
    const join = specs.find((s) => s.id === 'umetal.join-controllers')!;
    expect(join.targets).toEqual(['ctl-02', 'ctl-03']);
    expect(join.inputs).toEqual(['join']);
    expect(join.secrets).toBeUndefined();
    expect(join.run).toBe(
      'export USTART_IN_JOIN; bash /var/lib/ustart/steps/umetal.join-controllers/run.sh',
    );
    expect(join.parallelism).toBe(1);
    expect(join.sudo).toBe(true);
  });

  it('uploads every host its own folder and the digest marker last', () => {
    const join = specs.find((s) => s.id === 'umetal.join-workers')!;
    const paths = join.uploads!.map((u) => u.path);
    expect(paths.at(-1)).toBe('/var/lib/ustart/steps/umetal.join-workers/uploads.sha256');
    for (const host of join.targets as string[]) {
      expect(paths).toContain(`/var/lib/ustart/hosts/${host}/env`);
      expect(paths).toContain(
        `/var/lib/ustart/hosts/${host}/steps/umetal.join-workers/files/etc/ustart/kubeadm/join.yaml`,
      );
    }
    expect(new Set(paths).size).toBe(paths.length);
    const digest = join.uploads!.at(-1)!.content as string;
    expect(join.check).toMatch(/^mkdir -p \/var\/lib\/ustart /);
    expect(join.check).toContain(
      ` && test "$(cat /var/lib/ustart/steps/umetal.join-workers/uploads.sha256 2>/dev/null)" = ${digest} && bash /var/lib/ustart/steps/umetal.join-workers/check.sh`,
    );
    // Every upload's folder is made before the upload (the transport does not make folders).
    for (const p of paths) expect(join.check).toContain(` ${p.slice(0, p.lastIndexOf('/'))}`);
  });

  it('has check commands a real bash parses', () => {
    for (const s of specs) {
      for (const command of [s.check, s.run]) {
        if (!command) continue;
        const r = spawnSync('bash', ['-n', '-c', command], { encoding: 'utf8' });
        expect(r.status, `${s.id}: ${r.stderr}`).toBe(0);
      }
    }
  });

  it('changes the digest, and so never skips, when a planned value changes', async () => {
    const changed = structuredClone(plan);
    changed.kubernetes.podCidr = '10.248.0.0/16';
    const again = await stepSpecsFor(changed, { phases: ['umetal'] });
    const before = specs.find((s) => s.id === 'umetal.kubeadm-init')!.check;
    expect(again.find((s) => s.id === 'umetal.kubeadm-init')!.check).not.toBe(before);
    expect(again.find((s) => s.id === 'umetal.swap-off')!.check).not.toBe(
      specs.find((s) => s.id === 'umetal.swap-off')!.check,
    );
  });

  it('serves the CLI as a step source; only the connect phase is read-only', async () => {
    const connect = runbookStepSource(['connect']);
    expect(connect.readOnly).toBe(true);
    expect((await connect({ plan, planFile: 'demo.yaml' })).map((s) => s.id)).toEqual([
      'connect.facts',
      'connect.netcheck',
    ]);
    expect(runbookStepSource(['connect', 'umetal']).readOnly).toBe(false);
  });
});

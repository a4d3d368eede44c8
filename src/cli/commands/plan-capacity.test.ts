import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeCapacity } from '../../plan/capacity.js';
import { loadPlanFile } from '../../plan/index.js';
import { assetPath } from '../../util/assets.js';
import { runCli as run } from '../../../test/support/run-cli.js';

const DEMO = assetPath('samples', 'demo-stuttgart.yaml');

describe('ustart plan capacity', () => {
  it('prints the figures, the worst rack and the assumptions', async () => {
    const r = await run('plan', 'capacity', DEMO);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/vCPUs \(4:1\)\s+4032\s+2016\n/);
    expect(r.out).toMatch(/Ceph raw, TB\s+92\.16\s+30\.72\n/);
    expect(r.out).toMatch(/Ceph usable, TB \(replica 3\)\s+30\.72\s+0\.00\n/);
    expect(r.out).toContain(
      'Worst single rack failure: R01 (5 servers); the control plane and the Ceph monitors keep their quorum.',
    );
    expect(r.out).toContain('Assumptions:');
    expect(r.out).toContain('CPU overcommit of 4:1');
  });

  it('prints the same report as JSON, with overridden assumptions', async () => {
    const r = await run(
      'plan',
      'capacity',
      DEMO,
      '--json',
      '--cpu-overcommit',
      '8',
      '--replicas',
      '2',
    );
    expect(r.code).toBe(0);
    const plan = (await loadPlanFile(DEMO)).plan!;
    expect(JSON.parse(r.out)).toEqual({
      file: DEMO,
      ...JSON.parse(JSON.stringify(computeCapacity(plan, { cpuOvercommit: 8, cephReplicas: 2 }))),
    });
    expect(JSON.parse(r.out).total.compute.vcpus).toBe((256 - 4) * 8 * 4);
  });

  it('names a lost quorum as the worst rack failure', async () => {
    // The demo before issue 17: ctl-03 beside ctl-01 in R01.
    const dir = await mkdtemp(join(tmpdir(), 'ustart-capacity-'));
    try {
      const text = (await readFile(DEMO, 'utf8')).replace(
        /hostname: ctl-03\n {4}rack: R03\n {4}position: 40/,
        'hostname: ctl-03\n    rack: R01\n    position: 38',
      );
      expect(text).toContain('hostname: ctl-03\n    rack: R01');
      await writeFile(join(dir, 'plan.yaml'), text);
      const r = await run('plan', 'capacity', join(dir, 'plan.yaml'));
      expect(r.code).toBe(0);
      expect(r.out).toContain(
        'Worst single rack failure: R01 (6 servers); the control plane loses its quorum (2 of 3 controllers are in it).',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a nonsensical ratio with exit 2', async () => {
    const r = await run('plan', 'capacity', DEMO, '--cpu-overcommit', 'many');
    expect(r.code).toBe(2);
    expect(r.err).toContain('must be a number above 0');
  });
});

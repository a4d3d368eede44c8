import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assetPath } from '../../util/assets.js';
import { EXIT, main } from '../main.js';
import { bufferOutput } from '../output.js';

const DEMO = assetPath('samples', 'demo-stuttgart.yaml');
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-render-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ustart render', () => {
  it('writes the render of a valid plan and says where', async () => {
    const out = bufferOutput();
    const code = await main(['node', 'ustart', 'render', DEMO, '--out', join(dir, 'r')], out);
    expect(out.err).toBe('');
    expect(code).toBe(EXIT.ok);
    expect(out.out).toMatch(/rendered \d+ steps for 10 hosts into .*\/r \(\d+ files\)/);
    const index = JSON.parse(await readFile(join(dir, 'r', 'index.json'), 'utf8')) as {
      steps: Array<{ id: string; hosts: string[] }>;
    };
    expect(index.steps.find((s) => s.id === 'umetal.kubeadm-init')?.hosts).toEqual(['ctl-01']);
  });

  it('refuses a plan with errors, showing them', async () => {
    const text = (await readFile(DEMO, 'utf8')).replace(
      'controlPlaneVip: 10.10.0.5',
      'controlPlaneVip: 10.10.0.11',
    );
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, text);
    const out = bufferOutput();
    const code = await main(['node', 'ustart', 'render', bad, '--out', join(dir, 'r')], out);
    expect(code).toBe(EXIT.invalid);
    expect(out.err).toContain('fix the plan');
  });
});

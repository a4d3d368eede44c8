/** Shared set-up for the bundle tests: a temp folder, a plan, keys and small input files. */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlanFile } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/schema.js';
import { assetPath } from '../../src/util/assets.js';
import {
  createBundle,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  type CreateBundleOptions,
  type CreatedBundle,
} from '../../src/bundle/index.js';

export const CREATED_AT = new Date('2026-01-01T00:00:00Z');

export interface BundleFixture {
  dir: string;
  plan: Plan;
  keyPrefix: string;
  privateKey: Awaited<ReturnType<typeof loadPrivateKey>>;
  publicKey: Awaited<ReturnType<typeof loadPublicKey>>;
  /** Input files: a 3 MiB "binary", a text file, a folder of charts; an empty runbook folder. */
  inputs: { binary: string; text: string; charts: string; runbook: string };
  /** Builds an --only-added bundle of the inputs at `out` (folder, or FILE.tar). */
  build(out: string, extra?: Partial<CreateBundleOptions>): Promise<CreatedBundle>;
  dispose(): Promise<void>;
}

export async function bundleFixture(
  osRelease: Plan['site']['osRelease'] = 'debian-12',
): Promise<BundleFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-bundle-test-'));
  try {
    const parsed = await loadPlanFile(assetPath('samples', 'demo-stuttgart.yaml'));
    if (!parsed.plan) throw new Error('the demo plan does not load');
    const plan: Plan = { ...parsed.plan, site: { ...parsed.plan.site, osRelease } };
    const keyPrefix = join(dir, 'signing');
    await generateKeyPair(keyPrefix);
    const inputs = {
      binary: join(dir, 'in', 'kubeadm'),
      text: join(dir, 'in', 'notes.txt'),
      charts: join(dir, 'in', 'charts'),
      runbook: join(dir, 'in', 'runbook'),
    };
    await mkdir(inputs.charts, { recursive: true });
    await mkdir(inputs.runbook, { recursive: true });
    await writeFile(inputs.binary, randomBytes(3 * 1024 * 1024 + 17));
    await writeFile(inputs.text, 'site notes\n');
    await writeFile(join(inputs.charts, 'cilium-1.16.tgz'), randomBytes(70_000));
    await writeFile(join(inputs.charts, 'rook-ceph-1.15.tgz'), randomBytes(90_001));
    await writeFile(join(inputs.runbook, 'runbook.yaml'), 'steps: []\n');
    const privateKey = await loadPrivateKey(`${keyPrefix}.key`);
    const publicKey = await loadPublicKey(`${keyPrefix}.pub`);
    return {
      dir,
      plan,
      keyPrefix,
      privateKey,
      publicKey,
      inputs,
      build: (out, extra = {}) =>
        createBundle({
          plan,
          out,
          privateKey,
          onlyAdded: true,
          createdAt: CREATED_AT,
          architecture: 'amd64',
          runbookDir: inputs.runbook,
          add: [
            { kind: 'binary', path: inputs.binary },
            { kind: 'file', path: inputs.text },
            { kind: 'chart', path: inputs.charts },
          ],
          ...extra,
        }),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

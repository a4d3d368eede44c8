import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { assetPath } from '../../src/util/assets.js';
import { runCli } from '../support/run-cli.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-airgap-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('refuses to run an air-gapped site without a verified bundle, before touching any host', async () => {
  const demo = await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8');
  const plan = join(dir, 'site.yaml');
  await writeFile(plan, demo.replace('airGapped: false', 'airGapped: true'));
  const result = await runCli('run', plan, '--runs-dir', join(dir, 'runs'));
  expect(result.code).toBe(2);
  expect(result.err).toMatch(/air-gapped.*--bundle PATH --bundle-key PUB/);
  const missingKey = await runCli(
    'run',
    plan,
    '--bundle',
    join(dir, 'nope'),
    '--runs-dir',
    join(dir, 'runs'),
  );
  expect(missingKey.code).toBe(2);
  expect(missingKey.err).toMatch(/air-gapped/);
});

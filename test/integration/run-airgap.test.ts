import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { registerRun } from '../../src/cli/commands/run.js';
import { bufferOutput } from '../../src/cli/output.js';
import type { StepSource } from '../../src/engine/index.js';
import { isUstartError } from '../../src/errors.js';
import { assetPath } from '../../src/util/assets.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-airgap-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `ustart run` with an install graph (not read-only), as the runbook gives it. */
async function run(args: string[]): Promise<unknown> {
  let asked = 0;
  const install: StepSource = async () => {
    asked++;
    return [{ id: 'install', title: 'install', phase: 'umetal', targets: 'all', run: 'true' }];
  };
  const program = new Command('ustart').exitOverride();
  registerRun(program, bufferOutput(), () => undefined, install);
  try {
    await program.parseAsync(['node', 'ustart', 'run', ...args]);
  } catch (e) {
    expect(asked, 'the step graph is not even built').toBe(0);
    return e;
  }
  throw new Error('ustart run should have refused');
}

it('refuses to install an air-gapped site without a verified bundle, before touching any host', async () => {
  const demo = await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8');
  const plan = join(dir, 'site.yaml');
  await writeFile(plan, demo.replace('airGapped: false', 'airGapped: true'));
  const runs = join(dir, 'runs');

  const none = await run([plan, '--runs-dir', runs]);
  expect(isUstartError(none, 'BundleRequired')).toBe(true);
  expect((none as Error).message).toMatch(/air-gapped.*--bundle PATH --bundle-key PUB/);

  await writeFile(join(dir, 'bundle.pub'), 'not a key');
  const missing = await run([
    plan,
    '--bundle',
    join(dir, 'nope'),
    '--bundle-key',
    join(dir, 'bundle.pub'),
    '--runs-dir',
    runs,
  ]);
  expect(isUstartError(missing)).toBe(true);
  expect((missing as Error).message).toMatch(/bundle/i);
});

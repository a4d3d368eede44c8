/**
 * The demo workspace: a copy of the demo site's plan, marked as one, that only the demo lab
 * runs (src/app/demo-run.ts runs a whole install against it).
 */
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { UstartError } from '../errors.js';
import { assetPath } from '../util/assets.js';

/** The file beside a demo plan that marks it as one (and its folder as a demo workspace). */
export const DEMO_MARKER = '.ustart-demo.json';
export const DEMO_SAMPLE = 'demo-stuttgart.yaml';

/**
 * Makes (or reuses) a demo workspace: a copy of the demo site's plan with the marker beside
 * it. The sample in assets/ is never run, so it is never changed.
 */
export async function createDemoWorkspace(
  dir?: string,
): Promise<{ dir: string; planFile: string }> {
  const workspace = dir ? resolve(dir) : await mkdtemp(join(tmpdir(), 'ustart-demo-'));
  await mkdir(workspace, { recursive: true });
  const planFile = join(workspace, DEMO_SAMPLE);
  const marker = join(workspace, DEMO_MARKER);
  const existing = await readFile(marker, 'utf8').catch(() => undefined);
  if (!existing) {
    await copyFile(assetPath('samples', DEMO_SAMPLE), planFile);
    await writeFile(marker, `${JSON.stringify({ demo: true, plan: DEMO_SAMPLE }, null, 2)}\n`);
  }
  return { dir: workspace, planFile };
}

/** Refuses a plan that is not a demo workspace's copy: the demo lab never stands in for a real site. */
export async function assertDemoPlan(planFile: string): Promise<void> {
  const marker = join(dirname(resolve(planFile)), DEMO_MARKER);
  let plan: unknown;
  try {
    plan = (JSON.parse(await readFile(marker, 'utf8')) as { plan?: unknown }).plan;
  } catch {
    plan = undefined;
  }
  if (plan !== basename(planFile)) {
    throw new UstartError(
      'DemoRefused',
      `${planFile} is not a demo plan (no ${DEMO_MARKER} naming it beside it), so it is not run against the demo lab. Real sites run with "ustart run ${planFile}"; the demo runs with "ustart demo".`,
      { detail: { file: planFile } },
    );
  }
}

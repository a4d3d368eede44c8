/**
 * A whole install against the demo lab, with the real engine, the real Ssh2Transport and
 * the real runbook: what `ustart demo` runs and what the UI's demo mode can reuse.
 */
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import {
  RunEngine,
  defaultRunsDir,
  type RunEvent,
  type RunResult,
  type StepSpec,
} from '../engine/index.js';
import { firstController, resolverFromPlan } from '../engine/plan-targets.js';
import { UstartError } from '../errors.js';
import { checkPlanFile, type Plan } from '../plan/index.js';
import type { HostTarget, Transport } from '../ssh/transport.js';
import { assetPath } from '../util/assets.js';
import { startDemoLab, type DemoScenario } from './lab.js';
import { demoSteps } from './steps.js';
import { DemoTransport } from './transport.js';

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

export interface DemoRunOptions {
  /** The demo workspace; a new temp folder when absent. */
  dir?: string;
  speed?: number;
  scenario?: DemoScenario;
  seed?: string;
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
  /** What the demo itself does and says (an automatic retry, a scenario's effect). */
  onNote?: (text: string) => void;
  /** The steps to run; the default runbook's install phases when absent. */
  steps?: (plan: Plan) => Promise<StepSpec[]>;
  /**
   * Called after the run while the demo hosts are still up, with a way to reach them
   * (`ustart demo` reads the install summary's address from the first controller here).
   */
  afterRun?: (site: {
    plan: Plan;
    planFile: string;
    transport: Transport;
    hosts: ReadonlyMap<string, HostTarget>;
    result: RunResult;
  }) => Promise<void>;
}

export interface DemoRunResult extends RunResult {
  planFile: string;
  workspace: string;
}

export async function runDemo(options: DemoRunOptions = {}): Promise<DemoRunResult> {
  const { dir, planFile } = await createDemoWorkspace(options.dir);
  await assertDemoPlan(planFile);
  const checked = await checkPlanFile(planFile);
  const plan = checked.plan;
  if (!plan || !checked.valid) {
    throw new UstartError(
      'PlanInvalid',
      `the demo plan ${planFile} has errors; run "ustart validate ${planFile}".`,
    );
  }
  const speed = options.speed ?? 1;
  const steps = await (options.steps ?? demoSteps)(plan);
  const lab = await startDemoLab(plan, {
    speed,
    steps,
    ...(options.scenario ? { scenario: options.scenario } : {}),
    ...(options.seed ? { seed: options.seed } : {}),
    stateDir: dir,
  });
  const transport = new DemoTransport(lab);
  const note = options.onNote ?? (() => undefined);
  try {
    const first = firstController(plan);
    const engine = new RunEngine({
      transport,
      runsDir: defaultRunsDir(planFile),
      steps,
      hosts: lab.targets,
      resolveTargets: resolverFromPlan(plan),
      planFile,
      planText: await readFile(planFile, 'utf8'),
      demo: true,
      pauseOnFailure: true,
      retryDelayMs: (attempt) => Math.min(2000 * 2 ** (attempt - 2), 60_000) / speed,
      clusterLock: first ? { host: first } : false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const retried = new Set<string>();
    const sub = engine.subscribe((e) => {
      options.onEvent?.(e);
      if (e.type !== 'run-paused' || e.reason !== 'step-failed') return;
      // Answer the pause as a consultant would: retry once, then stop.
      const again = retried.has(e.stepId);
      retried.add(e.stepId);
      queueMicrotask(() => {
        if (!engine.paused) return;
        note(
          again
            ? `step ${e.stepId} failed again: stopping the run.`
            : `step ${e.stepId} failed: retrying it on the failed hosts, as a consultant would.`,
        );
        engine.decide(again ? { kind: 'stop' } : { kind: 'retry' });
      });
    });
    try {
      const result = await engine.run();
      await options.afterRun?.({ plan, planFile, transport, hosts: lab.targets, result });
      return { ...result, planFile, workspace: dir };
    } finally {
      sub.dispose();
    }
  } finally {
    await transport.dispose();
    await lab.dispose();
  }
}

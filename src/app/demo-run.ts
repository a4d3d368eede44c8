/**
 * A whole install against the demo lab, with the real engine, the real Ssh2Transport and
 * the real runbook: what `ustart demo` runs. It starts its run with the one launcher
 * (./run-launch.ts), like every other front.
 */
import { readFile } from 'node:fs/promises';
import { bindLocalActions, type RunEvent, type RunResult, type StepSpec } from '../engine/index.js';
import { UstartError } from '../errors.js';
import { checkPlanFile, type Plan } from '../plan/index.js';
import type { HostTarget, Transport } from '../ssh/transport.js';
import { startDemoLab, type DemoScenario } from '../demo/lab.js';
import { assertDemoPlan, createDemoWorkspace } from '../demo/run.js';
import { demoOsInstall } from '../demo/os-install.js';
import { demoSteps } from '../demo/steps.js';
import { DemoTransport } from '../demo/transport.js';
import { launchRun } from './run-launch.js';

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
  // The demo hosts run an OS: the os-install phase probes them and skips each (demo/os-install.ts).
  const bound = bindLocalActions(steps, { 'os-install': demoOsInstall(lab) });
  const transport = new DemoTransport(lab);
  const note = options.onNote ?? (() => undefined);
  try {
    const engine = launchRun({
      plan,
      planFile,
      planText: await readFile(planFile, 'utf8'),
      steps: bound,
      transport,
      hosts: lab.targets,
      demo: true,
      pauseOnFailure: true,
      retryDelayMs: (attempt) => Math.min(2000 * 2 ** (attempt - 2), 60_000) / speed,
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

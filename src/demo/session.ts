/**
 * The demo site in a front (`ustart serve --demo`, `npm start`): a demo workspace, the demo
 * lab started in this process, and the route that sends the demo plan's connections to the
 * lab and keeps every other plan's connections away from it (docs/demo.md, "Safety rules").
 */
import { realpath, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { HostRoute } from '../engine/plan-targets.js';
import { UstartError } from '../errors.js';
import { checkPlanFile, type Plan } from '../plan/index.js';
import type { HostConnection, HostTarget, Transport } from '../ssh/transport.js';
import { startDemoLab, type DemoLab, type DemoScenario } from './lab.js';
import { assertDemoPlan, createDemoWorkspace } from './run.js';
import { demoSteps } from './steps.js';
import { DemoTransport } from './transport.js';

export interface DemoSessionOptions {
  /** The demo workspace; a new temp folder (removed on dispose) when absent. */
  dir?: string;
  speed?: number;
  scenario?: DemoScenario;
  seed?: string;
}

export interface DemoSession {
  /** The demo plan: the workspace's copy of the demo site. */
  readonly planFile: string;
  readonly workspace: string;
  readonly lab: DemoLab;
  /** For the core (`hostPages.route`): the demo plan reaches the lab, other plans never do. */
  readonly route: HostRoute;
  /** Stops the lab and removes a temp workspace. */
  dispose(): Promise<void>;
}

export async function startDemoSession(options: DemoSessionOptions = {}): Promise<DemoSession> {
  const { dir, planFile } = await createDemoWorkspace(options.dir);
  const ownsDir = options.dir === undefined;
  try {
    await assertDemoPlan(planFile);
    const plan = await loadDemoPlan(planFile);
    const lab = await startDemoLab(plan, {
      steps: await demoSteps(plan),
      stateDir: dir,
      ...(options.speed !== undefined ? { speed: options.speed } : {}),
      ...(options.scenario ? { scenario: options.scenario } : {}),
      ...(options.seed ? { seed: options.seed } : {}),
    });
    return {
      planFile,
      workspace: dir,
      lab,
      route: await demoRoute(lab, planFile, plan),
      async dispose() {
        await lab.dispose();
        if (ownsDir) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (ownsDir) await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function loadDemoPlan(planFile: string): Promise<Plan> {
  const checked = await checkPlanFile(planFile);
  if (!checked.plan || !checked.valid) {
    throw new UstartError(
      'PlanInvalid',
      `the demo plan ${planFile} has errors; run "ustart validate ${planFile}", or start the demo in a new folder.`,
    );
  }
  return checked.plan;
}

/**
 * The route of one demo plan to its lab. The plan may be edited in the wizard: the steps the
 * lab recognises are rebuilt from the plan each time a transport is made for it. Any other
 * plan in the demo workspace (Save As, a new plan) is refused outright: it looks like the
 * demo but would run against real hosts.
 */
export async function demoRoute(lab: DemoLab, planFile: string, plan: Plan): Promise<HostRoute> {
  const demoPlan = await canonical(planFile);
  const workspace = dirname(demoPlan);
  let stepsFor = JSON.stringify(plan);
  return {
    async owns(file) {
      const real = await canonical(file);
      if (real === demoPlan) {
        return assertDemoPlan(file).then(
          () => true,
          () => false,
        );
      }
      const inside = relative(workspace, real);
      if (inside && !inside.startsWith('..') && !isAbsolute(inside)) {
        throw new UstartError(
          'DemoRefused',
          `${file} is in the demo workspace ${workspace} but is not its demo plan, so it runs neither against the demo lab nor against real hosts. Run the demo with ${demoPlan}; to run a real site, save its plan in a folder outside the demo workspace.`,
          { detail: { file } },
        );
      }
      return false;
    },
    async targets() {
      return new Map(lab.targets);
    },
    async transport(_file, current) {
      const text = JSON.stringify(current);
      if (text !== stepsFor) {
        lab.useSteps(await demoSteps(current));
        stepsFor = text;
      }
      return new DemoTransport(lab);
    },
    fence: (inner) => new FencedTransport(inner, lab),
  };
}

/** The file's path with every symlink resolved; for a file not written yet, its folder's. */
async function canonical(file: string): Promise<string> {
  const abs = resolve(file);
  try {
    return await realpath(abs);
  } catch {
    const dir = await realpath(dirname(abs)).catch(() => dirname(abs));
    return join(dir, basename(abs));
  }
}

/**
 * A real plan's transport that refuses the demo lab's hosts, directly or as a jump host,
 * however their address is written (docs/demo.md, "Safety rules").
 */
class FencedTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly lab: Pick<DemoLab, 'mayReach'>,
  ) {}

  async connect(target: HostTarget, options?: { signal?: AbortSignal }): Promise<HostConnection> {
    for (const t of [target, target.jump]) {
      if (t && (await this.lab.mayReach(t))) {
        throw new UstartError(
          'DemoRefused',
          `${target.name} (${t.address}:${t.port}${t === target.jump ? ', its jump host' : ''}) is a host of the demo lab on this machine; a real site never connects to it. Check the plan's address and SSH port for ${target.name}.`,
          { detail: { host: target.name } },
        );
      }
    }
    return this.inner.connect(target, options);
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

/**
 * The desktop app's demo switches (`npm start` passes `--demo`): `--demo` and, as for
 * `ustart demo`, `--speed N`, `--inject-failure STEP@HOST`, `--unreachable HOST`,
 * `--mac-mismatch HOST`, `--demo-dir DIR`. Undefined without `--demo`: the app is then a
 * real one. Chromium's own switches in the same argv are ignored.
 */
export function demoOptionsFromArgv(argv: readonly string[]): DemoSessionOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    strict: false,
    allowPositionals: true,
    options: {
      demo: { type: 'boolean' },
      speed: { type: 'string' },
      'inject-failure': { type: 'string', multiple: true },
      unreachable: { type: 'string', multiple: true },
      'mac-mismatch': { type: 'string', multiple: true },
      'demo-dir': { type: 'string' },
    },
  });
  if (values.demo !== true) return undefined;
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  const speed = values.speed === undefined ? 1 : Number(values.speed);
  if (!(speed > 0)) {
    throw new UstartError(
      'InvalidArgument',
      `--speed ${String(values.speed)}: give a number above 0, such as 1 or 20.`,
    );
  }
  return {
    speed,
    ...(typeof values['demo-dir'] === 'string' ? { dir: values['demo-dir'] } : {}),
    scenario: {
      injectFailures: list(values['inject-failure']),
      unreachable: list(values.unreachable),
      macMismatch: list(values['mac-mismatch']),
    },
  };
}

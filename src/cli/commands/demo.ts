/**
 * `ustart demo`: the whole install (connect → uMetal → uStack → uGarden) in the terminal,
 * against the demo lab, with the real engine, SSH client and runbook. Nothing real is
 * touched: the servers are simulated on 127.0.0.1 (docs/demo.md).
 */
import type { Command } from 'commander';
import {
  assembleSummary,
  firstController,
  readGardenApi,
  SiteReader,
  summaryRunOf,
} from '../../app/handover.js';
import { summaryLines } from '../../app/report-install.js';
import type { RunEvent } from '../../engine/index.js';
import { UstartError } from '../../errors.js';
import type { DemoScenario } from '../../demo/lab.js';
import { runDemo } from '../../demo/run.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';
import { RunView } from '../run-view.js';

/** The demo's switches, shared by `ustart demo` and `ustart serve --demo`. */
export interface DemoSwitches {
  speed: string;
  injectFailure?: string[];
  unreachable?: string[];
  macMismatch?: string[];
  dir?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Adds the demo's switches to a command; `when` prefixes their help (`with --demo: `). */
export function demoOptions(command: Command, when = ''): Command {
  return command
    .option(
      '--speed <n>',
      `${when}pace of the simulated steps: 1 is realistic, 10 is ten times faster`,
      '1',
    )
    .option(
      '--inject-failure <step@host>',
      `${when}fail this step on this host once, to show the retry (repeatable)`,
      collect,
    )
    .option('--unreachable <host>', `${when}this host does not answer SSH (repeatable)`, collect)
    .option(
      '--mac-mismatch <host>',
      `${when}this host reports another MAC than the plan (repeatable)`,
      collect,
    )
    .option(
      '--dir <dir>',
      `${when}the demo workspace (plan copy, runs, known_hosts); a new temp folder by default`,
    );
}

/** The switches checked: the speed a number above 0, the scenario's lists. */
export function demoSettings(opts: DemoSwitches): {
  speed: number;
  dir?: string;
  scenario: DemoScenario;
} {
  const speed = Number(opts.speed);
  if (!(speed > 0)) {
    throw new UstartError(
      'InvalidArgument',
      `--speed ${opts.speed}: give a number above 0, such as 1 or 20.`,
    );
  }
  return {
    speed,
    ...(opts.dir ? { dir: opts.dir } : {}),
    scenario: {
      injectFailures: opts.injectFailure ?? [],
      unreachable: opts.unreachable ?? [],
      macMismatch: opts.macMismatch ?? [],
    },
  };
}

export function registerDemo(program: Command, out: Output, setCode: (c: number) => void): void {
  demoOptions(
    program
      .command('demo')
      .description(
        'Run the whole install against simulated servers on this machine (no hardware needed).',
      ),
  ).action(async (opts: DemoSwitches) => {
    setCode(await demoCommand(opts, out));
  });
}

async function demoCommand(opts: DemoSwitches, out: Output): Promise<number> {
  const settings = demoSettings(opts);
  const badge = paint(out, 'magenta', '[DEMO]');
  out.stdout(
    `${badge} ${paint(out, 'bold', 'uStart demo')}: the demo site on simulated servers (SSH on 127.0.0.1). Nothing real is touched.\n`,
  );
  const view = new RunView(out);
  const events: RunEvent[] = [];
  let summary: string[] = [];
  const controller = new AbortController();
  const onSigint = () => {
    out.stderr(`\n${badge} cancelling…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await runDemo({
      ...settings,
      signal: controller.signal,
      onEvent: (e) => {
        view.onEvent(e);
        if (e.type !== 'log') events.push(e);
        if (e.type === 'host-step-retrying') {
          out.stdout(
            `${badge} ${paint(out, 'yellow', `${e.stepId} failed on ${e.host}; the engine retries it (attempt ${e.attempt}).`)}\n`,
          );
        }
      },
      onNote: (text) => out.stdout(`${badge} ${paint(out, 'yellow', text)}\n`),
      // The install ends on its summary, read while the demo hosts are still up.
      afterRun: async ({ plan, planFile, transport, hosts, result }) => {
        const run = summaryRunOf(events);
        if (!run || result.state !== 'succeeded') return;
        const first = firstController(plan).hostname;
        const conn = await transport.connect(hosts.get(first)!);
        const gardenApi = await readGardenApi(new SiteReader(conn, first));
        summary = summaryLines(assembleSummary({ planFile, plan, run, gardenApi }));
      },
    });
    for (const line of summary) out.stdout(`${badge} ${line}\n`);
    out.stdout(
      `${badge} run ${result.runId} ${result.state}. Workspace: ${result.workspace}\n` +
        paint(out, 'dim', `${badge} logs: ustart logs ${result.runId} --plan ${result.planFile}\n`),
    );
    return result.state === 'succeeded' ? EXIT.ok : EXIT.invalid;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

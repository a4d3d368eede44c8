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
import { runDemo } from '../../app/demo-run.js';
import { EXIT } from '../exit.js';
import { collect } from '../options.js';
import { type Output, paint, plainOutput } from '../output.js';
import { createRunDisplay, logsCommand } from '../run-display.js';

/** The demo's switches, shared by `ustart demo` and `ustart serve --demo`. */
export interface DemoSwitches {
  speed: string;
  injectFailure?: string[];
  unreachable?: string[];
  macMismatch?: string[];
  dir?: string;
}

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
  )
    .option('-v, --verbose', "stream every host's output and the engine's bookkeeping")
    .option('--json', 'print one JSON event per line (docs/engine.md, "The CLI\'s run view")')
    .action(async (opts: DemoSwitches & ViewSwitches) => {
      setCode(await demoCommand(opts, out));
    });
}

interface ViewSwitches {
  verbose?: boolean;
  json?: boolean;
}

async function demoCommand(opts: DemoSwitches & ViewSwitches, terminal: Output): Promise<number> {
  const settings = demoSettings(opts);
  const out = opts.json ? plainOutput(terminal) : terminal;
  const badge = paint(out, 'magenta', '[DEMO]');
  const view = createRunDisplay(out, {
    verbose: opts.verbose,
    json: opts.json,
    badge: `${badge} `,
  });
  view.note(
    'uStart demo: the demo site on simulated servers (SSH on 127.0.0.1). Nothing real is touched.',
  );
  const events: RunEvent[] = [];
  let started: { runId: string; runDir: string; planFile?: string } | undefined;
  let summary: string[] = [];
  const controller = new AbortController();
  const onSigint = () => {
    const resume = view.suspend();
    out.stderr(`\n${badge} cancelling…\n`);
    resume();
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await runDemo({
      ...settings,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'run-started') started = e;
        view.onEvent(e);
        if (e.type !== 'log') events.push(e);
      },
      onNote: (text) => view.note(text),
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
    if (summary.length) view.summary(summary);
    view.note(`run ${result.runId} ${result.state}. Workspace: ${result.workspace}`);
    view.next({ logs: logsCommand(started ?? { ...result }) });
    return result.state === 'succeeded' ? EXIT.ok : EXIT.invalid;
  } finally {
    process.off('SIGINT', onSigint);
    view.dispose();
  }
}

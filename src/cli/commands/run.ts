/**
 * `ustart run PLAN`: runs the step graph on the plan's servers over SSH with live,
 * host-prefixed logs; Ctrl-C cancels cleanly and says how to resume.
 */
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import {
  factsStepSource,
  type Decision,
  type RunEngine,
  type RunEvent,
  type StepSource,
  type StepSpec,
} from '../../engine/index.js';
import { shQuote } from '../../util/sh-quote.js';
import { launchRun, planTargets, terminalTransport } from '../../app/run-launch.js';
import { UstartError } from '../../errors.js';
import { verifyRunBundle } from '../../app/run-bundle.js';
import { checkPlanFile } from '../../plan/index.js';
import { withBundleDelivery } from '../../bundle/delivery-step.js';
import { runbookStepSource, sitePhases } from '../../render/step-specs.js';
import { checkPhaseNames } from '../../runbook/phases.js';
import { RESET_PREFIX, type Phase } from '../../runbook/schema.js';
import type { CredentialRequest, CredentialStore } from '../../ssh/credentials.js';
import { EXIT } from '../exit.js';
import { collect } from '../options.js';
import { type Output, paint, plainOutput } from '../output.js';
import { createRunDisplay, logsCommand, type RunDisplay } from '../run-display.js';
import { formatFindings } from './validate.js';
import {
  bindOsInstall,
  type OsInstallHooks,
  type OsInstallRunOpts,
  withOsInstallRunOptions,
} from './run-os-install.js';
import { readRegularFile } from '../../util/user-file.js';

interface RunOptions extends OsInstallRunOpts {
  steps?: string;
  hosts?: string;
  resume?: string;
  acceptNewHostKeys?: boolean;
  stepByStep?: boolean;
  takeOverLock?: boolean;
  rerun?: string;
  skip?: string[];
  runsDir?: string;
  identity?: string[];
  knownHosts?: string[];
  graph?: string;
  bundle?: string;
  bundleKey?: string;
  phase?: string;
  confirmReset?: string;
  verbose?: boolean;
  json?: boolean;
}

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * @param stepSource where the step graph comes from without `--phase` (the built-in facts
 * graph by default); with `--phase` it is the runbook (`runbookStepSource`).
 */
export function registerRun(
  program: Command,
  out: Output,
  setCode: (c: number) => void,
  stepSource: StepSource = factsStepSource,
  /** Tests give their own BMCs and SSH probe to the os-install phase. */
  osInstallHooks: OsInstallHooks = {},
): void {
  const command = program
    .command('run')
    .description(
      'Run the runbook phases given with --phase (without it: the built-in "facts" graph) on the plan\'s servers over SSH.',
    )
    .argument('<plan>', 'the site plan (YAML)')
    .option('--steps <ids>', 'run only these steps (comma-separated)')
    .option('--hosts <names>', 'run only on these servers (comma-separated)')
    .option('--resume <runId>', 'continue this run: finished steps are not run again')
    .option(
      '--accept-new-host-keys',
      'accept and record host keys seen for the first time (a changed key is always refused)',
    )
    .option('--step-by-step', 'pause before every step and ask')
    .option('--take-over-lock', 'take over a stale cluster lock left by a run that is gone')
    .option(
      '--rerun <steps>',
      'with --resume: run these interrupted steps again (step or step@host, comma-separated)',
    )
    .option(
      '--skip <step=reason>',
      'skip a step, with the reason for the journal (repeatable)',
      collect,
    )
    .option(
      '--phase <phases>',
      `run these runbook phases, in install order (comma-separated: ${phaseIds()})`,
    )
    .option(
      '--confirm-reset <site>',
      'the site name, typed out: required to run a reset-* phase, which removes what was installed',
    )
    .option('--runs-dir <dir>', 'where runs are kept (default: .ustart/runs next to the plan)')
    .option(
      '-v, --verbose',
      "stream every host's output and the engine's bookkeeping (uploads, checks), as the log files have them",
    )
    .option(
      '--json',
      'print one JSON event per line (docs/engine.md, "The CLI\'s run view"); with --verbose also the log output',
    )
    .option(
      '--bundle <path>',
      'the offline bundle, delivered to the hosts before uMetal (required when site.airGapped is true)',
    )
    .option('--bundle-key <pub>', 'public key the offline bundle must be signed with')
    .option('-i, --identity <file>', 'a private key file to log in with (repeatable)', collect)
    .option(
      '--known-hosts <file>',
      'an extra known_hosts file to trust, read only (repeatable)',
      collect,
    )
    .addOption(
      program
        .createOption(
          '--graph <file>',
          'run a step graph from a JSON file (for development until the runbook exists)',
        )
        .hideHelp(),
    );
  withOsInstallRunOptions(command).action(async (planFile: string, opts: RunOptions) => {
    setCode(await runCommand(planFile, opts, out, stepSource, osInstallHooks));
  });
}

async function runCommand(
  planFile: string,
  opts: RunOptions,
  out: Output,
  defaultSource: StepSource,
  osInstallHooks: OsInstallHooks,
): Promise<number> {
  const phases = opts.phase === undefined ? undefined : parsePhases(opts.phase);
  const stepSource = phases ? runbookStepSource(phases) : defaultSource;
  const checked = await checkPlanFile(planFile);
  const plan = checked.plan;
  const resets = phases?.filter((p) => p.startsWith(RESET_PREFIX)) ?? [];
  if (plan && resets.length && opts.confirmReset !== plan.site.name) {
    out.stderr(
      `ustart: ${resets.join(', ')} removes what was installed on the servers of "${plan.site.name}". ` +
        `To confirm, add: --confirm-reset ${shQuote(plan.site.name)}\n`,
    );
    return EXIT.unreadable;
  }
  // The read-only facts graph and a development --graph run on an unfinished plan too.
  const readOnly = opts.graph !== undefined || stepSource.readOnly === true;
  if (!plan || (!checked.valid && !readOnly)) {
    out.stderr(formatFindings(out, planFile, checked.findings));
    out.stderr(
      `ustart: the plan has errors; fix them before running (ustart validate ${planFile}).\n`,
    );
    return EXIT.invalid;
  }
  if (!checked.valid) {
    const errors = checked.findings.filter((f) => f.severity === 'error' && !f.acknowledged);
    out.stderr(
      paint(
        out,
        'yellow',
        `note: the plan has ${errors.length} error${errors.length === 1 ? '' : 's'} (ustart validate ${planFile}); running anyway: this step graph does not install anything from the plan.\n`,
      ),
    );
  }
  // An air-gapped site installs only from a bundle proven intact and authentic first; a
  // read-only graph (facts) installs nothing and runs without one.
  const bundle = readOnly ? undefined : await verifyRunBundle(plan, opts.bundle, opts.bundleKey);
  // The view starts once the graph is bound; a prompt before that has nothing to suspend.
  const shown: { view?: RunDisplay } = {};
  // The OS install's inputs are checked here, before anything starts (run-os-install.ts).
  const os = await bindOsInstall(
    // The verified bundle reaches the hosts as the run's umetal.bundle step.
    withBundleDelivery(
      opts.graph ? await loadGraphFile(opts.graph) : await stepSource({ plan, planFile }),
      bundle,
    ),
    plan,
    opts,
    out,
    { suspend: () => shown.view?.suspend() ?? (() => undefined) },
    osInstallHooks,
  );
  const steps = os.steps;
  const view = createRunDisplay(opts.json ? plainOutput(out) : out, {
    verbose: opts.verbose,
    json: opts.json,
  });
  shown.view = view;
  const hosts = await planTargets(plan);
  const transport = await terminalTransport({
    warn: (m) => out.stderr(`${m}\n`),
    acceptNewHostKeys: opts.acceptNewHostKeys ?? false,
    credentials: terminalCredentials(out, view),
    ...(opts.identity ? { identityFiles: opts.identity } : {}),
    ...(opts.knownHosts ? { knownHosts: opts.knownHosts } : {}),
  });
  const controller = new AbortController();
  const engine = launchRun({
    plan,
    planFile,
    planText: await readRegularFile(planFile, { what: 'plan', encoding: 'utf8' }),
    steps,
    transport,
    hosts,
    ...(opts.runsDir ? { runsDir: resolve(opts.runsDir) } : {}),
    signal: controller.signal,
    stepByStep: opts.stepByStep,
    onlySteps: opts.steps ? list(opts.steps) : undefined,
    onlyHosts: opts.hosts ? list(opts.hosts) : undefined,
    resume: opts.resume,
    rerun: opts.rerun ? list(opts.rerun) : undefined,
    skip: (opts.skip ?? []).map(parseSkip),
    clusterLock: { takeOver: opts.takeOverLock ?? false },
  });
  let started: { runId: string; runDir: string; planFile?: string } | undefined;
  const sub = engine.subscribe((e) => {
    if (e.type === 'run-started') started = e;
    view.onEvent(e);
    if (e.type === 'run-paused') void askDecision(engine, e, out);
  });
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) {
      out.stderr('\nustart: stopped without cleaning up; the journal says what was running.\n');
      process.exit(130);
    }
    const resume = view.suspend();
    out.stderr(
      '\nustart: cancelling: killing the running commands (Ctrl-C again to quit at once)…\n',
    );
    resume();
    os.prompts?.close();
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await engine.run();
    if (result.state !== 'succeeded') {
      view.next({
        resume: `ustart run ${planFile} --resume ${result.runId}`,
        logs: logsCommand(started ?? { ...result, planFile: resolve(planFile) }),
      });
    }
    return result.state === 'succeeded' ? EXIT.ok : EXIT.invalid;
  } finally {
    process.off('SIGINT', onSigint);
    os.prompts?.close();
    await os.action?.close();
    sub.dispose();
    view.dispose();
    await transport.dispose();
  }
}

/** `--phase umetal,connect` → the phases in the runbook's run order, each once. */
function parsePhases(v: string): Phase[] {
  const named = list(v);
  const ordered = checkPhaseNames(
    sitePhases(),
    named,
    (p, ids) => `--phase ${p}: there is no such phase; the phases are ${ids}.`,
  );
  if (!named.length) {
    throw new UstartError('InvalidArgument', `--phase needs a phase, such as --phase connect.`);
  }
  return ordered;
}

/**
 * The runbook's phase names, for --phase's help. Every command's help is built at start: a
 * broken phases.yaml must not stop `ustart validate`, so it is named here and reported in
 * full when --phase is used.
 */
function phaseIds(): string {
  try {
    return sitePhases()
      .map((p) => p.id)
      .join(', ');
  } catch {
    return "see the runbook's phases.yaml";
  }
}

function parseSkip(v: string): { step: string; reason: string } {
  const at = v.indexOf('=');
  if (at < 1 || !v.slice(at + 1).trim()) {
    throw new UstartError(
      'InvalidArgument',
      `--skip ${v}: write it as STEP=REASON, such as --skip ntp=configured by the customer.`,
    );
  }
  return { step: v.slice(0, at), reason: v.slice(at + 1).trim() };
}

async function askDecision(
  engine: RunEngine,
  e: Extract<RunEvent, { type: 'run-paused' }>,
  out: Output,
) {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const failed = e.reason === 'step-failed';
    for (;;) {
      const q = failed
        ? `step ${e.stepId} did not succeed. [r]etry, [s]kip, [c]ontinue, [q]uit? `
        : `next: step ${e.stepId}. [r]un, [s]kip, run [a]ll the rest, [q]uit? `;
      const answer = (await rl.question(paint(out, 'bold', q))).trim().toLowerCase();
      let decision: Decision | undefined;
      if (answer === 'r') decision = failed ? { kind: 'retry' } : { kind: 'run' };
      if (answer === 'a' && !failed) decision = { kind: 'run-all' };
      if (answer === 'c' && failed) decision = { kind: 'run' };
      if (answer === 'q') decision = { kind: 'stop' };
      if (answer === 's') {
        const reason = (await rl.question('reason (goes into the journal): ')).trim();
        if (reason) decision = { kind: 'skip', reason };
      }
      if (decision) {
        if (engine.paused) engine.decide(decision);
        return;
      }
    }
  } catch {
    /* stdin closed: the run is being cancelled or has ended */
  } finally {
    rl.close();
  }
}

/**
 * Asks passphrases and passwords on the terminal, without echo; none without a terminal.
 * The run's live lines are off the screen while it asks.
 */
export function terminalCredentials(
  out: Output,
  view?: Pick<RunDisplay, 'suspend'>,
): CredentialStore {
  return {
    async get(request: CredentialRequest) {
      if (!process.stdin.isTTY) return undefined;
      const what =
        request.kind === 'passphrase'
          ? `passphrase for ${request.keyPath}`
          : request.kind === 'sudo'
            ? `sudo password of ${request.user} on ${request.host}`
            : `password of ${request.user}@${request.host}`;
      const resume = view?.suspend();
      try {
        return await readHidden(`${what}: `, out);
      } finally {
        resume?.();
      }
    },
  };
}

function readHidden(prompt: string, out: Output): Promise<string> {
  return new Promise((resolvePromise) => {
    const stdin = process.stdin;
    // Echo off before the prompt shows: a user types the moment they see it, and the
    // terminal echoes whatever arrives while echo is still on (issue 16;
    // docs/upstream-facts.md#tty-echo-on-arrival).
    stdin.setRawMode(true);
    stdin.resume();
    out.stderr(prompt);
    let value = '';
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.off('data', onData);
          stdin.setRawMode(false);
          stdin.pause();
          out.stderr('\n');
          return resolvePromise(value);
        }
        if (ch === '\u0003') process.kill(process.pid, 'SIGINT');
        else if (ch === '\u007f') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

const GraphFile = z.array(
  z.looseObject({
    id: z.string(),
    title: z.string().default(''),
    phase: z.string().default('dev'),
    targets: z.union([
      z.array(z.string()),
      z.object({ roles: z.array(z.string()) }),
      z.enum(['all', 'first-controller']),
    ]),
    run: z.string(),
  }),
);

async function loadGraphFile(file: string): Promise<StepSpec[]> {
  let data: unknown;
  try {
    data = JSON.parse(await readRegularFile(file, { what: 'step graph', encoding: 'utf8' }));
  } catch (e) {
    throw new UstartError(
      'RunbookInvalid',
      `--graph ${file} is not a readable JSON file: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const parsed = GraphFile.safeParse(data);
  if (!parsed.success) {
    throw new UstartError(
      'RunbookInvalid',
      `--graph ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data as unknown as StepSpec[];
}

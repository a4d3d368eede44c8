/** `ustart logs RUN_ID`: a run's logs from its folder, optionally one step or host, optionally following. */
import { existsSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultRunsDir, journalPath, logPath, readJournal, runDirOf } from '../../engine/index.js';
import { UstartError } from '../../errors.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';

interface LogsOptions {
  plan?: string;
  runsDir?: string;
  step?: string;
  host?: string;
  follow?: boolean;
}

/** Registers `logs` and returns it, so subcommands (`logs collect`) can be added. */
export function registerLogs(program: Command, out: Output, setCode: (c: number) => void): Command {
  return program
    .command('logs')
    .description("Print a run's logs, prefixed with step and host.")
    .argument('<runId>', 'the run (see "ustart runs PLAN")')
    .option('--plan <plan>', 'the site plan the run belongs to (default: runs in ./.ustart/runs)')
    .option('--runs-dir <dir>', 'where runs are kept')
    .option('--step <id>', 'only this step')
    .option('--host <name>', 'only this host')
    .option('-f, --follow', 'keep printing new output until the run ends (Ctrl-C to stop)')
    .action(async (runId: string, opts: LogsOptions) => {
      const runsDir = opts.runsDir
        ? resolve(opts.runsDir)
        : opts.plan
          ? defaultRunsDir(opts.plan)
          : resolve('.ustart', 'runs');
      const runDir = runDirOf(runsDir, runId);
      if (!existsSync(journalPath(runDir))) {
        throw new UstartError(
          'RunNotFound',
          `there is no run ${runId} in ${runsDir}. Give the plan with --plan, or list runs with "ustart runs PLAN".`,
        );
      }
      const printer = new LogPrinter(out, runDir, opts);
      await printer.printNew();
      if (opts.follow) {
        // Polling, not fs.watch: it behaves the same on every platform and network folder.
        while (!(await finished(runDir))) {
          await new Promise((r) => setTimeout(r, 250));
          await printer.printNew();
        }
        await printer.printNew();
      }
      setCode(EXIT.ok);
    });
}

async function finished(runDir: string): Promise<boolean> {
  const { records } = await readJournal(journalPath(runDir));
  return records.at(-1)?.type === 'run-finished';
}

class LogPrinter {
  private readonly offsets = new Map<string, number>();
  private readonly partial = new Map<string, string>();

  constructor(
    private readonly out: Output,
    private readonly runDir: string,
    private readonly opts: LogsOptions,
  ) {}

  async printNew(): Promise<void> {
    for (const [step, host] of await this.files()) {
      const file = logPath(this.runDir, step, host);
      const from = this.offsets.get(file) ?? 0;
      const handle = await open(file, 'r');
      let text: string;
      try {
        const { size } = await handle.stat();
        if (size <= from) continue;
        const buf = Buffer.alloc(size - from);
        await handle.read(buf, 0, buf.length, from);
        this.offsets.set(file, size);
        text = (this.partial.get(file) ?? '') + buf.toString('utf8');
      } finally {
        await handle.close();
      }
      const lines = text.split('\n');
      this.partial.set(file, lines.pop()!);
      const prefix = paint(this.out, 'cyan', `${host} ${step}`) + paint(this.out, 'dim', ' │ ');
      this.out.stdout(lines.map((l) => `${prefix}${l}\n`).join(''));
    }
  }

  /** [step, host] of each log file, in the journal's step order. */
  private async files(): Promise<[string, string][]> {
    const { records } = await readJournal(journalPath(this.runDir));
    const first = records[0];
    const order = first?.type === 'run-created' ? first.steps.map((s) => s.id) : [];
    const logs = join(this.runDir, 'logs');
    const steps = existsSync(logs) ? await readdir(logs) : [];
    steps.sort((a, b) => rank(order, a) - rank(order, b) || a.localeCompare(b));
    const out: [string, string][] = [];
    for (const step of steps) {
      if (this.opts.step && step !== this.opts.step) continue;
      for (const f of (await readdir(join(logs, step))).sort()) {
        const host = f.replace(/\.log$/, '');
        if (!this.opts.host || host === this.opts.host) out.push([step, host]);
      }
    }
    return out;
  }
}

function rank(order: string[], id: string): number {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
}

/**
 * `ustart report PLAN [--run RUN_ID] --out report.html|report.pdf`: the handover report the
 * app makes (src/app/report.ts through the core's `report:export`, with the capacity
 * section, and the install summary of a run with --run), for sites run headless. HTML
 * always; PDF printed by a Chromium on this machine (./report-pdf.ts).
 */
import { extname, resolve } from 'node:path';
import type { Command } from 'commander';
import { createCore } from '../../app/index.js';
import { ustartStateDir } from '../../app/index.js';
import { UstartError } from '../../errors.js';
import { EXIT } from '../exit.js';
import type { Output } from '../output.js';
import { loadPlanForCommand } from './plan-file.js';
import { findChromium, printWithChromium } from './report-pdf.js';

interface ReportOptions {
  out: string;
  run?: string;
  lang: string;
}

function formatOf(file: string): 'html' | 'pdf' {
  const ext = extname(file).toLowerCase();
  if (ext === '.html' || ext === '.htm') return 'html';
  if (ext === '.pdf') return 'pdf';
  throw new UstartError(
    'InvalidArgument',
    `--out ${file}: name a .html or a .pdf file (the format follows the extension).`,
  );
}

export function registerReport(program: Command, out: Output, setCode: (c: number) => void): void {
  program
    .command('report')
    .description(
      'Write the handover report of a site plan, as the app makes it: site, racks, IP plan, roles, capacity, endpoint names, findings, and with --run the install summary.',
    )
    .argument('<plan>', 'the site plan (YAML)')
    .requiredOption('--out <file>', 'report.html, or report.pdf (printed with Chromium)')
    .option('--run <id>', 'add the install summary of this run (see ustart runs PLAN)')
    .option('--lang <lang>', 'en or de', 'en')
    .action(async (planFile: string, opts: ReportOptions) => {
      setCode(await reportCommand(planFile, opts, out, setCode));
    });
}

async function reportCommand(
  planFile: string,
  opts: ReportOptions,
  out: Output,
  setCode: (c: number) => void,
): Promise<number> {
  if (opts.lang !== 'en' && opts.lang !== 'de') {
    throw new UstartError('InvalidArgument', `--lang ${opts.lang}: give en or de.`);
  }
  const lang = opts.lang;
  const file = resolve(opts.out);
  const format = formatOf(file);
  // Known before the plan is read, so a missing Chromium costs nothing.
  const chromium = format === 'pdf' ? findChromium() : undefined;
  if (format === 'pdf' && !chromium) {
    throw new UstartError(
      'Unsupported',
      `no Chromium to print ${opts.out} with (looked for CHROMIUM_PATH, /usr/bin/chromium, Chrome). Write the report as .html (any browser prints it to PDF), install chromium (apt-get install chromium), or set CHROMIUM_PATH.`,
    );
  }
  const parsed = await loadPlanForCommand(planFile, out, setCode);
  if (!parsed) return EXIT.invalid;
  const core = createCore({
    mode: 'cli',
    // The CLI's state folder (known_hosts, access settings), as `ustart run` uses it: the
    // install summary reads the workload cluster's API address from the first controller.
    stateDir: ustartStateDir(),
    ...(chromium ? { printPdf: (html: string) => printWithChromium(chromium, html) } : {}),
  });
  try {
    const result = await core.client.reportExport({
      plan: parsed.plan,
      lang,
      file,
      format,
      ...(opts.run ? { run: { planFile: resolve(planFile), runId: opts.run } } : {}),
    });
    if (!result.ok) {
      // The core's message points at the app's Install page; here the CLI lists the runs.
      const message =
        result.error.code === 'RunNotFound'
          ? `there is no run ${opts.run} of ${resolve(planFile)}; \`ustart runs ${resolve(planFile)}\` lists its runs.`
          : result.error.message;
      out.stderr(`ustart: ${message}\n`);
      return EXIT.unreadable;
    }
    out.stdout(
      `wrote the handover report of ${parsed.plan.site.name}${opts.run ? ` with run ${opts.run}` : ''} to ${result.value.file}\n`,
    );
    return EXIT.ok;
  } finally {
    await core.dispose();
  }
}

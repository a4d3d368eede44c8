/**
 * `ustart render PLAN --out DIR`: every file the runbook will upload and every command it
 * will run, per host, for people to read before anything touches a server.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { checkPlanFile } from '../../plan/index.js';
import { Renderer } from '../../render/render.js';
import { loadSiteRunbook } from '../../render/step-specs.js';
import { writeRender } from '../../render/write.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';
import { formatFindings } from './validate.js';

export function registerRender(program: Command, out: Output, setCode: (c: number) => void): void {
  program
    .command('render')
    .description(
      'Write every file the runbook uploads and every command it runs, per host and step, into a folder.',
    )
    .argument('<plan>', 'the site plan (YAML)')
    .requiredOption('--out <dir>', 'the folder to write (replaced when it holds an earlier render)')
    .option(
      '--runbook <dir>',
      'a customer runbook layered over the default one (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .action(async (planFile: string, opts: { out: string; runbook?: string[] }) => {
      const checked = await checkPlanFile(planFile);
      if (!checked.valid || !checked.plan) {
        out.stderr(formatFindings(out, planFile, checked.findings));
        out.stderr(`ustart: fix the plan's errors before rendering it.\n`);
        setCode(EXIT.invalid);
        return;
      }
      const runbook = await loadSiteRunbook((opts.runbook ?? []).map((d) => resolve(d)));
      const renderer = await Renderer.create(checked.plan, runbook);
      const files = await writeRender(renderer, opts.out);
      const hosts = new Set(
        files.map((f) => f.path.split('/')[0]).filter((h) => h && !h.includes('.')),
      );
      out.stdout(
        `${paint(out, 'green', 'rendered')} ${runbook.steps.length} steps for ${hosts.size} hosts into ${opts.out} (${files.length} files); start with ${opts.out}/index.json\n`,
      );
      setCode(EXIT.ok);
    });
}

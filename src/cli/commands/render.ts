/**
 * `ustart render PLAN --out DIR`: every file the runbook will upload and every command it
 * will run, per host, for people to read before anything touches a server.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { checkPlanFile } from '../../plan/index.js';
import { Renderer } from '../../render/render.js';
import { loadSiteRunbook } from '../../render/step-specs.js';
import { imagesOutsideBom, layeredBom } from '../../render/bom.js';
import { MIRRORED_REGISTRIES } from '../../render/generators/site-registry.js';
import { renderFiles, writeRender } from '../../render/write.js';
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
      const dirs = (opts.runbook ?? []).map((d) => resolve(d));
      const runbook = await loadSiteRunbook(dirs);
      const renderer = await Renderer.create(checked.plan, runbook);
      // An air-gapped site gets only what the bundle holds: every image a rendered file names
      // must be in the bill of materials, the default one with the customer runbooks'
      // bom.yaml layered over it, and its registry mirrored to the site registry
      // (docs/bundle-format.md, "Bill of materials").
      if (checked.plan.site.airGapped) {
        const b = layeredBom(dirs);
        const problems = [
          ...imagesOutsideBom(
            renderFiles(renderer).map((f) => ({ path: f.path, content: f.content })),
            b,
          ).map(
            (o) =>
              `${o.path}: the image ${o.image} is not in the bill of materials (assets/runbook/bom.yaml${dirs.length > 0 ? ', or bom.yaml of the runbooks given' : ''}), so an air-gapped bundle would not hold it`,
          ),
          ...Object.entries(b.images)
            .filter(
              ([, i]) => !(MIRRORED_REGISTRIES as readonly string[]).includes(registryOf(i.ref)),
            )
            .map(
              ([name, i]) =>
                `bill of materials: images.${name} (${i.ref}): the site registry mirrors only ${MIRRORED_REGISTRIES.join(', ')}, so no host could pull it`,
            ),
        ];
        if (problems.length > 0) {
          for (const p of problems) out.stderr(`ustart: ${p}\n`);
          out.stderr(
            `ustart: add the images to the bill of materials, or use the versions it pins; nothing was written.\n`,
          );
          setCode(EXIT.invalid);
          return;
        }
      }
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

/** The registry host of `host/path:tag`. */
const registryOf = (ref: string) => ref.slice(0, ref.indexOf('/'));

/**
 * `ustart bom list [--json]`: the default runbook's bill of materials (assets/runbook/bom.yaml),
 * every image, chart, file and binary it pins, and whether its digest is pinned yet.
 * `ustart bom pin`: resolves and writes those pins, on a machine with the network
 * (src/bundle/bom-pin.ts).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { unreachable, UstartError } from '../../errors.js';
import { BOM_ARCHITECTURES, layeredBom } from '../../render/bom.js';
import { PIN_SECTIONS, pinBom, type PinOutcome, type PinSection } from '../../bundle/bom-pin.js';
import { assetPath } from '../../util/assets.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';
import { progressReporter } from './bundle-progress.js';
import { collect } from '../options.js';
import { type MirrorOpts, mirrorSources, withMirrorOptions } from './bundle.js';

export function registerBom(program: Command, out: Output, setCode: (c: number) => void): void {
  const group = program
    .command('bom')
    .description("The runbook's bill of materials: what an air-gapped bundle must hold.");
  group
    .command('list')
    .description(
      'List every image, chart, file and binary the default runbook needs, with its version.',
    )
    .option('--json', 'print the bill of materials as JSON')
    .option(
      '--runbook <dir>',
      'a customer runbook whose bom.yaml is layered over the default one (repeatable)',
      collect,
      [],
    )
    .action((opts: { json?: boolean; runbook: string[] }) => {
      const b = layeredBom(opts.runbook.map((d) => resolve(d)));
      if (opts.json) {
        out.stdout(`${JSON.stringify(b, null, 2)}\n`);
        setCode(EXIT.ok);
        return;
      }
      const pinned = (digest: string | undefined) =>
        digest ? digest.slice(0, 19) : paint(out, 'yellow', 'not pinned');
      const lines = [
        `images (${Object.keys(b.images).length})`,
        ...Object.entries(b.images).map(([name, i]) => `  ${name}  ${i.ref}  ${pinned(i.digest)}`),
        `charts (${Object.keys(b.charts).length})`,
        ...Object.entries(b.charts).map(
          ([name, c]) => `  ${name}  ${c.version}  ${c.repository}  ${pinned(c.digest)}`,
        ),
        `files (${Object.keys(b.files).length})`,
        ...Object.entries(b.files).map(
          ([name, f]) =>
            `  ${name}  ${f.version}  ${f.url}  ${pinned(f.sha256 && `sha256:${f.sha256}`)}`,
        ),
        `binaries (${Object.keys(b.binaries).length})`,
        ...Object.entries(b.binaries).flatMap(([name, x]) => [
          `  ${name}  ${x.version}  ${x.url}${x.extract ? `  (${x.extract} in it)` : ''}`,
          ...(x.architectures ?? BOM_ARCHITECTURES).map((arch) => {
            const pin = x.sha256?.[arch];
            const state = pin
              ? `sha256:${pin.slice(0, 12)}`
              : x.sha256Url
                ? paint(out, 'yellow', "not pinned; checked against upstream's .sha256 file")
                : paint(out, 'yellow', 'not pinned');
            return `    ${arch}  ${state}`;
          }),
        ]),
        `packages  ${b.packages} (per step)`,
      ];
      out.stdout(`${lines.join('\n')}\n`);
      setCode(EXIT.ok);
    });

  const pin = group
    .command('pin')
    .description(
      'Resolve every image digest, chart digest and file sha256 from upstream and write them into the bill of materials (needs the network).',
    )
    .option('--bom <file>', 'the bill of materials to pin (default: the one shipped with uStart)')
    .option('--only <section>', 'pin only images, charts or files')
    .option('--dry-run', 'resolve and report, change nothing');
  withMirrorOptions(pin)
    .option('--cache <dir>', 'download cache (default ~/.cache/ustart/oci, as bundle create)')
    .action(async (opts: PinOpts) => {
      if (opts.only !== undefined && !(PIN_SECTIONS as readonly string[]).includes(opts.only)) {
        throw new UstartError(
          'InvalidArgument',
          `--only ${opts.only}: write one of ${PIN_SECTIONS.join(', ')}.`,
        );
      }
      const progress = progressReporter(out, false);
      const result = await pinBom({
        file: opts.bom ?? assetPath('runbook', 'bom.yaml'),
        ...(opts.only ? { only: opts.only as PinSection } : {}),
        dryRun: Boolean(opts.dryRun),
        ...(await mirrorSources(opts)),
        ...(opts.cache ? { cacheDir: opts.cache } : {}),
        onEvent: progress,
      });
      progress.done();
      const line = (o: PinOutcome) => {
        const where = `${o.section}.${o.name}  ${o.subject}`;
        switch (o.status) {
          case 'new':
            return `${paint(out, 'green', 'pinned   ')} ${where}  ${o.after}`;
          case 'unchanged':
            return `${paint(out, 'dim', 'unchanged')} ${where}  ${o.after}`;
          case 'changed':
            return `${paint(out, 'red', 'CHANGED  ')} ${where}  ${o.before} -> ${o.after}`;
          default:
            throw unreachable(o.status);
        }
      };
      out.stdout(result.outcomes.map((o) => `${line(o)}\n`).join(''));
      for (const s of result.skipped)
        out.stderr(paint(out, 'yellow', `skipped ${s.section}.${s.name}: ${s.reason}\n`));
      const changed = result.outcomes.filter((o) => o.status === 'changed');
      for (const o of changed) {
        out.stderr(
          paint(
            out,
            'red',
            `warning: ${o.section}.${o.name} (${o.subject}) moved upstream: it was pinned to ${o.before}, upstream now serves ${o.after}. ` +
              'The same version now names other content: find out why before you trust it (an upstream re-release, or a mirror serving something else).\n',
          ),
        );
      }
      const counts = (['new', 'unchanged', 'changed'] as const).map(
        (st) => `${result.outcomes.filter((o) => o.status === st).length} ${st}`,
      );
      const what = result.written
        ? `wrote ${result.file}`
        : opts.dryRun && result.outcomes.some((o) => o.status !== 'unchanged')
          ? `dry run: ${result.file} not changed`
          : `${result.file} not changed`;
      out.stdout(`${what} (${counts.join(', ')}; ${result.skipped.length} skipped)\n`);
      setCode(EXIT.ok);
    });
}

interface PinOpts extends MirrorOpts {
  bom?: string;
  only?: string;
  dryRun?: boolean;
  cache?: string;
}

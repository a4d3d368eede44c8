/**
 * `ustart bom list [--json]`: the default runbook's bill of materials (assets/runbook/bom.yaml),
 * every image, chart, file and binary it pins, and whether its digest is pinned yet.
 */
import type { Command } from 'commander';
import { BOM_ARCHITECTURES, bom } from '../../render/bom.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';

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
    .action((opts: { json?: boolean }) => {
      const b = bom();
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
}
